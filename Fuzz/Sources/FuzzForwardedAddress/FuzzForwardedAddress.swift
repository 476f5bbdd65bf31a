import FuzzSupport
import PrimusCore

/// The forwarded-header parser (`ForwardedAddressResolver`): `fastly-client-ip`,
/// `x-forwarded-for`/`-port`/`-proto`, `z-forwarded-for`, RFC 7239 `forwarded`, `x-real-ip`.
///
/// Input: a byte choosing the trust policy (bits 0-1) and the socket peer (bits 2-4), then the
/// header values in that order, separated by NUL bytes (an empty value: no such header).
///
/// Invariants: no trap; an untrusted peer (or `.none`) gets its own address; otherwise the
/// address is the peer's or a valid IP taken from one of the headers; the port is a TCP port.
@main
enum FuzzForwardedAddress {
    static func main() { FuzzDriver.run(testOneInput) }
}

let headerNames = ["fastly-client-ip", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "z-forwarded-for", "forwarded", "x-real-ip"]
let peers = ["127.0.0.1", "10.0.0.1", "::1", "203.0.113.9", "2001:db8::1"]
let proxies: Set<String> = ["127.0.0.1", "10.0.0.1", "::1", "192.0.2.1", "2001:db8::2"]

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let selector = input.byte()
    let trusted: TrustedProxies = [.any, .none, .addresses(proxies), .any][Int(selector & 3)]
    let peerIndex = Int(selector >> 2 & 7)
    let remote = peerIndex < peers.count ? SparkAddress(ip: peers[peerIndex], port: 40_000, secure: false) : nil
    let values = input.rest().split(separator: 0, maxSplits: headerNames.count - 1, omittingEmptySubsequences: false)
    var headers: [String: String] = [:]
    for (name, value) in zip(headerNames, values) where !value.isEmpty {
        headers[name] = String(decoding: value, as: UTF8.self)
    }

    let address = ForwardedAddressResolver.resolve(remote: remote, secureTransport: false, header: { headers[$0] }, trusted: trusted)
    let fallback = remote ?? SparkAddress(ip: "127.0.0.1", port: 0, secure: false)
    let trustsPeer: Bool
    switch trusted {
    case .any: trustsPeer = true
    case .none: trustsPeer = false
    case .addresses(let set): trustsPeer = remote.map { set.contains($0.ip) } ?? true
    }
    if !trustsPeer {
        fuzzCheck(address == fallback, "an untrusted peer's headers were used: \(address)")
    }
    if address.ip != fallback.ip {
        fuzzCheck(ForwardedAddressResolver.validIP(address.ip) == address.ip, "\(address.ip.debugDescription) is not an IP")
        fuzzCheck(headers.values.contains { $0.contains(address.ip) }, "\(address.ip) is in no header")
    }
    fuzzCheck((0...65535).contains(address.port), "port \(address.port) from \(headers)")
    return 0
}
