public import Logging
import Metrics
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
public import PrimusCore
import PrimusRedis
public import PrimusServer
import Synchronization

/// Primus across several processes and machines, through Redis: broadcasts and room writes reach
/// the sparks of every node, a spark is found and written to (or ended) from any node, dead nodes
/// are forgotten, and recovering clients get what they missed wherever they reconnect.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// let cluster = try RedisClusterConfiguration(url: "redis://127.0.0.1:6379")
/// configuration.adapter = { RedisClusterAdapter(configuration: cluster) }
/// configuration.recovery = PrimusRecovery(maxMessages: 1_000, maxAge: .seconds(120))
/// ```
///
/// How it works:
/// - each broadcast is published once, encoded once (MessagePack), on one channel per cluster;
///   every node, this one included, receives it from Redis and delivers it to its own sparks, so
///   all nodes deliver in the same order. With recovery on, a Lua script appends it to a
///   capped stream and publishes it with the stream id in one atomic step: that id is the sequence.
/// - room membership stays in each node's memory; a node delivers a room write to its members.
/// - a registry (a hash of spark id → node, a set per node) tells where a spark is; writes to a
///   spark go to its node's own channel. Nodes beat every ``RedisClusterConfiguration/nodeHeartbeat``
///   into a sorted set; any node purges the nodes silent for ``RedisClusterConfiguration/nodeExpiry``
///   and their sparks.
/// - without Redis (down, restarting), broadcasts still reach this node's sparks, unsequenced, and
///   are counted as dropped for the others; errors are logged, never fatal. When Redis is back the
///   node re-registers its sparks and cross-node delivery resumes.
///
/// Metrics (swift-metrics): `primus_cluster_published_total`, `primus_cluster_received_total`,
/// `primus_cluster_dropped_total` and the timer `primus_cluster_lag` (publish to receipt, in the
/// sender's and receiver's clocks).
public final class RedisClusterAdapter: PrimusClusterAdapter {
    /// What the adapter was made with.
    public let configuration: RedisClusterConfiguration
    private let keys: ClusterKeys
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let logger: Logger
    /// Room membership of this node's sparks (the local adapter's maps; its delivery is not used).
    private let rooms = PrimusLocalAdapter()
    private let state = NIOLockedValueBox(State())
    private let eventLoop: any EventLoop
    private let counters = Counters()
    /// The order of delivery on this node: sequenced broadcasts go to ``Primus/deliverLocally(_:to:sequence:)``
    /// under this lock, in sequence order, once each, including those a catch-up fetches from
    /// the backlog after the subscription came back (see ``catchUp()``).
    private let delivery = NIOLockedValueBox(Delivery())

    private struct Delivery {
        /// Broadcasts received while a catch-up reads the backlog; `nil` when none runs.
        var held: [(PrimusSequence, PrimusRoomTarget, JSONValue)]?
        /// The greatest sequence delivered.
        var last: PrimusSequence?
    }

    private struct State {
        /// Set by ``attach(to:)``, cleared by ``shutdown()`` (so the two do not keep each other alive).
        var primus: Primus?
        var recovery: PrimusRecovery?
        /// This node's sparks, re-registered whenever Redis comes back.
        var sparks: Set<String> = []
        /// The greatest sequence received.
        var head: PrimusSequence?
        var heartbeat: RepeatedTask?
        var shutDown = false
        /// Whether each connection was up when last heard of: a lost connection is reported once,
        /// not on every failed reconnection attempt.
        var commandsUp = false
        var subscriptionUp = false
        var errorHandlers: [@Sendable (RedisClusterError) -> Void] = []
    }

    /// Counts of messages, for tests and benchmarks (the same as the metrics).
    public struct Statistics: Sendable, Hashable {
        /// Broadcasts and directed writes handed to Redis.
        public var published: Int
        /// Cluster messages received from Redis.
        public var received: Int
        /// Messages that could not go through Redis (down, failed, undecodable).
        public var dropped: Int
    }

    private final class Counters: Sendable {
        let published = Atomic<Int>(0)
        let received = Atomic<Int>(0)
        let dropped = Atomic<Int>(0)
        let publishedMetric = Counter(label: "primus_cluster_published_total")
        let receivedMetric = Counter(label: "primus_cluster_received_total")
        let droppedMetric = Counter(label: "primus_cluster_dropped_total")
        let lag = Metrics.Timer(label: "primus_cluster_lag")

