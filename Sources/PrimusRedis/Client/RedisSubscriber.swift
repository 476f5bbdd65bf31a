import PrimusCore
public import Logging
public import NIOCore
import NIOConcurrencyHelpers
public import NIOPosix

/// A reconnecting pub/sub connection (its own TCP connection, as Redis requires), for receiving
/// other nodes' broadcasts. It remembers what it is subscribed to and subscribes again after
/// every reconnect; works with RESP2 (`message` arrays) and RESP3 (`>` pushes) servers.
public final class RedisSubscriber: Sendable {
    private struct State {
        var channels: Set<String> = []
        var connection: RedisConnection?
        var messageHandler: (@Sendable (String, ByteBuffer) -> Void)?
    }

    private let configuration: RedisConfiguration
    private let state = NIOLockedValueBox(State())
    private let loop: RedisReconnectLoop

    /// Creates a subscriber; nothing connects until ``start()``.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "primus.redis.subscriber")
    ) {
        self.configuration = configuration
        let tls = RedisTLSContext(configuration: configuration)
        let state = self.state
        let confirmTimeout = configuration.commandTimeout
        loop = RedisReconnectLoop(eventLoop: eventLoopGroup.next(), reconnect: configuration.reconnect) { eventLoop in
            tls.context(on: eventLoop).flatMap { sslContext in
                RedisConnection.connect(
                    configuration: configuration, sslContext: sslContext, eventLoop: eventLoop, subscriber: true, logger: logger
                )
            }
            .flatMap { connection in
                Self.resubscribe(connection, state: state, timeout: confirmTimeout)
            }
        }
    }

    /// Connects in the background and keeps reconnecting (with backoff) until ``shutdown()``.
    public func start() {
        loop.start()
    }

    /// Stops reconnecting and closes the connection.
    public func shutdown() async {
        await loop.shutdown()
        state.withLockedValue { $0.connection = nil }
    }

    /// Subscribes to `channels` now if connected, and after every reconnect, so the caller
    /// states what it wants once.
    public func subscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        state.withLockedValue { state in
            state.channels.formUnion(channels)
            // Written under the lock so a concurrent unsubscribe reaches Redis in the same order.
            state.connection?.sendWithoutReply(["SUBSCRIBE"] + channels.map { .string($0) })
        }
    }

    /// Unsubscribes from `channels`, now and for later reconnects.
    public func unsubscribe(_ channels: [String]) {
        guard !channels.isEmpty else { return }
        state.withLockedValue { state in
            state.channels.subtract(channels)
            state.connection?.sendWithoutReply(["UNSUBSCRIBE"] + channels.map { .string($0) })
        }
    }

    /// Sets the callback for messages: called on the connection's event loop for every message,
    /// in arrival order, with the payload as a slice of the read buffer (no copy, no lock).
    public func onMessage(_ handler: @escaping @Sendable (_ channel: String, _ payload: ByteBuffer) -> Void) {
        state.withLockedValue { state in
            state.messageHandler = handler
            state.connection?.withHandler { $0.messageHandler = handler }
        }
    }

    /// Registers a callback for connection changes. ``RedisConnectionState/connected`` comes
    /// only after every subscription was confirmed again, so the caller can then catch up what
    /// it missed while away, knowing nothing newer is being lost.
    public func onStateChange(_ handler: @escaping @Sendable (RedisConnectionState) -> Void) {
        loop.onStateChange(handler)
    }

    /// Whether the subscriber is connected with its subscriptions confirmed.
    public var isConnected: Bool { loop.connection != nil }

    /// Installs the connection, sends `SUBSCRIBE` for every remembered channel and succeeds once
    /// Redis has confirmed them all (or fails after `timeout`, closing the connection).
    private static func resubscribe(
        _ connection: RedisConnection,
        state: NIOLockedValueBox<State>,
        timeout: TimeAmount
    ) -> EventLoopFuture<RedisConnection> {
        let eventLoop = connection.eventLoop
        eventLoop.preconditionInEventLoop()
        let confirmed = eventLoop.makePromise(of: RedisConnection.self)
        state.withLockedValue { state in
            let handler = state.messageHandler
            let channels = state.channels
            connection.withHandler { redis in
                var awaiting = channels
                redis.messageHandler = handler
                redis.subscriptionHandler = { _, channel in
                    awaiting.remove(channel)
                    if awaiting.isEmpty { confirmed.succeed(connection) }
                }
            }
            state.connection = connection
            if channels.isEmpty {
                confirmed.succeed(connection)
            } else {
                connection.sendWithoutReply(["SUBSCRIBE"] + channels.map { .string($0) })
            }
        }
        connection.closed.whenSuccess { _ in
            state.withLockedValue { state in
                if state.connection === connection { state.connection = nil }
            }
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            confirmed.fail(RedisError.timeout)
        }
        connection.closed.whenSuccess { reason in confirmed.fail(reason) }
        return confirmed.futureResult.always { _ in
            deadline.cancel()
            connection.withHandler { $0.subscriptionHandler = nil }
        }
        .flatMapError { error in
            state.withLockedValue { state in
                if state.connection === connection { state.connection = nil }
            }
            connection.close(error)
            return eventLoop.makeFailedFuture(error)
        }
    }
}
