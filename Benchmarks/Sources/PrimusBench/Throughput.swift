import NIOCore
import NIOPosix

/// One load scenario of `throughput` (and of `engineio`).
struct LoadScenario: Sendable {
    enum Shape: Sendable {
        /// Every connection keeps `inFlight` messages outstanding and checks their echoes.
        case echo(connections: Int, inFlight: Int)
        /// `subscribers` connections; one of them publishes `messages`, the server broadcasts each
        /// to all, at most `window` in flight.
        case fanout(subscribers: Int, messages: Int, window: Int)
        /// The same with rooms: every subscriber joins one room, the publisher publishes through
        /// an event, the server emits (or writes) each message to the room.
        case room(subscribers: Int, messages: Int, window: Int)
    }

    var name: String
    var shape: Shape

    var title: String {
        switch shape {
        case .echo(let connections, let inFlight):
            "echo, \(connections) connections x \(inFlight) in flight"
        case .fanout(let subscribers, let messages, let window):
            "fan-out, \(subscribers) subscribers x \(messages) messages (\(window) broadcasts in flight)"
        case .room(let subscribers, let messages, let window):
            "room broadcast, \(subscribers) sockets in one room x \(messages) messages (\(window) in flight)"
        }
    }

    /// What one counted unit is.
    var unit: String {
        switch shape {
        case .echo: "msg"
        case .fanout, .room: "delivery"
        }
    }
}

/// One measurement of one server in one round.
struct ThroughputResult: Sendable {
    var target: LoadTarget
    /// Echoes (or deliveries) per second.
    var perSecond: Double
    /// Cores busy in the server, on average.
    var serverCPU: Double
    var clientCPU: Double
    /// Server CPU microseconds per echo (or delivery).
    var serverMicros: Double
    /// Engine.IO polling: packets per `POST`; SockJS XHR: messages per `xhr_send` (echoes
    /// divided by requests, so Primus pongs are not counted).
    var packetsPerPost: Double?
    /// SockJS XHR: `xhr_streaming` responses opened in the measured time.
    var streamsOpened: Int?
    var mismatches: Int
    var closedEarly: Int
    var missing: Int

    var errors: Int { mismatches + closedEarly + missing }
}

/// A server's result in one round: measured, not there (peer not installed or not built), or
/// failed (the server did not start, the load failed).
enum Outcome<Value: Sendable>: Sendable {
    case measured(Value)
    case unavailable(String)
    case failed(String)
}

extension PrimusBench {
    static func scenarios(_ options: Options) -> [LoadScenario] {
        var list: [LoadScenario] = []
        if options.scenarios.contains("echo") {
            list.append(LoadScenario(name: "echo", shape: .echo(connections: options.connections, inFlight: options.inFlight)))
        }
        if options.scenarios.contains("echo-wide") {
            list.append(LoadScenario(name: "echo-wide", shape: .echo(connections: options.wideConnections, inFlight: 1)))
        }
        if options.scenarios.contains("fanout") {
            list.append(
                LoadScenario(
                    name: "fanout",
                    shape: .fanout(subscribers: options.subscribers, messages: options.fanoutMessages, window: options.fanoutWindow)
                )
            )
        }
        return list
    }

    /// `throughput`: every scenario, the servers interleaved in each round (A, B, C, A, B, C...).
    /// Returns the number of errors (bad echoes, dropped connections, servers that failed).
    static func throughput(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        var errors = 0
        for scenario in scenarios(options) {
            if case .echo = scenario.shape {
                print("Throughput: \(scenario.title); {\"seq\":N,\"payload\":\"hello\"} echoed; "
                    + "\(format(options.warmup, 1)) s warm-up, \(format(options.duration, 1)) s measured, \(options.rounds) round(s)")
            } else {
                print("Throughput: \(scenario.title); every delivery checked (count and order per subscriber); \(options.rounds) round(s)")
            }
            let results = await measureRounds(scenario, targets: options.peerTargets, options: options, group: group)
            errors += results.errors
            printThroughputTable(results.byTarget, targets: options.peerTargets, unit: scenario.unit)
        }
        return errors
    }

