import NIOCore
import NIOHTTP1
import PrimusCore

/// The `socket.io` transformer: Socket.IO protocol 5 (socket.io 3 and 4 clients), and 4 for
/// socket.io 2.x clients on Engine.IO 3 when ``EngineIOOptions/allowEIO3`` is set, under the
/// pathname.
///
/// The Engine.IO layer is the `engine.io` transformer's own sessions (polling, upgrade,
/// WebSocket, heartbeat, limits); on each session sits a ``SocketIOConnection`` instead of a
/// spark. Every namespace the client joins is one spark, whose id is the Socket.IO socket id.
/// `message` events are Primus data and other events go to ``Spark/on(_:_:)``, so a plain
/// Primus application works unchanged and Socket.IO applications get their events and
/// acknowledgements (see ``SocketIOPrimusBridge``).
///
/// Admission counts connections: each Engine.IO session is admitted once
/// (``PrimusLimits/maxSparks``, ``PrimusLimits/maxSparksPerAddress``), and holds at most
/// ``SocketIOOptions/maxNamespacesPerConnection`` sparks.
struct SocketIOTransformer: PrimusServerTransformer {
    let options: SocketIOOptions
    let engine: EngineIOTransformer

    init(options: SocketIOOptions) {
        self.options = options
        var engine = EngineIOTransformer(options: options.engineIO)
        engine.sessionLayer = { opening in SocketIOConnection(opening: opening, options: options) }
        self.engine = engine
    }

    func maxRequestBodyLength(primus: Primus) -> Int? {
        engine.maxRequestBodyLength(primus: primus)
    }

    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        engine.handle(exchange, primus: primus)
    }

    func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision {
        engine.webSocketHandshake(context, on: eventLoop, primus: primus)
    }

    func requestBegan(_ head: HTTPRequestHead, primus: Primus) {
        engine.requestBegan(head, primus: primus)
    }

    func requestAbandoned(_ head: HTTPRequestHead, primus: Primus) {
        engine.requestAbandoned(head, primus: primus)
    }

    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {
        engine.requestBodyTooLarge(head, primus: primus)
    }

    /// Admission sheds connections (Engine.IO sessions), whose ids are the admitted ones.
    func shed(sparkID: String, primus: Primus) {
        engine.shed(sparkID: sparkID, primus: primus)
    }
}
