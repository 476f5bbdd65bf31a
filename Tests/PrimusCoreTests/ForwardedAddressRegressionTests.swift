import PrimusCore
import Testing

/// Inputs the forwarded-header fuzzer (`Fuzz/Sources/FuzzForwardedAddress`) found mishandled.
@Suite("Forwarded header regressions")
struct ForwardedAddressRegressionTests {
    static let peer = SparkAddress(ip: "127.0.0.1", port: 40_000, secure: false)

    static func resolve(forwarded: String) -> SparkAddress {
        ForwardedAddressResolver.resolve(
            remote: peer,
            secureTransport: false,
            header: { $0 == "forwarded" ? forwarded : nil },
            trusted: .any
        )
    }

    /// `Forwarded: for="[2001:db8::17]:474711"` made port 474711: a port outside 0...65535 is
    /// ignored (the socket's port stays), as it is for `x-forwarded-port`.
    @Test func aForwardedPortOutsideTheTCPRangeIsIgnored() {
        let address = Self.resolve(forwarded: "for=\"[2001:db8::17]:474711\";proto=https, r=192.0.2.43")
        #expect(address.ip == "2001:db8::17")
        #expect(address.port == 40_000)
        #expect(address.secure)
        #expect(Self.resolve(forwarded: "for=192.0.2.60:-5").port == 40_000)
        #expect(Self.resolve(forwarded: "for=192.0.2.60:4711").port == 4711)
    }
}