    /// Measures `targets` in `options.rounds` interleaved rounds, printing each measurement.
    static func measureRounds(
        _ scenario: LoadScenario,
        targets: [LoadTarget],
        options: Options,
        group: MultiThreadedEventLoopGroup
    ) async -> (byTarget: [LoadTarget: [Outcome<ThroughputResult>]], errors: Int) {
        var byTarget: [LoadTarget: [Outcome<ThroughputResult>]] = [:]
        var errors = 0
        var unavailable: [LoadTarget: String] = [:]
        for round in 1...options.rounds {
            for target in targets {
                // A peer that is not here in round 1 is not here in round 2 either.
                if let reason = unavailable[target] {
                    byTarget[target, default: []].append(.unavailable(reason))
                    continue
                }
                let outcome: Outcome<ThroughputResult>
                do {
                    switch scenario.shape {
                    case .echo(let connections, let inFlight):
                        outcome = .measured(
                            try await measureEcho(target, connections: connections, inFlight: inFlight, options: options, group: group)
                        )
                    case .fanout(let subscribers, let messages, let window):
                        outcome = .measured(
                            try await measureFanout(target, subscribers: subscribers, messages: messages, window: window, group: group)
                        )
                    case .room(let subscribers, let messages, let window):
                        outcome = .measured(
                            try await measureFanout(
                                target, subscribers: subscribers, messages: messages, window: window, inRoom: true, group: group
                            )
                        )
                    }
                } catch let error as PeerUnavailable {
                    unavailable[target] = error.description
                    outcome = .unavailable(error.description)
                } catch {
                    outcome = .failed("\(error)")
                }
                byTarget[target, default: []].append(outcome)
                let label = "  round \(round) \(pad(target.label, 26)) "
                switch outcome {
                case .measured(let result):
                    errors += result.errors
                    print(
                        label + "\(pad(format(result.perSecond, 0), 9, right: true)) \(scenario.unit)/s"
                            + "  server CPU \(format(result.serverCPU * 100, 0))% (\(format(result.serverMicros, 2)) us/\(scenario.unit))"
                            + "  client CPU \(format(result.clientCPU * 100, 0))%"
                            + (result.packetsPerPost.map { "  \(format($0, 1)) " + (target == .sockJSXHR ? "msgs/xhr_send" : "packets/POST") } ?? "")
                            + (result.streamsOpened.map { "  \($0) streams opened" } ?? "")
                            + (result.errors > 0
                                ? "  ERRORS: \(result.mismatches) bad or out of order, \(result.closedEarly) closed early, \(result.missing) missing"
                                : "")
                    )
                case .unavailable(let reason):
                    print(label + reason)
                case .failed(let reason):
                    errors += 1
                    print(label + "ERROR: \(reason)")
                }
            }
        }
        return (byTarget, errors)
    }

