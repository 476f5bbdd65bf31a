import NIOCore
import PrimusCore
@testable import PrimusServer
import Testing

/// The `browserchannel` transformer on loopback, driven by raw HTTP requests: the parts the
/// interop client cannot reach (short keep-alives, the application closing a session while it
/// is created, admission, sessions released).
@Suite("BrowserChannel transformer", .timeLimit(.minutes(2)))
struct BrowserChannelTransformerTests {
    private static func configure(_ adjust: @escaping (inout BrowserChannelOptions) -> Void = { _ in }) -> (inout PrimusConfiguration) -> Void {
        { configuration in
            var options = BrowserChannelOptions()
            adjust(&options)
            configuration.transformer = .browserChannel(options)
        }
    }

    /// Creates a session; returns its id.
    private static func create(port: Int, body: String = "count=0") async throws -> String {
        let response = try await httpRequest(port: port, method: "POST", target: "/primus/bind?VER=8&RID=100&CVER=1&t=1", body: body)
        #expect(response.status == 200, "\(response.body)")
        let length = response.body.prefix { $0 != "\n" }
        let json = String(response.body.dropFirst(length.count + 1))
        #expect(Int(length) == json.utf16.count)
        let value = try JSONReader.parse(String(json.dropLast()))
        return try #require(value[0]?[1]?[1]?.stringValue)
    }

    @Test func theTransformerIsListedAndNamed() throws {
        #expect(PrimusTransformer.all.contains(.browserChannel))
        #expect(try PrimusTransformer(named: "BrowserChannel") == .browserChannel)
    }

    @Test func aSessionIsASparkThatEchoesAndEndsOnTerminate() async throws {
        try await withPrimusServer(Self.configure(), setup: { primus in
            primus.onConnection { spark in spark.onMessage { spark.write($0.value) } }
        }) { port, primus in
            let sid = try await Self.create(port: port)
            #expect(primus.sparks.map(\.id) == [sid])
            let back = try await RawHTTPClient.connect(port: port)
            try await back.send("GET /primus/bind?VER=8&RID=rpc&SID=\(sid)&CI=0&AID=0&TYPE=xmlhttp HTTP/1.1\r\nHost: x\r\n\r\n")
            // The back channel's head goes out when the session takes it.
            _ = try await back.waitFor("HTTP/1.1 200")
            let forward = try await httpRequest(
                port: port, method: "POST", target: "/primus/bind?VER=8&SID=\(sid)&RID=101&AID=0",
                body: "count=1&ofs=0&req0__S=%22hello%22", headers: [("Content-Type", "application/x-www-form-urlencoded")]
            )
            #expect(forward.status == 200)
            #expect(forward.body == "7\n[1,0,0]")
            _ = try await back.waitFor("[1,\"\\\"hello\\\"\"]")
            let terminate = try await httpRequest(port: port, target: "/primus/bind?VER=8&SID=\(sid)&RID=102&TYPE=terminate")
            #expect(terminate.status == 200 && terminate.body.isEmpty)
            try await waitUntil { primus.browserChannelSessionCount == 0 && primus.sparks.isEmpty && primus.admittedSparks == 0 }
            back.close()
        }
    }

    @Test func aSilentBackChannelGetsNoops() async throws {
        try await withPrimusServer(Self.configure { $0.keepAliveInterval = .milliseconds(200) }) { port, _ in
            let sid = try await Self.create(port: port)
            let back = try await RawHTTPClient.connect(port: port)
            try await back.send("GET /primus/bind?VER=8&RID=rpc&SID=\(sid)&CI=0&AID=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try await back.waitFor("[2,[\"noop\"]]")
            back.close()
        }
    }

    @Test func aSessionWithoutBackChannelTimesOutAndReleasesItsSpark() async throws {
        // Long enough that a loaded machine still sees the session before it times out.
        try await withPrimusServer(Self.configure { $0.sessionTimeout = .seconds(3) }) { port, primus in
            _ = try await Self.create(port: port)
            #expect(primus.browserChannelSessionCount == 1)
            try await waitUntil { primus.browserChannelSessionCount == 0 && primus.sparks.isEmpty && primus.admittedSparks == 0 }
        }
    }

    @Test func theApplicationEndingTheSparkOnConnectionAnswersItsGoodbyeAndStop() async throws {
        try await withPrimusServer(Self.configure(), setup: { primus in
            primus.onConnection { spark in spark.end() }
        }) { port, primus in
            let response = try await httpRequest(port: port, method: "POST", target: "/primus/bind?VER=8&RID=1&CVER=1", body: "count=0")
            #expect(response.status == 200)
            #expect(response.body.contains("[1,\"\\\"primus::server::close\\\"\"]"), "\(response.body)")
            #expect(response.body.hasSuffix(",[2,[\"stop\"]]]\n"), "\(response.body)")
            // The session is over at once, not after the close grace.
            try await waitUntil(timeout: .seconds(4)) { primus.browserChannelSessionCount == 0 && primus.admittedSparks == 0 }
        }
    }

    @Test func admissionLimitsSessions() async throws {
        try await withPrimusServer({ configuration in
            Self.configure()(&configuration)
            configuration.limits.maxSparks = 1
            configuration.limits.maxSparksPerAddress = 1
        }) { port, primus in
            _ = try await Self.create(port: port)
            let second = try await httpRequest(port: port, method: "POST", target: "/primus/bind?VER=8&RID=1&CVER=1", body: "count=0")
            // The only address already holds its one spark: shedding makes room, or refuses.
            #expect(second.status == 200 || second.status == 503)
            try await waitUntil { primus.browserChannelSessionCount <= 1 && primus.admittedSparks <= 1 }
        }
    }

    @Test func forwardBodiesOverMaxLengthAreRefused() async throws {
        try await withPrimusServer({ configuration in
            Self.configure()(&configuration)
            configuration.maxLength = 100
        }) { port, _ in
            let sid = try await Self.create(port: port)
            let body = "count=1&ofs=0&req0__S=" + String(repeating: "a", count: 500)
            let response = try await httpRequest(port: port, method: "POST", target: "/primus/bind?VER=8&SID=\(sid)&RID=101&AID=0", body: body)
            #expect(response.status == 413)
        }
    }
}
