public import NIOCore

/// The errors an Engine.IO server answers requests with: `{"code":N,"message":"…"}` with
/// HTTP 400 (403 for ``forbidden``, 503 for ``tooManySessions``, 413 for ``payloadTooLarge``),
/// as the reference server (`server.ts`) words them. This is
/// the one place that maps them to codes and statuses.
public struct EngineIOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The JSON `code`: 0 to 5.
    public let code: Int
    /// The JSON `message`.
    public let message: String
    /// The HTTP status.
    public let httpStatus: Int

    private init(code: Int, message: String, httpStatus: Int = 400) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    /// 0: `transport` is missing or names no transport.
    public static let unknownTransport = EngineIOError(code: 0, message: "Transport unknown")
    /// 1: `sid` names no open session.
    public static let unknownSession = EngineIOError(code: 1, message: "Session ID unknown")
    /// 2: a handshake that is not a `GET`.
    public static let badHandshakeMethod = EngineIOError(code: 2, message: "Bad handshake method")
    /// 3: a request the session cannot take (a second pending poll, the wrong transport, an
    /// unparsable body, a WebSocket handshake without an upgrade).
    public static let badRequest = EngineIOError(code: 3, message: "Bad request")
    /// 4: the application refused the request.
    public static let forbidden = EngineIOError(code: 4, message: "Forbidden", httpStatus: 403)
    /// 5: `EIO` is missing or names a version this server does not speak.
    public static let unsupportedProtocolVersion = EngineIOError(code: 5, message: "Unsupported protocol version")
    /// Code 3 with HTTP 503: the server holds as many sessions as it allows.
    public static let tooManySessions = EngineIOError(code: 3, message: "Too many sessions", httpStatus: 503)
    /// HTTP 413: a polling body longer than the announced `maxPayload`. The session closes too.
    /// Answered as plain text (`Payload Too Large`), as an HTTP layer would, not as JSON.
    public static let payloadTooLarge = EngineIOError(code: 3, message: "Payload Too Large", httpStatus: 413)

    /// The response body.
    public var json: ByteBuffer {
        var writer = JSONWriter(capacity: 48)
        writer.buffer.writeString("{\"code\":\(code),\"message\":")
        writer.writeString(message)
        writer.buffer.writeInteger(UInt8(ascii: "}"))
        return writer.buffer
    }

    public var description: String { "Engine.IO error \(code): \(message)" }
}
