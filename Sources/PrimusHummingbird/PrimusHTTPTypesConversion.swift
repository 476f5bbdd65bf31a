#if Hummingbird
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import PrimusServer

/// Hummingbird speaks swift-http-types; Primus's seam speaks NIOHTTP1. These convert the few
/// things that cross: a request head in, a status and headers out.
enum PrimusHTTPTypesConversion {
    /// The request head as a client sent it over HTTP/1.1: the target as sent (path and query),
    /// the `Host` header back from the authority, every other field in order.
    static func head(of request: HTTPRequest) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headerFields.count + 1)
        if let authority = request.authority { headers.add(name: "Host", value: authority) }
        for field in request.headerFields {
            headers.add(name: field.name.rawName, value: field.value)
        }
        return HTTPRequestHead(
            version: .http1_1,
            method: HTTPMethod(rawValue: request.method.rawValue),
            uri: request.path ?? "/",
            headers: headers
        )
    }

    /// Primus's headers as fields; a name swift-http-types refuses (none Primus writes) is left out.
    static func fields(of headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            guard let name = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        return fields
    }

    /// Primus's status with its reason phrase.
    static func status(of status: HTTPResponseStatus) -> HTTPResponse.Status {
        HTTPResponse.Status(code: Int(status.code), reasonPhrase: status.reasonPhrase)
    }

    /// A complete Primus response as a Hummingbird one.
    static func response(of response: PrimusHTTPResponse) -> Response {
        Response(
            status: status(of: response.status),
            headers: fields(of: response.headers),
            body: ResponseBody(byteBuffer: response.body)
        )
    }
}
#endif