    /// The mean of `value` over the rounds that measured `target`.
    static func mean(_ outcomes: [Outcome<ThroughputResult>]?, _ value: (ThroughputResult) -> Double) -> Double? {
        let values = (outcomes ?? []).compactMap { outcome -> Double? in
            if case .measured(let result) = outcome { return value(result) }
            return nil
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Why `target` has no figure: not installed, or the error.
    static func reason(_ outcomes: [Outcome<ThroughputResult>]?) -> String {
        for outcome in outcomes ?? [] {
            switch outcome {
            case .unavailable(let reason): return reason
            case .failed: return "failed (see above)"
            case .measured: continue
            }
        }
        return "not measured"
    }

    /// `value / baseline`, or "n/a" when either is missing.
    static func ratio(_ value: Double?, _ baseline: Double?) -> String {
        guard let value, let baseline, baseline > 0 else { return "n/a" }
        return format(value / baseline, 2)
    }

    static func printThroughputTable(_ byTarget: [LoadTarget: [Outcome<ThroughputResult>]], targets: [LoadTarget], unit: String) {
        let rawRate = mean(byTarget[.raw], \.perSecond)
        let wsRate = mean(byTarget[.ws], \.perSecond)
        let rawMicros = mean(byTarget[.raw], \.serverMicros)
        let wsMicros = mean(byTarget[.ws], \.serverMicros)
        let rows: [[String]] = targets.map { target in
            guard let rate = mean(byTarget[target], \.perSecond), let micros = mean(byTarget[target], \.serverMicros),
                let cpu = mean(byTarget[target], \.serverCPU), let client = mean(byTarget[target], \.clientCPU)
            else {
                return [target.label, reason(byTarget[target]), "", "", "", "", "", "", ""]
            }
            return [
                target.label, format(rate, 0), ratio(rate, rawRate), ratio(rate, wsRate),
                format(cpu * 100, 0) + "%", format(micros, 2), ratio(micros, rawMicros), ratio(micros, wsMicros),
                format(client * 100, 0) + "%",
            ]
        }
        print("")
        printTable(
            header: ["server", "\(unit)/s", "/ NIO", "/ ws", "server CPU", "server CPU us/\(unit)", "/ NIO", "/ ws", "client CPU"],
            rows: rows
        )
        print("  (/ NIO, / ws: the figure divided by raw NIOWebSocket's, by raw Node ws's, means of the rounds)")
        print("")
    }

    /// One echo measurement: connect, start the load everywhere at once, warm up, measure.
    static func measureEcho(
        _ target: LoadTarget,
        connections count: Int,
        inFlight: Int,
        options: Options,
        group: MultiThreadedEventLoopGroup
    ) async throws -> ThroughputResult {
        let server = options.port == nil ? try ServerProcess(kind: target.server, mode: target.echoMode) : nil
        defer { server?.stop() }
        let stats = LoadStats()
        let port = options.port ?? server!.port
        let channels: [any Channel]
        if target == .engineIOPolling {
            let client = PollingLoadClient(group: group, port: port, stats: stats)
            channels = try await client.connectMany(count, inFlight: inFlight, window: min(count, options.window))
        } else if target == .sockJSXHR {
            let client = SockJSXHRLoadClient(group: group, port: port, stats: stats)
            channels = try await client.connectMany(count, inFlight: inFlight, window: min(count, options.window))
        } else if target == .browserChannel {
            let client = BrowserChannelLoadClient(group: group, port: port, stats: stats)
            channels = try await client.connectMany(count, inFlight: inFlight, window: min(count, options.window))
        } else {
            var client = WebSocketLoadClient(group: group, port: port, stats: stats)
            client.framing = target.framing
            channels = try await client.connectMany(count, mode: .load(inFlight: inFlight), window: min(count, options.window))
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(StartLoad()) }
        try await Task.sleep(for: .seconds(options.warmup))

        let clock = ContinuousClock()
        // A server started by hand (`--port`) is measured through `--server-pid`, when given.
        let serverCPU = { server?.cpuSeconds ?? options.serverPID.flatMap { System.cpuSeconds(pid: $0) } ?? 0 }
        let start = (clock.now, stats.echoes.load(ordering: .relaxed), serverCPU(), System.ownCPUSeconds(), stats.posts.load(ordering: .relaxed))
        let streamsBefore = stats.streams.load(ordering: .relaxed)
        try await Task.sleep(for: .seconds(options.duration))
        let end = (clock.now, stats.echoes.load(ordering: .relaxed), serverCPU(), System.ownCPUSeconds(), stats.posts.load(ordering: .relaxed))
        let streams = stats.streams.load(ordering: .relaxed) - streamsBefore
        let elapsed = seconds(end.0 - start.0)

        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(channels, group: group)
        let echoes = end.1 - start.1
        let posts = end.4 - start.4
        return ThroughputResult(
            target: target,
            perSecond: Double(echoes) / elapsed,
            serverCPU: (end.2 - start.2) / elapsed,
            clientCPU: (end.3 - start.3) / elapsed,
            serverMicros: echoes > 0 ? (end.2 - start.2) / Double(echoes) * 1e6 : .infinity,
            packetsPerPost: (target == .engineIOPolling || target == .sockJSXHR || target == .browserChannel) && posts > 0 ? Double(echoes) / Double(posts) : nil,
            streamsOpened: target == .sockJSXHR ? streams : nil,
            mismatches: stats.mismatches.load(ordering: .relaxed),
            closedEarly: stats.closedEarly.load(ordering: .relaxed),
            // No echo at all in the measured time is an error too.
            missing: echoes > 0 ? 0 : 1
        )
    }

    /// One fan-out measurement: all subscribers connect, the publisher starts, and the clock runs
    /// until every subscriber has every message (or a deadline passes: then the missing
    /// deliveries are errors). `inRoom`: the subscribers join a room first (server mode
    /// `events`), and the publisher's messages go to the room.
    static func measureFanout(
        _ target: LoadTarget,
        subscribers: Int,
        messages: Int,
        window: Int,
        inRoom: Bool = false,
        group: MultiThreadedEventLoopGroup
    ) async throws -> ThroughputResult {
        let framings: Set<Framing> = inRoom ? [.primus, .primusEvents, .socketIOEvents, .socketIOData] : [.primus]
        guard target != .engineIOPolling, target != .sockJSXHR, target != .browserChannel, framings.contains(target.framing) else {
            throw BenchError("\(inRoom ? "the room broadcast" : "fan-out") does not measure \(target.rawValue)")
        }
        let server = try ServerProcess(kind: target.server, mode: inRoom ? .events : .fanout)
        defer { server.stop() }
        let stats = LoadStats()
        var client = WebSocketLoadClient(group: group, port: server.port, stats: stats)
        client.framing = target.framing
        let publisher = try await client.connect(mode: .fanout(messages: messages, window: window, publishes: true, inRoom: inRoom))
        var channels = [publisher]
        channels += try await client.connectMany(
            subscribers - 1,
            mode: .fanout(messages: messages, window: window, publishes: false, inRoom: inRoom),
            window: 200
        )

        let clock = ContinuousClock()
        // Until the server has every subscriber in its list, or in the room (not measured): the
        // publisher's probes, or every subscriber's acknowledged join.
        let readyBy = clock.now + .seconds(30)
        for channel in inRoom ? channels : [publisher] { channel.pipeline.fireUserInboundEventTriggered(StartProbe()) }
        while stats.subscribersReady.load(ordering: .relaxed) < subscribers, clock.now < readyBy {
            try await Task.sleep(for: .milliseconds(2))
        }
        stats.probing.store(false, ordering: .relaxed)
        guard stats.subscribersReady.load(ordering: .relaxed) == subscribers else {
            stats.stopping.store(true, ordering: .relaxed)
            try? await closeAll(channels, group: group)
            throw BenchError(
                "only \(stats.subscribersReady.load(ordering: .relaxed)) of \(subscribers) subscribers "
                    + (inRoom ? "had their join acknowledged" : "got a probe broadcast") + " in 30 s"
            )
        }
        let deliveries = subscribers * messages
        // Generous: 60 s plus 100 us per delivery (the slowest server here needs a fraction).
        let deadline = clock.now + .seconds(60) + .microseconds(100 * deliveries)
        let start = (clock.now, server.cpuSeconds, System.ownCPUSeconds())
        publisher.pipeline.fireUserInboundEventTriggered(StartLoad())
        while stats.subscribersDone.load(ordering: .relaxed) < subscribers, stats.closedEarly.load(ordering: .relaxed) == 0,
            clock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(2))
        }
        let end = (clock.now, server.cpuSeconds, System.ownCPUSeconds())
        let elapsed = seconds(end.0 - start.0)
        let delivered = stats.echoes.load(ordering: .relaxed)

        stats.stopping.store(true, ordering: .relaxed)
        try? await closeAll(channels, group: group)
        return ThroughputResult(
            target: target,
            perSecond: Double(delivered) / elapsed,
            serverCPU: (end.1 - start.1) / elapsed,
            clientCPU: (end.2 - start.2) / elapsed,
            serverMicros: delivered > 0 ? (end.1 - start.1) / Double(delivered) * 1e6 : .infinity,
            packetsPerPost: nil,
            streamsOpened: nil,
            mismatches: stats.mismatches.load(ordering: .relaxed),
            closedEarly: stats.closedEarly.load(ordering: .relaxed),
            missing: max(0, deliveries - delivered)
        )
    }
}
