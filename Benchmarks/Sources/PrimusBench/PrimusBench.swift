import Foundation
import NIOCore
import NIOPosix

let usage = """
    usage: primus-bench [all|throughput|memory|codec|engineio|polling-queue] [options]
           primus-bench server <raw|primus|msgpack|engine.io>   (internal: one server process)

    Compares Primus (websockets transformer, JSON parser) with a raw NIOWebSocket echo server.
    `engineio` compares the engine.io transformer (websocket, polling) with websockets.
    Each server runs in its own process (this binary re-executed); this process is the load
    generator (NIOWebSocketClientUpgrader, or HTTP/1.1 polling, over ClientBootstrap).
    127.0.0.1 only.

    throughput options:
      --connections N      WebSocket connections (default 100)
      --in-flight N        outstanding messages per connection (default 10)
      --warmup S           seconds of load before measuring (default 5)
      --duration S         measured seconds (default 10)
      --rounds N           raw/primus pairs, alternating (default 2)
      --client-threads N   load generator event loop threads (default: cores)
      --only T[,T...]      measure these targets only: raw, primus, msgpack, eio-websocket, eio-polling
      --port P             load an already running server on 127.0.0.1:P instead of starting
                           one (throughput only, e.g. a server under valgrind; needs --only)
      --server-pid PID     with --port: that server's process, to measure its CPU
    engineio: throughput of primus, eio-websocket and eio-polling with the options above
    polling-queue: an Engine.IO polling session's cost per packet for 10 to 10,000 packets
                   (sans-I/O, one thread; not part of `all`)
    memory options:
      --idle N             idle connections (default 10000)
      --window N           concurrent handshakes while opening them (default 200)
      --header-bytes N     add an N-byte header to each handshake (default 0; browsers send
                           0.5-2 KiB of cookies, user agent, ...)
    """

struct Options {
    var mode = "all"
    var connections = 100
    var inFlight = 10
    var warmup = 5.0
    var duration = 10.0
    var rounds = 2
    var clientThreads = System.coreCount
    var idle = 10_000
    var window = 200
    var headerBytes = 0
    var targets: [LoadTarget]?
    var port: Int?
    var serverPID: Int32?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func value(_ name: String) throws -> String {
            guard let value = iterator.next() else { throw BenchError("\(name) needs a value") }
            return value
        }
        func int(_ name: String) throws -> Int {
            guard let number = Int(try value(name)), number > 0 else { throw BenchError("\(name) needs a positive integer") }
            return number
        }
        func seconds(_ name: String) throws -> Double {
            guard let number = Double(try value(name)), number >= 0 else { throw BenchError("\(name) needs seconds") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "all", "throughput", "memory", "codec", "engineio", "polling-queue": mode = argument
            case "--connections": connections = try int(argument)
            case "--in-flight": inFlight = try int(argument)
            case "--warmup": warmup = try seconds(argument)
            case "--duration": duration = max(try seconds(argument), 0.1)
            case "--rounds": rounds = try int(argument)
            case "--client-threads": clientThreads = try int(argument)
            case "--idle": idle = try int(argument)
            case "--window": window = try int(argument)
            case "--header-bytes": headerBytes = try int(argument)
            case "--only":
                targets = try value(argument).split(separator: ",").map { name in
                    guard let target = LoadTarget(rawValue: String(name)) else {
                        throw BenchError("--only takes \(LoadTarget.allCases.map(\.rawValue).joined(separator: ", ")), or several joined by commas")
                    }
                    return target
                }
            case "--port": port = try int(argument)
            case "--server-pid": serverPID = Int32(try int(argument))
            case "-h", "--help": print(usage); exit(0)
            default: throw BenchError("unknown argument \(argument)\n\n\(usage)")
            }
        }
        if port != nil, targets?.count != 1 || (mode != "throughput" && mode != "engineio") {
            throw BenchError("--port needs `throughput` or `engineio` and --only")
        }
    }

    /// What the throughput run measures: `--only`, else raw and Primus (`engineio`: Primus over
    /// websockets, then Engine.IO over WebSocket and polling).
    var throughputTargets: [LoadTarget] {
        targets ?? (mode == "engineio" ? [.primus, .engineIOWebSocket, .engineIOPolling] : [.raw, .primus])
    }

    /// What the memory run measures: `--only` (not polling), else raw and Primus.
    var memoryTargets: [LoadTarget] {
        (targets ?? [.raw, .primus]).filter { $0 != .engineIOPolling }
    }
}

