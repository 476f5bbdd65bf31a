public import Logging
import NIOCore
public import PrimusCore
public import ServiceLifecycle
import NIOConcurrencyHelpers
import Synchronization

/// A Primus server: one connection API (the ``Spark``) over a transformer and a parser, with
/// heartbeats and broadcasting. It serves clients through ``PrimusHTTPServer`` (standalone) or a
/// framework adapter, and runs its heartbeats in ``run()`` (it is a swift-service-lifecycle
/// `Service`).
///
/// ```swift
/// let primus = Primus()
/// primus.onConnection { spark in
///     spark.onMessage { message in spark.write(message.value) }   // echo
/// }
/// try await PrimusHTTPServer(primus: primus, port: 8080).run()
/// ```
public final class Primus: Sendable {
    /// The configuration the server was made with.
    public let configuration: PrimusConfiguration
    /// Where the server logs (debug and trace only).
    public let logger: Logger
    /// Which transformer serves the clients.
    let transformer: any PrimusServerTransformer

    /// The browser client library, compiled on first use and then served from here
    /// (see the browser client files). Locked: read once per `primus.js` request, never per message.
    let browserLibraryCache = NIOLockedValueBox<BrowserLibrary?>(nil)

    /// Middleware layers, the authorization hook and plugins.
    let middleware: PrimusMiddlewareStack

    /// Room membership, broadcasts, where sparks are, and the recovery backlog
    /// (``PrimusConfiguration/adapter``): one process, or a cluster.
    public let adapter: any PrimusClusterAdapter

    // The registry is touched once per connection and disconnection, never per message, so a lock
    // is the simplest correct choice.
    let registry: NIOLockedValueBox<Registry>

    /// One mailbox per event loop that has sparks (``LoopMailbox``), created on a loop's first
    /// spark and kept: a server meets as many loops as its group has. Read once per broadcast.
    let mailboxes = NIOLockedValueBox(Mailboxes())

    struct Mailboxes {
        var byLoop: [ObjectIdentifier: LoopMailbox] = [:]
        var all: [LoopMailbox] = []
    }

    /// What ``run()`` ends the sparks with (see ``reconnectOnShutdown``).
    private let reconnectOnShutdownStorage = Atomic<Bool>(true)

    struct Registry {
        /// Open sparks by id, each with the order it was registered in (``forEach(_:)-async``
        /// visits late arrivals in that order).
        var sparks: [String: Registered] = [:]
        var nextSerial: UInt64 = 0
        /// Which handshakes may open a spark (limits.maxSparks, maxSparksPerAddress). A spark is
        /// admitted before it is registered and released when it ends.
        var admission: SparkAdmission
        /// `connection` listeners in registration order, sync and async mixed.
        var connectionHandlers: [ConnectionHandler] = []
        var hasAsyncConnectionHandlers = false
        var disconnectionHandlers: [@Sendable (Spark) -> Void] = []
        var closeHandlers: [@Sendable (PrimusCloseEvent) async -> Void] = []
        var connectionStream: (AsyncStream<Spark>, AsyncStream<Spark>.Continuation)?
        var disconnectionStream: (AsyncStream<Spark>, AsyncStream<Spark>.Continuation)?
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
        var shuttingDown = false
        /// How the first ``shutdown(reconnect:timeout:)`` ended the sparks; a spark that slips in
        /// after it (admitted just before) is ended the same way.
        var shutdownReconnect: Bool?
        /// Server-side message transforms; copied into each spark when it is made.
        var transforms = MessageTransforms()
        /// Heartbeat ownership (see `Primus+Heartbeat.swift`).
        var heartbeat = HeartbeatClaim()
        /// Set while a listener (``PrimusHTTPServer/run()``) serves: its `reconnectOnShutdown`,
        /// which ``run()`` then uses too, so both end the sparks the same way.
        var frontEndReconnect: Bool?
    }

