import NIOCore
import NIOHTTP1
import PrimusCore

/// The fixed answers of a SockJS server (protocol notes, sections 3.1, 3.3 and 3.5).
enum SockJSResponses {
    /// Session transports must never be cached.
    static let noCache = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
    /// A year, for what may be cached (the iframe page, preflights).
    static let cacheForAYear = 365 * 24 * 60 * 60

    static let javascript = "application/javascript; charset=UTF-8"
    static let plainText = "text/plain; charset=UTF-8"

    /// `GET /`: the greeting.
    static func welcome() -> PrimusHTTPResponse {
        .text("Welcome to SockJS!\n", status: .ok, contentType: plainText)
    }

    /// `404`.
    static func notFound() -> PrimusHTTPResponse {
        .text("Not Found", status: .notFound, contentType: plainText)
    }

    /// `500` with SockJS's words for bad input.
    static func serverError(_ message: String, headers: HTTPHeaders = [:]) -> PrimusHTTPResponse {
        var response = PrimusHTTPResponse.text(message, status: .internalServerError, contentType: plainText)
        for (name, value) in headers where name.lowercased() != "content-type" { response.headers.add(name: name, value: value) }
        return response
    }

    /// `405` naming the methods that work, with no body or content type.
    static func methodNotAllowed(allow: String) -> PrimusHTTPResponse {
        PrimusHTTPResponse(status: .methodNotAllowed, headers: ["Allow": allow])
    }

    /// A WebSocket transport reached without an upgrade.
    static func upgradeOnly() -> PrimusHTTPResponse {
        .text("Can \"Upgrade\" only to \"WebSocket\".", status: .badRequest, contentType: plainText)
    }

    /// The CORS headers of `/info` and the session transports: the origin echoed with
    /// credentials, or `*` without an `Origin`.
    static func cors(_ request: HTTPHeaders) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let origin = request.first(name: "origin"), !origin.isEmpty {
            headers.add(name: "Access-Control-Allow-Origin", value: origin)
            headers.add(name: "Access-Control-Allow-Credentials", value: "true")
        } else {
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
        }
        return headers
    }

    /// Headers that let a response be cached for a year.
    static func cacheable() -> HTTPHeaders {
        [
            "Cache-Control": "public, max-age=\(cacheForAYear)",
            "Expires": HTTPDate.format(secondsSinceEpoch: Int64(time(nil)) + Int64(cacheForAYear)),
        ]
    }

    /// An `OPTIONS` answer: `204`, cached for a year, the methods, and the requested headers.
    static func preflight(_ request: HTTPHeaders, methods: String) -> PrimusHTTPResponse {
        var headers = cors(request)
        headers.add(contentsOf: cacheable())
        headers.add(name: "Access-Control-Max-Age", value: String(cacheForAYear))
        headers.add(name: "Access-Control-Allow-Methods", value: methods)
        let requested = request[canonicalForm: "access-control-request-headers"].joined(separator: ", ")
        if !requested.isEmpty { headers.add(name: "Access-Control-Allow-Headers", value: requested) }
        return PrimusHTTPResponse(status: .noContent, headers: headers)
    }

    /// `GET /info`.
    static func info(_ request: HTTPHeaders, websocket: Bool, cookieNeeded: Bool) -> PrimusHTTPResponse {
        var object = JSONObject()
        object["websocket"] = .bool(websocket)
        object["cookie_needed"] = .bool(cookieNeeded)
        object["origins"] = .array([.string("*:*")])
        object["entropy"] = .number(Double(UInt32.random(in: 0...UInt32.max)))
        var headers = cors(request)
        headers.add(name: "Content-Type", value: "application/json; charset=UTF-8")
        headers.add(name: "Cache-Control", value: noCache)
        return PrimusHTTPResponse(status: .ok, headers: headers, body: ByteBuffer(string: JSONValue.object(object).description))
    }

    /// The `JSESSIONID` cookie of a session response: the client's own, or a placeholder.
    static func sessionCookie(_ request: HTTPHeaders) -> String {
        for header in request[canonicalForm: "cookie"] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                if trimmed.hasPrefix("JSESSIONID=") {
                    return "JSESSIONID=\(trimmed.dropFirst("JSESSIONID=".count)); path=/"
                }
            }
        }
        return "JSESSIONID=dummy; path=/"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