        func countPublished() {
            published.add(1, ordering: .relaxed)
            publishedMetric.increment()
        }

        func countReceived(publishedAt: UInt64, now: UInt64) {
            received.add(1, ordering: .relaxed)
            receivedMetric.increment()
            lag.recordMilliseconds(now >= publishedAt ? now - publishedAt : 0)
        }

        func countDropped() {
            dropped.add(1, ordering: .relaxed)
            droppedMetric.increment()
        }
    }

    /// An adapter for the cluster `configuration` describes; it connects when a ``Primus`` attaches it.
    public init(
        configuration: RedisClusterConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "primus.cluster")
    ) {
        self.configuration = configuration
        self.keys = configuration.keys
        self.logger = logger
        self.eventLoop = eventLoopGroup.next()
        self.client = RedisClient(configuration: configuration.redis, eventLoopGroup: eventLoopGroup, logger: logger)
        self.subscriber = RedisSubscriber(configuration: configuration.redis, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// This node's counts so far.
    public var statistics: Statistics {
        Statistics(published: counters.published.load(ordering: .relaxed), received: counters.received.load(ordering: .relaxed), dropped: counters.dropped.load(ordering: .relaxed))
    }

    /// Whether the node is in the cluster: its command connection to Redis is up and its
    /// subscription confirmed (before that, broadcasts from other nodes do not reach it).
    public var isConnected: Bool { client.isConnected && subscriber.isConnected }

    // MARK: Lifecycle

    public func attach(to primus: Primus) {
        state.withLockedValue {
            $0.primus = primus
            $0.recovery = primus.configuration.recovery
        }
        rooms.attach(to: primus)
        subscriber.onMessage { [weak self] channel, payload in self?.received(payload, on: channel) }
        subscriber.onStateChange { [weak self] change in
            guard let self else { return }
            let up: Bool
            if case .connected = change { up = true } else { up = false }
            let was = self.state.withLockedValue { state in
                defer { state.subscriptionUp = up }
                return state.subscriptionUp
            }
            self.report(change, was: was, what: "subscription")
            if up, !was { self.catchUp() }
        }
        client.onStateChange { [weak self] change in
            guard let self else { return }
            let up: Bool
            if case .connected = change { up = true } else { up = false }
            let was = self.state.withLockedValue { state in
                defer { state.commandsUp = up }
                return state.commandsUp
            }
            self.report(change, was: was, what: "connection")
            if up { self.joinCluster() }
        }
        subscriber.subscribe([keys.broadcastChannel, keys.ownChannel])
        client.start()
        subscriber.start()
        let interval = TimeAmount.nanoseconds(Int64(configuration.nodeHeartbeat.components.seconds) * 1_000_000_000 + configuration.nodeHeartbeat.components.attoseconds / 1_000_000_000)
        let task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in self?.beat() }
        state.withLockedValue { $0.heartbeat = task }
    }

    /// Calls `handler` when the cluster loses Redis (the command or the subscription connection)
    /// or a message cannot go through it: the application's error event. Nothing stops: local
    /// delivery goes on and the connections come back by themselves.
    public func onError(_ handler: @escaping @Sendable (RedisClusterError) -> Void) {
        state.withLockedValue { $0.errorHandlers.append(handler) }
    }

    private func raise(_ error: RedisClusterError) {
        for handler in state.withLockedValue({ $0.errorHandlers }) { handler(error) }
    }

    /// Logs a change of a Redis connection: losing it is a warning (once), each failed attempt
    /// to reconnect only a debug line, getting it back a notice.
    private func report(_ change: RedisConnectionState, was: Bool, what: String) {
        switch change {
        case .connected:
            if !was { logger.notice("Redis \(what) up", metadata: ["redis.host": "\(configuration.redis.host):\(configuration.redis.port)"]) }
        case .disconnected(let error):
            if was {
                logger.warning("Redis \(what) lost; local delivery goes on, cross-node delivery resumes when Redis is back", metadata: ["redis.error": "\(error)"])
                raise(.connectionLost(what, error))
            } else {
                logger.debug("Redis \(what) attempt failed", metadata: ["redis.error": "\(error)"])
            }
        }
    }

    public func shutdown() async {
        let task = state.withLockedValue { state -> RepeatedTask? in
            guard !state.shutDown else { return nil }
            state.shutDown = true
            state.primus = nil
            return state.heartbeat
        }
        task?.cancel()
        // Leave the registry at once rather than after the expiry: the others stop routing here.
        if client.isConnected {
            _ = try? await client.send(["ZADD", .string(keys.nodes), "0", .string(configuration.nodeID)])
            _ = try? await purgeDeadNodes()
        }
        await subscriber.shutdown()
        await client.shutdown()
    }

    // MARK: Rooms (this node's members)

    public func join(_ sparkID: String, room: String) { rooms.join(sparkID, room: room) }
    public func leave(_ sparkID: String, room: String) { rooms.leave(sparkID, room: room) }
    public func leaveAll(_ sparkID: String) { rooms.leaveAll(sparkID) }
    public func rooms(of sparkID: String) -> Set<String> { rooms.rooms(of: sparkID) }
    public func sparkIDs(in room: String) -> Set<String> { rooms.sparkIDs(in: room) }

    // MARK: Writes

    public func broadcast(_ value: JSONValue, to target: PrimusRoomTarget, primus: Primus) {
        let payload: ByteBuffer
        do {
            payload = try ClusterMessage.broadcast(origin: configuration.nodeID, publishedAt: Self.now(), target: target, value: value).encoded()
        } catch {
            logger.debug("broadcast not encodable for the cluster", metadata: ["primus.error": "\(error)"])
            return primus.deliverLocally(value, to: target)
        }
        guard client.isConnected else {
            counters.countDropped()
            return primus.deliverLocally(value, to: target)
        }
        let reply: EventLoopFuture<RESPValue>
        if let recovery = state.withLockedValue({ $0.recovery }) {
            reply = client.sendFuture(["EVAL", .string(ClusterScripts.publishSequenced), "2", .string(keys.backlog), .string(keys.broadcastChannel), .integer(recovery.maxMessages), .bytes(payload)])
        } else {
            var framed = ByteBuffer()
            framed.reserveCapacity(payload.readableBytes + 1)
            framed.writeInteger(UInt8(ascii: " "))
            framed.writeImmutableBuffer(payload)
            reply = client.sendFuture(["PUBLISH", .string(keys.broadcastChannel), .bytes(framed)])
        }
        counters.countPublished()
        // Delivered here when it comes back from Redis, like on every other node; if Redis does
        // not take it, this node's sparks still get it.
        reply.whenFailure { [counters, logger, weak self] error in
            counters.countDropped()
            logger.debug("broadcast not published", metadata: ["redis.error": "\(error)"])
            primus.deliverLocally(value, to: target)
            self?.raise(.publishFailed(error))
        }
    }

    // MARK: Sparks

    public func sparkOpened(_ sparkID: String) {
        state.withLockedValue { _ = $0.sparks.insert(sparkID) }
        guard client.isConnected else { return }  // registered when Redis is back (joinCluster)
        _ = client.sendFuture(["HSET", .string(keys.sparks), .string(sparkID), .string(configuration.nodeID)])
        _ = client.sendFuture(["SADD", .string(keys.ownSparks), .string(sparkID)])
    }

    public func sparkClosed(_ sparkID: String) {
        state.withLockedValue { _ = $0.sparks.remove(sparkID) }
        guard client.isConnected else { return }
        _ = client.sendFuture(["HDEL", .string(keys.sparks), .string(sparkID)])
        _ = client.sendFuture(["SREM", .string(keys.ownSparks), .string(sparkID)])
    }

    public func write(_ value: JSONValue, toRemoteSpark sparkID: String) async -> Bool {
        await send(.write(origin: configuration.nodeID, publishedAt: Self.now(), sparkID: sparkID, value: value), to: sparkID)
    }

    public func end(remoteSpark sparkID: String, reconnect: Bool) async -> Bool {
        await send(.end(origin: configuration.nodeID, publishedAt: Self.now(), sparkID: sparkID, reconnect: reconnect), to: sparkID)
    }

    /// Looks the spark's node up and publishes `message` on that node's channel; `true` when a
    /// live node holds the spark and its subscription took the message.
    private func send(_ message: ClusterMessage, to sparkID: String) async -> Bool {
        do {
            guard let node = try await client.send(["HGET", .string(keys.sparks), .string(sparkID)]).string,
                  node != configuration.nodeID
            else { return false }
            var framed = ByteBuffer(string: " ")
            framed.writeImmutableBuffer(try message.encoded())
            let receivers = try await client.send(["PUBLISH", .string(keys.channel(of: node)), .bytes(framed)])
            counters.countPublished()
            return (receivers.int ?? 0) > 0
        } catch {
            counters.countDropped()
            logger.debug("write to a remote spark failed", metadata: ["primus.spark.id": "\(sparkID)", "primus.error": "\(error)"])
            return false
        }
    }

    // MARK: Recovery

    public var latestSequence: PrimusSequence? {
        state.withLockedValue { $0.head }
    }

    public func backlog(after sequence: PrimusSequence, limit: Int) async throws -> [PrimusBacklogEntry] {
        let reply = try await client.send(["XRANGE", .string(keys.backlog), .string(sequence.next.description), "+", "COUNT", .integer(max(1, limit))])
        return Self.entries(of: reply, logger: logger)
    }

    /// The entries of an XRANGE reply (`[[id, [field, value, …]], …]`); malformed ones are skipped.
    static func entries(of reply: RESPValue, logger: Logger) -> [PrimusBacklogEntry] {
        guard case .array(let items) = reply else { return [] }
        var entries: [PrimusBacklogEntry] = []
        entries.reserveCapacity(items.count)
        for item in items {
            guard case .array(let pair) = item, pair.count == 2, let id = pair[0].string, let sequence = PrimusSequence(id),
                  case .array(let fields) = pair[1], fields.count >= 2, case .bulkString(let bytes) = fields[1],
                  case .broadcast(_, _, let target, let value)? = try? ClusterMessage(decoding: bytes)
            else {
                logger.debug("malformed backlog entry skipped")
                continue
            }
            entries.append(PrimusBacklogEntry(sequence: sequence, value: value, target: target))
        }
        return entries
    }

    // MARK: Receiving

    /// A message from Redis, on the subscriber's event loop.
    private func received(_ payload: ByteBuffer, on channel: String) {
        guard let primus = state.withLockedValue({ $0.primus }) else { return }
        let sequence: PrimusSequence?
        let message: ClusterMessage
        do {
            let split = try ClusterMessage.splitPayload(payload)
            sequence = split.sequence
            message = try ClusterMessage(decoding: split.message)
        } catch {
            counters.countDropped()
            logger.debug("undecodable cluster message dropped", metadata: ["redis.channel": "\(channel)", "primus.error": "\(error)"])
            return
        }
        counters.countReceived(publishedAt: message.publishedAt, now: Self.now())
        switch message {
        case .broadcast(_, _, let target, let value):
            guard let sequence else { return primus.deliverLocally(value, to: target) }
            delivery.withLockedValue { delivery in
                if delivery.held != nil {
                    guard delivery.held!.count < (state.withLockedValue { $0.recovery?.maxMessages } ?? 0) else {
                        return counters.countDropped()
                    }
                    delivery.held!.append((sequence, target, value))
                    return
                }
                deliver(value, to: target, sequence: sequence, primus: primus, delivery: &delivery)
            }
        case .write(_, _, let sparkID, let value):
            primus.spark(sparkID)?.write(value)
        case .end(_, _, let sparkID, let reconnect):
            primus.spark(sparkID)?.end(reconnect: reconnect)
        }
    }

    /// Delivers a sequenced broadcast unless it was delivered already; under the delivery lock.
    private func deliver(_ value: JSONValue, to target: PrimusRoomTarget, sequence: PrimusSequence, primus: Primus, delivery: inout Delivery) {
        if let last = delivery.last, sequence <= last { return }
        delivery.last = sequence
        state.withLockedValue { state in
            if state.head.map({ sequence > $0 }) ?? true { state.head = sequence }
        }
        primus.deliverLocally(value, to: target, sequence: sequence)
    }

    /// The subscription came back after a loss: what was broadcast meanwhile is read from the
    /// backlog and delivered before anything newer (recovery on, and only after a loss: on the
    /// first connection there is nothing to catch up). Broadcasts that arrive meanwhile wait.
    private func catchUp() {
        guard let recovery = state.withLockedValue({ $0.recovery }) else { return }
        let after: PrimusSequence? = delivery.withLockedValue { delivery in
            guard let last = delivery.last, delivery.held == nil else { return nil }
            delivery.held = []
            return last
        }
        guard let after else { return }
        let finish: @Sendable ([PrimusBacklogEntry]) -> Void = { [weak self] entries in
            guard let self else { return }
            let primus = self.state.withLockedValue { $0.primus }
            self.delivery.withLockedValue { delivery in
                let held = delivery.held ?? []
                delivery.held = nil
                guard let primus else { return }
                for entry in entries { self.deliver(entry.value, to: entry.target, sequence: entry.sequence, primus: primus, delivery: &delivery) }
                for (sequence, target, value) in held { self.deliver(value, to: target, sequence: sequence, primus: primus, delivery: &delivery) }
            }
            if !entries.isEmpty { self.logger.info("caught up after the subscription came back", metadata: ["primus.cluster.entries": "\(entries.count)"]) }
        }
        client.sendFuture(["XRANGE", .string(keys.backlog), .string(after.next.description), "+", "COUNT", .integer(recovery.maxMessages)]).whenComplete { [logger] result in
            switch result {
            case .success(let reply):
                finish(Self.entries(of: reply, logger: logger))
            case .failure(let error):
                logger.debug("catch-up read failed", metadata: ["redis.error": "\(error)"])
                finish([])
            }
        }
    }

    // MARK: Membership of the cluster

    /// On every (re)connection: announce the node, register its sparks again (Redis may have
    /// restarted empty), and learn the newest sequence.
    private func joinCluster() {
        let sparks = state.withLockedValue { Array($0.sparks) }
        _ = client.sendFuture(["ZADD", .string(keys.nodes), .integer(Int(Self.now())), .string(configuration.nodeID)])
        var start = 0
        while start < sparks.count {
            let chunk = sparks[start..<min(sparks.count, start + 500)]
            var hset: [RedisArgument] = ["HSET", .string(keys.sparks)]
            var sadd: [RedisArgument] = ["SADD", .string(keys.ownSparks)]
            for id in chunk {
                hset.append(.string(id))
                hset.append(.string(configuration.nodeID))
                sadd.append(.string(id))
            }
            _ = client.sendFuture(hset)
            _ = client.sendFuture(sadd)
            start += 500
        }
        guard state.withLockedValue({ $0.recovery != nil }) else { return }
        client.sendFuture(["XREVRANGE", .string(keys.backlog), "+", "-", "COUNT", "1"]).whenSuccess { [weak self] reply in
            guard let self, case .array(let items) = reply, case .array(let pair)? = items.first, let id = pair.first?.string,
                  let sequence = PrimusSequence(id)
            else { return }
            self.state.withLockedValue { state in
                if state.head.map({ sequence > $0 }) ?? true { state.head = sequence }
            }
        }
    }

    /// The node's heartbeat: it is alive, and the silent ones are forgotten.
    private func beat() {
        guard client.isConnected else { return }
        _ = client.sendFuture(["ZADD", .string(keys.nodes), .integer(Int(Self.now())), .string(configuration.nodeID)])
        let cutoff = Int(Self.now()) - Int(configuration.nodeExpiry.components.seconds * 1000 + configuration.nodeExpiry.components.attoseconds / 1_000_000_000_000_000)
        client.sendFuture(["EVAL", .string(ClusterScripts.purgeDeadNodes), "2", .string(keys.nodes), .string(keys.sparks), .integer(cutoff), .string(keys.prefix)])
            .whenSuccess { [logger] reply in
                if case .array(let dead) = reply, !dead.isEmpty {
                    logger.info("dead nodes forgotten", metadata: ["primus.nodes": "\(dead.compactMap(\.string))"])
                }
            }
    }

    private func purgeDeadNodes() async throws -> RESPValue {
        let cutoff = Int(Self.now()) - Int(configuration.nodeExpiry.components.seconds * 1000)
        return try await client.send(["EVAL", .string(ClusterScripts.purgeDeadNodes), "2", .string(keys.nodes), .string(keys.sparks), .integer(max(1, cutoff)), .string(keys.prefix)])
    }

    static func now() -> UInt64 {
        UInt64(max(0, Int64(Date.timeIntervalSinceReferenceDate * 1000) + 978_307_200_000))
    }
}

import struct Foundation.Date

/// What the cluster adapter reports to ``RedisClusterAdapter/onError(_:)``.
public enum RedisClusterError: Error, Sendable {
    /// A connection to Redis was lost (`"connection"`: commands; `"subscription"`: pub/sub).
    case connectionLost(String, any Error)
    /// A broadcast could not be published (it still reached this node's sparks).
    case publishFailed(any Error)
}
