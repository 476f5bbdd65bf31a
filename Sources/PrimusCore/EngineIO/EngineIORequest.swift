/// What an HTTP request or WebSocket handshake under the Engine.IO path asks for, checked in the
/// reference server's order (`verify` then `handshake` in `server.ts`).
///
/// ```swift
/// let request = try EngineIORequest(method: .get, query: query, isUpgrade: false, allowEIO3: false)
/// if let sid = request.sid { /* poll, post or upgrade an existing session */ } else { /* handshake */ }
/// ```
public struct EngineIORequest: Sendable, Hashable {
    /// The transports Engine.IO defines.
    public enum Transport: String, Sendable, Hashable {
        /// HTTP long-polling: `GET` receives, `POST` sends.
        case polling
        /// One WebSocket.
        case websocket
    }

    /// The HTTP methods Engine.IO distinguishes.
    public enum Method: Sendable, Hashable {
        case get, post, other
    }

    /// `transport=`.
    public var transport: Transport
    /// `EIO=`; `nil` when absent or unknown (only possible with a `sid`: handshakes must name one).
    public var version: EngineIOProtocolVersion?
    /// `sid=`: `nil` for a handshake.
    public var sid: String?
    /// `b64=1` (v3): the client cannot read binary payloads, so send base64.
    public var base64: Bool
    /// `j=` (v3 JSONP): the callback index.
    public var jsonpIndex: String?

    /// Reads and checks a request.
    ///
    /// - Throws: ``EngineIOError/unknownTransport`` (code 0), ``EngineIOError/badHandshakeMethod``
    ///   (2), ``EngineIOError/badRequest`` (3: a `transport=websocket` handshake without an
    ///   upgrade), ``EngineIOError/unsupportedProtocolVersion`` (5, also for `EIO=3` unless
    ///   `allowEIO3`). Whether a `sid` exists (1) is the caller's to check.
    public init(
        method: Method,
        query: QueryParameters,
        isUpgrade: Bool,
        allowEIO3: Bool
    ) throws(EngineIOError) {
        guard let transport = query["transport"].flatMap(Transport.init(rawValue:)) else {
            throw .unknownTransport
        }
        self.transport = transport
        self.sid = query["sid"].flatMap { $0.isEmpty ? nil : $0 }
        self.version = EngineIOProtocolVersion(queryValue: query["EIO"])
        self.base64 = query["b64"].map { $0 == "1" || $0 == "true" } ?? false
        self.jsonpIndex = query["j"]
        guard sid == nil else { return }
        guard method == .get else { throw .badHandshakeMethod }
        if transport == .websocket, !isUpgrade { throw .badRequest }
        guard let version, version == .v4 || allowEIO3 else { throw .unsupportedProtocolVersion }
    }
}
