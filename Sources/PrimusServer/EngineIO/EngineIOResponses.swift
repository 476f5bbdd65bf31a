import NIOCore
import NIOHTTP1
import PrimusCore

/// The HTTP answers of the `engine.io` transformer.
enum EngineIOResponses {
    /// `{"code":N,"message":"…"}` (``EngineIOError/payloadTooLarge`` as plain text).
    static func error(_ error: EngineIOError, headers: HTTPHeaders) -> PrimusHTTPResponse {
        if error == .payloadTooLarge { return payloadTooLarge(headers: headers) }
        var headers = headers
        headers.replaceOrAdd(name: "content-type", value: "application/json")
        return PrimusHTTPResponse(status: HTTPResponseStatus(statusCode: error.httpStatus), headers: headers, body: error.json)
    }

    /// `413` for a polling payload over `maxLength`.
    static func payloadTooLarge(headers: HTTPHeaders) -> PrimusHTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "content-type", value: "text/plain")
        return PrimusHTTPResponse(status: .payloadTooLarge, headers: headers, body: ByteBuffer(string: "Payload Too Large"))
    }

    /// `200 ok`, the answer to a `POST` (the reference server's exact body and type).
    static func ok(headers: HTTPHeaders) -> PrimusHTTPResponse {
        var headers = headers
        headers.replaceOrAdd(name: "content-type", value: "text/html")
        return PrimusHTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: "ok"))
    }

    /// How a session's polling responses are framed.
    struct PayloadEncoding: Sendable {
        var version: EngineIOProtocolVersion
        /// v3: the client reads the binary payload format (no `b64=1`, no JSONP).
        var supportsBinary: Bool
        /// v3 JSONP: the callback index.
        var jsonpIndex: String?
    }

    /// A polling payload carrying `packets`.
    static func payload(_ packets: [EngineIOPacket], encoding: PayloadEncoding, headers: HTTPHeaders) -> PrimusHTTPResponse {
        var headers = headers
        let format = EngineIOPayloadCodec.responseFormat(for: packets, version: encoding.version, supportsBinary: encoding.supportsBinary)
        var body = EngineIOPayloadCodec.encode(packets, format: format)
        if let index = encoding.jsonpIndex {
            body = EngineIOPayloadCodec.wrapJSONP(body, index: index)
        }
        // JSONP answers are scripts, as the reference server's polling-jsonp transport says.
        let contentType =
            encoding.jsonpIndex != nil ? "text/javascript; charset=UTF-8"
            : format == .v3Binary ? "application/octet-stream" : "text/plain; charset=UTF-8"
        headers.replaceOrAdd(name: "content-type", value: contentType)
        return PrimusHTTPResponse(status: .ok, headers: headers, body: body)
    }
}
