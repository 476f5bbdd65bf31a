import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
import PrimusRedisCluster
import PrimusServer
import Synchronization

/// The servers under test.
enum ServerKind: String, CaseIterable, Sendable {
    /// NIOWebSocket with a bare echo handler: the baseline.
    case raw
    /// `Primus` with the `websockets` transformer and the JSON parser, echoing `message.value`.
    case primus
    /// The same `Primus` echo with the `engine.io` transformer.
    case engineIO = "engine.io"
    /// The same `Primus` echo with the `sockjs` transformer (sockjs-node's defaults).
    case sockjs
    /// The same `Primus` echo with the `browserchannel` transformer.
    case browserChannel = "browserchannel"
    /// The same `Primus` with the `socket.io` transformer (the reference's defaults), for the
    /// `events` mode: `42["echo",…]` events and `42["message",…]` data.
    case socketIO = "socket.io"
    /// The `websockets` echo with the `msgpack` parser.
    case msgpack
    /// Hummingbird 2 with a plain WebSocket route (the `HummingbirdPeer` trait).
    case hummingbird
    /// The `primus` echo mounted on a Hummingbird 2 application (PrimusHummingbird, the
    /// `HummingbirdPeer` trait).
    case primusHummingbird = "primus-hummingbird"
    /// The `primus` echo mounted on a Vapor 4 application (PrimusVapor, the `VaporPeer` trait).
    case primusVapor = "primus-vapor"
    /// The `primus` server as one node of a cluster through Redis (`RedisClusterAdapter`): its
    /// broadcasts reach the sparks of every node. Needs ``ClusterNodeSettings`` (`--redis URL
    /// --node-id ID` after the mode).
    case primusRedis = "primus-redis"
    /// Node's `ws` module (`Benchmarks/peers/ws-server.js`, run by `node`, not by this binary).
    case ws
}

/// What a server does with a data message.
enum ServerMode: String, CaseIterable, Sendable {
    /// Back to its sender.
    case echo
    /// To every open connection, the sender's included (Primus: `primus.write(_:)`).
    case fanout
    /// Named events and rooms (Primus servers only): data is echoed as in `echo`; the event
    /// `echo` is emitted back with its arguments; `join` (room names, acknowledged) joins rooms;
    /// `publish` (room, args…) emits `tick` with the args to the room, `publish-data` (room,
    /// value) writes the value to it as data.
    case events
}

/// A server and the way the load generator talks to it: one column of the throughput table.
enum LoadTarget: String, CaseIterable, Sendable {
    /// Plain WebSocket frames to the raw NIOWebSocket server.
    case raw
    /// Primus messages in WebSocket frames, `websockets` transformer.
    case primus
    /// Primus messages in MessagePack binary frames, `websockets` transformer, `msgpack` parser.
    case msgpack
    /// Engine.IO 4 message packets (`4<json>`) over a WebSocket opened directly
    /// (`?EIO=4&transport=websocket`), `engine.io` transformer.
    case engineIOWebSocket = "eio-websocket"
    /// Engine.IO 4 long-polling: a pending `GET` and one `POST` at a time per session, each on
    /// its own keep-alive HTTP connection, payloads joined by 0x1E.
    case engineIOPolling = "eio-polling"
    /// SockJS frames over a WebSocket (`/primus/<server>/<session>/websocket`): the client sends
    /// `["<message>"]`, the server answers `a["<message>"]`; `sockjs` transformer.
    case sockJSWebSocket = "sockjs-websocket"
    /// SockJS over HTTP: per session one `xhr_streaming` response receiving (opened again each
    /// time the response limit ends it) and one `xhr_send` at a time carrying every queued
    /// message, each on its own keep-alive HTTP connection.
    case sockJSXHR = "sockjs-xhr"
    /// BrowserChannel: a streaming back channel and one forward `POST` of form-encoded maps at a
    /// time per session, each on its own keep-alive HTTP connection.
    case browserChannel = "browserchannel"
    /// Plain WebSocket frames to Node's `ws` module (a peer, no Primus layer).
    case ws
    /// Plain WebSocket frames to a Hummingbird 2 WebSocket route (a peer, no Primus layer).
    case hummingbird
    /// Primus messages in WebSocket frames to Primus mounted on Hummingbird 2.
    case primusHummingbird = "primus-hummingbird"
    /// Primus messages in WebSocket frames to Primus mounted on Vapor 4.
    case primusVapor = "primus-vapor"
    /// Primus's emitter packets in WebSocket frames (`{"type":0,"data":["echo",…]}`),
    /// `websockets` transformer: the baseline of `socketio`.
    case primusEvents = "primus-events"
    /// Socket.IO events over a WebSocket opened directly (`?EIO=4&transport=websocket`, then
    /// CONNECT): `42["echo",…]`, `socket.io` transformer.
    case socketIOEvents = "sio-events"
    /// Socket.IO `message` events, which the `socket.io` transformer hands to Primus as data:
    /// `42["message",…]`.
    case socketIOData = "sio-data"

