import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
import PrimusServer

/// The servers under test.
enum ServerKind: String, CaseIterable, Sendable {
    /// NIOWebSocket with a bare echo handler: the baseline.
    case raw
    /// `Primus` with the `websockets` transformer and the JSON parser, echoing `message.value`.
    case primus
    /// The same `Primus` echo with the `engine.io` transformer.
    case engineIO = "engine.io"
    /// The `websockets` echo with the `msgpack` parser.
    case msgpack
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

    var server: ServerKind {
        switch self {
        case .raw: .raw
        case .primus: .primus
        case .msgpack: .msgpack
        case .engineIOWebSocket, .engineIOPolling: .engineIO
        }
    }

    var label: String {
        switch self {
        case .raw: "raw NIOWebSocket"
        case .primus: "Primus websockets+JSON"
        case .msgpack: "Primus websockets+msgpack"
        case .engineIOWebSocket: "Primus engine.io websocket"
        case .engineIOPolling: "Primus engine.io polling"
        }
    }
}

/// The largest incoming frame both servers accept: Primus's default `maxLength` (10 MiB).
let maxFrameSize = 10 * 1024 * 1024

/// `primus-bench server <raw|primus>`: serves on 127.0.0.1 (a free port, printed as `PORT <n>`),
/// on NIO's shared event loop group (one thread per core), until standard input closes.
func runServer(_ kind: ServerKind) async throws {
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
        let primus = Primus(configuration: PrimusConfiguration())
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
        }
        try await PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 0, onListening: announce).run()
    case .msgpack:
        var configuration = PrimusConfiguration()
        configuration.parser = MessagePackParser()
        let primus = Primus(configuration: configuration)
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
        }
        try await PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 0, onListening: announce).run()
    case .engineIO:
        // The same echo; the Engine.IO defaults (server ping every 25 s, 20 s timeout).
        var configuration = PrimusConfiguration()
        configuration.transformer = .engineIO
        let primus = Primus(configuration: configuration)
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
        }
        try await PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 0, onListening: announce).run()
    case .raw:
        try await RawEchoServer.run(host: "127.0.0.1", port: 0, onListening: announce)
    }
}

/// A minimal WebSocket echo server on NIOWebSocket, with the same listener options as
/// `PrimusHTTPServer` (backlog 1024, SO_REUSEADDR, TCP_NODELAY, shared event loop group).
enum RawEchoServer {
    static func run(host: String, port: Int, onListening: @escaping @Sendable (SocketAddress) -> Void) async throws {
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
                                try channel.pipeline.syncOperations.addHandler(RawEchoHandler())
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

/// Echoes data frames as they come (no reassembly, no UTF-8 check), answers pings and the close
/// handshake. Writes made during a read are flushed once at read completion, as the Primus
/// transport does, so both servers batch the same way.
final class RawEchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var needsFlush = false
    private var closeSent = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary, .continuation:
            guard !closeSent else { return }
            context.write(wrapOutboundOut(WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)), promise: nil)
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
