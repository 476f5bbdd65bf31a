public import NIOCore
public import NIOHTTP1
public import NIOSSL
public import PrimusCore

/// A wire protocol a ``PrimusClient`` can speak: WebSockets, Engine.IO, SockJS, BrowserChannel and Socket.IO.
///
/// The seam sits below the client's lifecycle: a transport only opens one connection, carries
/// messages and reports how the connection ended. Buffering, heartbeats, reconnects and events
/// are the client's, so a new transport never touches them.
///
/// Everything happens on the event loop passed to ``connect(to:on:delegate:)``: the transport
/// calls its delegate there (never from inside `connect`), and the client calls the returned
/// connection there.
public protocol PrimusClientTransport: Sendable {
    /// The transformer name this transport speaks to (`"websockets"`).
    var name: String { get }

    /// Starts one connection to `target`. Report ``PrimusTransportDelegate/transportDidOpen()``
    /// once messages can flow, then messages, then exactly one
    /// ``PrimusTransportDelegate/transportDidClose(error:)``; a connection that never opens must
    /// report a close with an error.
    func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection
}

/// Receives what happens on one transport connection; called on the connection's event loop.
public protocol PrimusTransportDelegate: AnyObject {
    /// The connection is open: messages can be sent.
    func transportDidOpen()
    /// A complete message arrived.
    func transportDidReceive(_ message: TransportMessage)
    /// The connection is gone. `error` is `nil` for an orderly close by either side.
    func transportDidClose(error: PrimusError?)
    /// The server refused the connection for good: it answered the handshake, or a later
    /// request of the session, `401 Unauthorized` or `403 Forbidden` (its authorization hook
    /// said no). Reported instead of ``transportDidClose(error:)``. The client announces `error`
    /// and `end` and does not reconnect: retrying with the same credentials would only hammer
    /// the server. Make the error with ``PrimusError/handshakeRefused(status:body:)``.
    func transportWasRefused(_ error: PrimusError)
}

extension PrimusTransportDelegate {
    /// By default a refusal is an ordinary failed connection.
    public func transportWasRefused(_ error: PrimusError) {
        transportDidClose(error: error)
    }
}

extension PrimusError {
    /// Whether an answer with `status` to a handshake means "not with these credentials", so the
    /// client stops instead of reconnecting: `401` and `403`. Other statuses (a `503` while the
    /// server is full, a `404` from a proxy mid-deploy) are retried.
    public static func isRefusal(_ status: HTTPResponseStatus) -> Bool {
        status == .unauthorized || status == .forbidden
    }

    /// The error of a refused handshake: `The server refused the connection: 401 Unauthorized`,
    /// followed by the server's reason when the body is Primus's JSON `{"error": "…"}`.
    public static func handshakeRefused(status: HTTPResponseStatus, body: ByteBuffer?) -> PrimusError {
        var message = "The server refused the connection: \(status.code) \(status.reasonPhrase)"
        if let body, body.readableBytes > 0, let value = try? JSONReader.parse(String(buffer: body)) {
            if let reason = value["error"]?.stringValue {
                message += ": " + reason
            } else if let reason = value["error"]?["message"]?.stringValue {
                message += ": " + reason
            }
        }
        return PrimusError(code: .connectionFailed, message: message)
    }
}

/// One transport connection, driven by the client on its event loop.
public protocol PrimusTransportConnection: AnyObject {
    /// Sends one message. Only called between open and close.
    func send(_ message: TransportMessage)
    /// Closes the connection, or abandons it while it is being made. Idempotent.
    func close()
}

/// Where a transport connects: the client's URL resolved against the pathname, with the query
/// string (the user's keys first, then Primus's `_primuscb` cache buster).
public struct PrimusConnectionTarget: Sendable {
    /// Whether to use TLS (`wss:`, `https:`).
    public var secure: Bool
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int
    /// Primus's pathname, with a leading `/` (`/primus`).
    public var path: String
    /// The query string without the leading `?`.
    public var query: String
    /// Headers for the handshake, `Authorization` included when the URL had credentials.
    public var headers: HTTPHeaders
    /// The largest incoming message in bytes.
    public var maxMessageLength: Int
    /// TLS settings, used when ``secure``.
    public var tlsConfiguration: TLSConfiguration
    /// The client's cookie store (`ClientCookies.swift`); `nil` outside a ``PrimusClient``.
    var cookies: ClientCookies?

    /// Creates a target.
    public init(
        secure: Bool,
        host: String,
        port: Int,
        path: String,
        query: String,
        headers: HTTPHeaders = [:],
        maxMessageLength: Int = 10 * 1024 * 1024,
        tlsConfiguration: TLSConfiguration = .makeClientConfiguration()
    ) {
        self.secure = secure
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.headers = headers
        self.maxMessageLength = maxMessageLength
        self.tlsConfiguration = tlsConfiguration
    }

    /// The request target: path and query (`/primus?foo=bar&_primuscb=OqAbCdE`).
    public var requestURI: String {
        query.isEmpty ? path : path + "?" + query
    }

    /// The `Host` header value: brackets around IPv6, the port unless it is the scheme's default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        let defaultPort = secure ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }

    /// Whether ``host`` is an IP literal (TLS then sends no server name indication).
    public var hostIsIPAddress: Bool {
        host.contains(":") || host.allSatisfy { $0 == "." || $0.isNumber }
    }
}

/// The transports that ship with swift-primus, selectable by transformer name.
public enum PrimusClientTransports {
    /// The transport for the transformer called `name` (case-insensitive), or an error naming it.
    public static func named(_ name: String) throws(PrimusError) -> any PrimusClientTransport {
        switch name.lowercased() {
        case "websockets": return WebSocketClientTransport()
        case "engine.io": return EngineIOClientTransport()
        case "sockjs": return SockJSClientTransport()
        case "browserchannel": return BrowserChannelClientTransport()
        case "socket.io": return SocketIOClientTransport()
        default: throw PrimusError.unsupportedTransformer(name)
        }
    }

    /// Every transformer name that ``named(_:)`` accepts.
    public static let names = ["websockets", "engine.io", "sockjs", "browserchannel", "socket.io"]
}