    var server: ServerKind {
        switch self {
        case .raw: .raw
        case .primus: .primus
        case .msgpack: .msgpack
        case .engineIOWebSocket, .engineIOPolling: .engineIO
        case .sockJSWebSocket, .sockJSXHR: .sockjs
        case .browserChannel: .browserChannel
        case .ws: .ws
        case .hummingbird: .hummingbird
        case .primusHummingbird: .primusHummingbird
        case .primusVapor: .primusVapor
        case .primusEvents: .primus
        case .socketIOEvents, .socketIOData: .socketIO
        }
    }

    /// How the load generator frames messages for this target (WebSocket targets).
    var framing: Framing {
        switch self {
        case .engineIOWebSocket: .engineIO
        case .msgpack: .msgpack
        case .sockJSWebSocket: .sockJS
        case .primusEvents: .primusEvents
        case .socketIOEvents: .socketIOEvents
        case .socketIOData: .socketIOData
        default: .primus
        }
    }

    /// The server mode an echo of this target needs: `events` for the event framings.
    var echoMode: ServerMode {
        switch self {
        case .primusEvents, .socketIOEvents, .socketIOData: .events
        default: .echo
        }
    }

    var label: String {
        switch self {
        case .raw: "raw NIOWebSocket"
        case .primus: "Primus websockets+JSON"
        case .msgpack: "Primus websockets+msgpack"
        case .engineIOWebSocket: "Primus engine.io websocket"
        case .engineIOPolling: "Primus engine.io polling"
        case .sockJSWebSocket: "Primus sockjs websocket"
        case .sockJSXHR: "Primus sockjs xhr"
        case .browserChannel: "Primus browserchannel"
        case .ws: "raw Node ws"
        case .hummingbird: "raw Hummingbird 2"
        case .primusHummingbird: "Primus on Hummingbird 2"
        case .primusVapor: "Primus on Vapor 4"
        case .primusEvents: "Primus websockets events"
        case .socketIOEvents: "Primus socket.io events"
        case .socketIOData: "Primus socket.io data"
        }
    }
}

/// The largest incoming frame both servers accept: Primus's default `maxLength` (10 MiB).
let maxFrameSize = 10 * 1024 * 1024

/// `primus-bench server <kind> [echo|fanout]`: serves on 127.0.0.1 (a free port, printed as
/// `PORT <n>`), on NIO's shared event loop group (one thread per core), until standard input closes.
/// `cluster`: how a `primus-redis` server joins its cluster.
func runServer(_ kind: ServerKind, mode: ServerMode, cluster: ClusterNodeSettings? = nil) async throws {
    System.raiseFileLimit(to: 65_536)
    // The parent holds our stdin; when it goes away (normally or not), so do we.
    Thread.detachNewThread {
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        exit(0)
    }
    let announce: @Sendable (SocketAddress) -> Void = { address in
        FileHandle.standardOutput.write(Data("PORT \(address.port ?? 0)\n".utf8))
    }
    switch kind {
    case .primus:
        // Primus's defaults (heartbeat every 30 s, 10 MiB maxLength, JSON parser).
        try await servePrimus(PrimusConfiguration(), mode: mode, announce: announce)
    case .msgpack:
        var configuration = PrimusConfiguration()
        configuration.parser = MessagePackParser()
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .primusRedis:
        guard let cluster else { throw BenchError("the primus-redis server needs --redis URL --node-id ID") }
        // The `primus` server's defaults, plus the cluster adapter (recovery only when asked).
        var configuration = PrimusConfiguration()
        var adapterConfiguration = try RedisClusterConfiguration(url: cluster.redisURL)
        adapterConfiguration.nodeID = cluster.nodeID
        adapterConfiguration.keyPrefix = cluster.keyPrefix
        let clusterConfiguration = adapterConfiguration
        configuration.adapter = { RedisClusterAdapter(configuration: clusterConfiguration) }
        if cluster.recoverCount > 0 {
            configuration.recovery = PrimusRecovery(maxMessages: cluster.recoverCount, maxAge: .seconds(120))
        }
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .engineIO:
        // The Engine.IO defaults (server ping every 25 s, 20 s timeout).
        var configuration = PrimusConfiguration()
        configuration.transformer = .engineIO
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .sockjs:
        // sockjs-node's defaults (heartbeat frame every 25 s, 128 KiB streaming response limit).
        var configuration = PrimusConfiguration()
        configuration.transformer = .sockjs
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .browserChannel:
        // node-browserchannel's defaults (noop every 20 s, 30 s session timeout).
        var configuration = PrimusConfiguration()
        configuration.transformer = .browserChannel
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .socketIO:
        // The reference Socket.IO server's defaults (ping every 25 s, 45 s connect timeout).
        var configuration = PrimusConfiguration()
        configuration.transformer = .socketIO
        try await servePrimus(configuration, mode: mode, announce: announce)
    case .raw:
        try await RawEchoServer.run(host: "127.0.0.1", port: 0, mode: mode, onListening: announce)
    case .hummingbird:
        #if HummingbirdPeer
        try await HummingbirdPeerServer.run(mode: mode, onListening: announce)
        #else
        throw BenchError("built without the HummingbirdPeer trait")
        #endif
    case .primusHummingbird:
        #if HummingbirdPeer
        try await MountedPrimusServers.hummingbird(echoing(PrimusConfiguration(), mode: mode), onListening: announce)
        #else
        throw BenchError("built without the HummingbirdPeer trait")
        #endif
    case .primusVapor:
        #if VaporPeer
        try await MountedPrimusServers.vapor(echoing(PrimusConfiguration(), mode: mode), onListening: announce)
        #else
        throw BenchError("built without the VaporPeer trait")
        #endif
    case .ws:
        throw BenchError("the ws peer is Benchmarks/peers/ws-server.js, run by node")
    }
}

