import NIOConcurrencyHelpers
import NIOCore

extension Primus {
    /// Runs the middleware chain for one request under the pathname and calls `completion` on
    /// `eventLoop` with the outcome: synchronously, before this returns, when every layer that
    /// runs is synchronous (no task, no hop, no allocation beyond the layers' own: the case of
    /// every request while no authorization hook nor asynchronous layer is set); otherwise the
    /// chain continues in one task from the first asynchronous layer on, and `completion` runs
    /// on `eventLoop` once it is done.
    ///
    /// Front-ends call it once per request under the pathname, on the connection's event loop,
    /// before the transformer. ``PrimusMiddlewareResult/respond(_:)`` carries the complete answer
    /// (for an upgrade, with `Connection: close`: write it raw and close);
    /// ``PrimusMiddlewareResult/proceed(_:)`` carries the context whose
    /// ``PrimusMiddlewareContext/responseHeaders`` go on the transformer's answer
    /// (``PrimusHTTPResponse/addingMiddlewareHeaders(_:)``).
    func runMiddleware(
        _ context: PrimusMiddlewareContext,
        on eventLoop: any EventLoop,
        completion: @escaping (PrimusMiddlewareResult) -> Void
    ) {
        let chain = middleware.chain
        var context = context
        switch chain.runSynchronously(&context) {
        case .finished(let result):
            completion(result)
        case .suspended(let index):
            let completion = NIOLoopBound(completion, eventLoop: eventLoop)
            Task { [context] in
                let result = await chain.runAsynchronously(context, from: index)
                eventLoop.execute { completion.value(result) }
            }
        }
    }

    /// Whether an authorization hook is set (the browser library is then compiled with
    /// `authorization: true`, and its reconnect strategy leaves out `timeout`).
    var hasAuthorization: Bool { middleware.chain.authorize != nil }
}

extension Primus {
    /// The client parts of the registered plugins, in registration order: each is compiled into
    /// the browser library as `Primus.prototype.ark[name]`.
    var clientPlugins: [(name: String, source: String)] {
        middleware.state.withLockedValue { state in
            state.plugins.compactMap { plugin in plugin.client.map { (name: plugin.name, source: $0) } }
        }
    }

    /// The client libraries of the registered plugins, in registration order: each runs once in
    /// the browser library after the `Primus` class is defined (Primus's `plugin.library`).
    var clientPluginLibraries: [(name: String, source: String)] {
        middleware.state.withLockedValue { state in
            state.plugins.compactMap { plugin in plugin.library.map { (name: plugin.name, source: $0) } }
        }
    }
}
