public import NIOCore
public import NIOHTTP1
public import PrimusCore

/// A plain HTTP request that reached the server, for the fallback handler (paths outside the
/// pathname) and for transformers that speak HTTP.
public struct PrimusHTTPRequest: Sendable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The body, complete.
    public var body: ByteBuffer
    /// The socket peer.
    public var remoteAddress: SocketAddress?

    /// The method.
    public var method: HTTPMethod { head.method }
    /// The request target's path, without the query.
    public var path: String {
        let uri = head.uri
        guard let question = uri.firstIndex(of: "?") else { return uri }
        return String(uri[..<question])
    }
    /// The parsed query string.
    public var query: QueryParameters { QueryParameters(requestURI: head.uri) }
    /// The headers.
    public var headers: HTTPHeaders { head.headers }

    /// Creates a request.
    public init(head: HTTPRequestHead, body: ByteBuffer = ByteBuffer(), remoteAddress: SocketAddress? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }
}

/// A complete HTTP response.
public struct PrimusHTTPResponse: Sendable {
    /// The status.
    public var status: HTTPResponseStatus
    /// The headers; `content-length` is added when written.
    public var headers: HTTPHeaders
    /// The body.
    public var body: ByteBuffer

    /// Creates a response.
    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a text body of the given content type.
    public static func text(_ text: String, status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8") -> PrimusHTTPResponse {
        PrimusHTTPResponse(status: status, headers: ["content-type": contentType], body: ByteBuffer(string: text))
    }

    /// An HTML page.
    public static func html(_ html: String) -> PrimusHTTPResponse {
        text(html, contentType: "text/html; charset=utf-8")
    }

    /// `404 Not Found`, the default answer outside the pathname.
    public static let notFound = PrimusHTTPResponse.text("Not Found", status: .notFound, contentType: "text/plain")
}

/// Answers HTTP requests that are not Primus's (outside the pathname).
public typealias PrimusHTTPFallback = @Sendable (PrimusHTTPRequest) async -> PrimusHTTPResponse
