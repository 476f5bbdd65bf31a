import NIOHTTP1

/// The cookies one client's server set, and the `Cookie` header that sends them back.
///
/// A load balancer pins a polling session to its node with a cookie (HAProxy's `SERVERID`):
/// a client that forgets it sees every other request land on a node that never heard of the
/// session. Browsers and the official clients keep cookies, so ours does too, in the smallest
/// form that serves one origin: `name=value`, deletion by `Max-Age`/`Expires`, and `Secure`
/// cookies kept off plain HTTP. `Domain`, `Path`, `HttpOnly` and `SameSite` do not apply to a
/// client that talks to one server and runs no scripts, so they are ignored.
///
/// Bounded by ``Limits``: once it is full, new cookies are ignored, so a hostile server cannot
/// grow it. Sans-I/O: the time is passed in, in seconds since 1970 (the clock `Expires` uses).
struct ClientCookieJar: Sendable {
    /// How much a server may store in a client.
    struct Limits: Sendable {
        /// The most cookies kept.
        var maxCookies = 50
        /// The longest cookie kept, name and value together, in bytes.
        var maxCookieBytes = 4096
        /// The most bytes of names and values kept in all.
        var maxTotalBytes = 16 * 1024
    }

    /// One stored cookie.
    struct Cookie: Sendable, Hashable {
        var name: String
        var value: String
        /// Sent over TLS only.
        var secure: Bool
        /// When it expires (seconds since 1970), or `nil` for a cookie that lasts as long as the client.
        var expiry: Int64?

        var byteCount: Int { name.utf8.count + value.utf8.count }
    }

    let limits: Limits
    /// In the order they were first set, which is the order they are sent in.
    private(set) var cookies: [Cookie] = []
    private var totalBytes = 0

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Remembers every `Set-Cookie` of a response.
    mutating func receive(_ headers: HTTPHeaders, now: Int64) {
        for line in headers["set-cookie"] {
            receive(setCookie: line, now: now)
        }
    }

    /// Remembers one `Set-Cookie` header value: stores it, replaces the cookie of the same name,
    /// or deletes that cookie when it is already expired. A line that is not a cookie, or a
    /// cookie that does not fit the limits, changes nothing.
    mutating func receive(setCookie line: String, now: Int64) {
        guard let parsed = Self.parse(line, now: now) else { return }
        removeExpired(now: now)
        let existing = cookies.firstIndex { $0.name == parsed.cookie.name }
        if parsed.deletes {
            if let existing { remove(at: existing) }
            return
        }
        let cookie = parsed.cookie
        guard cookie.byteCount <= limits.maxCookieBytes else { return }
        if let existing {
            let total = totalBytes - cookies[existing].byteCount + cookie.byteCount
            guard total <= limits.maxTotalBytes else { return }
            // A replaced cookie keeps its place, as RFC 6265 keeps its creation time.
            cookies[existing] = cookie
            totalBytes = total
        } else {
            guard cookies.count < limits.maxCookies, totalBytes + cookie.byteCount <= limits.maxTotalBytes else { return }
            cookies.append(cookie)
            totalBytes += cookie.byteCount
        }
    }

    /// The `Cookie` header value for a request (`a=1; b=2`), or `nil` when there is nothing to
    /// send. `secure`: whether the request goes over TLS.
    func cookieHeader(secure: Bool, now: Int64) -> String? {
        var header = ""
        for cookie in cookies where (secure || !cookie.secure) && !cookie.isExpired(now: now) {
            if !header.isEmpty { header += "; " }
            header += cookie.name + "=" + cookie.value
        }
        return header.isEmpty ? nil : header
    }

    /// `headers` with the cookies added: one `Cookie` header, the user's own cookies (from the
    /// configuration's headers) first, then the stored ones. Unchanged when nothing is stored.
    func requestHeaders(_ headers: HTTPHeaders, secure: Bool, now: Int64) -> HTTPHeaders {
        guard let stored = cookieHeader(secure: secure, now: now) else { return headers }
        var headers = headers
        let own = headers["cookie"]
        headers.remove(name: "cookie")
        headers.add(name: "cookie", value: (own + [stored]).joined(separator: "; "))
        return headers
    }

    // MARK: - Private

    private mutating func remove(at index: Int) {
        totalBytes -= cookies[index].byteCount
        cookies.remove(at: index)
    }

    private mutating func removeExpired(now: Int64) {
        guard cookies.contains(where: { $0.isExpired(now: now) }) else { return }
        cookies.removeAll { $0.isExpired(now: now) }
        totalBytes = cookies.reduce(0) { $0 + $1.byteCount }
    }

    /// A `Set-Cookie` value read as RFC 6265 section 5.2 says: `name=value` up to the first `;`,
    /// then attributes, of which `Max-Age` (which wins), `Expires` and `Secure` matter here.
    /// `deletes`: the cookie is already expired, so it removes its namesake.
    private static func parse(_ line: String, now: Int64) -> (cookie: Cookie, deletes: Bool)? {
        // Bytes, not characters: the separators are ASCII, and a long hostile line costs one pass.
        var parts = line.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)[...]
        guard let pair = parts.popFirst(), let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let name = trimmed(pair[..<equals])
        let value = trimmed(pair[pair.index(after: equals)...])
        // Control characters would let a server smuggle header lines into later requests.
        guard !name.isEmpty, !hasControlCharacter(name), !hasControlCharacter(value) else {
            return nil
        }
        var secure = false
        var maxAge: Int64?
        var expires: Int64?
        for attribute in parts {
            let equals = attribute.firstIndex(of: UInt8(ascii: "="))
            let key = String(decoding: trimmed(attribute[..<(equals ?? attribute.endIndex)]), as: UTF8.self).lowercased()
            let argument = equals.map { trimmed(attribute[attribute.index(after: $0)...]) } ?? attribute[attribute.endIndex...]
            switch key {
            case "secure": secure = true
            case "max-age": maxAge = deltaSeconds(argument) ?? maxAge
            case "expires": expires = CookieDate.parse(String(decoding: argument, as: UTF8.self)[...]) ?? expires
            default: break
            }
        }
        let expiry: Int64?
        if let maxAge {
            expiry = maxAge <= 0 ? Int64.min : now.addingReportingOverflow(maxAge).overflow ? nil : now + maxAge
        } else {
            expiry = expires
        }
        let cookie = Cookie(
            name: String(decoding: name, as: UTF8.self),
            value: String(decoding: value, as: UTF8.self),
            secure: secure,
            expiry: expiry
        )
        return (cookie, cookie.isExpired(now: now))
    }

    /// `Max-Age`'s argument: an optional `-` and digits; an absurdly large one saturates.
    private static func deltaSeconds(_ text: Substring.UTF8View) -> Int64? {
        let negative = text.first == UInt8(ascii: "-")
        let digits = negative ? text.dropFirst() : text
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var magnitude: Int64 = 0
        for digit in digits {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow, shifted <= Int64.max - Int64(digit - 0x30) else { return negative ? -Int64.max : Int64.max }
            magnitude = shifted + Int64(digit - 0x30)
        }
        return negative ? -magnitude : magnitude
    }

    /// Without leading and trailing spaces and tabs.
    private static func trimmed(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[first...last]
    }

    private static func hasControlCharacter(_ bytes: Substring.UTF8View) -> Bool {
        bytes.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}

extension ClientCookieJar.Cookie {
    func isExpired(now: Int64) -> Bool {
        guard let expiry else { return false }
        return expiry <= now
    }
}
