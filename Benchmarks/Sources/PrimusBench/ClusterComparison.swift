import Foundation
import NIOCore
import NIOPosix

/// The two setups the cluster benchmark compares, with the same subscribers.
enum ClusterSetup: Sendable {
    /// One `primus` fan-out server without Redis holds every subscriber (the baseline).
    case singleNode
    /// `primus-redis` fan-out servers sharing one redis-server, the subscribers spread evenly.
    case redis

    func label(nodes: Int, subscribers: Int) -> String {
        switch self {
        case .singleNode: "1 node, no Redis, \(subscribers) subscribers"
        case .redis: "\(nodes) nodes + Redis, \(nodes) x \(subscribers / max(1, nodes))"
        }
    }
}

/// One measurement of one setup.
struct ClusterFanoutResult: Sendable {
    var setup: ClusterSetup
    var perSecond: Double
    /// Delivery latency percentiles (publish on node 1 to receipt), in milliseconds.
    var p50: Double
    var p99: Double
    /// Server CPU microseconds per delivery, every node's CPU summed.
    var serverMicros: Double
    /// Cores busy in the servers together, on average.
    var serverCPU: Double
    var clientCPU: Double
    /// redis-server's CPU microseconds per broadcast, and cores busy (the cluster only).
    var redisMicrosPerBroadcast: Double?
    var redisCPU: Double?
    /// Deliveries out of order or more than once.
    var mismatches: Int
    var closedEarly: Int
    var missing: Int
    /// Subscribers the fence broadcast did not reach.
    var unfenced: Int

    var errors: Int { mismatches + closedEarly + missing + unfenced }
}

extension PrimusBench {
    /// `cluster`: the same fan-out to the same subscribers on one node without Redis and on
    /// `--cluster-nodes` nodes sharing a redis-server this run starts, the broadcasts issued on
    /// node 1; deliveries per second, delivery latency, server CPU per delivery (the extra that
    /// Redis costs) and redis-server's CPU per broadcast. Returns the number of errors (a missing
    /// redis-server is one).
    static func cluster(_ options: Options, group: MultiThreadedEventLoopGroup) async -> Int {
        let nodes = options.clusterNodes
        let total = nodes * options.clusterSubscribers
        print(
            "Cluster (Redis): fan-out of \(options.clusterMessages) broadcasts issued on node 1 (at most \(options.fanoutWindow) in flight: "
                + "the next is sent when one has reached every subscriber) "
                + "to \(nodes) x \(options.clusterSubscribers) subscribers on \(nodes) Primus nodes (websockets, JSON) sharing one "
                + "redis-server, next to the same \(total) subscribers on one node without Redis; every delivery checked "
                + "(each broadcast once, in order, then a fence broadcast); \(options.rounds) round(s)"
        )
        let redis: RedisServerProcess
        do {
            redis = try await RedisServerProcess()
        } catch {
            print("  ERROR: \(error)\n")
            return 1
        }
        defer { redis.stop() }
        print(
            "  redis-server \(redis.version) on 127.0.0.1:\(redis.port) (no persistence); "
                + (options.clusterRecover > 0
                    ? "recovery on: each broadcast appended to a stream capped at \(options.clusterRecover) and published by a script"
                    : "recovery off: one PUBLISH per broadcast")
        )
        var errors = 0
        var results: [ClusterSetup: [ClusterFanoutResult]] = [:]
        for round in 1...options.rounds {
            for setup in [ClusterSetup.singleNode, .redis] {
                let label = "  round \(round) \(pad(setup.label(nodes: nodes, subscribers: total), 38)) "
                do {
                    let result = try await measureClusterFanout(setup, round: round, redis: redis, options: options, group: group)
                    results[setup, default: []].append(result)
                    errors += result.errors
                    print(
                        label + "\(pad(format(result.perSecond, 0), 9, right: true)) deliveries/s"
                            + "  p50 \(format(result.p50, 2)) ms  p99 \(format(result.p99, 2)) ms"
                            + "  server CPU \(format(result.serverCPU * 100, 0))% (\(format(result.serverMicros, 2)) us/delivery)"
                            + (result.redisMicrosPerBroadcast.map { "  redis CPU \(format((result.redisCPU ?? 0) * 100, 0))% (\(format($0, 1)) us/broadcast)" } ?? "")
                            + "  client CPU \(format(result.clientCPU * 100, 0))%"
                            + (result.errors > 0
                                ? "  ERRORS: \(result.mismatches) duplicate or out of order, \(result.closedEarly) closed early, "
                                    + "\(result.missing) missing, \(result.unfenced) without the fence"
                                : "")
                    )
                } catch {
                    errors += 1
                    print(label + "ERROR: \(error)")
                }
            }
        }
        printClusterTable(results, nodes: nodes, total: total)
        print("  load average after the run: \(System.loadAverage)\n")
        return errors
    }