    struct Registered {
        let spark: Spark
        let serial: UInt64
    }

    enum ConnectionHandler {
        case sync(@Sendable (Spark) -> Void)
        case async(@Sendable (Spark) async throws -> Void)
    }

    /// Creates a server.
    public init(configuration: PrimusConfiguration = PrimusConfiguration(), logger: Logger = Logger(label: "primus")) {
        self.configuration = configuration
        self.logger = logger
        self.transformer = configuration.transformer.makeServer()
        self.middleware = PrimusMiddlewareStack(configuration: configuration)
        self.adapter = configuration.adapter()
        self.registry = NIOLockedValueBox(
            Registry(admission: SparkAdmission(maxSparks: configuration.limits.maxSparks, maxSparksPerAddress: configuration.limits.maxSparksPerAddress))
        )
        adapter.attach(to: self)
    }

    /// What `GET <pathname>/spec` answers.
    public var spec: PrimusSpec { configuration.spec }

    // MARK: - Connections

    /// The number of open sparks.
    public var connected: Int { registry.withLockedValue { $0.sparks.count } }

    /// The open spark with `id`, if any.
    public func spark(_ id: String) -> Spark? {
        registry.withLockedValue { $0.sparks[id]?.spark }
    }

    /// A snapshot of the open sparks, for iteration.
    public var sparks: [Spark] { registry.withLockedValue { $0.sparks.values.map(\.spark) } }

    /// Calls `handler` for every new spark, on the spark's event loop, before any of its messages
    /// is delivered. Attach message handlers here. Handlers run in the order they were added,
    /// sync and async ones (``onConnection(_:)-async``) alike.
    public func onConnection(_ handler: @escaping @Sendable (Spark) -> Void) {
        registry.withLockedValue { $0.connectionHandlers.append(.sync(handler)) }
    }

    /// Calls an asynchronous `handler` for every new spark (Primus's `(spark, next)` listener):
    /// to look up a session, join rooms, or load state before the spark's messages flow.
    ///
    /// Handlers run one after another in the order they were added (sync ones too), and the
    /// spark's messages wait, in order and without loss, until every handler has returned; then
    /// delivery starts. While they wait, at most ``PrimusConfiguration/maxBufferedMessages`` are
    /// held before the server stops reading from the client. A handler that throws stops the
    /// chain: the error goes to the spark's ``Spark/onError(_:)`` handlers and the spark ends
    /// (the client is told `primus::server::close`), as Primus does with `next(err)`.
    public func onConnection(_ handler: @escaping @Sendable (Spark) async throws -> Void) {
        registry.withLockedValue {
            $0.connectionHandlers.append(.async(handler))
            $0.hasAsyncConnectionHandlers = true
        }
    }

    /// Calls `handler` when a spark ends, on the spark's event loop.
    public func onDisconnection(_ handler: @escaping @Sendable (Spark) -> Void) {
        registry.withLockedValue { $0.disconnectionHandlers.append(handler) }
    }

    /// New sparks as an async sequence (one consumer). Sparks are buffered from the first access
    /// on; the sequence finishes when the server shuts down.
    public var connections: AsyncStream<Spark> {
        registry.withLockedValue { registry in
            if let (stream, _) = registry.connectionStream { return stream }
            let pair = AsyncStream<Spark>.makeStream()
            if registry.shuttingDown { pair.continuation.finish() }
            registry.connectionStream = (pair.stream, pair.continuation)
            return pair.stream
        }
    }

    /// Ended sparks as an async sequence (one consumer), buffered from the first access on.
    public var disconnections: AsyncStream<Spark> {
        registry.withLockedValue { registry in
            if let (stream, _) = registry.disconnectionStream { return stream }
            let pair = AsyncStream<Spark>.makeStream()
            registry.disconnectionStream = (pair.stream, pair.continuation)
            return pair.stream
        }
    }

