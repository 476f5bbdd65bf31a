import NIOCore
import NIOHTTP1
import PrimusCore

/// Cross-origin (CORS) rules of the `cors` middleware layer (``PrimusConfiguration/cors``), with
/// Primus 8's defaults (its `access-control` module): any origin, credentials allowed, preflights
/// cached for 30 days.
///
/// The layer acts only on plain HTTP requests that carry an `Origin` header. It refuses (`403`)
/// an origin that contains `%`, has no scheme (other than `null`), or is not listed, and a
/// method that is not listed; it answers preflights (`OPTIONS` with
/// `Access-Control-Request-Method`) itself with `200`.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// configuration.cors.origins = ["https://app.example.com"]
/// configuration.cors.exposed = ["X-Request-Id"]
/// ```
public struct PrimusCORSOptions: Sendable, Hashable {
    /// The allowed origins, compared case-insensitively (default `["*"]`: any). An origin is
    /// written with its scheme, e.g. `https://app.example.com:8443`.
    public var origins: [String] = ["*"]

    /// The allowed methods (default `GET`, `HEAD`, `PUT`, `POST`, `DELETE`, `OPTIONS`); empty
    /// allows any and sends no `Access-Control-Allow-Methods`.
    public var methods: [String] = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]

    /// Whether browsers may send cookies and `Authorization` (default `true`): the request's
    /// origin is echoed (never `*`) with `Access-Control-Allow-Credentials: true`.
    public var credentials = true

    /// How long browsers may cache a preflight's answer, sent in whole seconds as
    /// `Access-Control-Max-Age` (default 30 days, `2592000`); `nil` or zero sends none.
    public var maxAge: Duration? = .seconds(30 * 24 * 60 * 60)

    /// `Access-Control-Allow-Headers` for preflights (default empty: the request's
    /// `Access-Control-Request-Headers` is echoed). Joined with `,`, as Primus writes it.
    public var headers: [String] = []

    /// `Access-Control-Expose-Headers` for the other requests (default empty: none). Joined
    /// with `,`, as Primus writes it.
    public var exposed: [String] = []

    /// Primus's defaults.
    public init() {}
}

/// The `cors` layer's decisions, precomputed from ``PrimusCORSOptions`` once. Pure logic.
struct PrimusCORSPolicy: Sendable {
    /// What the layer does with one request.
    enum Decision {
        /// No `Origin`: nothing to add.
        case notCrossOrigin
        /// Refused: answer this `403`.
        case refuse(PrimusHTTPResponse)
        /// Allowed: add these headers to whatever answers.
        case allow(HTTPHeaders)
        /// A preflight: add these headers and answer `200` with an empty body.
        case preflight(HTTPHeaders)
    }

    let anyOrigin: Bool
    let origins: Set<String>
    let methods: [String]
    let credentials: Bool
    let maxAge: String?
    let allowHeaders: String?
    let exposed: String?

    init(_ options: PrimusCORSOptions) {
        anyOrigin = options.origins == ["*"]
        origins = Set(options.origins.map { $0.lowercased() }.filter { !$0.isEmpty })
        methods = options.methods.map { $0.uppercased() }.filter { !$0.isEmpty }
        credentials = options.credentials
        if let maxAge = options.maxAge, maxAge > .zero {
            let (seconds, attoseconds) = maxAge.components
            let fraction = Double(attoseconds) / 1e18
            self.maxAge = fraction == 0 ? String(seconds) : JSONWriter.format(Double(seconds) + fraction)
        } else {
            maxAge = nil
        }
        let allowHeaders = options.headers.joined(separator: ",")
        self.allowHeaders = allowHeaders.isEmpty ? nil : allowHeaders
        let exposed = options.exposed.joined(separator: ",")
        self.exposed = exposed.isEmpty ? nil : exposed
    }

    func decide(method: HTTPMethod, headers requestHeaders: HTTPHeaders) -> Decision {
        let origins = requestHeaders["origin"]
        guard !origins.isEmpty else { return .notCrossOrigin }
        // Node joins repeated headers with ", "; the refusal quotes the header as sent.
        let rawOrigin = origins.joined(separator: ", ")
        let origin = rawOrigin.lowercased().trimmingCharacters(in: " \t\r\n")
        let methodName = method.rawValue
        if origin.contains("%")
            || (origin != "null" && !Self.hasScheme(origin))
            || (!anyOrigin && !self.origins.contains(origin))
            || (!methods.isEmpty && !methods.contains(methodName))
        {
            let body = "Invalid HTTP Access Control (CORS) request:\n  Origin: \(rawOrigin)\n  Method: \(methodName)"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            return .refuse(PrimusHTTPResponse(status: .forbidden, headers: headers, body: ByteBuffer(string: body)))
        }
        var headers = HTTPHeaders()
        if !anyOrigin || credentials {
            headers.add(name: "Access-Control-Allow-Origin", value: rawOrigin)
            headers.add(name: "Vary", value: "Origin")
        } else {
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
        }
        if credentials { headers.add(name: "Access-Control-Allow-Credentials", value: "true") }
        if method == .OPTIONS, let requested = requestHeaders.first(name: "access-control-request-method"), !requested.isEmpty {
            if let maxAge { headers.add(name: "Access-Control-Max-Age", value: maxAge) }
            if !methods.isEmpty { headers.add(name: "Access-Control-Allow-Methods", value: methods.joined(separator: ", ")) }
            if let allowHeaders {
                headers.add(name: "Access-Control-Allow-Headers", value: allowHeaders)
            } else if let echoed = requestHeaders.first(name: "access-control-request-headers"), !echoed.isEmpty {
                headers.add(name: "Access-Control-Allow-Headers", value: echoed)
            }
            return .preflight(headers)
        }
        if let exposed { headers.add(name: "Access-Control-Expose-Headers", value: exposed) }
        return .allow(headers)
    }

    /// The preflight's answer: `200`, `Content-Length: 0`, no body.
    static let preflightAnswer = PrimusHTTPResponse(status: .ok, headers: ["Content-Length": "0"])

    /// Whether `origin` starts with a URL scheme (`[a-z0-9.+-]+:`), the test Node's `url.parse`
    /// applies to find a protocol.
    static func hasScheme(_ origin: String) -> Bool {
        var sawCharacter = false
        for byte in origin.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
                sawCharacter = true
            case UInt8(ascii: ":"):
                return sawCharacter
            default:
                return false
            }
        }
        return false
    }
}

extension String {
    /// The string without leading and trailing characters of `set` (ASCII only; no Foundation).
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, drop.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, drop.contains(last) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
