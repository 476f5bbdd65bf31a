import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusRedis
@testable import PrimusRedisCluster
import PrimusServer
import Testing

/// A Primus node of a test cluster: a real server on a free loopback port with a
/// ``RedisClusterAdapter`` on a real redis-server.
private struct ClusterNode {
    let primus: Primus
    let port: Int
    let adapter: RedisClusterAdapter
    let server: Task<Void, any Error>

    static func start(
        redis: RedisServerProcess, nodeID: String, prefix: String, expiry: Duration = .seconds(10), recovery: PrimusRecovery? = nil,
        reconnectAfter: TimeAmount = .milliseconds(100)
    ) async throws -> ClusterNode {
        var redisConfiguration = try testConfiguration(redis.url, commandTimeout: .seconds(5))
        redisConfiguration.reconnect = (reconnectAfter, reconnectAfter * 2)
        var cluster = RedisClusterConfiguration(redis: redisConfiguration)
        cluster.nodeID = nodeID
        cluster.keyPrefix = prefix
        cluster.nodeExpiry = expiry
        cluster.nodeHeartbeat = .milliseconds(200)
        let clusterConfiguration = cluster
        var configuration = PrimusConfiguration()
        configuration.adapter = { RedisClusterAdapter(configuration: clusterConfiguration) }
        configuration.recovery = recovery
        let primus = Primus(configuration: configuration)
        primus.onConnection { spark in
            for room in spark.query.values(for: "room") { spark.join(room) }
        }
        let adapter = try #require(primus.adapter as? RedisClusterAdapter)
        let listening = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Int.self)
        let server = Task {
            do {
                try await PrimusHTTPServer(primus: primus, port: 0, onListening: { listening.succeed($0.port ?? 0) }).run()
            } catch {
                listening.fail(error)
                throw error
            }
        }
        let port = try await listening.futureResult.get()
        try await eventually("node \(nodeID) is connected to Redis") { adapter.isConnected }
        return ClusterNode(primus: primus, port: port, adapter: adapter, server: server)
    }

    func stop() async {
        server.cancel()
        _ = await server.result
        await primus.shutdown(timeout: .seconds(2))
    }
}

/// What a client received, in order.
private final class Inbox: Sendable {
    private let values = NIOLockedValueBox<[JSONValue]>([])
    let client: PrimusClient

    init(port: Int, query: String = "") throws {
        var configuration = PrimusClientConfiguration()
        configuration.reconnect.minDelay = .milliseconds(100)
        client = try PrimusClient("ws://127.0.0.1:\(port)/primus\(query)", configuration: configuration)
        let events = client.events
        let values = self.values
        Task {
            for await event in events {
                if case .data(let message) = event { values.withLockedValue { $0.append(message.value) } }
            }
        }
    }

    var received: [JSONValue] { values.withLockedValue { $0 } }
}

private func uniquePrefix() -> String { "test-\(SparkIdentifier.random().prefix(8))" }

