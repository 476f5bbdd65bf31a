import PrimusCore
import Testing

@Suite("primus:: protocol messages")
struct ProtocolMessageTests {
    @Test func formatsEveryMessage() {
        #expect(PrimusProtocolMessage.ping("17").text == "primus::ping::17")
        #expect(PrimusProtocolMessage.pong("17").text == "primus::pong::17")
        #expect(PrimusProtocolMessage.serverClose.text == "primus::server::close")
        #expect(PrimusProtocolMessage.id("").text == "primus::id::")
        #expect(PrimusProtocolMessage.id("abc").text == "primus::id::abc")
    }

    @Test func serverUnderstandsPongAndIdOnly() {
        #expect(PrimusProtocolMessage.parseOnServer("primus::pong::17") == .pong("17"))
        #expect(PrimusProtocolMessage.parseOnServer("primus::id::") == .id(""))
        #expect(PrimusProtocolMessage.parseOnServer("primus::ping::17") == nil)
        #expect(PrimusProtocolMessage.parseOnServer("primus::foo::bar") == nil)
        #expect(PrimusProtocolMessage.parseOnServer("primus::pong") == nil)
        #expect(PrimusProtocolMessage.parseOnServer("hello") == nil)
        #expect(PrimusProtocolMessage.parseOnServer(["primus::pong::1"]) == nil)
    }

    @Test func clientUnderstandsPingServerAndId() {
        #expect(PrimusProtocolMessage.parseOnClient("primus::ping::17") == .message(.ping("17")))
        #expect(PrimusProtocolMessage.parseOnClient("primus::server::close") == .message(.serverClose))
        #expect(PrimusProtocolMessage.parseOnClient("primus::server::other") == .ignored)
        #expect(PrimusProtocolMessage.parseOnClient("primus::id::abc") == .message(.id("abc")))
        #expect(PrimusProtocolMessage.parseOnClient("primus::pong::17") == nil)
    }
}

@Suite("server heartbeat")
struct ServerHeartbeatTests {
    @Test func pingsWhileAnsweredAndTimesOutAfterAMissedInterval() {
        var heartbeat = ServerHeartbeat()
        #expect(heartbeat.tick(now: 1000) == .sendPing(timestamp: 1000))
        heartbeat.receivedPong()
        #expect(heartbeat.tick(now: 2000) == .sendPing(timestamp: 2000))
        #expect(heartbeat.isAlive == false)
        #expect(heartbeat.tick(now: 3000) == .timeout)
    }

    @Test func dataIsNotLivenessOnlyPongsAre() {
        var heartbeat = ServerHeartbeat()
        _ = heartbeat.tick(now: 1)
        #expect(heartbeat.tick(now: 2) == .timeout)
    }
}

@Suite("query strings, addresses, ids, spec")
struct RequestFactsTests {
    @Test func parsesQueryStringsLikeNode() {
        let query = QueryParameters(requestURI: "/primus?foo=bar&a+b=c%20d&n=1&n=2&flag&bad=%zz&_primuscb=Ox1")
        #expect(query["foo"] == "bar")
        #expect(query["a b"] == "c d")
        #expect(query.values(for: "n") == ["1", "2"])
        #expect(query["flag"] == "")
        #expect(query["bad"] == "%zz")
        #expect(query["missing"] == nil)
        #expect(QueryParameters(requestURI: "/primus").items.isEmpty)
    }

    private func resolve(_ headers: [String: String], remote: String = "127.0.0.1", trusted: TrustedProxies = .any) -> SparkAddress {
        ForwardedAddressResolver.resolve(
            remote: SparkAddress(ip: remote, port: 5000, secure: false),
            secureTransport: false,
            header: { headers[$0] },
            trusted: trusted
        )
    }

    @Test func usesTheFirstForwardedAddressAndPort() {
        #expect(resolve(["x-forwarded-for": "13.3.37.1,12.12.12.12", "x-forwarded-port": "9083,1334"]) == SparkAddress(ip: "13.3.37.1", port: 9083, secure: false))
        #expect(resolve(["x-forwarded-for": "13.3.37.1", "x-forwarded-proto": "https"]).secure)
    }

    @Test func ignoresInvalidAddresses() {
        #expect(resolve(["x-forwarded-for": "not-an-ip"]).ip == "127.0.0.1")
        #expect(resolve(["x-forwarded-for": "bogus", "x-real-ip": "::1"]).ip == "::1")
    }

    @Test func readsRFC7239ForwardedAndOtherHeaders() {
        #expect(resolve(["forwarded": #"for="[2001:db8::1]:4711";proto=https"#]) == SparkAddress(ip: "2001:db8::1", port: 4711, secure: true))
        #expect(resolve(["forwarded": "for=192.0.2.60;proto=http"]).ip == "192.0.2.60")
        #expect(resolve(["fastly-client-ip": "8.8.8.8", "x-forwarded-for": "1.1.1.1"]).ip == "8.8.8.8")
    }

    @Test func onlyTrustedProxiesMayForward() {
        let headers = ["x-forwarded-for": "13.3.37.1, 10.0.0.2"]
        #expect(resolve(headers, remote: "10.0.0.1", trusted: .addresses(["10.0.0.1", "10.0.0.2"])).ip == "13.3.37.1")
        #expect(resolve(headers, remote: "10.0.0.1", trusted: .addresses(["10.0.0.1"])).ip == "10.0.0.1")
        #expect(resolve(headers, remote: "10.9.9.9", trusted: .addresses(["10.0.0.1", "10.0.0.2"])).ip == "10.9.9.9")
        #expect(resolve(headers, trusted: .none).ip == "127.0.0.1")
    }

    @Test func sparkIdsAreLongURLSafeAndUnique() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let id = SparkIdentifier.random()
            #expect(id.count == 22)
            #expect(id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            seen.insert(id)
        }
        #expect(seen.count == 1000)
    }

    @Test func specIsPrimusShaped() throws {
        let spec = PrimusSpec(pingInterval: 30000, pathname: "/primus", parser: "json", transformer: "websockets")
        #expect(spec.json == #"{"pingInterval":30000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#)
        #expect(try PrimusSpec(json: JSONReader.parse(spec.json)) == spec)
    }
}