    /// Adds a spark made by a transformer and announces it. On the spark's event loop, before
    /// the transport delivers any message.
    ///
    /// A spark that arrives once ``shutdown(reconnect:timeout:)`` has begun (admitted just before
    /// it) is ended the way the shutdown ended the others: with `primus::server::close` unless the
    /// shutdown asked clients to reconnect, never dropped without a word.
    func register(_ spark: Spark) {
        enum Outcome {
            case refused(reconnect: Bool)
            case accepted([ConnectionHandler], hasAsync: Bool, AsyncStream<Spark>.Continuation?)
        }
        let outcome = registry.withLockedValue { registry -> Outcome in
            guard !registry.shuttingDown else { return .refused(reconnect: registry.shutdownReconnect ?? false) }
            registry.nextSerial &+= 1
            registry.sparks[spark.id] = Registered(spark: spark, serial: registry.nextSerial)
            return .accepted(registry.connectionHandlers, hasAsync: registry.hasAsyncConnectionHandlers, registry.connectionStream?.1)
        }
        switch outcome {
        case .refused(let reconnect):
            logger.debug("connection during shutdown ended", metadata: ["primus.spark.id": "\(spark.id)"])
            spark.end(reconnect: reconnect)
        case .accepted(let handlers, let hasAsync, let continuation):
            if spark.eventLoop.inEventLoop {
                spark.mailbox.add(spark)
            } else {
                spark.mailbox.enqueue(.run { if spark.readyState == .open { spark.mailbox.add(spark) } })
            }
            logger.debug("connection", metadata: ["primus.spark.id": "\(spark.id)", "primus.transformer": "\(configuration.transformer)"])
            adapter.sparkOpened(spark.id)
            if hasAsync {
                announceAsynchronously(spark, handlers: handlers)
            } else {
                for case .sync(let handler) in handlers { handler(spark) }
                spark.beginRecovery()
            }
            continuation?.yield(spark)
        }
    }

    /// Runs the `connection` handlers up to the first async one here, the rest in a task, while
    /// the spark holds its messages; then lets them flow.
    private func announceAsynchronously(_ spark: Spark, handlers: [ConnectionHandler]) {
        spark.holdMessages()
        var index = handlers.startIndex
        while index < handlers.endIndex, case .sync(let handler) = handlers[index] {
            handler(spark)
            index += 1
        }
        let remaining = Array(handlers[index...])
        // One task per connection (not per message): the handlers may suspend.
        Task {
            do {
                for handler in remaining {
                    switch handler {
                    case .sync(let handler):
                        try await spark.eventLoop.submit { handler(spark) }.get()
                    case .async(let handler):
                        try await handler(spark)
                    }
                }
                spark.eventLoop.execute {
                    spark.beginRecovery()
                    spark.releaseMessages()
                }
            } catch {
                let failure = error as? PrimusError ?? PrimusError(code: .connectionFailed, message: "connection handler failed: \(error)")
                self.logger.debug("connection handler failed", metadata: ["primus.spark.id": "\(spark.id)", "primus.error": "\(failure)"])
                spark.eventLoop.execute {
                    spark.failConnection(failure)
                    spark.releaseMessages()
                }
            }
        }
    }

    // MARK: - Admission

