public import NIOHTTP1
public import PrimusCore

/// Options of the `socket.io` transformer (``PrimusTransformer/socketIO(_:)``). The defaults are
/// the reference Socket.IO server's.
///
/// ```swift
/// var options = SocketIOOptions()
/// options.namespaces = ["/", "/admin"]
/// options.authorize = { request in
///     guard request.auth["token"]?.stringValue == "secret" else { throw SocketIOConnectRefusal("Not authorized") }
/// }
/// configuration.transformer = .socketIO(options)
/// ```
public struct SocketIOOptions: Sendable {
    /// The Engine.IO layer underneath: heartbeat, upgrades, sessions. `allowEIO3` serves
    /// socket.io 2.x clients (Socket.IO protocol 4), as the reference's `allowEIO3` does.
    public var engineIO = EngineIOOptions()

    /// How long a new connection may take to join its first namespace (default 45 s, the
    /// reference's `connectTimeout`); after it, or once a connection has left every namespace
    /// for as long, the Engine.IO session is closed.
    public var connectTimeout: Duration = .seconds(45)

    /// The namespaces clients may join (default `/` only). A CONNECT to another gets
    /// CONNECT_ERROR `Invalid namespace`, as the reference answers, unless
    /// ``acceptsNamespace`` accepts it.
    public var namespaces: Set<String> = [SocketIOPacket.mainNamespace]

    /// Accepts namespaces beyond ``namespaces`` (the reference's dynamic namespaces, matched
    /// by name). Each connection holds at most ``maxNamespacesPerConnection`` of them.
    public var acceptsNamespace: (@Sendable (String) -> Bool)?

    /// The most namespaces one connection may join at once (default 32); a CONNECT beyond it
    /// gets CONNECT_ERROR.
    public var maxNamespacesPerConnection = 32

    /// Decides whether a CONNECT may join its namespace, seeing the auth payload: throw
    /// ``SocketIOConnectRefusal`` (or any error, whose description is sent) to answer
    /// CONNECT_ERROR `{"message": …}`. Runs after the HTTP middleware (and
    /// ``Primus/authorize(_:)``), which saw the Engine.IO requests. Each CONNECT waits for it
    /// at most ``connectTimeout``.
    public var authorize: (@Sendable (SocketIOConnectRequest) async throws -> Void)?

    /// The most binary attachments one packet may announce (default 10); more closes the
    /// connection. Their bytes are bounded by ``PrimusConfiguration/maxLength``.
    public var maxAttachments = 10

    /// The defaults.
    public init() {}
}

/// A CONNECT being decided by ``SocketIOOptions/authorize``.
public struct SocketIOConnectRequest: Sendable {
    /// The namespace asked for.
    public let namespace: String
    /// The auth payload (`{}` when the client sent none; v4 clients send the namespace query).
    public let auth: JSONObject
    /// The Engine.IO handshake request: headers, query, path.
    public let request: HTTPRequestHead
    /// The client's address (through trusted proxies).
    public let address: SparkAddress
}

/// A refusal of a CONNECT: the client gets CONNECT_ERROR with `message`, and `data` when given
/// (protocol 5; protocol 4 clients read the message only).
public struct SocketIOConnectRefusal: Error, Sendable, CustomStringConvertible {
    /// What the client's `connect_error` reports.
    public var message: String
    /// Details for the client (`err.data` in socket.io-client).
    public var data: JSONValue?

    /// A refusal with `message`.
    public init(_ message: String, data: JSONValue? = nil) {
        self.message = message
        self.data = data
    }

    /// The message.
    public var description: String { message }
}
