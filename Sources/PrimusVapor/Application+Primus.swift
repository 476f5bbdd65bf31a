#if Vapor
public import PrimusServer
public import Vapor

extension Application {
    /// Serves `primus` from this application's own HTTP server, at its pathname, instead of
    /// beside it on a port of its own (``PrimusHTTPServer``): one listener to deploy, secure and
    /// balance, as Primus wraps a Node app's `http.Server`.
    ///
    /// It adds, on `routes`:
    /// - a route for every common method at the pathname and under it (`<pathname>/**`), so the
    ///   transformer, `<pathname>/primus.js` and `<pathname>/spec` answer through Vapor. Bodies
    ///   are streamed to Primus (its own body limit applies), not collected by Vapor first;
    /// - the WebSocket upgrade there, switched with Vapor's own `Upgrader` machinery and run by
    ///   Primus's WebSocket handler (message limits, compression, outbound budget);
    ///
    /// and a lifecycle handler: the heartbeat runs from boot (``Primus/run()``), and on shutdown
    /// every spark ends as ``Primus/reconnectOnShutdown`` says before Vapor's HTTP server stops,
    /// and Vapor keeps serving until Primus's requests have been quiet for a moment (at most a
    /// second), so polling clients still fetch their last packet.
    ///
    /// Vapor's middleware runs first: the application's (`app.middleware`), then the route
    /// group's when `routes` is a group (`app.grouped(MyAuthenticator())`), then Primus's
    /// (authorization, CORS) inside. Headers Vapor's middleware adds to a response also go out
    /// on the `101` of an upgrade. A group must not add a path prefix: Primus owns its pathname
    /// as configured (``PrimusConfiguration/pathname``).
    ///
    /// - Parameters:
    ///   - primus: the server to mount.
    ///   - routes: where the routes go (default: the application itself).
    ///   - maxRequestBodyLength: the longest request body accepted (the transformer may need
    ///     more; see ``PrimusFrontEnd/maxRequestBodyLength``).
    public func mount(_ primus: Primus, on routes: (any RoutesBuilder)? = nil, maxRequestBodyLength: Int = 1 << 20) {
        let frontEnd = PrimusFrontEnd(primus: primus, maxRequestBodyLength: maxRequestBodyLength)
        let activity = PrimusRequestActivity()
        let responder = PrimusVaporResponder(frontEnd: frontEnd, activity: activity)
        let routes = routes ?? self
        let base = PrimusVaporResponder.pathComponents(of: primus.configuration.pathname)
        for method in PrimusVaporResponder.methods {
            for path in [base, base + [.catchall]] {
                routes.add(Route(method: method, path: path, responder: responder, requestType: Request.self, responseType: Response.self))
            }
        }
        lifecycle.use(PrimusVaporLifecycle(primus: primus, activity: activity))
    }
}
#endif