    /// Decides whether a handshake from `address` may open the spark `id` (every transformer asks,
    /// once per handshake, before it answers): `true` counts it until ``sparkEnded(_:)`` or
    /// ``releaseAdmission(_:)``; `false` means answer `503`. When the server is full and another
    /// address holds more sparks than this one, that address's newest spark is ended (silently,
    /// so its client reconnects) to make room.
    ///
    /// - Parameters:
    ///   - id: the new spark's id.
    ///   - key: what the per-address limit counts, from ``ForwardedAddressResolver/admissionKey(peer:resolved:trusted:)``.
    /// - Returns: whether it is admitted, and whether another spark was shed for it.
    func admit(_ id: String, key: String) -> (admitted: Bool, shed: Bool) {
        let (decision, victim) = registry.withLockedValue { registry -> (SparkAdmission.Decision, Spark?) in
            guard !registry.shuttingDown else { return (.refuse(.serverFull), nil) }
            let decision = registry.admission.admit(id, key: key)
            guard case .acceptShedding(let victim) = decision else { return (decision, nil) }
            return (decision, registry.sparks[victim]?.spark)
        }
        switch decision {
        case .accept:
            return (true, false)
        case .acceptShedding(let victimID):
            logger.debug("spark shed for a newcomer", metadata: ["primus.spark.id": "\(victimID)", "primus.address": "\(key)"])
            if let victim {
                victim.end(reconnect: true)
            } else {
                transformer.shed(sparkID: victimID, primus: self)
            }
            return (true, true)
        case .refuse(let refusal):
            logger.debug("handshake refused", metadata: ["primus.address": "\(key)", "primus.reason": "\(refusal)"])
            return (false, false)
        }
    }

    /// Forgets an admitted id whose spark never opened or ended without ``sparkEnded(_:)`` (an
    /// upgrade that failed, a session of the test server's raw mode). Idempotent.
    func releaseAdmission(_ id: String) {
        registry.withLockedValue { $0.admission.release(id) }
    }

    /// Sparks admitted and not yet released (tests check that none outlive their connections).
    package var admittedSparks: Int { registry.withLockedValue { $0.admission.count } }

    /// Removes an ended spark and announces it. On the spark's event loop.
    func sparkEnded(_ spark: Spark) {
        let (handlers, continuation, waiters) = registry.withLockedValue { registry in
            registry.admission.release(spark.id)
            guard registry.sparks.removeValue(forKey: spark.id) != nil else {
                return ([@Sendable (Spark) -> Void](), AsyncStream<Spark>.Continuation?.none, [CheckedContinuation<Void, Never>]())
            }
            var waiters: [CheckedContinuation<Void, Never>] = []
            if registry.sparks.isEmpty { swap(&waiters, &registry.emptyWaiters) }
            return (registry.disconnectionHandlers, registry.disconnectionStream?.1, waiters)
        }
        logger.debug("disconnection", metadata: ["primus.spark.id": "\(spark.id)"])
        adapter.leaveAll(spark.id)
        adapter.sparkClosed(spark.id)
        for handler in handlers { handler(spark) }
        continuation?.yield(spark)
        for waiter in waiters { waiter.resume() }
    }

    /// The mailbox of `eventLoop`, made on first use.
    func mailbox(for eventLoop: any EventLoop) -> LoopMailbox {
        let key = ObjectIdentifier(eventLoop)
        return mailboxes.withLockedValue { mailboxes in
            if let mailbox = mailboxes.byLoop[key] { return mailbox }
            let mailbox = LoopMailbox(eventLoop: eventLoop, parser: configuration.parser)
            mailboxes.byLoop[key] = mailbox
            mailboxes.all.append(mailbox)
            return mailbox
        }
    }

    /// A fresh spark id.
    func makeSparkID() -> String {
        configuration.idGenerator?() ?? SparkIdentifier.random()
    }

    // MARK: - Broadcasting

    /// Sends `value` to every open spark, on every node of the cluster (``adapter``). On each node
    /// it is encoded once, each event loop gets the same bytes in one hand-over (not one per
    /// spark), builds the wire form once (a WebSocket frame) and flushes each connection once per
    /// batch of broadcasts. Each loop delivers it on its next turn (the caller's own loop after the
    /// current read, with the other broadcasts of that read), in the order this thread wrote: a
    /// write to a spark made after the broadcast reaches that spark after it. Each spark's outbound
    /// budget applies as to ``Spark/write(_:)-(JSONValue)``. Sparks with outgoing transforms run
    /// them on the value, per spark.
    public func write(_ value: JSONValue) {
        adapter.broadcast(value, to: .everyone, primus: self)
    }