/// Serves one `Primus` (``echoing(_:mode:)``) on the standalone listener, `PrimusHTTPServer`.
private func servePrimus(
    _ configuration: PrimusConfiguration,
    mode: ServerMode,
    announce: @escaping @Sendable (SocketAddress) -> Void
) async throws {
    try await PrimusHTTPServer(primus: echoing(configuration, mode: mode), host: "127.0.0.1", port: 0, onListening: announce).run()
}

/// A `Primus` that echoes (`spark.write`), broadcasts (`primus.write`, the public API), or
/// serves events and rooms (``ServerMode/events``), whichever front-end serves it.
func echoing(_ configuration: PrimusConfiguration, mode: ServerMode) -> Primus {
    let primus = Primus(configuration: configuration)
    switch mode {
    case .echo:
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
        }
    case .fanout:
        primus.onConnection { spark in
            spark.onMessage { [weak primus] message in primus?.write(message.value) }
        }
    case .events:
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
            spark.on("echo") { event in spark.emit("echo", arguments: event.args) }
            spark.on("join") { event in
                for room in event.args.compactMap(\.stringValue) { spark.join(room) }
                event.ack?.send(arguments: [])
            }
            spark.on("publish") { [weak primus] event in
                guard let room = event.args.first?.stringValue else { return }
                primus?.room(room).emit("tick", arguments: Array(event.args.dropFirst()))
            }
            spark.on("publish-data") { [weak primus] event in
                guard let room = event.args.first?.stringValue, event.args.count == 2 else { return }
                primus?.room(room).write(event.args[1])
            }
        }
    }
    return primus
}

/// A minimal WebSocket echo server on NIOWebSocket, with the same listener options as
/// `PrimusHTTPServer` (backlog 1024, SO_REUSEADDR, TCP_NODELAY, shared event loop group).
enum RawEchoServer {
    static func run(
        host: String,
        port: Int,
        mode: ServerMode,
        onListening: @escaping @Sendable (SocketAddress) -> Void
    ) async throws {
        let subscribers = RawSubscribers()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: maxFrameSize,
                        automaticErrorHandling: true,
                        shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(
                                    RawEchoHandler(subscribers: mode == .fanout ? subscribers : nil)
                                )
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }),
                        withErrorHandling: true
                    )
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        if let address = channel.localAddress { onListening(address) }
        try await channel.closeFuture.get()
    }
}

/// The raw fan-out server's open connections: a locked list of channels (every event loop adds,
/// removes and reads it).
final class RawSubscribers: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
}

/// Echoes data frames as they come (no reassembly, no UTF-8 check), or with `subscribers`
/// writes each to every connection (`writeAndFlush` on each channel); answers pings and the close
/// handshake. Echoes made during a read are flushed once at read completion, as the Primus
/// transport does, so both servers batch the same way.
final class RawEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let subscribers: RawSubscribers?
    private var needsFlush = false
    private var closeSent = false

    init(subscribers: RawSubscribers?) {
        self.subscribers = subscribers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        subscribers?.add(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscribers?.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !closeSent else { return }
            let copy = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
            if let subscribers {
                for channel in subscribers.all { channel.writeAndFlush(copy, promise: nil) }
                return
            }
            context.write(wrapOutboundOut(copy), promise: nil)
            needsFlush = true
        case .ping:
            guard !closeSent else { return }
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            needsFlush = true
        case .pong:
            break
        case .connectionClose:
            if closeSent {
                context.close(promise: nil)
                return
            }
            closeSent = true
            var reply = context.channel.allocator.buffer(capacity: 2)
            var payload = frame.unmaskedData
            if let code = payload.readInteger(as: UInt16.self) { reply.writeInteger(code) }
            needsFlush = false
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
                .whenComplete { _ in loopBound.value.close(promise: nil) }
        default:
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
