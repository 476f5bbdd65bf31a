import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
import NIOSSL
public import ServiceLifecycle

/// A standalone HTTP server for a ``Primus``: it listens, hands requests under the pathname to
/// the transformer, sends everything else to `fallback`, and runs the Primus heartbeats. With
/// ``tls`` it serves `https://` and `wss://` instead of `http://` and `ws://`.
///
/// `run()` serves until the task is cancelled or a graceful shutdown is requested; then it stops
/// accepting, ends every spark and returns. It is a swift-service-lifecycle `Service`.
///
/// ```swift
/// let server = PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 8080) { request in
///     .html("<h1>Hello</h1>")
/// }
/// try await server.run()
/// ```
public struct PrimusHTTPServer: Service {
    /// The Primus server behind this listener.
    public let primus: Primus
    /// The address to bind.
    public let host: String
    /// The port to bind (`0` picks a free one; see `onListening`).
    public let port: Int
    private let group: any EventLoopGroup
    private let fallback: PrimusHTTPFallback
    private let onListening: @Sendable (SocketAddress) -> Void
    /// Whether clients are told to reconnect when the server shuts down (default `true`: a
    /// restart or redeploy looks like an outage to them, not like an end).
    public var reconnectOnShutdown = true
    /// The longest request body accepted outside WebSockets (default 1 MiB; engine.io polling
    /// bodies may be as long as ``PrimusConfiguration/maxLength`` plus one). A longer declared or
    /// received body is answered `413` and the connection is closed.
    public var maxRequestBodyLength = 1 << 20
    /// TLS for every connection (default `nil`: plain HTTP). With it the port speaks only TLS,
    /// and sparks report ``SparkAddress/secure``.
    public var tls: PrimusTLS?

