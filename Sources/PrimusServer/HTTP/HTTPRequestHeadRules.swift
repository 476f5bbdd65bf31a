import NIOCore
import NIOHTTP1

/// What a request head must satisfy before anything behind the HTTP decoder sees it: the size
/// limits of ``PrimusLimits``, a `Host` (RFC 9112 §3.2), a strict WebSocket handshake
/// (RFC 6455 §4.2.1) and a known expectation (RFC 9110 §10.1.1).
///
/// Sans-I/O: a head goes in, a verdict comes out; ``PrimusHTTPRequestGuard`` performs it.
struct HTTPRequestHeadRules: Sendable {
    /// The most header fields (more: `431`).
    var maxHeaderCount: Int
    /// The most header bytes, counted as name + value + 4 per field (more: `431`).
    var maxHeaderBytes: Int
    /// The longest request target (longer: `414`).
    var maxRequestTargetLength: Int
    /// The longest request body (a longer declared or received one: `413`).
    var maxBodyLength: Int

    init(limits: PrimusLimits, maxBodyLength: Int) {
        self.maxHeaderCount = max(limits.maxHeaderCount, 1)
        self.maxHeaderBytes = max(limits.maxHeaderBytes, 1)
        self.maxRequestTargetLength = max(limits.maxRequestTargetLength, 1)
        self.maxBodyLength = max(maxBodyLength, 0)
    }

    /// A refused request: the status, why (the plain-text body), and any header the answer needs.
    struct Refusal: Hashable, Sendable {
        var status: HTTPResponseStatus
        var reason: String
        var headers: [String: String] = [:]

        static let badRequest = Refusal(status: .badRequest, reason: "Bad Request")
        static let headersTooLarge = Refusal(status: .requestHeaderFieldsTooLarge, reason: "Request Header Fields Too Large")
        static let targetTooLong = Refusal(status: .uriTooLong, reason: "URI Too Long")
        static let payloadTooLarge = Refusal(status: .payloadTooLarge, reason: "Payload Too Large")
        static let requestTimeout = Refusal(status: .requestTimeout, reason: "Request Timeout")
    }

    /// What to do with a request head.
    enum Verdict: Hashable, Sendable {
        /// Pass it on; with `sendContinue`, answer `100 Continue` first (the client waits for it
        /// before sending the body).
        case proceed(sendContinue: Bool)
        /// Answer with the refusal and close the connection.
        case refuse(Refusal)
    }

    func verdict(for head: HTTPRequestHead) -> Verdict {
        if head.uri.utf8.count > maxRequestTargetLength { return .refuse(.targetTooLong) }
        if head.headers.count > maxHeaderCount || Self.headerBytes(head.headers) > maxHeaderBytes {
            return .refuse(.headersTooLarge)
        }
        let isHTTP11 = head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1)
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with several, is a 400.
        let hosts = head.headers["host"].count
        if hosts > 1 || (isHTTP11 && hosts == 0) { return .refuse(.badRequest) }
        if Self.asksForWebSocket(head.headers), let refusal = Self.webSocketHandshakeRefusal(head, isHTTP11: isHTTP11) {
            return .refuse(refusal)
        }
        let declaredLength = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let declaredLength, declaredLength > maxBodyLength { return .refuse(.payloadTooLarge) }
        let expectations = head.headers["expect"]
        guard !expectations.isEmpty else { return .proceed(sendContinue: false) }
        // RFC 9110 §10.1.1: 100-continue is the only expectation; an HTTP/1.0 request's is ignored.
        guard expectations.count == 1, expectations[0].lowercased() == "100-continue" else {
            return .refuse(Refusal(status: .expectationFailed, reason: "Expectation Failed"))
        }
        let hasBody = (declaredLength ?? 0) > 0 || head.headers.contains(name: "transfer-encoding")
        return .proceed(sendContinue: isHTTP11 && hasBody)
    }

    /// The refusal for a malformed request that the decoder rejected: `431` when the head
    /// outgrew the decoder's limits (`414` when it was still in its request line), else `400`.
    static func refusal(for error: HTTPParserError, inRequestLine: Bool) -> Refusal {
        guard case .headerOverflow = error else { return .badRequest }
        return inRequestLine ? .targetTooLong : .headersTooLarge
    }

    /// Limits for NIO's decoder, so a head never grows past what the rules would refuse: it counts
    /// the request target and bare names and values against the same budget, so the budget is
    /// the header bytes plus the target, and the field limit the larger of the two.
    var decoderLimits: NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldCount = maxHeaderCount
        limits.maxHeaderFieldSize = max(maxHeaderBytes, maxRequestTargetLength) + 1
        limits.maxHeaderListSize = maxHeaderBytes + maxRequestTargetLength + 1
        return limits
    }

    /// The bytes of a head's fields as ``PrimusLimits/maxHeaderBytes`` counts them.
    static func headerBytes(_ headers: HTTPHeaders) -> Int {
        var total = 0
        for (name, value) in headers { total += name.utf8.count + value.utf8.count + 4 }
        return total
    }

    /// Whether a request asks to become a WebSocket (`Upgrade: websocket`, any case, in any list).
    static func asksForWebSocket(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
    }

    /// Why a WebSocket handshake is refused (RFC 6455 §4.2.1), or `nil` when it is well formed.
    static func webSocketHandshakeRefusal(_ head: HTTPRequestHead, isHTTP11: Bool) -> Refusal? {
        guard head.method == .GET, isHTTP11, head.headers.contains(name: "host") else { return .badRequest }
        let versions = head.headers["sec-websocket-version"]
        guard versions.count == 1, versions[0] == "13" else {
            // §4.4: the answer names the version the server speaks.
            var refusal = Refusal.badRequest
            refusal.headers = ["Sec-WebSocket-Version": "13"]
            return refusal
        }
        let keys = head.headers["sec-websocket-key"]
        guard keys.count == 1, isValidWebSocketKey(keys[0]) else { return .badRequest }
        return nil
    }

    /// Whether a `Sec-WebSocket-Key` is the base64 of exactly 16 bytes: 22 base64 characters, then
    /// `==` (RFC 6455 §4.1: "a randomly selected 16-byte value that has been base64-encoded").
    static func isValidWebSocketKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        return bytes[..<22].allSatisfy(isBase64Character)
    }

    private static func isBase64Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}
