import PrimusCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP (or TLS) connection to Redis after its handshake: commands are pipelined on it and
/// their replies matched in order. It never reconnects; ``RedisClient`` and ``RedisSubscriber``
/// replace it when it closes.
final class RedisConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    /// Completes (always successfully) when the connection has closed, with the reason.
    let closed: EventLoopFuture<any Error>
    /// 3 after a successful `HELLO 3`, 2 after the fallback.
    let protocolVersion: NIOLockedValueBox<Int> = NIOLockedValueBox(3)

    private init(channel: any Channel, handler: RedisChannelHandler, closed: EventLoopFuture<any Error>) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        self.closed = closed
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Sends one command (the handler flushes once per loop iteration); the future fails with ``RedisError/server(_:)`` for an error reply.
    func send(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        var bytes = channel.allocator.buffer(capacity: 64)
        RESPEncoder.command(arguments, into: &bytes)
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.write(RedisOutboundCommand(bytes: bytes, promise: promise), promise: nil)
        return promise.futureResult
    }

    /// Sends a command whose answers arrive as pub/sub confirmations, not as one reply.
    func sendWithoutReply(_ arguments: [RedisArgument]) {
        var bytes = channel.allocator.buffer(capacity: 64)
        RESPEncoder.command(arguments, into: &bytes)
        channel.write(RedisOutboundCommand(bytes: bytes, promise: nil), promise: nil)
    }

    /// Closes the connection; pending commands fail, `closed` completes with `reason`.
    func close(_ reason: any Error) {
        if channel.eventLoop.inEventLoop {
            handler.value.close(reason)
        } else {
            let handler = self.handler
            channel.eventLoop.execute { handler.value.close(reason) }
        }
    }

    /// Runs `body` with the handler on its loop (for the subscriber's callbacks).
    func withHandler(_ body: @escaping @Sendable (RedisChannelHandler) -> Void) {
        if channel.eventLoop.inEventLoop {
            body(handler.value)
        } else {
            let handler = self.handler
            channel.eventLoop.execute { body(handler.value) }
        }
    }

    /// The handlers of a connection's pipeline, in order: TLS (for `rediss://`), the RESP
    /// decoder, the command/reply matcher.
    static func makeHandlers(
        configuration: RedisConfiguration,
        sslContext: NIOSSLContext?,
        closedPromise: EventLoopPromise<any Error>
    ) throws -> (handlers: [any ChannelHandler], redis: RedisChannelHandler) {
        var handlers: [any ChannelHandler] = []
        if configuration.tls {
            guard let sslContext else { throw RedisError.connectFailed("rediss:// without a TLS context") }
            // SNI takes a host name only; an IP address is verified without it.
            let isIPAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
            handlers.append(try NIOSSLClientHandler(context: sslContext, serverHostname: isIPAddress ? nil : configuration.host))
        }
        let limits = configuration.decoderLimits
        handlers.append(ByteToMessageHandler(RESPFrameDecoder(decoder: RESPDecoder(
            maxDepth: limits.maxDepth, maxBulkLength: limits.maxBulkLength, maxElements: limits.maxElements
        ))))
        let redis = RedisChannelHandler(
            commandTimeout: configuration.commandTimeout,
            maxPending: configuration.maxPendingCommands,
            closedPromise: closedPromise
        )
        handlers.append(redis)
        return (handlers, redis)
    }

    /// Connects, then runs the handshake: `HELLO 3 [AUTH user password]`; if the server answers
    /// HELLO with an error (Redis before 6, or a proxy), RESP2: `AUTH`; then `SELECT db` unless
    /// `subscriber` (pub/sub spans databases). The whole of it is bounded by `connectTimeout`.
    static func connect(
        configuration: RedisConfiguration,
        sslContext: NIOSSLContext?,
        eventLoop: any EventLoop,
        subscriber: Bool,
        logger: Logger
    ) -> EventLoopFuture<RedisConnection> {
        let closedPromise = eventLoop.makePromise(of: (any Error).self)
        let redisHandler = NIOLockedValueBox<NIOLoopBound<RedisChannelHandler>?>(nil)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let made = try makeHandlers(configuration: configuration, sslContext: sslContext, closedPromise: closedPromise)
                    try channel.pipeline.syncOperations.addHandlers(made.handlers)
                    redisHandler.withLockedValue { $0 = NIOLoopBound(made.redis, eventLoop: channel.eventLoop) }
                }
            }
        let connected = bootstrap.connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                // The promise is never completed when the channel was never made.
                closedPromise.succeed(error)
                throw RedisError.connectFailed("\(configuration.host):\(configuration.port): \(error)")
            }
            .flatMap { channel -> EventLoopFuture<RedisConnection> in
                guard let handler = redisHandler.withLockedValue({ $0 }) else {
                    return eventLoop.makeFailedFuture(RedisError.connectFailed("no pipeline"))
                }
                let connection = RedisConnection(channel: channel, handler: handler.value, closed: closedPromise.futureResult)
                if subscriber { handler.value.isSubscriber = true }
                return handshake(connection, configuration: configuration, subscriber: subscriber, logger: logger)
                    .map { connection }
                    .flatMapError { error in
                        connection.close(error)
                        return eventLoop.makeFailedFuture(error)
                    }
            }
        // The handshake must not outlast the connect timeout (a server that accepts and then
        // never answers would stall the reconnect loop).
        let deadline = eventLoop.scheduleTask(in: configuration.connectTimeout) {
            redisHandler.withLockedValue { $0 }?.value.close(RedisError.connectFailed("handshake timed out"))
        }
        connected.whenComplete { _ in deadline.cancel() }
        return connected
    }

    private static func handshake(
        _ connection: RedisConnection,
        configuration: RedisConfiguration,
        subscriber: Bool,
        logger: Logger
    ) -> EventLoopFuture<Void> {
        var hello: [RedisArgument] = ["HELLO", "3"]
        if let password = configuration.password {
            hello += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
        }
        let eventLoop = connection.eventLoop
        return connection.send(hello)
            .map { _ in () }
            .flatMapError { error -> EventLoopFuture<Void> in
                guard case RedisError.server(let message) = error else { return eventLoop.makeFailedFuture(error) }
                logger.debug("HELLO 3 refused, using RESP2", metadata: ["reply": "\(message)"])
                connection.protocolVersion.withLockedValue { $0 = 2 }
                guard let password = configuration.password else { return eventLoop.makeSucceededVoidFuture() }
                var auth: [RedisArgument] = ["AUTH"]
                if let username = configuration.username { auth.append(.string(username)) }
                auth.append(.string(password))
                return connection.send(auth).map { _ in () }
            }
            .flatMap { () -> EventLoopFuture<Void> in
                guard !subscriber, configuration.database != 0 else { return eventLoop.makeSucceededVoidFuture() }
                return connection.send(["SELECT", .integer(configuration.database)]).map { _ in () }
            }
    }
}
