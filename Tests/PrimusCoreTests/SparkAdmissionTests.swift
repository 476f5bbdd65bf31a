import PrimusCore
import Testing

@Suite("Spark admission")
struct SparkAdmissionTests {
    @Test func anAddressAtItsCapIsRefusedWhileOthersAreServed() {
        var admission = SparkAdmission(maxSparks: 100, maxSparksPerAddress: 2)
        #expect(admission.admit("a1", key: "A") == .accept)
        #expect(admission.admit("a2", key: "A") == .accept)
        #expect(admission.admit("a3", key: "A") == .refuse(.addressFull))
        #expect(admission.admit("b1", key: "B") == .accept)
        #expect(admission.count == 3 && admission.count(for: "A") == 2)
        admission.release("a1")
        #expect(admission.admit("a3", key: "A") == .accept)
    }

    @Test func aFullServerShedsTheNewestSparkOfTheBusiestAddress() {
        var admission = SparkAdmission(maxSparks: 4, maxSparksPerAddress: 10)
        for id in ["a1", "a2", "a3"] { #expect(admission.admit(id, key: "A") == .accept) }
        #expect(admission.admit("b1", key: "B") == .accept)
        #expect(admission.admit("c1", key: "C") == .acceptShedding("a3"))
        #expect(admission.count == 4 && !admission.contains("a3") && admission.contains("c1"))
        // A still holds the most (2 against 1): it sheds again, its newest first.
        #expect(admission.admit("d1", key: "D") == .acceptShedding("a2"))
        // Every address holds one now, still more than a new address's none: one more is shed.
        #expect(admission.count(for: "A") == 1)
        let decision = admission.admit("e1", key: "E")
        guard case .acceptShedding(let victim) = decision else {
            Issue.record("expected shedding, got \(decision)")
            return
        }
        #expect(["a1", "b1", "c1", "d1"].contains(victim))
        #expect(admission.count == 4)
    }

    @Test func aFullServerRefusesANewcomerFromTheBusiestAddress() {
        var admission = SparkAdmission(maxSparks: 3, maxSparksPerAddress: 10)
        for id in ["a1", "a2"] { _ = admission.admit(id, key: "A") }
        _ = admission.admit("b1", key: "B")
        #expect(admission.admit("a3", key: "A") == .refuse(.serverFull))
        // B holds fewer than A: B's newcomer makes A shed.
        #expect(admission.admit("b2", key: "B") == .acceptShedding("a2"))
    }

    @Test func tiedAddressesDoNotShedForEachOther() {
        var admission = SparkAdmission(maxSparks: 4, maxSparksPerAddress: 10)
        for id in ["a1", "a2", "b1", "b2"] { _ = admission.admit(id, key: String(id.prefix(1)).uppercased()) }
        #expect(admission.admit("a3", key: "A") == .refuse(.serverFull))
        #expect(admission.admit("b3", key: "B") == .refuse(.serverFull))
        // A third address holds fewer than either: one of them sheds its newest.
        let decision = admission.admit("c1", key: "C")
        #expect(decision == .acceptShedding("a2") || decision == .acceptShedding("b2"))
    }

    @Test func theNewestLiveSparkIsShedEvenAfterNewerOnesEnded() {
        var admission = SparkAdmission(maxSparks: 5, maxSparksPerAddress: 10)
        for index in 1...5 { _ = admission.admit("a\(index)", key: "A") }
        admission.release("a5")
        admission.release("a4")
        _ = admission.admit("b1", key: "B")
        _ = admission.admit("b2", key: "B")
        #expect(admission.admit("c1", key: "C") == .acceptShedding("a3"))
    }

    @Test func theBusiestAddressFollowsReleases() {
        var admission = SparkAdmission(maxSparks: 6, maxSparksPerAddress: 10)
        for index in 1...3 { _ = admission.admit("a\(index)", key: "A") }
        for index in 1...2 { _ = admission.admit("b\(index)", key: "B") }
        admission.release("a1")
        admission.release("a2")
        _ = admission.admit("c1", key: "C")
        _ = admission.admit("c2", key: "C")
        _ = admission.admit("c3", key: "C")
        // A 1, B 2, C 3: C is the busiest.
        #expect(admission.admit("d1", key: "D") == .acceptShedding("c3"))
    }

    @Test func releasingIsIdempotentAndEverythingReturnsToZero() {
        var admission = SparkAdmission(maxSparks: 1000, maxSparksPerAddress: 1000)
        for index in 0..<500 { _ = admission.admit("s\(index)", key: "K\(index % 7)") }
        for index in 0..<500 {
            admission.release("s\(index)")
            admission.release("s\(index)")
        }
        admission.release("never")
        #expect(admission.count == 0)
        #expect((0..<7).allSatisfy { admission.count(for: "K\($0)") == 0 })
        #expect(admission.admit("s1", key: "K1") == .accept)
    }

    @Test func aDuplicateIDIsRefusedWithoutCountingIt() {
        var admission = SparkAdmission(maxSparks: 10, maxSparksPerAddress: 10)
        _ = admission.admit("x", key: "A")
        #expect(admission.admit("x", key: "B") == .refuse(.duplicateID))
        #expect(admission.count == 1 && admission.count(for: "B") == 0)
    }

    @Test func zeroLimitsRefuseEverything() {
        var admission = SparkAdmission(maxSparks: 0, maxSparksPerAddress: 5)
        #expect(admission.admit("x", key: "A") == .refuse(.serverFull))
        var perAddress = SparkAdmission(maxSparks: 5, maxSparksPerAddress: 0)
        #expect(perAddress.admit("x", key: "A") == .refuse(.addressFull))
    }
}

@Suite("Spark admission key")
struct SparkAdmissionKeyTests {
    private func key(peer: String?, forwardedFor: String?, trusted: TrustedProxies = .any) -> String {
        let remote = peer.map { SparkAddress(ip: $0, port: 1234, secure: false) }
        let resolved = ForwardedAddressResolver.resolve(
            remote: remote,
            secureTransport: false,
            header: { $0 == "x-forwarded-for" ? forwardedFor : nil },
            trusted: trusted
        )
        return ForwardedAddressResolver.admissionKey(peer: remote, resolved: resolved, trusted: trusted)
    }

