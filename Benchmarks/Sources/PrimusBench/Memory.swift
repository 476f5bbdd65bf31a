import NIOCore
import NIOPosix

/// Idle memory of one server: RSS before and after opening the idle connections.
struct MemoryResult: Sendable {
    var target: LoadTarget
    var beforeKiB: Int
    var afterKiB: Int
    var anonBeforeKiB: Int
    var anonAfterKiB: Int
    var connectSeconds: Double
}

extension PrimusBench {
    /// `memory`: idle memory per connection of every server. Returns the number of errors.
    static func memory(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        print("Memory: \(options.idle) idle WebSocket connections per server, server VmRSS before and after"
            + (options.headerBytes > 0 ? "; \(options.headerBytes) extra bytes of handshake headers" : ""))
        var outcomes: [LoadTarget: Outcome<MemoryResult>] = [:]
        var errors = 0
        for target in options.memoryTargets {
            let label = "  \(pad(target.label, 26)) "
            do {
                let result = try await measureMemory(target, options: options, group: group)
                outcomes[target] = .measured(result)
                print(
                    label + "VmRSS \(result.beforeKiB) -> \(result.afterKiB) KiB"
                        + " (RssAnon \(result.anonBeforeKiB) -> \(result.anonAfterKiB) KiB),"
                        + " opened in \(format(result.connectSeconds, 1)) s"
                )
            } catch let error as PeerUnavailable {
                outcomes[target] = .unavailable(error.description)
                print(label + error.description)
            } catch {
                errors += 1
                outcomes[target] = .failed("\(error)")
                print(label + "ERROR: \(error)")
            }
        }
        print("")
        let n = Double(options.idle)
        func perConnection(_ target: LoadTarget) -> Double? {
            guard case .measured(let result) = outcomes[target] else { return nil }
            return Double(result.afterKiB - result.beforeKiB) / n
        }
        let rows: [[String]] = options.memoryTargets.map { target in
            switch outcomes[target] {
            case .measured(let result):
                let kib = Double(result.afterKiB - result.beforeKiB) / n
                return [
                    target.label,
                    format(Double(result.beforeKiB) / 1024, 1),
                    format(Double(result.afterKiB) / 1024, 1),
                    format(kib, 2), ratio(kib, perConnection(.raw)), ratio(kib, perConnection(.ws)),
                    format(Double(result.anonAfterKiB - result.anonBeforeKiB) / n, 2),
                ]
            case .unavailable(let reason): return [target.label, reason, "", "", "", "", ""]
            case .failed, nil: return [target.label, "failed (see above)", "", "", "", "", ""]
            }
        }
        printTable(
            header: ["server", "RSS before MiB", "RSS after MiB", "KiB/conn (VmRSS)", "/ NIO", "/ ws", "KiB/conn (RssAnon)"],
            rows: rows
        )
        if let raw = perConnection(.raw), let primus = perConnection(.primus) {
            print("  Primus layer: \(format(primus - raw, 2)) KiB more per idle connection than raw NIOWebSocket")
        }
        print("")
        return errors
    }

    static func measureMemory(_ target: LoadTarget, options: Options, group: MultiThreadedEventLoopGroup) async throws
        -> MemoryResult
    {
        let server = try ServerProcess(kind: target.server)
        defer { server.stop() }
        let stats = LoadStats()
        var client = WebSocketLoadClient(group: group, port: server.port, stats: stats)
        client.paddingHeaderBytes = options.headerBytes
        client.framing = target.framing

        // Warm up: a few connections open and close, so code paths and allocator arenas that every
        // connection needs are already in the "before" figure.
        let warmup = try await client.connectMany(min(100, options.idle), mode: .idle, window: 100)
        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(warmup, group: group)
        try await Task.sleep(for: .seconds(1))
        stats.stopping.store(false, ordering: .relaxed)
        let before = (server.rssKiB, server.anonKiB)

        let clock = ContinuousClock()
        let start = clock.now
        let channels = try await client.connectMany(options.idle, mode: .idle, window: options.window)
        let connectSeconds = seconds(clock.now - start)

        // Wait until the server's RSS settles: at least 1 s, then until it moved less than
        // 0.5% over the last second (at most 10 s).
        try await Task.sleep(for: .seconds(1))
        var samples: [Int] = [server.rssKiB]
        let deadline = clock.now + .seconds(10)
        while clock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            samples.append(server.rssKiB)
            if samples.count >= 5 {
                let recent = samples.suffix(5)
                if Double(recent.max()! - recent.min()!) <= Double(recent.max()!) * 0.005 { break }
            }
        }
        let after = (server.rssKiB, server.anonKiB)
        let closed = stats.closedEarly.load(ordering: .relaxed)
        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(channels, group: group)
        if closed > 0 {
            throw BenchError("\(closed) idle connections were closed by the \(target.rawValue) server")
        }
        return MemoryResult(
            target: target,
            beforeKiB: before.0,
            afterKiB: after.0,
            anonBeforeKiB: before.1,
            anonAfterKiB: after.1,
            connectSeconds: connectSeconds
        )
    }
}
