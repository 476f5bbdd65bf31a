import NIOCore

/// Where a connection comes from, after trusted proxies are taken into account.
public struct SparkAddress: Sendable, Hashable, CustomStringConvertible {
    /// The client's IP address (IPv4 dotted or IPv6 text).
    public var ip: String
    /// The client's port (`0` when unknown).
    public var port: Int
    /// Whether the client reached the first hop over TLS.
    public var secure: Bool

    /// Creates an address.
    public init(ip: String, port: Int, secure: Bool) {
        self.ip = ip
        self.port = port
        self.secure = secure
    }

    public var description: String { "\(ip):\(port)\(secure ? " (secure)" : "")" }
}

/// Which peers may tell us the client's real address through forwarding headers.
///
/// Primus trusts any peer unless a whitelist is configured; that default keeps Primus 8
/// deployments behind a proxy working unchanged, and ``addresses(_:)`` hardens it.
public enum TrustedProxies: Sendable, Hashable {
    /// Honour forwarding headers from any peer (Primus's default, an empty whitelist).
    case any
    /// Ignore forwarding headers: the socket's peer is the client.
    case none
    /// Honour them only when the socket's peer and every intermediate hop is one of these IPs.
    case addresses(Set<String>)

    func trusts(_ ip: String) -> Bool {
        switch self {
        case .any: return true
        case .none: return false
        case .addresses(let set): return set.contains(ip)
        }
    }
}

/// Resolves a spark's address from the socket peer and the proxy headers, following Primus's
/// `forwarded-for` order: `fastly-client-ip`, `x-forwarded-for` (with `x-forwarded-port` and
/// `x-forwarded-proto`), `z-forwarded-for`, `forwarded`, `x-real-ip`. A header holding an invalid
/// IP is ignored; the first valid one wins. Pure logic, no I/O.
public enum ForwardedAddressResolver {
    /// The client address for a request.
    ///
    /// - Parameters:
    ///   - remote: the socket's peer, if known.
    ///   - secureTransport: whether the socket itself is TLS.
    ///   - header: looks up a header value by lower-case name (first value, or all joined by `,`).
    ///   - trusted: which peers may forward.
    public static func resolve(
        remote: SparkAddress?,
        secureTransport: Bool,
        header: (String) -> String?,
        trusted: TrustedProxies
    ) -> SparkAddress {
        let fallback = remote ?? SparkAddress(ip: "127.0.0.1", port: 0, secure: secureTransport)
        if case .none = trusted { return fallback }
        if let remote, !trusted.trusts(remote.ip) { return fallback }

        if let value = header("fastly-client-ip"), let ip = validIP(value) {
            return SparkAddress(ip: ip, port: fallback.port, secure: fallback.secure)
        }
        for name in ["x-forwarded-for", "z-forwarded-for"] {
            guard let value = header(name) else { continue }
            let hops = value.split(separator: ",").map { $0.trimmingSpaces }
            guard let first = hops.first, hops.allSatisfy({ validIP($0) != nil }) else { continue }
            guard hops.dropFirst().allSatisfy({ trusted.trusts($0) }) else { return fallback }
            var port = fallback.port
            if let ports = header("x-forwarded-port"), let firstPort = ports.split(separator: ",").first,
                let parsed = Int(firstPort.trimmingSpaces), (0...65535).contains(parsed)
            {
                port = parsed
            }
            var secure = fallback.secure
            if let proto = header("x-forwarded-proto")?.split(separator: ",").first?.trimmingSpaces.lowercased() {
                secure = proto == "https" || proto == "1"
            }
            return SparkAddress(ip: first, port: port, secure: secure)
        }
        if let value = header("forwarded"), let address = parseForwarded(value, fallback: fallback) {
            return address
        }
        if let value = header("x-real-ip"), let ip = validIP(value) {
            return SparkAddress(ip: ip, port: fallback.port, secure: fallback.secure)
        }
        return fallback
    }

    /// The valid TCP ports; a forwarded port outside them is ignored, as `x-forwarded-port` is.
    static let tcpPorts = 0...65535

    /// RFC 7239: the first element's `for=` (optionally quoted, with a port) and `proto=`.
    static func parseForwarded(_ value: String, fallback: SparkAddress) -> SparkAddress? {
        guard let element = value.split(separator: ",").first else { return nil }
        var ip: String?
        var port = fallback.port
        var secure = fallback.secure
        for pair in element.split(separator: ";") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let key = pair[..<equals].trimmingSpaces.lowercased()
            var raw = pair[pair.index(after: equals)...].trimmingSpaces
            if raw.hasPrefix("\""), raw.hasSuffix("\""), raw.count >= 2 { raw = String(raw.dropFirst().dropLast()) }
            switch key {
            case "for":
                if raw.hasPrefix("[") {
                    guard let close = raw.firstIndex(of: "]") else { return nil }
                    ip = String(raw[raw.index(after: raw.startIndex)..<close])
                    let rest = raw[raw.index(after: close)...]
                    if rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()), Self.tcpPorts.contains(parsed) { port = parsed }
                } else if raw.filter({ $0 == ":" }).count == 1, let colon = raw.firstIndex(of: ":") {
                    ip = String(raw[..<colon])
                    if let parsed = Int(raw[raw.index(after: colon)...]), Self.tcpPorts.contains(parsed) { port = parsed }
                } else {
                    ip = raw
                }
            case "proto":
                secure = raw.lowercased() == "https"
            default:
                break
            }
        }
        guard let ip, let valid = validIP(ip) else { return nil }
        return SparkAddress(ip: valid, port: port, secure: secure)
    }

    /// `text` trimmed, when it is a literal IPv4 or IPv6 address.
    public static func validIP(_ text: String) -> String? {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty, (try? SocketAddress(ipAddress: trimmed, port: 0)) != nil else { return nil }
        return trimmed
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
