public import PrimusCore
public import Logging
public import NIOCore
import NIOConcurrencyHelpers
public import NIOPosix
import NIOSSL

/// A reconnecting Redis command connection: many commands may be in flight on its one
/// connection (pipelining), so a node's publishes and registry updates never wait for each
/// other's round trips, and a lost Redis never blocks or crashes the caller.
///
/// Handshake on every (re)connect: `HELLO 3 [AUTH user password]` (RESP3); if the server answers
/// HELLO with an error, RESP2 `AUTH`; then `SELECT db`. Replies therefore come in RESP3 shapes
/// (maps, doubles) from Redis 6 and later, and in RESP2 shapes from older servers.
public final class RedisClient: Sendable {
    private let configuration: RedisConfiguration
    private let loop: RedisReconnectLoop
    private let logger: Logger

    /// Creates a client; nothing connects until ``start()``.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "primus.redis")
    ) {
        self.configuration = configuration
        self.logger = logger
        let tls = RedisTLSContext(configuration: configuration)
        loop = RedisReconnectLoop(eventLoop: eventLoopGroup.next(), reconnect: configuration.reconnect) { eventLoop in
            tls.context(on: eventLoop).flatMap { sslContext in
                RedisConnection.connect(
                    configuration: configuration, sslContext: sslContext, eventLoop: eventLoop, subscriber: false, logger: logger
                )
            }
        }
    }

    /// Connects in the background and keeps reconnecting (with backoff) until ``shutdown()``,
    /// so the owner never has to drive recovery itself.
    public func start() {
        loop.start()
    }

    /// Stops reconnecting and closes the connection; commands in flight fail with
    /// ``RedisError/connectionClosed``.
    public func shutdown() async {
        await loop.shutdown()
    }

    /// Sends one command and waits for its reply. Many sends may be outstanding at once; replies
    /// are matched in order. While disconnected it throws ``RedisError/notConnected`` at once
    /// (nothing queues, the caller decides); an error reply throws ``RedisError/server(_:)``.
    public func send(_ arguments: [RedisArgument]) async throws(RedisError) -> RESPValue {
        do {
            return try await sendFuture(arguments).get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.protocolError("\(error)")
        }
    }

    /// The same as ``send(_:)`` without `async`, for hot paths already on an event loop; the
    /// future completes on the connection's loop and fails with a ``RedisError``.
    public func sendFuture(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        guard let connection = loop.connection else {
            return loop.eventLoop.makeFailedFuture(RedisError.notConnected)
        }
        return connection.send(arguments)
    }

    /// Registers a callback for connection changes (called on the connection's loop), so the
    /// owner can log outages and catch up after ``RedisConnectionState/connected``. A failed
    /// reconnect attempt reports ``RedisConnectionState/disconnected(_:)`` with its error.
    public func onStateChange(_ handler: @escaping @Sendable (RedisConnectionState) -> Void) {
        loop.onStateChange(handler)
    }

    /// Whether a connection is ready right now (a send would not throw ``RedisError/notConnected``).
    public var isConnected: Bool { loop.connection != nil }
}

/// The TLS context for `rediss://`, made once on first use (it loads trust roots), shared by
/// every reconnect.
final class RedisTLSContext: Sendable {
    private let configuration: RedisConfiguration
    private let made = NIOLockedValueBox<Result<NIOSSLContext, any Error>?>(nil)

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    func context(on eventLoop: any EventLoop) -> EventLoopFuture<NIOSSLContext?> {
        guard configuration.tls else { return eventLoop.makeSucceededFuture(nil) }
        let result = made.withLockedValue { made -> Result<NIOSSLContext, any Error> in
            if let made { return made }
            let result = Result { try NIOSSLContext(configuration: self.configuration.tlsConfiguration ?? .makeClientConfiguration()) }
            made = result
            return result
        }
        switch result {
        case .success(let context): return eventLoop.makeSucceededFuture(context)
        case .failure(let error): return eventLoop.makeFailedFuture(RedisError.connectFailed("TLS: \(error)"))
        }
    }
}
