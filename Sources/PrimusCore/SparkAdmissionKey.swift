#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension ForwardedAddressResolver {
    /// The address a spark counts against for the per-address limits (``SparkAdmission``).
    ///
    /// - The TCP peer's IP, so that a client on the internet cannot dodge its limit by sending a
    ///   made-up `X-Forwarded-For`;
    /// - the forwarded client (`resolved`, see ``resolve(remote:secureTransport:header:trusted:)``)
    ///   when the peer is a proxy we trust for it: a loopback or private-network peer while
    ///   `trusted` is ``TrustedProxies/any``, or a peer listed in ``TrustedProxies/addresses(_:)``;
    /// - a global IPv6 address counts by its /64 network, since one subscriber commonly holds a
    ///   whole /64 and could otherwise open sparks from as many addresses as it likes.
    ///
    /// - Parameters:
    ///   - peer: the TCP peer (`nil` when unknown, as on an in-memory channel: then `resolved`).
    ///   - resolved: the spark's address as ``resolve(remote:secureTransport:header:trusted:)`` found it.
    ///   - trusted: the server's ``TrustedProxies``.
    public static func admissionKey(peer: SparkAddress?, resolved: SparkAddress, trusted: TrustedProxies) -> String {
        guard let peer else { return networkKey(resolved.ip) }
        let forwards: Bool
        switch trusted {
        case .none: forwards = false
        case .any: forwards = isLocalOrPrivate(peer.ip)
        case .addresses(let set): forwards = set.contains(peer.ip)
        }
        return networkKey(forwards ? resolved.ip : peer.ip)
    }

    /// Whether `ip` is a loopback, private (RFC 1918, RFC 4193), link-local or carrier-grade NAT
    /// address: a peer that is a proxy of the same operator rather than a client on the internet.
    public static func isLocalOrPrivate(_ ip: String) -> Bool {
        guard let bytes = addressBytes(ip) else { return false }
        if bytes.count == 4 { return isLocalOrPrivateV4(bytes) }
        if let v4 = mappedV4(bytes) { return isLocalOrPrivateV4(v4) }
        if bytes.dropLast().allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
        if bytes[0] & 0xFE == 0xFC { return true }  // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }  // fe80::/10
        return false
    }

    /// The text the limits count `ip` under: IPv4 (also IPv4-mapped IPv6) as dotted text, a
    /// global IPv6 address as its /64 (`2001:db8:1:2::/64`), anything else as it is.
    static func networkKey(_ ip: String) -> String {
        guard let bytes = addressBytes(ip) else { return ip }
        if bytes.count == 4 { return ip }
        if let v4 = mappedV4(bytes) { return v4.map(String.init).joined(separator: ".") }
        if isLocalOrPrivate(ip) { return ip }
        var groups: [String] = []
        for index in stride(from: 0, to: 8, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return groups.joined(separator: ":") + "::/64"
    }

    private static func isLocalOrPrivateV4(_ bytes: [UInt8]) -> Bool {
        switch (bytes[0], bytes[1]) {
        case (127, _), (10, _), (192, 168), (169, 254): return true
        case (172, 16...31): return true
        case (100, 64...127): return true  // RFC 6598 shared address space (carrier-grade NAT)
        default: return false
        }
    }

    /// The four IPv4 bytes of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
    private static func mappedV4(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else { return nil }
        return Array(bytes[12..<16])
    }

    /// The address's bytes in network order: 4 for IPv4, 16 for IPv6.
    private static func addressBytes(_ ip: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, ip, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, ip, &v6) == 1 { return v6 }
        return nil
    }
}
