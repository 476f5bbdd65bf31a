#if Vapor
import NIOHTTP1
import PrimusServer
import Vapor

/// Switches an accepted upgrade with Vapor's own machinery: Vapor's upgrade handler writes the
/// `101` and hands over the connection, which then runs Primus's WebSocket handler
/// (``PrimusNIOWebSocketUpgrade``) rather than WebSocketKit's, so Primus's message limit,
/// compression, outbound budget and read pausing apply, and no message is turned into a
/// `String` and back.
struct PrimusVaporUpgrader: Upgrader {
    /// Holds the acceptance until the switch; released unused, it gives the spark back.
    let upgrade: PrimusNIOWebSocketUpgrade

    /// The headers that Vapor's middleware put on the `101` go out with it (Vapor would
    /// otherwise replace them with the upgrader's): all but those of the handshake and framing.
    func applyUpgrade(req: Request, res: Response) -> any HTTPServerProtocolUpgrader {
        var extra = HTTPHeaders()
        for (name, value) in res.headers where !Self.handshakeHeaders.contains(name.lowercased()) {
            extra.add(name: name, value: value)
        }
        return upgrade.protocolUpgrader(extraHeaders: extra)
    }

    private static let handshakeHeaders: Set<String> = [
        "connection", "upgrade", "content-length", "transfer-encoding",
        "sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol",
    ]
}
#endif