    /// Creates a server.
    ///
    /// - Parameters:
    ///   - primus: the Primus server.
    ///   - host, port: where to listen.
    ///   - tls: TLS for every connection (default none: plain HTTP).
    ///   - eventLoopGroup: the NIO threads (default: the shared singleton).
    ///   - onListening: told the bound address once the server accepts connections.
    ///   - fallback: answers requests outside the pathname (default `404 Not Found`).
    public init(
        primus: Primus,
        host: String = "127.0.0.1",
        port: Int = 8080,
        tls: PrimusTLS? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in },
        fallback: @escaping PrimusHTTPFallback = { _ in .notFound }
    ) {
        self.primus = primus
        self.host = host
        self.port = port
        self.tls = tls
        self.group = eventLoopGroup
        self.onListening = onListening
        self.fallback = fallback
    }

    /// Listens and serves until cancelled or gracefully shut down.
    public func run() async throws {
        let primus = self.primus
        let fallback = self.fallback
        let maxBody = self.maxRequestBodyLength
        let tls = self.tls
        // One tracker per listener: it caps the connections and evicts the longest idle.
        let tracker = PrimusConnectionTracker(limits: primus.configuration.limits)
        // And the listener holds at most that many sockets plus a few on their way out, so
        // evictions that fall behind a flood of connections cannot run it out of descriptors.
        let throttle = PrimusAcceptThrottle(limit: tracker.capacity + Self.closingReserve, acceptsPerRead: Self.acceptsPerRead)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: UInt(Self.acceptsPerRead))
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(throttle) }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PrimusHTTPServer.initializeConnection(channel, primus: primus, fallback: fallback, maxBodyLength: maxBody, tracker: tracker, tls: tls)
                }
            }
        PrimusTypeMetadataWarmUp.run()
        let channel = try await bootstrap.bind(host: host, port: port).get()
        if let address = channel.localAddress { onListening(address) }
        primus.logger.debug("listening", metadata: ["primus.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])

        // While we serve, a `primus.run()` running beside us ends the sparks our way too.
        let reconnect = reconnectOnShutdown
        primus.setFrontEndReconnect(reconnect)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Heartbeats, unless another runner (`primus.run()` as a service) ticks them:
                // a Primus has one heartbeat. Only heartbeats: the sparks end below, our way.
                await primus.runHeartbeats()
            }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    try? await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
            group.cancelAll()
        }
        await primus.shutdown(reconnect: reconnect)
        primus.setFrontEndReconnect(nil)
        await Self.drain(tracker.channels, timeout: primus.configuration.limits.closeTimeout)
    }

    /// Closes the connections still open once the sparks ended: an HTTP connection after the
    /// answer it is writing (a poll the shutdown just answered), or after a second of idleness
    /// (a polling client coming back for its session's last packets gets them); a WebSocket
    /// when its close handshake ends. Whatever is still open after `timeout` is dropped. So a
    /// process that exits when `run()` returns does not cut answers off.
    static func drain(_ channels: [any Channel], timeout: Duration) async {
        guard !channels.isEmpty else { return }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(PrimusServerDraining(idleGrace: min(.seconds(1), TimeAmount(timeout))))
        }
        let closed = channels.map { $0.closeFuture }
        let all = EventLoopFuture.andAllComplete(closed, on: channels[0].eventLoop)
        let deadline = channels[0].eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            for channel in channels { channel.close(promise: nil) }
        }
        try? await all.get()
        deadline.cancel()
    }

    /// Sets up one accepted connection of ``run()``: the connection cap, TLS when configured,
    /// then Primus's HTTP handling. On the connection's event loop.
    ///
    /// TLS goes first, so the HTTP layer (and its headers timeout) sees only decrypted bytes. A
    /// failed handshake, or plain HTTP sent to the TLS port, makes NIOSSL close the connection;
    /// its slot in `tracker` is freed on close like any other.
    static func initializeConnection(
        _ channel: any Channel,
        primus: Primus,
        fallback: @escaping PrimusHTTPFallback,
        maxBodyLength: Int,
        tracker: PrimusConnectionTracker,
        tls: PrimusTLS? = nil
    ) throws {
        guard let tracked = tracker.admit(channel) else {
            try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler())
            return
        }
        if let tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
        }
        try configure(channel: channel, primus: primus, fallback: fallback, maxBodyLength: maxBodyLength, secure: tls != nil, tracked: tracked)
    }

    /// Installs Primus's HTTP and upgrade handling on a fresh connection. Frameworks that own the
    /// listener call this from their own channel initializer.
    ///
    /// The connection gets the defenses of ``PrimusLimits``: head size limits (`414`, `431`), a
    /// required `Host`, strict WebSocket handshakes, `Expect: 100-continue`, the headers, body and
    /// keep-alive timeouts, and error answers that close the connection. Pass `secure: true` when
    /// the channel already carries TLS (a `NIOSSLServerHandler` in front): sparks then report
    /// ``SparkAddress/secure``. The connection cap
    /// (``PrimusLimits/maxConnections``) belongs to the listener, so it applies only under
    /// ``run()``.
    public static func configure(
        channel: any Channel,
        primus: Primus,
        fallback: @escaping PrimusHTTPFallback = { _ in .notFound },
        maxBodyLength: Int = 1 << 20,
        secure: Bool = false
    ) throws {
        try configure(channel: channel, primus: primus, fallback: fallback, maxBodyLength: maxBodyLength, secure: secure, tracked: nil)
    }

    static func configure(
        channel: any Channel,
        primus: Primus,
        fallback: @escaping PrimusHTTPFallback,
        maxBodyLength: Int,
        secure: Bool,
        tracked: TrackedConnection?
    ) throws {
        // A transformer may need longer bodies (engine.io polling POSTs carry whole messages).
        let bodyLimit = max(maxBodyLength, primus.transformer.maxRequestBodyLength(primus: primus) ?? 0)
        let upgrades = NIOLoopBound(PrimusUpgradeState(), eventLoop: channel.eventLoop)
        let handler = PrimusHTTPHandler(primus: primus, fallback: fallback, maxBodyLength: bodyLimit, secure: secure, upgrades: upgrades)
        handler.reinstallUpgrade = try PrimusHTTPPipeline.install(
            on: channel,
            limits: primus.configuration.limits,
            maxBodyLength: bodyLimit,
            upgraders: [PrimusWebSocketUpgrade.upgrader(for: channel, primus: primus, secure: secure, state: upgrades)],
            tracked: tracked,
            application: handler,
            name: PrimusHTTPServer.httpHandlerName,
            upgradeCompleted: { context in
                // Once upgraded, the connection speaks frames, not HTTP.
                _ = context.pipeline.syncOperations.removeHandler(name: PrimusHTTPServer.httpHandlerName)
                trimReceiveBuffers(of: context.channel)
            }
        )
    }

    static let httpHandlerName = "primus.http"

    /// How accepted connections size their reads: NIO's adaptive allocator, starting at 256 bytes
    /// instead of its 2,048. NIO keeps a channel's last read buffer for the next read, so an idle
    /// WebSocket keeps the buffer its handshake was read into for as long as it stays open: 256
    /// bytes hold a short handshake (NIO, `ws` and Primus clients), longer ones take more reads
    /// (see ``trimReceiveBuffers(of:)``), and a busy connection's buffer doubles on every read
    /// that fills it, up to 64 KiB, as before. Measured with `primus-bench memory`: about 1.7 KiB
    /// less per idle connection.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65536)

    /// Lets go of the read buffers a long handshake took beyond the first. NIO keeps a channel's
    /// read buffers for reuse, up to one per read of an event (`maxMessagesPerRead`); a
    /// handshake longer than the first buffer fills it and makes the channel keep more, about
    /// three times the first, for as long as the connection stays idle. Lowering the pool's
    /// capacity to one drops all but the first; the capacity is then set back, and the pool
    /// grows again only for a connection that really reads that much at once.
    static func trimReceiveBuffers(of channel: any Channel) {
        guard let options = channel.syncOptions,
            let perRead = try? options.getOption(ChannelOptions.maxMessagesPerRead), perRead > 1
        else { return }
        try? options.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
        try? options.setOption(ChannelOptions.maxMessagesPerRead, value: perRead)
    }

    /// Sockets the listener may hold beyond its connection cap: evicted and refused
    /// connections whose close has not run yet.
    static let closingReserve = 32

    /// Connections accepted per read of the listener.
    static let acceptsPerRead = 4
}
