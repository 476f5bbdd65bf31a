import NIOCore
public import NIOHTTP1
public import PrimusCore

/// One request under the pathname as the middleware chain sees it: the request, whether it is a
/// plain HTTP request or a WebSocket upgrade, the client's address, and the headers every layer
/// wants on the answer (CORS, no-cache), whoever gives it.
///
/// The chain runs for every request under the pathname, each polling request included, before
/// the transformer sees it (Primus 8's middleware, `../shared/reference/primus-v8.md` section 4).
public struct PrimusMiddlewareContext: Sendable {
    /// A plain HTTP request or a WebSocket upgrade; some layers run for only one of them.
    public enum Kind: Sendable, Hashable {
        /// A plain HTTP request (body complete).
        case http
        /// A WebSocket upgrade request (no body); a refusal is written as a raw HTTP answer and
        /// the connection closes.
        case upgrade
    }

    /// Which kind of request this is.
    public let kind: Kind
    /// The request (for upgrades, its body is empty).
    public var request: PrimusHTTPRequest
    /// Whether the connection is TLS (`https:`/`wss:`).
    public let secure: Bool
    /// The client's address through trusted proxies (Primus's `req.forwarded`), set by the
    /// `forwarded` layer; the socket peer until then.
    public var forwarded: SparkAddress
    /// Headers added to whatever answers this request: a layer's own answer, the transformer's,
    /// or a refusal. A layer sets them; later layers and transformers cannot remove them
    /// (Primus's `setHeader` protection, its issue #286).
    public var responseHeaders: HTTPHeaders
    /// The server.
    public let primus: Primus

    /// The request line and headers.
    public var head: HTTPRequestHead { request.head }
    /// The headers of the request.
    public var headers: HTTPHeaders { request.head.headers }
    /// The request's path, without the query.
    public var path: String { request.path }
    /// The parsed query string.
    public var query: QueryParameters { request.query }

    /// Creates a context (front-ends do, once per request under the pathname).
    public init(kind: Kind, request: PrimusHTTPRequest, secure: Bool, primus: Primus) {
        self.kind = kind
        self.request = request
        self.secure = secure
        self.primus = primus
        let peer = request.remoteAddress.flatMap { address in
            address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: secure) }
        }
        self.forwarded = peer ?? SparkAddress(ip: "127.0.0.1", port: 0, secure: secure)
        self.responseHeaders = HTTPHeaders()
    }
}

/// What the middleware chain decided for a request.
public enum PrimusMiddlewareResult: Sendable {
    /// Every layer let it through: hand it to the transformer, with the context as the layers
    /// left it (its ``PrimusMiddlewareContext/responseHeaders`` go on the transformer's answer).
    case proceed(PrimusMiddlewareContext)
    /// A layer answered (a `primus.js` or `spec` request, a CORS preflight or refusal, an
    /// authorization refusal, a failing layer); the layers' response headers are already merged.
    case respond(PrimusHTTPResponse)
}
