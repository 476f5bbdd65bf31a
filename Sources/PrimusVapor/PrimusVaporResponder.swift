#if Vapor
import NIOCore
import NIOHTTP1
import PrimusServer
import Vapor

/// The responder of every route under Primus's pathname: a WebSocket upgrade is decided by
/// Primus and, when accepted, switched by Vapor with ``PrimusVaporUpgrader``; any other request
/// is served by the transformer through ``PrimusFrontEnd``.
///
/// A plain `Responder` rather than an `async` route closure: an upgrade is decided on the
/// connection's event loop with futures alone, no task; only a plain request, whose body and
/// answer are asynchronous sequences, runs as a task (one per request).
struct PrimusVaporResponder: Responder {
    /// The methods routed to Primus: every one a Primus transformer or a browser uses (HEAD
    /// is answered by Vapor from the GET route, without the body).
    static let methods: [HTTPMethod] = [.GET, .POST, .PUT, .DELETE, .PATCH, .OPTIONS]

    let frontEnd: PrimusFrontEnd
    /// Primus's requests in flight, for the shutdown's drain (``PrimusVaporLifecycle``).
    let activity: PrimusRequestActivity

    /// The route path of a pathname (`/primus` → `primus`).
    static func pathComponents(of pathname: String) -> [PathComponent] {
        pathname.split(separator: "/").map { PathComponent.constant(String($0)) }
    }

    func respond(to request: Request) -> EventLoopFuture<Response> {
        let head = HTTPRequestHead(version: request.version, method: request.method, uri: request.url.string, headers: request.headers)
        let secure = request.application.http.server.configuration.tlsConfiguration != nil
        if Self.asksForWebSocket(head) {
            return upgrade(head, request: request, secure: secure)
        }
        let frontEnd = self.frontEnd
        let activity = self.activity
        activity.began()
        return request.eventLoop.makeFutureWithTask {
            // A parked poll counts until it is answered; a stream until its answer starts.
            defer { activity.ended() }
            let answer = await frontEnd.serve(head: head, body: request.body, remoteAddress: request.remoteAddress, secure: secure, on: request.eventLoop)
            return answer.vaporResponse(head: head.method == .HEAD)
        }
    }

    /// Decides the upgrade with Primus's middleware and transformer: a refusal is an ordinary
    /// answer, an acceptance a `101` whose upgrader completes it.
    private func upgrade(_ head: HTTPRequestHead, request: Request, secure: Bool) -> EventLoopFuture<Response> {
        // NIO's upgrader takes only version 13 with a key; anything else is refused here, in
        // words, before Primus admits a spark for it.
        guard head.headers["sec-websocket-version"] == ["13"], head.headers["sec-websocket-key"].count == 1 else {
            var headers = HTTPHeaders([("sec-websocket-version", "13"), ("connection", "close")])
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
            return request.eventLoop.makeSucceededFuture(Response(status: .badRequest, headers: headers, body: .init(string: "Bad Request")))
        }
        let eventLoop = request.eventLoop
        let limits = frontEnd.primus.configuration.limits
        return frontEnd.decideUpgrade(head: head, remoteAddress: request.remoteAddress, secure: secure, on: eventLoop).map { decision in
            switch decision {
            case .refuse(let refusal):
                return refusal.vaporResponse()
            case .accept(let acceptance):
                let response = Response(status: .switchingProtocols)
                response.upgrader = PrimusVaporUpgrader(upgrade: PrimusNIOWebSocketUpgrade(acceptance, on: eventLoop, limits: limits))
                return response
            }
        }
    }

    /// Whether Vapor will switch protocols for this request: an HTTP/1.1 `GET` that names
    /// `upgrade` in `Connection` (Vapor's upgrade handler holds only those) and asks for
    /// `websocket`. Others are plain requests (the transformer answers them).
    static func asksForWebSocket(_ head: HTTPRequestHead) -> Bool {
        guard head.method == .GET, head.version.major == 1, head.version.minor >= 1 else { return false }
        let connection = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        let upgrade = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        return connection && upgrade
    }
}
#endif