    /// Sends an `Encodable` value to every open spark (as ``write(_:)``).
    ///
    /// - Throws: ``PrimusError/encodingFailed(_:)`` when the value cannot be encoded; nothing is sent.
    public func broadcast<T: Encodable>(_ value: T) throws(PrimusError) {
        write(try JSONValueEncoder().encode(value))
    }

    /// Writes `value` to spark `id` wherever it is: this node's spark directly, another node's
    /// through the cluster adapter. `false` when no node holds such a spark.
    public func write(_ value: JSONValue, toSpark id: String) async -> Bool {
        if let spark = spark(id) {
            spark.write(value)
            return true
        }
        return await adapter.write(value, toRemoteSpark: id)
    }

    /// Ends spark `id` wherever it is (see ``Spark/end(_:reconnect:)``). `false` when no node
    /// holds such a spark.
    public func end(spark id: String, reconnect: Bool = false) async -> Bool {
        if let spark = spark(id) {
            spark.end(reconnect: reconnect)
            return true
        }
        return await adapter.end(remoteSpark: id, reconnect: reconnect)
    }

    /// Delivers a broadcast or room write to this process's sparks: the value is encoded once and
    /// each spark gets the same bytes (sparks with outgoing transforms run them on the value).
    /// The adapter calls this on every node; `sequence` is the write's place in the recovery
    /// backlog, if it has one, and recovering sparks get it in an envelope.
    public func deliverLocally(_ value: JSONValue, to target: PrimusRoomTarget, sequence: PrimusSequence? = nil) {
        let message: TransportMessage
        var sequenced: SequencedMessage?
        do {
            message = try configuration.parser.encode(value)
            if let sequence, configuration.recovery != nil {
                sequenced = SequencedMessage(sequence: sequence, envelope: try configuration.parser.encode(RecoveryEnvelope.wrap(value, sequence: sequence)))
            }
        } catch {
            logger.debug("broadcast encoding failed", metadata: ["primus.error": "\(error)"])
            return
        }
        if target.rooms.isEmpty, target.except.isEmpty { return broadcast(message, value: value, sequenced: sequenced) }
        for id in localSparkIDs(for: target) {
            guard let spark = spark(id) else { continue }
            if let sequenced, spark.recovers {
                spark.deliverSequenced(sequenced)
            } else if spark.hasOutgoingTransforms {
                spark.write(value)
            } else {
                spark.send(message)
            }
        }
        // A recovering spark left out of a write still passes its place in the sequence, so a
        // replay after a reconnect does not hand it what it was left out of.
        if let sequenced {
            for id in target.except {
                guard let spark = spark(id), spark.recovers else { continue }
                spark.advanceRecovery(to: sequenced.sequence)
            }
        }
    }

    /// Hands an encoded broadcast to every loop's mailbox; the caller's own loop collects it for
    /// the end of its turn.
    func broadcast(_ message: TransportMessage, value: JSONValue?, sequenced: SequencedMessage? = nil) {
        let all = mailboxes.withLockedValue { $0.all }
        for mailbox in all {
            if mailbox.eventLoop.inEventLoop {
                mailbox.broadcastOnLoop(message, value: value, sequenced: sequenced)
            } else {
                mailbox.enqueue(.broadcast(message, value, sequenced))
            }
        }
    }

    // MARK: - Lifecycle

    /// What ``run()`` does to the open sparks when it ends: `true` (the default) drops them so
    /// their clients reconnect, to this server once it is back or to another behind the same
    /// address; `false` tells clients `primus::server::close` so they stay away. While a
    /// ``PrimusHTTPServer`` serves this Primus, its own ``PrimusHTTPServer/reconnectOnShutdown``
    /// applies instead, so running both as services ends the sparks one way only.
    public var reconnectOnShutdown: Bool {
        get { reconnectOnShutdownStorage.load(ordering: .relaxed) }
        set { reconnectOnShutdownStorage.store(newValue, ordering: .relaxed) }
    }

