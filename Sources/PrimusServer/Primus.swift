public import Logging
import NIOCore
public import PrimusCore
public import ServiceLifecycle
import NIOConcurrencyHelpers

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

    // The registry is touched once per connection and disconnection, never per message, so a lock
    // is the simplest correct choice.
    private let registry: NIOLockedValueBox<Registry>

    private struct Registry {
        var sparks: [String: Spark] = [:]
        /// Which handshakes may open a spark (limits.maxSparks, maxSparksPerAddress). A spark is
        /// admitted before it is registered and released when it ends.
        var admission: SparkAdmission
        var connectionHandlers: [@Sendable (Spark) -> Void] = []
        var disconnectionHandlers: [@Sendable (Spark) -> Void] = []
        var connectionStream: (AsyncStream<Spark>, AsyncStream<Spark>.Continuation)?
        var disconnectionStream: (AsyncStream<Spark>, AsyncStream<Spark>.Continuation)?
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
        var shuttingDown = false
    }

    /// Creates a server.
    public init(configuration: PrimusConfiguration = PrimusConfiguration(), logger: Logger = Logger(label: "primus")) {
        self.configuration = configuration
        self.logger = logger
        self.transformer = configuration.transformer.makeServer()
        self.middleware = PrimusMiddlewareStack(configuration: configuration)
        self.registry = NIOLockedValueBox(
            Registry(admission: SparkAdmission(maxSparks: configuration.limits.maxSparks, maxSparksPerAddress: configuration.limits.maxSparksPerAddress))
        )
    }

    /// What `GET <pathname>/spec` answers.
    public var spec: PrimusSpec { configuration.spec }

    // MARK: - Connections

    /// The number of open sparks.
    public var connected: Int { registry.withLockedValue { $0.sparks.count } }

    /// The open spark with `id`, if any.
    public func spark(_ id: String) -> Spark? {
        registry.withLockedValue { $0.sparks[id] }
    }

    /// A snapshot of the open sparks, for iteration.
    public var sparks: [Spark] { registry.withLockedValue { Array($0.sparks.values) } }

    /// Calls `handler` for every new spark, on the spark's event loop, before any of its messages
    /// is delivered. Attach message handlers here.
    public func onConnection(_ handler: @escaping @Sendable (Spark) -> Void) {
        registry.withLockedValue { $0.connectionHandlers.append(handler) }
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

    /// Adds a spark made by a transformer and announces it. On the spark's event loop.
    func register(_ spark: Spark) {
        let (handlers, continuation, accepted) = registry.withLockedValue { registry in
            guard !registry.shuttingDown else { return ([@Sendable (Spark) -> Void](), AsyncStream<Spark>.Continuation?.none, false) }
            registry.sparks[spark.id] = spark
            return (registry.connectionHandlers, registry.connectionStream?.1, true)
        }
        guard accepted else {
            spark.end(reconnect: true)
            return
        }
        logger.debug("connection", metadata: ["primus.spark.id": "\(spark.id)", "primus.transformer": "\(configuration.transformer)"])
        for handler in handlers { handler(spark) }
        continuation?.yield(spark)
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
            return (decision, registry.sparks[victim])
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
        for handler in handlers { handler(spark) }
        continuation?.yield(spark)
        for waiter in waiters { waiter.resume() }
    }

    /// A fresh spark id.
    func makeSparkID() -> String {
        configuration.idGenerator?() ?? SparkIdentifier.random()
    }

    // MARK: - Broadcasting

    /// Sends `value` to every open spark. It is encoded once and the same bytes go to all.
    public func write(_ value: JSONValue) {
        let message: TransportMessage
        do {
            message = try configuration.parser.encode(value)
        } catch {
            logger.debug("broadcast encoding failed", metadata: ["primus.error": "\(error)"])
            return
        }
        for spark in sparks { spark.send(message) }
    }

    /// Sends an `Encodable` value to every open spark, encoded once.
    ///
    /// - Throws: ``PrimusError/encodingFailed(_:)`` when the value cannot be encoded; nothing is sent.
    public func broadcast<T: Encodable>(_ value: T) throws(PrimusError) {
        let message = try configuration.parser.encode(encodable: value)
        for spark in sparks { spark.send(message) }
    }

    // MARK: - Lifecycle

    /// Runs the heartbeat until the task is cancelled or a graceful shutdown is requested, then
    /// ends every spark with ``shutdown(reconnect:timeout:)`` (clients are told to reconnect).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            guard let interval = self.configuration.pingInterval, interval > .zero else {
                // No heartbeats: just wait to be cancelled.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                return
            }
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                self.heartbeat()
            }
        }
        await shutdown(reconnect: true)
    }

    /// One heartbeat tick for every spark: ping the live ones, end those that missed a whole
    /// interval. ``run()`` calls it every `pingInterval`.
    public func heartbeat() {
        let now = Self.millisecondsSinceEpoch()
        for spark in sparks {
            spark.eventLoop.execute { spark.heartbeatTick(now: now) }
        }
    }

    /// Stops accepting sparks and ends every open one, waiting at most `timeout` for them to close.
    ///
    /// - Parameter reconnect: `false` sends `primus::server::close` (clients stay away);
    ///   `true` drops connections silently so clients reconnect, to this server once it is back
    ///   or to another behind the same address.
    public func shutdown(reconnect: Bool = false, timeout: Duration = .seconds(5)) async {
        let (open, connections) = registry.withLockedValue { registry in
            registry.shuttingDown = true
            let connections = registry.connectionStream?.1
            return (Array(registry.sparks.values), connections)
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
        registry.withLockedValue { $0.disconnectionStream?.1.finish() }
    }

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
