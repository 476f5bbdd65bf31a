import NIOCore
import NIOHTTP1
import PrimusCore

extension Primus {
    /// Runs the middleware chain for one request under the pathname and calls `completion` on
    /// `eventLoop` with the outcome: synchronously when every layer that runs is synchronous (no
    /// task, no hop), after one hop to a task and one back when a layer is asynchronous.
    ///
    /// Placeholder until the layers land: `spec` and `primus.js` are answered, everything else
    /// proceeds.
    func runMiddleware(
        _ context: PrimusMiddlewareContext,
        on eventLoop: any EventLoop,
        completion: @escaping (PrimusMiddlewareResult) -> Void
    ) {
        let pathname = configuration.pathname
        if context.kind == .http, context.request.method == .GET || context.request.method == .HEAD {
            if context.path == pathname + "/spec" {
                var response = PrimusHTTPResponse.text(spec.json, contentType: "application/json")
                response.headers.replaceOrAdd(name: "cache-control", value: "no-store, no-cache, must-revalidate, max-age=0")
                return completion(.respond(response))
            }
            if context.path == pathname + "/primus.js" {
                return completion(.respond(libraryResponse(to: context.head)))
            }
        }
        completion(.proceed(context))
    }

    /// Whether an authorization hook is set (the browser library is then compiled with
    /// `authorization: true`). Placeholder until `authorize` lands.
    var hasAuthorization: Bool { false }
}

extension Primus {
    /// The client parts of the registered plugins, in registration order: each is compiled into
    /// the browser library as `Primus.prototype.ark[name]`. Placeholder until plugins land.
    var clientPlugins: [(name: String, source: String)] { [] }
}

/// The server's middleware layers, authorization hook and plugins (one per ``Primus``).
/// Placeholder until the middleware lands.
final class PrimusMiddlewareStack: Sendable {
    init(configuration: PrimusConfiguration) {}
}
