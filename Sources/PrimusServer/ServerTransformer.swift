import NIOCore
import NIOHTTP1
import PrimusCore

/// The server half of a transformer: how it accepts connections under the pathname.
///
/// A transformer adapts its transport sessions to ``Spark`` through ``SparkTransport``; adding a
/// transformer means a new conformance here and nothing above the Spark changes.
protocol ServerTransformer: Sendable {
    /// Protocol upgraders (WebSocket) for requests under the pathname.
    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable]

    /// Answers a plain HTTP request under the pathname (not `/spec` or `/primus.js`).
    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse
}

/// The server transformer for a configured transformer.
func makeServerTransformer(_ transformer: PrimusTransformer) -> any ServerTransformer {
    switch transformer {
    case .engineIO: return EngineIOTransformer()
    default: return WebSocketsTransformer()
    }
}

extension Primus {
    /// Whether a request path belongs to Primus: a plain prefix match, as Primus does
    /// (so `/primus.js` and `/primusfoo` are Primus's too).
    func owns(path: String) -> Bool {
        path.hasPrefix(configuration.pathname)
    }
}