    @Test func aPublicPeerCountsAsItselfWhateverItForwards() {
        #expect(key(peer: "203.0.113.7", forwardedFor: "198.51.100.1") == "203.0.113.7")
        #expect(key(peer: "203.0.113.7", forwardedFor: nil) == "203.0.113.7")
    }

    @Test func aLocalOrPrivateProxyForwardsTheClientWhileAnyIsTrusted() {
        #expect(key(peer: "127.0.0.1", forwardedFor: "198.51.100.1") == "198.51.100.1")
        #expect(key(peer: "10.1.2.3", forwardedFor: "198.51.100.1") == "198.51.100.1")
        #expect(key(peer: "192.168.0.9", forwardedFor: "198.51.100.1") == "198.51.100.1")
        #expect(key(peer: "172.20.0.1", forwardedFor: "198.51.100.1") == "198.51.100.1")
        #expect(key(peer: "::1", forwardedFor: "198.51.100.1") == "198.51.100.1")
        #expect(key(peer: "127.0.0.2", forwardedFor: nil) == "127.0.0.2")
        #expect(key(peer: "172.32.0.1", forwardedFor: "198.51.100.1") == "172.32.0.1")
    }

    @Test func listedProxiesForwardAndNoneTrustsNobody() {
        let listed = TrustedProxies.addresses(["203.0.113.7"])
        #expect(key(peer: "203.0.113.7", forwardedFor: "198.51.100.1", trusted: listed) == "198.51.100.1")
        #expect(key(peer: "127.0.0.1", forwardedFor: "198.51.100.1", trusted: listed) == "127.0.0.1")
        #expect(key(peer: "127.0.0.1", forwardedFor: "198.51.100.1", trusted: .none) == "127.0.0.1")
    }

    @Test func aGlobalIPv6AddressCountsByItsSlash64() {
        #expect(key(peer: "2001:db8:1:2::1", forwardedFor: nil) == "2001:db8:1:2::/64")
        #expect(key(peer: "2001:db8:1:2:ffff::9", forwardedFor: nil) == "2001:db8:1:2::/64")
        #expect(key(peer: "2001:db8:1:3::1", forwardedFor: nil) == "2001:db8:1:3::/64")
        #expect(key(peer: "::ffff:203.0.113.7", forwardedFor: nil) == "203.0.113.7")
        #expect(key(peer: "fd00::1", forwardedFor: nil) == "fd00::1")
    }

    @Test func theLocalAndPrivateRanges() {
        for ip in ["127.0.0.1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.0.1", "100.64.0.1", "::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1"] {
            #expect(ForwardedAddressResolver.isLocalOrPrivate(ip), "\(ip)")
        }
        for ip in ["8.8.8.8", "172.15.0.1", "192.169.0.1", "100.128.0.1", "2001:db8::1", "not an ip"] {
            #expect(!ForwardedAddressResolver.isLocalOrPrivate(ip), "\(ip)")
        }
    }
}
