import NIOCore

extension Primus {
    /// Runs the middleware chain for one request under the pathname and calls `completion` on
    /// `eventLoop` with the outcome: synchronously when every layer that runs is synchronous (no
    /// task, no hop), after one hop to a task and one back when a layer is asynchronous.
    ///
    /// Placeholder until the layers land: everything proceeds.
    func runMiddleware(
        _ context: PrimusMiddlewareContext,
        on eventLoop: any EventLoop,
        completion: @escaping (PrimusMiddlewareResult) -> Void
    ) {
        completion(.proceed(context))
    }

    /// Whether an authorization hook is set (the browser library is then compiled with
    /// `authorization: true`). Placeholder until `authorize` lands.
    var hasAuthorization: Bool { false }
}