@main
struct PrimusBench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if arguments.first == "server" {
                guard arguments.count == 2, let kind = ServerKind(rawValue: arguments[1]) else {
                    throw BenchError(usage)
                }
                try await runServer(kind)
                return
            }
            try await runBenchmarks(try Options(arguments))
        } catch {
            FileHandle.standardError.write(Data("primus-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    static func runBenchmarks(_ options: Options) async throws {
        let limit = System.raiseFileLimit(to: UInt64(max(options.idle, options.connections) + 1024))
        #if DEBUG
        print("warning: debug build; run with -c release for meaningful figures\n")
        #endif
        print("primus-bench on \(System.coreCount) cores (\(System.cpuModel)), \(System.kernel)")
        print("server and load generator run in separate processes but share these \(System.coreCount) cores;")
        print("each server uses NIO's default group (\(System.coreCount) threads), the load generator \(options.clientThreads).")
        let load = System.loadAverage
        print("load average before the run: \(load)" + (Double(load.split(separator: " ").first ?? "") ?? 0 > 0.5
            ? "  (WARNING: the machine is busy; throughput figures will be low and noisy)" : ""))
        print("")

        if options.mode == "all" || options.mode == "codec" {
            CodecBenchmark.run(iterations: 200_000)
        }
        if options.mode == "polling-queue" {
            PollingQueueBenchmark.run()
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.clientThreads)
        do {
            if options.mode == "all" || options.mode == "throughput" || options.mode == "engineio" {
                try await throughput(options, group: group)
            }
            if options.mode == "all" || options.mode == "memory" {
                guard limit >= UInt64(options.idle + 100) else {
                    throw BenchError("RLIMIT_NOFILE is \(limit), too low for \(options.idle) connections")
                }
                try await memory(options, group: group)
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    // MARK: - Throughput

    struct ThroughputResult {
        var target: LoadTarget
        var messagesPerSecond: Double
        var serverCPU: Double  // cores busy, on average
        var clientCPU: Double
        var mismatches: Int
        var closedEarly: Int
    }

    static func throughput(_ options: Options, group: MultiThreadedEventLoopGroup) async throws {
        let targets = options.throughputTargets
        print("""
            Throughput: \(options.connections) connections x \(options.inFlight) messages in flight, \
            {"seq":N,"payload":"hello"} messages echoed; \
            \(format(options.warmup, 0)) s warm-up, \(format(options.duration, 0)) s measured, \(options.rounds) round(s)
            """)
        var results: [ThroughputResult] = []
        for round in 1...options.rounds {
            for target in targets {
                let result = try await measureThroughput(target, options: options, group: group)
                results.append(result)
                print(
                    "  round \(round) \(pad(target.label, 26)) \(pad(format(result.messagesPerSecond, 0), 9, right: true)) msg/s"
                        + "  server CPU \(format(result.serverCPU * 100, 0))%  client CPU \(format(result.clientCPU * 100, 0))%"
                        + (result.mismatches + result.closedEarly > 0
                            ? "  ERRORS: \(result.mismatches) bad echoes, \(result.closedEarly) closed early" : "")
                )
            }
        }
        func mean(_ target: LoadTarget, _ value: (ThroughputResult) -> Double) -> Double {
            let values = results.filter { $0.target == target }.map(value)
            return values.reduce(0, +) / Double(values.count)
        }
        print("")
        let rows: [[String]] = targets.map { target in
            let rate = mean(target, \.messagesPerSecond)
            let cpu = mean(target, \.serverCPU)
            return [
                target.label,
                format(rate, 0),
                format(cpu * 100, 0) + "%",
                format(cpu / rate * 1e6, 2),
                format(mean(target, \.clientCPU) * 100, 0) + "%",
            ]
        }
        printTable(header: ["server", "echoes/s", "server CPU", "server CPU us/msg", "client CPU"], rows: rows)
        // Ratios against the first target measured (the baseline of this run).
        if targets.count >= 2, let baseline = targets.first {
            for target in targets.dropFirst() {
                let ratio = mean(target, \.messagesPerSecond) / mean(baseline, \.messagesPerSecond)
                let cpuRatio = mean(target, { $0.serverCPU / $0.messagesPerSecond })
                    / mean(baseline, { $0.serverCPU / $0.messagesPerSecond })
                print(
                    "  \(target.rawValue)/\(baseline.rawValue) throughput ratio: \(format(ratio, 3))"
                        + "   server CPU per message, \(target.rawValue)/\(baseline.rawValue): \(format(cpuRatio, 2))"
                )
            }
        }
        let errors = results.reduce(0) { $0 + $1.mismatches + $1.closedEarly }
        if errors > 0 { print("  ERRORS: \(errors) bad echoes or dropped connections (see rounds above)") }
        print("")
    }

    static func measureThroughput(_ target: LoadTarget, options: Options, group: MultiThreadedEventLoopGroup) async throws
        -> ThroughputResult
    {
        let server = options.port == nil ? try ServerProcess(kind: target.server) : nil
        defer { server?.stop() }
        let stats = LoadStats()
        let port = options.port ?? server!.port
        let channels: [any Channel]
        if target == .engineIOPolling {
            let client = PollingLoadClient(group: group, port: port, stats: stats)
            channels = try await client.connectMany(options.connections, inFlight: options.inFlight, window: options.connections)
        } else {
            var client = WebSocketLoadClient(group: group, port: port, stats: stats)
            client.engineIO = target == .engineIOWebSocket
            client.messagePack = target == .msgpack
            channels = try await client.connectMany(options.connections, mode: .load(inFlight: options.inFlight), window: options.connections)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(StartLoad()) }
        try await Task.sleep(for: .seconds(options.warmup))

        let clock = ContinuousClock()
        // A server started by hand (`--port`) is measured through `--server-pid`, when given.
        let serverCPU = { server?.cpuSeconds ?? options.serverPID.flatMap { System.cpuSeconds(pid: $0) } ?? 0 }
        let start = (clock.now, stats.echoes.load(ordering: .relaxed), serverCPU(), System.ownCPUSeconds())
        try await Task.sleep(for: .seconds(options.duration))
        let end = (clock.now, stats.echoes.load(ordering: .relaxed), serverCPU(), System.ownCPUSeconds())
        let elapsed = seconds(end.0 - start.0)

        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(channels, group: group)
        return ThroughputResult(
            target: target,
            messagesPerSecond: Double(end.1 - start.1) / elapsed,
            serverCPU: (end.2 - start.2) / elapsed,
            clientCPU: (end.3 - start.3) / elapsed,
            mismatches: stats.mismatches.load(ordering: .relaxed),
            closedEarly: stats.closedEarly.load(ordering: .relaxed)
        )
    }

    // MARK: - Memory

    struct MemoryResult {
        var target: LoadTarget
        var beforeKiB: Int
        var afterKiB: Int
        var anonBeforeKiB: Int
        var anonAfterKiB: Int
        var connectSeconds: Double
    }

    static func memory(_ options: Options, group: MultiThreadedEventLoopGroup) async throws {
        print("Memory: \(options.idle) idle WebSocket connections per server, server VmRSS before and after"
            + (options.headerBytes > 0 ? "; \(options.headerBytes) extra bytes of handshake headers" : ""))
        var results: [MemoryResult] = []
        for target in options.memoryTargets {
            let result = try await measureMemory(target, options: options, group: group)
            results.append(result)
            print(
                "  \(pad(target.label, 26)) VmRSS \(result.beforeKiB) -> \(result.afterKiB) KiB"
                    + " (RssAnon \(result.anonBeforeKiB) -> \(result.anonAfterKiB) KiB),"
                    + " opened in \(format(result.connectSeconds, 1)) s"
            )
        }
        print("")
        let n = Double(options.idle)
        let rows: [[String]] = results.map { result in
            [
                result.target.label,
                format(Double(result.beforeKiB) / 1024, 1),
                format(Double(result.afterKiB) / 1024, 1),
                format(Double(result.afterKiB - result.beforeKiB) / n, 2),
                format(Double(result.anonAfterKiB - result.anonBeforeKiB) / n, 2),
            ]
        }
        printTable(header: ["server", "RSS before MiB", "RSS after MiB", "KiB/conn (VmRSS)", "KiB/conn (RssAnon)"], rows: rows)
        if let raw = results.first(where: { $0.target == .raw }), let primus = results.first(where: { $0.target == .primus }) {
            let extra = Double((primus.afterKiB - primus.beforeKiB) - (raw.afterKiB - raw.beforeKiB)) / n
            print("  Primus layer: \(format(extra, 2)) KiB more per idle connection than raw NIOWebSocket")
        }
        print("")
    }

    static func measureMemory(_ target: LoadTarget, options: Options, group: MultiThreadedEventLoopGroup) async throws
        -> MemoryResult
    {
        let server = try ServerProcess(kind: target.server)
        defer { server.stop() }
        let stats = LoadStats()
        var client = WebSocketLoadClient(group: group, port: server.port, stats: stats)
        client.paddingHeaderBytes = options.headerBytes
        client.engineIO = target == .engineIOWebSocket
        client.messagePack = target == .msgpack

        // Warm up: a few connections open and close, so code paths and allocator arenas that every
        // connection needs are already in the "before" figure.
        let warmup = try await client.connectMany(100, mode: .idle, window: 100)
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
        if stats.closedEarly.load(ordering: .relaxed) > 0 {
            throw BenchError("\(stats.closedEarly.load(ordering: .relaxed)) idle connections were closed by the \(target.rawValue) server")
        }
        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(channels, group: group)
        return MemoryResult(
            target: target,
            beforeKiB: before.0,
            afterKiB: after.0,
            anonBeforeKiB: before.1,
            anonAfterKiB: after.1,
            connectSeconds: connectSeconds
        )
    }

    // MARK: - Helpers

    static func closeAll(_ channels: [any Channel], group: MultiThreadedEventLoopGroup) async throws {
        let futures = channels.map { $0.close() }
        try await EventLoopFuture.andAllComplete(futures, on: group.next()).get()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    static func printTable(header: [String], rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            "  | " + cells.enumerated().map { pad($1, widths[$0], right: $0 > 0) }.joined(separator: " | ") + " |"
        }
        print(line(header))
        print("  |" + widths.enumerated().map { String(repeating: "-", count: $1 + 1) + ($0 > 0 ? ":" : "-") }.joined(separator: "|") + "|")
        for row in rows { print(line(row)) }
    }
}
