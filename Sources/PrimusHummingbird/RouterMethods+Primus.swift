#if Hummingbird
public import Hummingbird
public import HummingbirdWebSocket
import NIOCore
import PrimusServer

extension RouterMethods where Context: PrimusRequestContext {
    /// Mounts Primus's plain requests at its pathname (every method, the pathname and all
    /// below it: the transformer's requests, `<pathname>/primus.js`, `<pathname>/spec`).
    ///
    /// Routes, not a listener of Primus's own: the requests pass the middleware this router (or
    /// group) has before they reach Primus's middleware (CORS, authorization), so the
    /// application's logging and authentication run first. Mount it on the router or a group at
    /// `/`: the pathname is Primus's own. With a context that is also a
    /// `WebSocketRequestContext`, the other `addPrimus` is chosen, which decides upgrades too.
    ///
    /// - Parameters:
    ///   - primus: the Primus to serve (also the service to run beside the application).
    ///   - secure: whether the application serves TLS (Primus's `forwarded` and CORS answers use it).
    @discardableResult
    public func addPrimus(_ primus: HummingbirdPrimus, secure: Bool = false) -> Self {
        mountPrimus(PrimusRouteResponder<Context>(mount: primus, secure: secure, upgrade: nil), pathname: primus.primus.configuration.pathname)
    }
}

extension RouterMethods where Context: PrimusRequestContext & WebSocketRequestContext {
    /// Mounts Primus at its pathname for plain requests and WebSocket upgrades.
    ///
    /// Pass the same router as the application's `webSocketRouter`
    /// (`.http1WebSocketUpgrade(webSocketRouter: router, configuration: .primus(primus))`):
    /// Hummingbird then routes each upgrade request through it, so the application's middleware
    /// runs before Primus decides, as for plain requests. An accepted upgrade is then run by
    /// Primus's own WebSocket handler on the upgraded channel (message limits, outbound budget,
    /// close handshake and timeouts of ``PrimusServer/PrimusLimits``), so a message costs what it
    /// costs on the standalone server; a refused one gets Primus's answer (`401` with its body)
    /// where Hummingbird's pipeline allows it, else Hummingbird's `400`.
    ///
    /// - Parameters:
    ///   - primus: the Primus to serve (also the service to run beside the application).
    ///   - secure: whether the application serves TLS.
    @discardableResult
    public func addPrimus(_ primus: HummingbirdPrimus, secure: Bool = false) -> Self {
        let upgrade = PrimusRouteResponder<Context>.Upgrade { request, context, acceptance, claim in
            let middleware = WebSocketUpgradeMiddleware<Context>(
                shouldUpgrade: { _, _ in .upgrade(PrimusHTTPTypesConversion.fields(of: acceptance.headers)) },
                onUpgrade: { inbound, _, webSocketContext in
                    try await PrimusWebSocketSession.run(
                        acceptance: acceptance,
                        claim: claim,
                        channel: webSocketContext.requestContext.channel,
                        limits: primus.primus.configuration.limits,
                        inbound: inbound
                    )
                }
            )
            return try await middleware.handle(request, context: context) { _, _ in Response(status: .ok) }
        }
        return mountPrimus(PrimusRouteResponder<Context>(mount: primus, secure: secure, upgrade: upgrade), pathname: primus.primus.configuration.pathname)
    }
}

extension RouterMethods where Context: PrimusRequestContext {
    /// The methods a Primus transformer or a browser's preflight may use.
    fileprivate static var primusMethods: [HTTPRequest.Method] { [.get, .post, .options, .head, .put, .delete, .patch] }

    fileprivate func mountPrimus(_ responder: PrimusRouteResponder<Context>, pathname: String) -> Self {
        let base = pathname.hasSuffix("/") ? String(pathname.dropLast()) : pathname
        for path in [base.isEmpty ? "/" : base, base + "/**"] {
            for method in Self.primusMethods {
                on(RouterPath(path), method: method, responder: responder)
            }
        }
        return self
    }
}
#endif
