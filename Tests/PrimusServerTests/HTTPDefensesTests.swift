import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusCore
@testable import PrimusServer
import Testing

/// The HTTP layer's defenses against real sockets on loopback: timeouts, limits, error answers
/// that close, strict WebSocket handshakes, `Expect: 100-continue`, and the connection cap.
@Suite struct HTTPDefensesTests {
    static let short = Duration.milliseconds(300)
    static let clock = ContinuousClock()

    /// Short body and keep-alive timeouts for the timeout tests (the headers timeout stays long
    /// enough for a loaded machine to send a request after connecting); other tests keep the
    /// defaults, so a close they see is the behaviour under test, not a timer.
    static func shortTimeouts(_ limits: inout PrimusLimits) {
        limits.headersTimeout = .seconds(2)
        limits.bodyTimeout = short
        limits.keepAliveTimeout = short
    }

    /// A short headers timeout too, for the tests of the headers timeout.
    static func shortHeadersTimeout(_ limits: inout PrimusLimits) {
        shortTimeouts(&limits)
        limits.headersTimeout = .seconds(1)
    }

    static func statusLine(_ text: String) -> Substring {
        // "\r\n" is one Character in Swift.
        text.prefix { $0 != "\r\n" }
    }

    // MARK: Timeouts

    @Test func aSlowlorisIsAnswered408AndClosedAfterTheHeadersTimeout() async throws {
        try await withDefendedServer(limits: Self.shortHeadersTimeout) { port in
            let started = Self.clock.now
            let client = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n")
            // One header byte every 50 ms, as long as the server lets it.
            let drip = Task {
                for _ in 0..<100 where client.isOpen {
                    try? await client.send("X")
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            let answer = try await client.readToEnd()
            drip.cancel()
            #expect(Self.statusLine(answer) == "HTTP/1.1 408 Request Timeout")
            #expect(answer.contains("Connection: close"))
            #expect(Self.clock.now - started >= .milliseconds(900))
        }
    }

    @Test func aConnectionThatNeverSendsIsClosedAfterTheHeadersTimeout() async throws {
        try await withDefendedServer(limits: Self.shortHeadersTimeout) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let started = Self.clock.now
            let answer = try await client.readToEnd()
            #expect(answer.isEmpty)
            #expect(Self.clock.now - started >= .milliseconds(700))
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheKeepAliveTimeout() async throws {
        try await withDefendedServer(limits: {
            $0.keepAliveTimeout = Self.short
            $0.headersTimeout = .seconds(30)
        }) { port in
            let client = try await RawHTTPClient.connect(port: port)
            // The server's timer starts once it has written the answer, so at least the timeout
            // passes between sending the request and the close (a client reading late, on a
            // loaded machine, would see less from its own read of the answer).
            let sent = Self.clock.now
            try await client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            try await client.waitFor("Not Found")
            let all = try await client.readToEnd()
            #expect(Self.statusLine(all) == "HTTP/1.1 404 Not Found")
            #expect(!all.contains("408"))
            #expect(Self.clock.now - sent >= Self.short)
        }
    }

    @Test func aKeepAliveConnectionServesRequestsUntilItIdles() async throws {
        try await withDefendedServer(limits: { $0.keepAliveTimeout = .seconds(2) }) { port in
            let client = try await RawHTTPClient.connect(port: port)
            for round in 1...3 {
                try await client.send("GET /\(round) HTTP/1.1\r\nHost: x\r\n\r\n")
                try await Task.sleep(for: .milliseconds(50))  // each pause is well under the timeout
                #expect(client.isOpen)
            }
            let all = try await client.readToEnd()
            #expect(all.split(separator: "HTTP/1.1 404 Not Found", omittingEmptySubsequences: false).count - 1 == 3)
        }
    }

    @Test func aSlowBodyIsAnswered408AfterTheBodyTimeout() async throws {
        try await withDefendedServer(limits: Self.shortTimeouts) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            let answer = try await client.readToEnd()
            #expect(Self.statusLine(answer) == "HTTP/1.1 408 Request Timeout")
        }
    }

    @Test func aParkedRequestIsNotCutByAnyTimeout() async throws {
        // An engine.io long-poll waits for data far longer than the keep-alive timeout: a request
        // in progress is not idle.
        try await withDefendedServer(
            limits: Self.shortTimeouts,
            fallback: { _ in
                try? await Task.sleep(for: .seconds(1))
                return .text("late")
            }
        ) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await client.waitFor("late")
            #expect(Self.statusLine(answer) == "HTTP/1.1 200 OK")
            // Then it idles like any other keep-alive connection.
            try await client.readToEnd()
        }
    }

    // MARK: Error answers close the connection

    @Test func aMalformedRequestIsAnswered400AndTheSocketIsClosed() async throws {
        try await withDefendedServer { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await client.readToEnd(timeout: .seconds(3))
            #expect(Self.statusLine(answer) == "HTTP/1.1 400 Bad Request")
            #expect(answer.contains("Connection: close"))
        }
    }

    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    ])
    func smugglingShapesAreAnswered400AndClosed(_ request: String) async throws {
        try await withDefendedServer { port in
            let client = try await RawHTTPClient.connect(port: port, sending: request)
            let answer = try await client.readToEnd(timeout: .seconds(3))
            #expect(Self.statusLine(answer) == "HTTP/1.1 400 Bad Request")
        }
    }

    @Test func tooManyHeaderFieldsAreAnswered431AndClosed() async throws {
        try await withDefendedServer(limits: { $0.maxHeaderCount = 10 }) { port in
            let over = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n" + (1...9).map { "X-\($0): y\r\n" }.joined() + "Connection: close\r\n\r\n")
            // 11 fields with Connection: over the limit by one.
            #expect(Self.statusLine(try await over.readToEnd()) == "HTTP/1.1 431 Request Header Fields Too Large")
            let fewer = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n" + (1...8).map { "X-\($0): y\r\n" }.joined() + "Connection: close\r\n\r\n")
            #expect(Self.statusLine(try await fewer.readToEnd()) == "HTTP/1.1 404 Not Found")
            // Thousands of fields stop at the decoder, long before the head completes.
            let flood = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "a: b\r\n", count: 10_000) + "\r\n")
            #expect(Self.statusLine(try await flood.readToEnd()) == "HTTP/1.1 431 Request Header Fields Too Large")
        }
    }

    @Test(arguments: [2_000, 200_000, 1_000_000])
    func headersOverTheByteLimitAreAnswered431AndClosed(_ length: Int) async throws {
        try await withDefendedServer(limits: { $0.maxHeaderBytes = 1024 }) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try? await client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: length))\r\n\r\n")
            let answer = try await client.readToEnd()
            #expect(Self.statusLine(answer) == "HTTP/1.1 431 Request Header Fields Too Large")
        }
    }

    @Test(arguments: [200, 100_000])
    func aTargetOverTheLimitIsAnswered414AndClosed(_ length: Int) async throws {
        try await withDefendedServer(limits: { $0.maxRequestTargetLength = 100 }) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try? await client.send("GET /\(String(repeating: "a", count: length)) HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await client.readToEnd()
            #expect(Self.statusLine(answer) == "HTTP/1.1 414 URI Too Long")
        }
    }

    @Test func anHTTP11RequestWithoutHostIsAnswered400AndClosed() async throws {
        try await withDefendedServer { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\n\r\n")
            #expect(Self.statusLine(try await client.readToEnd()) == "HTTP/1.1 400 Bad Request")
            // HTTP/1.0 has no Host requirement.
            let old = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.0\r\n\r\n")
            #expect(Self.statusLine(try await old.readToEnd()) == "HTTP/1.0 404 Not Found")
        }
    }

    @Test func aDeclaredBodyOverTheLimitIsAnswered413AndClosed() async throws {
        try await withDefendedServer(maxRequestBodyLength: 100) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
            #expect(Self.statusLine(try await client.readToEnd()) == "HTTP/1.1 413 Payload Too Large")
        }
    }

    @Test func aChunkedBodyOverTheLimitIsAnswered413AndClosed() async throws {
        try await withDefendedServer(maxRequestBodyLength: 100) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let chunk = "80\r\n" + String(repeating: "a", count: 128) + "\r\n"
            try await client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
            #expect(Self.statusLine(try await client.readToEnd()) == "HTTP/1.1 413 Payload Too Large")
        }
    }

    @Test func aResponseThatSaysCloseClosesTheConnection() async throws {
        try await withDefendedServer(fallback: { _ in
            var response = PrimusHTTPResponse.text("bye", status: .badRequest)
            response.headers.add(name: "connection", value: "close")
            return response
        }) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try await client.readToEnd(timeout: .seconds(3))
            #expect(Self.statusLine(answer) == "HTTP/1.1 400 Bad Request")
            #expect(answer.hasSuffix("bye"))
        }
    }

    // MARK: Expect

    @Test func expectContinueIsAnswered100ThenTheResponse() async throws {
        try await withDefendedServer(fallback: { request in .text("got \(String(buffer: request.body))") }) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            let interim = try await client.waitFor("\r\n\r\n")
            #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
            try await client.send("hello")
            let all = try await client.waitFor("got hello")
            #expect(all.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
        }
    }

    @Test func anUnknownExpectationIsAnswered417AndClosed() async throws {
        try await withDefendedServer { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "POST / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\n")
            #expect(Self.statusLine(try await client.readToEnd()) == "HTTP/1.1 417 Expectation Failed")
        }
    }

    @Test func expectContinueOverTheBodyLimitIsAnswered413WithoutContinue() async throws {
        try await withDefendedServer(maxRequestBodyLength: 100) { port in
            let client = try await RawHTTPClient.connect(port: port, sending: "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n")
            let answer = try await client.readToEnd()
            #expect(Self.statusLine(answer) == "HTTP/1.1 413 Payload Too Large")
            #expect(!answer.contains("100 Continue"))
        }
    }

    // MARK: WebSocket handshakes

    static let badHandshakes: [(String, String)] = [
        ("bad key", webSocketHandshake(key: "x")),
        ("POST upgrade", webSocketHandshake(method: "POST")),
        ("HTTP/1.0 upgrade", webSocketHandshake(version: "HTTP/1.0")),
        ("version 8", webSocketHandshake(wsVersion: "8")),
        ("no Host", webSocketHandshake(host: false)),
    ]

    @Test(arguments: badHandshakes)
    func aMalformedWebSocketHandshakeIsAnswered400AndClosed(_ label: String, _ request: String) async throws {
        try await withDefendedServer { port in
            let client = try await RawHTTPClient.connect(port: port, sending: request)
            let answer = try await client.readToEnd(timeout: .seconds(3))
            #expect(Self.statusLine(answer) == "HTTP/1.1 400 Bad Request", "\(label)")
            #expect(!answer.contains("101"), "\(label)")
        }
    }

    @Test(arguments: [PrimusTransformer.websockets, .engineIO])
    func aWellFormedWebSocketHandshakeStillUpgrades(_ transformer: PrimusTransformer) async throws {
        try await withDefendedServer(transformer: transformer, limits: Self.shortTimeouts) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let path = transformer == .engineIO ? "/primus/?EIO=4&transport=websocket" : "/primus"
            try await client.send(webSocketHandshake(path: path))
            let answer = try await client.waitFor("\r\n\r\n")
            #expect(Self.statusLine(answer) == "HTTP/1.1 101 Switching Protocols")
            #expect(answer.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
            // Upgraded, the connection is no longer on the HTTP clocks.
            try await Task.sleep(for: .milliseconds(600))
            #expect(client.isOpen)
            client.close()
        }
    }

    @Test func theRawEchoServerHasTheSameGuards() async throws {
        try await withRawEchoServer(limits: Self.shortTimeouts) { port in
            let malformed = try await RawHTTPClient.connect(port: port, sending: "FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(Self.statusLine(try await malformed.readToEnd()) == "HTTP/1.1 400 Bad Request")

            let badKey = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake(path: "/", key: "x"))
            #expect(Self.statusLine(try await badKey.readToEnd()) == "HTTP/1.1 400 Bad Request")

            let silent = try await RawHTTPClient.connect(port: port)
            #expect(try await silent.readToEnd().isEmpty)

            let good = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake(path: "/"))
            #expect(Self.statusLine(try await good.waitFor("\r\n\r\n")) == "HTTP/1.1 101 Switching Protocols")
            try await Task.sleep(for: .milliseconds(600))
            #expect(good.isOpen)
            good.close()
        }
    }

    // MARK: Connection cap

    @Test func aFullServerEvictsTheLongestIdleConnectionToServeANewClient() async throws {
        try await withDefendedServer(limits: { $0.maxConnections = 2 }) { port in
            let idle = try await RawHTTPClient.connect(port: port)
            try await Task.sleep(for: .milliseconds(50))
            let recent = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try await recent.waitFor("Not Found")
            let fresh = try await RawHTTPClient.connect(port: port, sending: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(Self.statusLine(try await fresh.readToEnd()) == "HTTP/1.1 404 Not Found")
            // The connection that never sent a byte was the one dropped.
            #expect(try await idle.readToEnd().isEmpty)
            #expect(recent.isOpen)
            recent.close()
        }
    }

    @Test func aFullServerWithNothingIdleRefusesTheNewConnection() async throws {
        let arrived = NIOLockedValueBox(0)
        try await withDefendedServer(
            limits: { $0.maxConnections = 2 },
            fallback: { _ in
                arrived.withLockedValue { $0 += 1 }
                try? await Task.sleep(for: .seconds(2))
                return .text("done")
            }
        ) { port in
            let first = try await RawHTTPClient.connect(port: port)
            let second = try await RawHTTPClient.connect(port: port)
            try await first.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try await second.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            // Both requests are in progress once the application has them.
            while arrived.withLockedValue({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
            let refused = try await RawHTTPClient.connect(port: port)
            try? await refused.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await refused.readToEnd().isEmpty)
            #expect(try await first.waitFor("done").hasPrefix("HTTP/1.1 200 OK"))
            #expect(try await second.waitFor("done").hasPrefix("HTTP/1.1 200 OK"))
            #expect(arrived.withLockedValue { $0 } == 2)
            first.close()
            second.close()
        }
    }
}