    /// Runs the heartbeat until the task is cancelled or a graceful shutdown is requested, then
    /// ends every spark with ``shutdown(reconnect:timeout:)`` (see ``reconnectOnShutdown``).
    ///
    /// A Primus has one heartbeat however many run it: ``run()`` and ``PrimusHTTPServer/run()``
    /// both take part, the first to start ticks, and when it stops another that still runs
    /// takes over. Running `Primus` and `PrimusHTTPServer` as two services is safe.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.runHeartbeats()
        }
        let reconnect = registry.withLockedValue { $0.frontEndReconnect } ?? reconnectOnShutdown
        await shutdown(reconnect: reconnect)
    }

    /// One heartbeat tick for every spark: ping the live ones, end those that missed a whole
    /// interval. The heartbeat owner calls it every `pingInterval`; call it yourself only when
    /// nothing runs ``run()`` or ``PrimusHTTPServer/run()``.
    public func heartbeat() {
        let now = Self.millisecondsSinceEpoch()
        for mailbox in mailboxes.withLockedValue({ $0.all }) {
            mailbox.forEachMember { $0.heartbeatTick(now: now) }
        }
    }

    /// Stops accepting sparks and ends every open one, waiting at most `timeout` for them to
    /// close; then calls the ``onClose(_:)`` handlers (once, on the first shutdown). New
    /// handshakes are refused from the first instant (`503`). Safe to call more than once.
    ///
    /// - Parameter reconnect: `false` sends `primus::server::close` (clients stay away);
    ///   `true` drops connections silently so clients reconnect, to this server once it is back
    ///   or to another behind the same address.
    public func shutdown(reconnect: Bool = false, timeout: Duration = .seconds(5)) async {
        let (open, connections) = registry.withLockedValue { registry in
            // First, so no handshake is admitted from here on.
            registry.shuttingDown = true
            if registry.shutdownReconnect == nil { registry.shutdownReconnect = reconnect }
            let connections = registry.connectionStream?.1
            return (registry.sparks.values.map(\.spark), connections)
        }
        connections?.finish()
        for spark in open { spark.end(reconnect: reconnect) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let empty = self.registry.withLockedValue { registry in
                        if registry.sparks.isEmpty { return true }
                        registry.emptyWaiters.append(continuation)
                        return false
                    }
                    if empty { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            // Whichever finished first, release the other so the group can end.
            group.cancelAll()
            let waiters = self.registry.withLockedValue { registry in
                defer { registry.emptyWaiters = [] }
                return registry.emptyWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        let (disconnections, closeHandlers) = registry.withLockedValue { registry in
            defer { registry.closeHandlers = [] }
            return (registry.disconnectionStream?.1, registry.closeHandlers)
        }
        disconnections?.finish()
        await adapter.shutdown()
        let event = PrimusCloseEvent(reconnect: reconnect)
        for handler in closeHandlers { await handler(event) }
    }

    /// Calls `handler` when the server has shut down (Primus's `close` event, the last of
    /// `destroy`): after ``shutdown(reconnect:timeout:)`` ended the sparks and their
    /// ``onDisconnection(_:)`` handlers ran. Handlers run in order, each awaited; the shutdown
    /// returns once they all have. Release what the application holds for the server here.
    public func onClose(_ handler: @escaping @Sendable (PrimusCloseEvent) async -> Void) {
        registry.withLockedValue { $0.closeHandlers.append(handler) }
    }

    /// The Primus version this server speaks and announces in `<pathname>/spec` (Primus's
    /// `primus.version`): clients and tools compare it with their own.
    public var version: String { PrimusSpec.protocolVersion }

    static func millisecondsSinceEpoch() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

extension Primus: Service {}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