@Suite("the Redis cluster adapter: two Primus nodes on one real redis-server", .serialized)
struct ClusterAdapterTests {
    @Test func aBroadcastOnOneNodeReachesEveryClientOfBothNodesOnceAndInOrder() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix)
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix)
        let clients = try [one.port, one.port, two.port, two.port].map { try Inbox(port: $0) }
        try await eventually("four sparks") { one.primus.connected == 2 && two.primus.connected == 2 }
        for n in 0..<50 { one.primus.write(["n": .number(Double(n))]) }
        let expected = (0..<50).map { JSONValue.object(["n": .number(Double($0))]) }
        try await eventually("every client has 50") { clients.allSatisfy { $0.received.count >= 50 } }
        for inbox in clients { #expect(inbox.received == expected) }
        #expect(one.adapter.statistics.published == 50)
        #expect(two.adapter.statistics.received == 50)
        await one.stop()
        await two.stop()
    }

    @Test func aRoomWriteReachesOnlyTheRoomsMembersOnBothNodes() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix)
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix)
        let redOne = try Inbox(port: one.port, query: "?room=red")
        let blueOne = try Inbox(port: one.port, query: "?room=blue")
        let redTwo = try Inbox(port: two.port, query: "?room=red")
        let blueTwo = try Inbox(port: two.port, query: "?room=blue")
        try await eventually("each node has a member in each room") {
            [one, two].allSatisfy { $0.primus.adapter.sparkIDs(in: "red").count == 1 && $0.primus.adapter.sparkIDs(in: "blue").count == 1 }
        }
        // Writes from two nodes: Redis orders them, not the test, so each inbox is compared as a set.
        two.primus.room("red").write("for red")
        one.primus.room("blue").write("for blue")
        one.primus.write("for all")
        let inboxes = [redOne, blueOne, redTwo, blueTwo]
        try await eventually("everyone has two messages") { inboxes.allSatisfy { $0.received.count >= 2 } }
        // A fence: a write after them all, so a stray third message would have arrived by now.
        one.primus.write("fence")
        try await eventually("everyone has the fence") { inboxes.allSatisfy { $0.received.last == "fence" } }
        #expect(Set(redOne.received) == ["for red", "for all", "fence"] && redOne.received.count == 3)
        #expect(Set(redTwo.received) == ["for red", "for all", "fence"] && redTwo.received.count == 3)
        #expect(Set(blueOne.received) == ["for blue", "for all", "fence"] && blueOne.received.count == 3)
        #expect(Set(blueTwo.received) == ["for blue", "for all", "fence"] && blueTwo.received.count == 3)
        await one.stop()
        await two.stop()
    }

    @Test func aSparkOnTheOtherNodeIsWrittenToAndEndedAndTheRegistryFollowsIt() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix)
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix)
        let inbox = try Inbox(port: two.port)
        try await eventually("a spark on node two") { two.primus.connected == 1 }
        let id = try #require(two.primus.sparks.first?.id)
        let probe = RedisClient(configuration: try testConfiguration(redis.url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        probe.start()
        try await eventually("the probe is connected") { probe.isConnected }
        try await eventually("the registry knows the spark") { try await probe.send(["HGET", .string("\(prefix):sparks"), .string(id)]).string == "two" }
        #expect(await one.primus.write("from one", toSpark: id))
        try await eventually("the write arrived") { inbox.received == ["from one"] }
        #expect(await one.primus.write("nobody", toSpark: "no-such-spark") == false)
        #expect(await one.primus.end(spark: id, reconnect: false))
        try await eventually("the spark ended and left the registry") {
            let entry = try await probe.send(["HGET", .string("\(prefix):sparks"), .string(id)])
            return two.primus.connected == 0 && entry == .null
        }
        await one.stop()
        await two.stop()
        await probe.shutdown()
    }

    @Test func aNodeSilentPastTheExpiryIsForgottenWithItsSparksAndALeavingNodeAtOnce() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix, expiry: .seconds(1))
        let probe = RedisClient(configuration: try testConfiguration(redis.url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        probe.start()
        try await eventually("the probe is connected") { probe.isConnected }
        // A node that died without a word: a heartbeat long past, and a spark of its own.
        _ = try await probe.send(["ZADD", .string("\(prefix):nodes"), "1000", "ghost"])
        _ = try await probe.send(["HSET", .string("\(prefix):sparks"), "ghost-spark", "ghost"])
        _ = try await probe.send(["SADD", .string("\(prefix):node:ghost:sparks"), "ghost-spark"])
        try await eventually("the ghost is purged") {
            let spark = try await probe.send(["HGET", .string("\(prefix):sparks"), "ghost-spark"])
            let node = try await probe.send(["ZSCORE", .string("\(prefix):nodes"), "ghost"])
            return spark == .null && node == .null
        }
        // Node one itself is alive: it beats, so it stays.
        #expect(try await probe.send(["ZSCORE", .string("\(prefix):nodes"), "one"]) != .null)
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix, expiry: .seconds(1))
        let client = try Inbox(port: two.port)
        try await eventually("node two's spark is registered") { try await probe.send(["HLEN", .string("\(prefix):sparks")]).int == 1 }
        #expect(client.received.isEmpty)
        await two.stop()
        #expect(try await probe.send(["HLEN", .string("\(prefix):sparks")]).int == 0)
        #expect(try await probe.send(["ZSCORE", .string("\(prefix):nodes"), "two"]) == .null)
        await one.stop()
        await probe.shutdown()
    }

    @Test func losingRedisKeepsLocalDeliveryAndCrossNodeDeliveryResumesWhenItIsBack() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix)
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix)
        let near = try Inbox(port: one.port)
        let far = try Inbox(port: two.port)
        try await eventually("two sparks") { one.primus.connected == 1 && two.primus.connected == 1 }
        let errors = NIOLockedValueBox<[String]>([])
        one.adapter.onError { error in
            if case .connectionLost(let what, _) = error { errors.withLockedValue { $0.append(what) } }
        }
        redis.kill()
        try await eventually("node one noticed") { !one.adapter.isConnected }
        try await eventually("the error event named both connections") { Set(errors.withLockedValue { $0 }) == ["connection", "subscription"] }
        one.primus.write("while down")
        try await eventually("the local client got it") { near.received == ["while down"] }
        #expect(one.adapter.statistics.dropped >= 1)
        try await redis.start()
        // Broadcast until the far client hears one: cross-node delivery resumed.
        var n = 0
        try await eventually("cross-node delivery resumed", timeout: .seconds(60)) {
            n += 1
            one.primus.write(.number(Double(n)))
            try await Task.sleep(for: .milliseconds(50))
            return far.received.contains { $0.numberValue != nil }
        }
        #expect(!far.received.contains("while down"))
        // The spark registry was rebuilt on the restarted, empty Redis.
        let id = try #require(two.primus.sparks.first?.id)
        try await eventually("the far spark is reachable again") { await one.primus.write("direct", toSpark: id) }
        try await eventually("the direct write arrived") { far.received.contains("direct") }
        await one.stop()
        await two.stop()
    }

    @Test func broadcastsMissedWhileTheSubscriptionWasDownAreCaughtUpInOrderFromTheBacklog() async throws {
        let redis = try await RedisServerProcess()
        let prefix = uniquePrefix()
        // Node one takes a second to resubscribe: what node two broadcasts meanwhile misses it.
        let one = try await ClusterNode.start(redis: redis, nodeID: "one", prefix: prefix, recovery: PrimusRecovery(), reconnectAfter: .seconds(1))
        let two = try await ClusterNode.start(redis: redis, nodeID: "two", prefix: prefix, recovery: PrimusRecovery())
        let near = try Inbox(port: one.port)
        try await eventually("a spark on node one") { one.primus.connected == 1 }
        two.primus.write(0)
        try await eventually("the first broadcast arrived") { near.received == [0] }
        let probe = RedisClient(configuration: try testConfiguration(redis.url), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        probe.start()
        try await eventually("the probe is connected") { probe.isConnected }
        _ = try await probe.send(["CLIENT", "KILL", "TYPE", "pubsub"])
        for n in 1...20 { two.primus.write(.number(Double(n))) }
        try await eventually("all 21 arrived") { near.received.count >= 21 }
        #expect(near.received == (0...20).map { .number(Double($0)) })
        // Node one's subscription heard fewer than 21: the rest came from the backlog.
        #expect(one.adapter.statistics.received < 21)
        await one.stop()
        await two.stop()
        await probe.shutdown()
    }
}
