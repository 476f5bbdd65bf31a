import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusCore
import PrimusRedisCluster
import PrimusServer
import ServiceLifecycle
import UnixSignals

/// A Primus server for tools and other languages' test suites: it echoes, and obeys a few
/// control messages (`{"testserver": "end"}` …) so a client can make it end or inspect a spark.
@main
struct TestServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "primus-testserver",
        abstract: "A Primus echo server for interop and conformance testing."
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks one).") var port = 8081
    @Option(help: "Transformer: \(PrimusTransformer.all.map(\.name).joined(separator: ", ")).") var transformer = "websockets"
    @Option(help: "Parser: \(PrimusParsers.names.joined(separator: ", ")).") var parser = "json"
    @Option(help: "Where Primus is mounted.") var pathname = "/primus"
    @Option(name: .customLong("ping-interval"), help: "Milliseconds between heartbeats; 0 turns them off.") var pingInterval = 30_000
    @Option(name: .customLong("max-length"), help: "Largest message in bytes.") var maxLength = 10 * 1024 * 1024
    @Flag(help: "Echo transport messages as they arrive, without the Primus layer.") var raw = false
    @Option(name: .customLong("ping-timeout"), help: "engine.io: milliseconds a heartbeat may go unanswered.") var pingTimeout = 20_000
    @Option(name: .customLong("max-payload"), help: "engine.io: largest polling payload in bytes (sets --max-length).") var maxPayload: Int?
    @Flag(name: .customLong("allow-eio3"), help: "engine.io: serve Engine.IO 3 clients (EIO=3) too.") var allowEIO3 = false
    @Option(name: .customLong("response-limit"), help: "sockjs: bytes after which a streaming response ends (default 131072; 4096 with --raw, as the SockJS test contract says).") var responseLimit: Int?
    @Option(name: .customLong("heartbeat-delay"), help: "sockjs: milliseconds between heartbeat frames.") var heartbeatDelay = 25_000
    @Option(name: .customLong("disconnect-delay"), help: "sockjs: milliseconds a session outlives its last receiving request.") var disconnectDelay = 5_000
    @Option(name: .customLong("sockjs-url"), help: "sockjs: the client script the iframe page loads.") var sockjsURL: String?
    @Flag(name: .customLong("no-websocket"), help: "sockjs: offer no WebSocket transport.") var noWebSocket = false
    @Flag(name: .customLong("cookie-needed"), help: "sockjs: set JSESSIONID on session responses.") var cookieNeeded = false
    @Option(name: .customLong("connect-timeout"), help: "socket.io: milliseconds a connection may take to join a namespace (default 45000; 1000 with --raw).") var connectTimeout: Int?
    @Option(name: .customLong("session-timeout"), help: "browserchannel: milliseconds a session lives without a back channel.") var sessionTimeout = 30_000
    @Flag(help: "Accept WebSocket permessage-deflate (RFC 7692) offers, with or without --raw.") var compression = false
    @Flag(name: .customLong("failing-middleware"), help: "Add a middleware layer that fails every request under the pathname (500 {\"error\":\"I failed\"}).")
    var failingMiddleware = false
    @Option(name: .customLong("slow-middleware"), help: "Add an asynchronous middleware layer that takes this many milliseconds.")
    var slowMiddleware: Int?
    @Flag(name: .customLong("no-reconnect-on-shutdown"), help: "On SIGTERM or SIGINT, tell clients primus::server::close (they stay away) instead of dropping them so they reconnect.")
    var noReconnectOnShutdown = false
    @Option(name: .customLong("authorize-token"), help: "Refuse requests without token=T in the query or Authorization: Bearer T (401, WWW-Authenticate: Bearer).")
    var authorizeToken: String?
    @Option(name: .customLong("cors-origin"), help: "An origin allowed by the cors layer (repeatable; default any).") var corsOrigins: [String] = []

    // Limits and timeouts (PrimusLimits); unset flags keep the library's defaults.
    @Option(name: .customLong("max-buffered-bytes"), help: "Outbound budget per spark in bytes.") var maxBufferedBytes: Int?
    @Option(name: .customLong("when-over-budget"), help: "end, drop-newest or wait.") var whenOverBudget: String?
    @Option(name: .customLong("write-stall-timeout"), help: "Milliseconds a spark may stay over its budget.") var writeStallTimeout: Int?
    @Option(name: .customLong("close-timeout"), help: "Milliseconds a close may take before the socket is dropped.") var closeTimeout: Int?
    @Option(name: .customLong("headers-timeout"), help: "Milliseconds to send a complete request head.") var headersTimeout: Int?
    @Option(name: .customLong("body-timeout"), help: "Milliseconds to send a request body.") var bodyTimeout: Int?
    @Option(name: .customLong("keep-alive-timeout"), help: "Milliseconds an idle keep-alive connection is kept.") var keepAliveTimeout: Int?
    @Option(name: .customLong("max-header-count"), help: "Most header fields per request.") var maxHeaderCount: Int?
    @Option(name: .customLong("max-header-bytes"), help: "Most header bytes per request.") var maxHeaderBytes: Int?
    @Option(name: .customLong("max-connections"), help: "Most TCP connections open at once.") var maxConnections: Int?
    @Option(name: .customLong("max-sparks"), help: "Most sparks open at once.") var maxSparks: Int?
    @Option(name: .customLong("max-sparks-per-address"), help: "Most sparks one address may hold.") var maxSparksPerAddress: Int?
    @Option(name: .customLong("tls-cert"), help: "TLS: PEM certificate chain file (with --tls-key): serve https and wss.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "TLS: PEM private key file (with --tls-cert).") var tlsKey: String?
    @Option(help: "Join a cluster through this Redis (redis://[user:password@]host[:port][/db], rediss:// for TLS): broadcasts, rooms and spark writes reach every node.") var redis: String?
    @Option(name: .customLong("redis-prefix"), help: "Key and channel prefix in Redis (default primus).") var redisPrefix = "primus"
    @Option(name: .customLong("node-id"), help: "This node's name in the cluster registry (default random).") var nodeID: String?
    @Option(name: .customLong("node-expiry"), help: "Milliseconds after which a silent node is forgotten (default 10000).") var nodeExpiry = 10_000
    @Option(name: .customLong("recover-count"), help: "Missed-message recovery: broadcasts kept for clients that reconnect (0: off).") var recoverCount = 0
    @Option(name: .customLong("recover-ms"), help: "Missed-message recovery: oldest broadcast replayed, in milliseconds.") var recoverMilliseconds = 120_000

    func run() async throws {
        let rawTransformers = [PrimusTransformer.engineIO.name, PrimusTransformer.sockjs.name, PrimusTransformer.browserChannel.name, PrimusTransformer.socketIO.name]
        if raw, !rawTransformers.contains(transformer.lowercased()) { return try await runRaw() }
        var configuration = try PrimusConfiguration(transformer: transformer, parser: parser)
        configuration.pathname = pathname
        configuration.pingInterval = pingInterval > 0 ? .milliseconds(pingInterval) : nil
        configuration.maxLength = maxPayload ?? maxLength
        if configuration.transformer == .engineIO {
            var options = EngineIOOptions()
            if pingInterval > 0 { options.pingInterval = .milliseconds(pingInterval) }
            options.pingTimeout = .milliseconds(pingTimeout)
            options.allowEIO3 = allowEIO3
            options.rawEcho = raw  // --raw --transformer engine.io: echo message packets
            configuration.transformer = .engineIO(options)
        }
        if configuration.transformer == .sockjs {
            var options = SockJSOptions()
            // --raw: the SockJS test contract's four services at the root (/echo, /close,
            // /disabled_websocket_echo, /cookie_needed_echo), without the Primus layer.
            options.testServices = raw
            if raw { configuration.pathname = "/" }
            options.responseLimit = responseLimit ?? (raw ? 4096 : options.responseLimit)
            options.heartbeatDelay = .milliseconds(Int64(heartbeatDelay))
            options.disconnectDelay = .milliseconds(Int64(disconnectDelay))
            options.websocket = !noWebSocket
            options.cookieNeeded = cookieNeeded
            if let sockjsURL { options.clientScriptURL = sockjsURL }
            configuration.transformer = .sockjs(options)
        }
        if configuration.transformer == .browserChannel {
            var options = BrowserChannelOptions()
            options.sessionTimeout = .milliseconds(sessionTimeout)
            options.rawEcho = raw  // --raw --transformer browserchannel: echo messages
            configuration.transformer = .browserChannel(options)
        }
        if configuration.transformer == .socketIO {
            configuration.transformer = .socketIO(socketIOOptions())
            // --raw: the socket.io-protocol test contract, at the reference's path.
            if raw { configuration.pathname = "/socket.io" }
        }
        configuration.compression = compression
        configuration.limits = try limits()
        if !corsOrigins.isEmpty { configuration.cors.origins = corsOrigins }
        if recoverCount > 0 { configuration.recovery = PrimusRecovery(maxMessages: recoverCount, maxAge: .milliseconds(recoverMilliseconds)) }
        if let redis {
            var cluster = try RedisClusterConfiguration(url: redis)
            cluster.keyPrefix = redisPrefix
            if let nodeID { cluster.nodeID = nodeID }
            cluster.nodeExpiry = .milliseconds(nodeExpiry)
            cluster.nodeHeartbeat = .milliseconds(max(100, nodeExpiry / 5))
            let clusterConfiguration = cluster
            configuration.adapter = { RedisClusterAdapter(configuration: clusterConfiguration) }
        }
        let primus = Primus(configuration: configuration)
        if raw, configuration.transformer == .sockjs {
            // A bare SockJS server for conformance tools: no Primus middleware around it.
            for layer in primus.layers { primus.remove(layer.name) }
        }
        if let authorizeToken { primus.authorize(TestServer.tokenCheck(authorizeToken)) }
        if failingMiddleware {
            primus.use(PrimusMiddleware(name: "failing") { _ in throw PrimusHTTPError(status: .internalServerError, message: "I failed") })
        }
        if let slowMiddleware {
            primus.use(
                PrimusMiddleware.asynchronous(name: "slow") { _ in
                    try await Task.sleep(for: .milliseconds(slowMiddleware))
                    return .next
                }
            )
        }
        let socketIO = configuration.transformer == .socketIO
        let rawSocketIO = raw && socketIO
        primus.onConnection { spark in
            spark.onMessage { message in TestServer.handle(message, on: spark) }
            // On socket.io a `message` event is Primus data (echoed above), except in the test
            // contract, where it is answered with `message-back`.
            TestServer.handleEvents(on: spark, messageEvent: !socketIO || rawSocketIO)
            if socketIO { spark.emit("auth", .object(spark.auth)) }
        }
        var server = PrimusHTTPServer(primus: primus, host: host, port: port, tls: try tls(), onListening: TestServer.announce)
        server.reconnectOnShutdown = !noReconnectOnShutdown
        // SIGTERM and SIGINT shut down gracefully: the listener stops, every spark ends.
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: primus.logger)
        try await group.run()
    }

    /// The socket.io transformer's options: namespaces `/` and `/custom`, CONNECTs with the auth
    /// token `bad` refused; with `--raw`, the test contract's timings (Engine.IO ping 300 ms,
    /// ping timeout 200 ms, connect timeout 1000 ms) and Engine.IO 3 clients allowed.
    func socketIOOptions() -> SocketIOOptions {
        var options = SocketIOOptions()
        options.engineIO.pingInterval = .milliseconds(raw ? 300 : (pingInterval > 0 ? pingInterval : 25_000))
        options.engineIO.pingTimeout = .milliseconds(raw ? 200 : pingTimeout)
        options.engineIO.allowEIO3 = raw || allowEIO3
        options.connectTimeout = .milliseconds(connectTimeout ?? (raw ? 1000 : 45_000))
        options.namespaces = ["/", "/custom"]
        options.authorize = { request in
            if request.auth["token"]?.stringValue == "bad" { throw SocketIOConnectRefusal("Not authorized") }
        }
        return options
    }

    /// TLS from `--tls-cert` and `--tls-key`, which come together or not at all.
    func tls() throws -> PrimusTLS? {
        switch (tlsCert, tlsKey) {
        case (nil, nil): return nil
        case (let cert?, let key?): return try PrimusTLS(certificateChainFile: cert, privateKeyFile: key)
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
    }

    /// The limits named by flags, over the defaults.
    func limits() throws -> PrimusLimits {
        var limits = PrimusLimits()
        if let maxBufferedBytes { limits.maxBufferedBytes = maxBufferedBytes }
        if let whenOverBudget {
            switch whenOverBudget {
            case "end": limits.whenOverBudget = .end
            case "drop-newest": limits.whenOverBudget = .dropNewest
            case "wait": limits.whenOverBudget = .wait
            default: throw ValidationError("--when-over-budget takes end, drop-newest or wait, not \(whenOverBudget)")
            }
        }
        if let writeStallTimeout { limits.writeStallTimeout = .milliseconds(writeStallTimeout) }
        if let closeTimeout { limits.closeTimeout = .milliseconds(closeTimeout) }
        if let headersTimeout { limits.headersTimeout = .milliseconds(headersTimeout) }
        if let bodyTimeout { limits.bodyTimeout = .milliseconds(bodyTimeout) }
        if let keepAliveTimeout { limits.keepAliveTimeout = .milliseconds(keepAliveTimeout) }
        if let maxHeaderCount { limits.maxHeaderCount = maxHeaderCount }
        if let maxHeaderBytes { limits.maxHeaderBytes = maxHeaderBytes }
        if let maxConnections { limits.maxConnections = maxConnections }
        if let maxSparks { limits.maxSparks = maxSparks }
        if let maxSparksPerAddress { limits.maxSparksPerAddress = maxSparksPerAddress }
        return limits
    }

    /// The `--authorize-token` hook: `token=T` in the query or `Authorization: Bearer T`.
    static func tokenCheck(_ token: String) -> @Sendable (PrimusMiddlewareContext) async throws -> Void {
        { context in
            if context.query.values(for: "token").contains(token) { return }
            if context.headers["authorization"].contains("Bearer " + token) { return }
            throw PrimusHTTPError.unauthorized("unauthorized", authenticate: "Bearer")
        }
    }

    static func handle(_ message: SparkMessage, on spark: Spark) {
        guard let command = message.value["testserver"]?.stringValue else {
            spark.write(message.value)
            return
        }
        switch command {
        case "end":
            spark.end(message.value["data"], reconnect: false)
        case "end-reconnect":
            spark.end(reconnect: true)
        case "sparks":
            spark.write(["sparks": .array(spark.primus.sparks.map { .string($0.id) })])
        case "info":
            spark.write(info(for: spark))
        case "broadcast":
            spark.primus.write(message.value["data"] ?? .null)
        case "write":
            // To a spark on any node of the cluster; the sender hears whether some node held it.
            guard let target = message.value["spark"]?.stringValue else {
                spark.write(["error": "write needs a spark id"])
                return
            }
            let data = message.value["data"] ?? .null
            Task {
                let written = await spark.primus.write(data, toSpark: target)
                spark.write(["written": .bool(written)])
            }
        default:
            spark.write(["error": .string("unknown testserver command \(command)")])
        }
    }

    /// Named events (primus-emitter packets, or Socket.IO events): the Socket.IO test contract's
    /// `message` → `message-back` and `message-with-ack`, plus rooms and server-side acks.
    static func handleEvents(on spark: Spark, messageEvent: Bool = true) {
        if messageEvent { spark.on("message") { event in spark.emit("message-back", arguments: event.args) } }
        spark.on("message-with-ack") { event in event.ack?.send(arguments: event.args) }
        spark.on("join") { event in
            for room in event.args.compactMap(\.stringValue) { spark.join(room) }
            event.ack?.send(arguments: [.array(spark.rooms.sorted().map { .string($0) })])
        }
        spark.on("leave") { event in
            for room in event.args.compactMap(\.stringValue) { spark.leave(room) }
            event.ack?.send(arguments: [.array(spark.rooms.sorted().map { .string($0) })])
        }
        // ["room", value]: to the room's other sparks (the sender is left out).
        spark.on("to-room") { event in
            guard let room = event.args.first?.stringValue else { return }
            spark.to(room).emit("room-message", arguments: Array(event.args.dropFirst()))
        }
        // ["room", value]: written as plain data to every spark in the room, the sender too.
        spark.on("write-room") { event in
            guard let room = event.args.first?.stringValue, event.args.count > 1 else { return }
            spark.primus.room(room).write(event.args[1])
        }
        spark.on("emit-all") { event in spark.primus.emit("everyone", arguments: event.args) }
        // The server asks the client ("question", args) and reports the answer or the error.
        spark.on("ask") { event in
            let timeout = Duration.milliseconds(Int64(event.args.first?.numberValue ?? 1000))
            spark.emit("question", arguments: Array(event.args.dropFirst()), timeout: timeout) { result in
                switch result {
                case .success(let answer): spark.emit("answer", arguments: answer)
                case .failure(let error): spark.emit("no-answer", .string(error.code == .timeout ? "timeout" : "\(error)"))
                }
            }
        }
    }

    static func info(for spark: Spark) -> JSONValue {
        var query = JSONObject()
        for item in spark.query where query[item.name] == nil { query[item.name] = .string(item.value) }
        var headers = JSONObject()
        for (name, _) in spark.headers {
            let key = name.lowercased()
            headers[key] = .string(spark.headers[key].joined(separator: ", "))
        }
        return [
            "id": .string(spark.id),
            "node": .string((spark.primus.adapter as? RedisClusterAdapter)?.configuration.nodeID ?? "local"),
            "query": .object(query),
            "headers": .object(headers),
            "address": ["ip": .string(spark.address.ip), "port": .number(Double(spark.address.port)), "secure": .bool(spark.address.secure)],
        ]
    }

    @Sendable static func announce(_ address: SocketAddress) {
        // One write(2), no stdio buffer to flush (fflush(NULL) would also lock stdin).
        FileHandle.standardOutput.write(Data("listening on http://\(address.ipAddress ?? "127.0.0.1"):\(address.port ?? 0)\n".utf8))
    }

    func runRaw() async throws {
        let pathname = pathname.hasPrefix("/") ? pathname : "/" + pathname
        let maxLength = maxLength
        let compression = compression
        let limits = try limits()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try RawWebSocketEcho.configure(channel: channel, pathname: pathname, maxLength: maxLength, compression: compression, limits: limits)
                }
            }
            .bind(host: host, port: port).get()
        if let address = channel.localAddress { TestServer.announce(address) }
        try await channel.closeFuture.get()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
