import NIOCore
public import NIOHTTP1
import PrimusCore

/// An error a middleware layer or the ``Primus/authorize(_:)`` hook throws to refuse a request
/// with a status of its choosing: the client gets Primus's answer, the JSON body
/// `{"error":"<message>"}` with `Content-Type: application/json`, and
/// `WWW-Authenticate: <authenticate>` when the status is `401` and `authenticate` is set
/// (Primus's `err.statusCode`, `err.message` and `err.authenticate`).
///
/// ```swift
/// primus.authorize { context in
///     guard context.query["token"] == secret else {
///         throw PrimusHTTPError.unauthorized("unauthorized", authenticate: "Bearer")
///     }
/// }
/// ```
public struct PrimusHTTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The answer's status.
    public var status: HTTPResponseStatus
    /// The text of the body's `error` member.
    public var message: String
    /// The `WWW-Authenticate` challenge, sent only with status `401`.
    public var authenticate: String?

    /// An error answering `status` with `message`.
    public init(status: HTTPResponseStatus, message: String, authenticate: String? = nil) {
        self.status = status
        self.message = message
        self.authenticate = authenticate
    }

    /// A `401 Unauthorized` refusal, with a challenge when `authenticate` is given.
    public static func unauthorized(_ message: String = "unauthorized", authenticate: String? = nil) -> PrimusHTTPError {
        PrimusHTTPError(status: .unauthorized, message: message, authenticate: authenticate)
    }

    public var description: String { "\(status.code) \(message)" }
}

/// The answers the chain itself gives: refusals and errors, in Primus's exact shape.
enum PrimusMiddlewareAnswers {
    /// Primus's error answer (`middleware/error.js`, and `middleware/authorization.js` for
    /// refusals): `Content-Type: application/json`, `Content-Length`, `WWW-Authenticate` for a
    /// 401 with a challenge, and body `{"error":"<message>"}`. An upgrade's answer starts with
    /// `Connection: close`: Primus writes it raw on the socket and ends it.
    static func error(
        status: HTTPResponseStatus,
        message: String,
        authenticate: String?,
        kind: PrimusMiddlewareContext.Kind
    ) -> PrimusHTTPResponse {
        var writer = JSONWriter(capacity: message.utf8.count + 16)
        writer.buffer.writeStaticString("{\"error\":")
        writer.writeString(message)
        writer.buffer.writeStaticString("}")
        let body = writer.buffer
        var headers = HTTPHeaders()
        if kind == .upgrade { headers.add(name: "Connection", value: "close") }
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if status == .unauthorized, let authenticate {
            headers.add(name: "WWW-Authenticate", value: authenticate)
        }
        return PrimusHTTPResponse(status: status, headers: headers, body: body)
    }

    /// The answer to an error a layer threw: a ``PrimusHTTPError`` answers as it says; any other
    /// error answers `500` with its description (Primus's `err.message || err`).
    static func thrown(_ error: any Error, kind: PrimusMiddlewareContext.Kind) -> PrimusHTTPResponse {
        if let error = error as? PrimusHTTPError {
            return Self.error(status: error.status, message: error.message, authenticate: error.authenticate, kind: kind)
        }
        return Self.error(status: .internalServerError, message: String(describing: error), authenticate: nil, kind: kind)
    }

    /// The answer to an authorization hook that threw: a ``PrimusHTTPError`` answers as it says;
    /// any other error answers `401` with its description.
    static func refused(_ error: any Error, kind: PrimusMiddlewareContext.Kind) -> PrimusHTTPResponse {
        if let error = error as? PrimusHTTPError {
            return Self.error(status: error.status, message: error.message, authenticate: error.authenticate, kind: kind)
        }
        return Self.error(status: .unauthorized, message: String(describing: error), authenticate: nil, kind: kind)
    }

    /// `answer` as it goes out: the layers' ``PrimusMiddlewareContext/responseHeaders`` first and
    /// protected (an answer's header of the same name is dropped, Primus's `setheader`), then the
    /// answer's own; on an upgrade, `Connection: close` leads.
    static func finish(_ answer: PrimusHTTPResponse, context: PrimusMiddlewareContext) -> PrimusHTTPResponse {
        if context.responseHeaders.isEmpty, context.kind == .http { return answer }
        var headers = HTTPHeaders()
        if context.kind == .upgrade { headers.add(name: "Connection", value: "close") }
        for (name, value) in context.responseHeaders where !(context.kind == .upgrade && isConnection(name)) {
            headers.add(name: name, value: value)
        }
        for (name, value) in answer.headers {
            if context.responseHeaders.contains(name: name) { continue }
            if context.kind == .upgrade, isConnection(name) { continue }
            headers.add(name: name, value: value)
        }
        var finished = answer
        finished.headers = headers
        return finished
    }

    private static func isConnection(_ name: String) -> Bool {
        name.utf8.count == 10 && name.lowercased() == "connection"
    }
}

extension PrimusHTTPResponse {
    /// This response with the middleware's ``PrimusMiddlewareContext/responseHeaders`` added:
    /// theirs first and protected (a header of the same name in this response is dropped, as
    /// Primus's `setheader` keeps the real-time framework from overwriting CORS headers), then
    /// this response's own. Front-ends call it on the transformer's answer to a request the chain
    /// let through (``PrimusMiddlewareResult/proceed(_:)``).
    public func addingMiddlewareHeaders(_ headers: HTTPHeaders) -> PrimusHTTPResponse {
        guard !headers.isEmpty else { return self }
        var merged = headers
        for (name, value) in self.headers where !headers.contains(name: name) {
            merged.add(name: name, value: value)
        }
        var response = self
        response.headers = merged
        return response
    }
}
