#if HummingbirdPeer
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// The raw Hummingbird 2 WebSocket peer (`primus-bench server hummingbird <echo|fanout>`): a
/// `Router` with one WebSocket route, `/primus`, and no Primus layer, served by `Application` on
/// NIO's shared event loop group, as an application written with Hummingbird would do it.
///
/// Built only with the `HummingbirdPeer` trait (on by default; see Package.swift).
enum HummingbirdPeerServer {
    static func run(mode: ServerMode, onListening: @escaping @Sendable (SocketAddress) -> Void) async throws {
        let router = Router(context: BasicWebSocketRequestContext.self)
        switch mode {
        case .echo:
            // Every data frame goes back as it came (no reassembly, as in the raw NIO server).
            router.ws("/primus") { inbound, outbound, _ in
                for try await frame in inbound {
                    try await outbound.write(.custom(WebSocketFrame(fin: frame.fin, opcode: frame.opcode.nio, data: frame.data)))
                }
            }
        case .fanout:
            // Every data frame goes to every connection, the sender's included, one after the
            // other from the sender's handler task.
            let connections = HummingbirdConnections()
            router.ws("/primus") { inbound, outbound, _ in
                let id = connections.add(outbound)
                defer { connections.remove(id) }
                for try await frame in inbound {
                    let copy = WebSocketFrame(fin: frame.fin, opcode: frame.opcode.nio, data: frame.data)
                    for writer in connections.snapshot() {
                        // A subscriber that has gone away must not stop the others.
                        try? await writer.write(.custom(copy))
                    }
                }
            }
        case .events:
            // Events and rooms are Primus's (and Socket.IO's); a raw WebSocket peer has none.
            throw BenchError("the raw Hummingbird peer has no events mode")
        }
        var logger = Logger(label: "primus-bench.hummingbird")
        logger.logLevel = .warning
        let app = Application(
            router: Router(),
            server: .http1WebSocketUpgrade(
                webSocketRouter: router,
                // The same frame limit as the other servers; no automatic pings (the raw NIO
                // server sends none either).
                configuration: .init(ws: .init(maxFrameSize: maxFrameSize, autoPing: .disabled))
            ),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 1024, reuseAddress: true),
            onServerRunning: { channel in
                if let address = channel.localAddress { onListening(address) }
            },
            logger: logger
        )
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// The fan-out server's open connections. `Mutex`-guarded: handler tasks of every event loop add,
/// remove and read it.
final class HummingbirdConnections: Sendable {
    private let state = Mutex<(nextID: Int, writers: [(id: Int, writer: WebSocketOutboundWriter)])>((0, []))

    func add(_ writer: WebSocketOutboundWriter) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.writers.append((id, writer))
            return id
        }
    }

    func remove(_ id: Int) {
        state.withLock { state in state.writers.removeAll { $0.id == id } }
    }

    func snapshot() -> [WebSocketOutboundWriter] {
        state.withLock { state in state.writers.map(\.writer) }
    }
}

extension WebSocketDataFrame.Opcode {
    /// The same opcode as NIOWebSocket spells it.
    fileprivate var nio: WebSocketOpcode {
        switch self {
        case .text: .text
        case .binary: .binary
        case .continuation: .continuation
        }
    }
}
#endif
