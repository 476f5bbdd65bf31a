import NIOCore
import NIOHTTP1
import PrimusCore

/// The server half of a transformer: how it accepts connections under the pathname.
///
/// A transformer adapts its transport sessions to ``Spark`` through ``SparkTransport``; adding a
/// transformer means a new conformance here and nothing above the Spark changes. Every
/// transformer asks ``Primus/admit(_:key:)`` before it opens a spark, and answers `503` when
/// refused.
protocol ServerTransformer: Sendable {
    /// Protocol upgraders (WebSocket) for requests under the pathname.
    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable]

    /// Answers a plain HTTP request under the pathname (not `/spec` or `/primus.js`).
    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse

    /// The HTTP layer refused a request under the pathname because its body was over its limit
    /// (it answered `413` itself). Engine.IO closes the session the request named, as the
    /// reference server does for a payload over `maxPayload`.
    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus)

    /// A request under the pathname began: its head arrived, its body may still be on its way.
    /// Engine.IO notices overlapping `POST`s of one session from here, as the reference does.
    func requestBegan(_ head: HTTPRequestHead, primus: Primus)

    /// A request that began never reached ``respond(to:primus:channel:)`` nor
    /// ``requestBodyTooLarge(_:primus:)``: its connection closed before the body was complete.
    func requestAbandoned(_ head: HTTPRequestHead, primus: Primus)

    /// Ends the admitted id `sparkID` that is not a registered spark (a session of the test
    /// server's raw mode), shed by ``Primus/admit(_:key:)`` to make room.
    func shed(sparkID: String, primus: Primus)
}

extension ServerTransformer {
    /// Transformers without HTTP sessions have nothing to close.
    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers without HTTP sessions do not track requests.
    func requestBegan(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers without HTTP sessions do not track requests.
    func requestAbandoned(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers whose every admitted id is a spark have nothing else to shed.
    func shed(sparkID: String, primus: Primus) {}
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

    /// A handshake's client: its address through trusted proxies (``Spark/address``), and the
    /// key the per-address spark limit counts it under (``ForwardedAddressResolver/admissionKey(peer:resolved:trusted:)``).
    func client(of head: HTTPRequestHead, remote: SocketAddress?) -> (address: SparkAddress, key: String) {
        let peer: SparkAddress? = remote.flatMap { address in
            address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: false) }
        }
        let trusted = configuration.trustedProxies
        let address = ForwardedAddressResolver.resolve(
            remote: peer,
            secureTransport: false,
            header: { name in
                let values = head.headers[name]
                return values.isEmpty ? nil : values.joined(separator: ",")
            },
            trusted: trusted
        )
        return (address, ForwardedAddressResolver.admissionKey(peer: peer, resolved: address, trusted: trusted))
    }
}
