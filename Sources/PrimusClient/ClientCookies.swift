import NIOCore
import NIOHTTP1
import struct Foundation.Date

/// One ``PrimusClient``'s ``ClientCookieJar``, kept for as long as the client so that a reconnect
/// still carries the load balancer's sticky cookie.
///
/// Every transport reaches it through its ``PrimusConnectionTarget``: it builds each request's
/// headers with ``PrimusConnectionTarget/requestHeaders`` and hands each response's head to
/// ``PrimusConnectionTarget/rememberCookies(from:)``. Both happen on the client's event loop,
/// where the transports' channels live, so the jar needs no lock: the box checks the loop.
final class ClientCookies: Sendable {
    private let jar: NIOLoopBoundBox<ClientCookieJar>

    init(eventLoop: any EventLoop, limits: ClientCookieJar.Limits = .init()) {
        jar = .makeBoxSendingValue(ClientCookieJar(limits: limits), eventLoop: eventLoop)
    }

    /// Remembers the `Set-Cookie` headers of a response. On the client's event loop.
    func remember(_ response: HTTPResponseHead) {
        // Most responses set nothing: spare them the clock.
        guard response.headers.contains(name: "set-cookie") else { return }
        jar.value.receive(response.headers, now: Self.now())
    }

    /// `headers` with the stored cookies merged in. On the client's event loop.
    func requestHeaders(_ headers: HTTPHeaders, secure: Bool) -> HTTPHeaders {
        let jar = self.jar.value
        guard !jar.cookies.isEmpty else { return headers }
        return jar.requestHeaders(headers, secure: secure, now: Self.now())
    }

    /// Wall-clock seconds, the clock `Expires` dates are on.
    private static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970.rounded(.down))
    }
}

extension PrimusConnectionTarget {
    /// The headers of a request to the server: ``headers`` and, when the client keeps cookies,
    /// a `Cookie` header with them.
    var requestHeaders: HTTPHeaders {
        cookies?.requestHeaders(headers, secure: secure) ?? headers
    }

    /// Keeps the cookies a response of the server sets, when the client keeps cookies.
    func rememberCookies(from response: HTTPResponseHead) {
        cookies?.remember(response)
    }
}