    /// The means of the rounds, the cluster's figures divided by the single node's, and the extra
    /// server CPU per delivery.
    static func printClusterTable(_ results: [ClusterSetup: [ClusterFanoutResult]], nodes: Int, total: Int) {
        func mean(_ setup: ClusterSetup, _ value: (ClusterFanoutResult) -> Double?) -> Double? {
            let values = (results[setup] ?? []).compactMap(value)
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        let baseRate = mean(.singleNode, \.perSecond)
        let baseMicros = mean(.singleNode, \.serverMicros)
        let rows: [[String]] = [ClusterSetup.singleNode, .redis].map { setup in
            let name = setup.label(nodes: nodes, subscribers: total)
            guard let rate = mean(setup, \.perSecond), let p50 = mean(setup, \.p50), let p99 = mean(setup, \.p99),
                let micros = mean(setup, \.serverMicros), let cpu = mean(setup, \.serverCPU), let client = mean(setup, \.clientCPU)
            else { return [name, "failed (see above)", "", "", "", "", "", "", "", ""] }
            return [
                name, format(rate, 0), ratio(rate, baseRate), format(p50, 2), format(p99, 2), format(micros, 2), ratio(micros, baseMicros),
                format(cpu * 100, 0) + "%", format(client * 100, 0) + "%",
                mean(setup, \.redisMicrosPerBroadcast).map { format($0, 1) } ?? "-",
            ]
        }
        print("")
        print("Means of the rounds (/ 1 node: the figure divided by the single node's):")
        printTable(
            header: [
                "setup", "deliveries/s", "/ 1 node", "p50 ms", "p99 ms", "server CPU us/delivery", "/ 1 node", "server CPU", "client CPU",
                "redis CPU us/broadcast",
            ],
            rows: rows
        )
        if let micros = mean(.redis, \.serverMicros), let baseMicros {
            print(
                "  extra server CPU per delivery with Redis: \(format(micros - baseMicros, 3)) us "
                    + "(\(format(micros, 3)) us summed over \(nodes) nodes against \(format(baseMicros, 3)) us on one node: x\(ratio(micros, baseMicros)))"
            )
        }
    }

    /// One measurement: start the setup's servers, connect every subscriber (the publisher first,
    /// on node 1), probe until every node lists every subscriber, then time the broadcasts from
    /// the first publish until every subscriber has all of them, and finish with a fence
    /// broadcast that shows any late duplicate.
    static func measureClusterFanout(
        _ setup: ClusterSetup,
        round: Int,
        redis: RedisServerProcess,
        options: Options,
        group: MultiThreadedEventLoopGroup
    ) async throws -> ClusterFanoutResult {
        let nodes = options.clusterNodes
        let messages = options.clusterMessages
        let window = options.fanoutWindow
        let total = nodes * options.clusterSubscribers
        var servers: [ServerProcess] = []
        defer { for server in servers { server.stop() } }
        let perNode: [Int]
        switch setup {
        case .singleNode:
            servers.append(try ServerProcess(kind: .primus, mode: .fanout))
            perNode = [total]
        case .redis:
            // A fresh key prefix: nothing of an earlier round (registry, channels) is shared.
            let prefix = "bench\(round)-\(String(UInt32.random(in: .min ... .max), radix: 36))"
            for index in 1...nodes {
                let settings = ClusterNodeSettings(redisURL: redis.url, nodeID: "node-\(index)", keyPrefix: prefix, recoverCount: options.clusterRecover)
                servers.append(try ServerProcess(kind: .primusRedis, mode: .fanout, arguments: settings.arguments))
            }
            perNode = Array(repeating: options.clusterSubscribers, count: nodes)
        }

        let stats = LoadStats()
        let latency = FanoutLatency()
        let pacer = FanoutPacer(messages: messages, subscribers: total)
        func client(_ server: ServerProcess) -> WebSocketLoadClient {
            var client = WebSocketLoadClient(group: group, port: server.port, stats: stats)
            client.latency = latency
            client.pacer = pacer
            return client
        }
        var channels: [any Channel] = []
        let publisher = try await client(servers[0]).connect(mode: .fanout(messages: messages, window: window, publishes: true, inRoom: false))
        channels.append(publisher)
        pacer.setPublisher(publisher)
        for (index, server) in servers.enumerated() {
            let count = perNode[index] - (index == 0 ? 1 : 0)
            guard count > 0 else { continue }
            channels += try await client(server).connectMany(
                count,
                mode: .fanout(messages: messages, window: window, publishes: false, inRoom: false),
                window: min(count, 200)
            )
        }

        let clock = ContinuousClock()
        // Not measured: probes until every node has every subscriber in its list (and, with
        // Redis, every node's subscription is up).
        let readyBy = clock.now + .seconds(30)
        publisher.pipeline.fireUserInboundEventTriggered(StartProbe())
        while stats.subscribersReady.load(ordering: .relaxed) < total, clock.now < readyBy {
            try await Task.sleep(for: .milliseconds(2))
        }
        stats.probing.store(false, ordering: .relaxed)
        guard stats.subscribersReady.load(ordering: .relaxed) == total else {
            stats.stopping.store(true, ordering: .relaxed)
            pacer.setPublisher(nil)
            try? await closeAll(channels, group: group)
            throw BenchError("only \(stats.subscribersReady.load(ordering: .relaxed)) of \(total) subscribers got a probe broadcast in 30 s")
        }

        let deliveries = total * messages
        let running = servers
        let serverCPU = { running.reduce(0) { $0 + $1.cpuSeconds } }
        let deadline = clock.now + .seconds(60) + .microseconds(100 * deliveries)
        let start = (clock.now, serverCPU(), System.ownCPUSeconds(), redis.cpuSeconds)
        publisher.pipeline.fireUserInboundEventTriggered(StartLoad())
        while stats.subscribersDone.load(ordering: .relaxed) < total, stats.closedEarly.load(ordering: .relaxed) == 0, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        let end = (clock.now, serverCPU(), System.ownCPUSeconds(), redis.cpuSeconds)
        let elapsed = seconds(end.0 - start.0)
        let delivered = stats.echoes.load(ordering: .relaxed)

        // The fence: once every subscriber has it, a duplicate of a measured broadcast would
        // have arrived before it (every node delivers in publish order).
        var unfenced = 0
        if stats.subscribersDone.load(ordering: .relaxed) == total {
            let fencedBy = clock.now + .seconds(30)
            publisher.pipeline.fireUserInboundEventTriggered(StartFence())
            while stats.subscribersFenced.load(ordering: .relaxed) < total, stats.closedEarly.load(ordering: .relaxed) == 0, clock.now < fencedBy {
                try await Task.sleep(for: .milliseconds(2))
            }
            unfenced = total - stats.subscribersFenced.load(ordering: .relaxed)
        }

        stats.stopping.store(true, ordering: .relaxed)
        pacer.setPublisher(nil)
        try? await closeAll(channels, group: group)
        let percentiles = latency.percentiles()
        return ClusterFanoutResult(
            setup: setup,
            perSecond: Double(delivered) / elapsed,
            p50: percentiles?.p50 ?? .nan,
            p99: percentiles?.p99 ?? .nan,
            serverMicros: delivered > 0 ? (end.1 - start.1) / Double(delivered) * 1e6 : .infinity,
            serverCPU: (end.1 - start.1) / elapsed,
            clientCPU: (end.2 - start.2) / elapsed,
            redisMicrosPerBroadcast: setup == .redis ? (end.3 - start.3) / Double(messages) * 1e6 : nil,
            redisCPU: setup == .redis ? (end.3 - start.3) / elapsed : nil,
            mismatches: stats.mismatches.load(ordering: .relaxed),
            closedEarly: stats.closedEarly.load(ordering: .relaxed),
            missing: max(0, deliveries - delivered),
            unfenced: unfenced
        )
    }
}
