import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

// Raw HTTP and WebSocket checks of the `engine.io` transformer for what the official clients
// never exercise: the error codes, overlapping polls, the upgrade dance, timeouts.

private func engineIO(_ configuration: inout PrimusConfiguration) {
    configuration.transformer = .engineIO
    configuration.pingInterval = nil  // Primus's own heartbeat would add messages to every poll
}

private func echo(_ primus: Primus) {
    primus.onConnection { spark in
        spark.onMessage { message in spark.write(message.value) }
    }
}

private let polling = "/primus/?EIO=4&transport=polling"

/// One HTTP/1.1 request with a body over a fresh connection (`Connection: close`).
private func request(
    port: Int,
    method: String = "GET",
    _ target: String,
    body: String = "",
    headers: [(String, String)] = []
) async throws -> RawHTTPResponse {
    try await httpRequest(port: port, method: method, target: target, body: body, headers: headers)
}

/// Opens a polling session and returns its sid.
private func handshake(port: Int, query: String = "") async throws -> String {
    let response = try await request(port: port, polling + query)
    #expect(response.status == 200)
    #expect(response.body.hasPrefix(#"0{"sid":""#))
    let handshake = try EngineIOHandshake(json: String(response.body.dropFirst()))
    return handshake.sid
}

private extension RawHTTPResponse {
    var json: JSONValue? { try? JSONReader.parse(body) }
}

@Suite("engine.io transformer, live on loopback")
struct EngineIOTransformerTests {
    @Test func answersEveryErrorWithTheReferenceCodes() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.engineIO.allowRequest = { head in !head.headers.contains(name: "x-forbidden") }
        }) { port, _ in
            let cases: [(String, String, [(String, String)], Int, Int)] = [
                ("GET", "/primus/?EIO=4&transport=nope", [], 400, 0),
                ("GET", "/primus/?EIO=4&transport=polling&sid=nope", [], 400, 1),
                ("PUT", polling, [], 400, 2),
                ("POST", polling, [], 400, 2),
                ("GET", "/primus/?EIO=4&transport=websocket", [], 400, 3),
                ("GET", polling, [("X-Forbidden", "1")], 403, 4),
                ("GET", "/primus/?EIO=9&transport=polling", [], 400, 5),
                ("GET", "/primus/?EIO=3&transport=polling", [], 400, 5),
            ]
            for (method, target, headers, status, code) in cases {
                let response = try await request(port: port, method: method, target, headers: headers)
                #expect(response.status == status, "\(method) \(target)")
                #expect(response.headers["content-type"] == "application/json")
                #expect(response.json?["code"] == .number(Double(code)), "\(method) \(target): \(response.body)")
            }
        }
    }

    @Test func handshakeAnnouncesTheSessionAndPostsAreAnsweredOk() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            // Long enough that no ping lands in the poll below, even on a loaded machine.
            $0.engineIO.pingInterval = .milliseconds(15000)
            $0.engineIO.pingTimeout = .milliseconds(7000)
            $0.maxLength = 4096
        }, setup: echo) { port, primus in
            let response = try await request(port: port, polling + "&foo=bar")
            #expect(response.headers["content-type"] == "text/plain; charset=UTF-8")
            let handshake = try EngineIOHandshake(json: String(response.body.dropFirst()))
            #expect(handshake.upgrades == ["websocket"])
            #expect(handshake.pingInterval == 15000 && handshake.pingTimeout == 7000 && handshake.maxPayload == 4096)
            // The spark is the session: same id, the handshake's query.
            let spark = try #require(primus.spark(handshake.sid))
            #expect(spark.query["foo"] == "bar")

            let posted = try await request(port: port, method: "POST", polling + "&sid=\(handshake.sid)", body: "4\"hi\"\u{1e}4[1,2]")
            #expect(posted.status == 200 && posted.body == "ok")
            #expect(posted.headers["content-type"] == "text/html")
            let polled = try await request(port: port, polling + "&sid=\(handshake.sid)")
            #expect(polled.body == "4\"hi\"\u{1e}4[1,2]")
        }
    }

    @Test func aSecondPendingPollIsRefusedAndThePendingOneGetsClose() async throws {
        try await withPrimusServer(engineIO) { port, primus in
            let sid = try await handshake(port: port)
            async let first = request(port: port, polling + "&sid=\(sid)")
            async let second = request(port: port, polling + "&sid=\(sid)")
            let answers = try await [first, second].sorted { $0.status < $1.status }
            #expect(answers.map(\.status) == [200, 400])
            #expect(answers[0].body == "1")
            #expect(answers[1].json?["code"] == 3)
            let after = try await request(port: port, polling + "&sid=\(sid)")
            #expect(after.json?["code"] == 1)
            #expect(primus.engineIOSessionCount == 0)
        }
    }

    @Test func anUnparsablePostIsRefusedAndClosesTheSession() async throws {
        try await withPrimusServer(engineIO) { port, primus in
            let sid = try await handshake(port: port)
            let garbage = try await request(port: port, method: "POST", polling + "&sid=\(sid)", body: "9garbage")
            #expect(garbage.status == 400)
            #expect(primus.engineIOSessionCount == 0)
        }
    }

    @Test func aPostOverMaxPayloadGets413AndClosesTheSession() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.maxLength = 100
        }) { port, primus in
            let sid = try await handshake(port: port)
            let large = try await request(port: port, method: "POST", polling + "&sid=\(sid)", body: "4" + String(repeating: "x", count: 200))
            #expect(large.status == 413)
            #expect(primus.engineIOSessionCount == 0 && primus.connected == 0)
            let after = try await request(port: port, polling + "&sid=\(sid)")
            #expect(after.json?["code"] == 1)
        }
    }

    @Test func pollingBodiesAndWebSocketMessagesShareOneLimitTheAnnouncedMaxPayload() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.maxLength = 100
        }, setup: echo) { port, _ in
            let sid = try await handshake(port: port)
            // `4` and a 97-character JSON string: exactly 100 bytes.
            let atTheLimit = "4\"" + String(repeating: "x", count: 97) + "\""
            let posted = try await request(port: port, method: "POST", polling + "&sid=\(sid)", body: atTheLimit)
            #expect(posted.status == 200)
            #expect(try await request(port: port, polling + "&sid=\(sid)").body == atTheLimit)

            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket")
            let open = try #require(try await socket.nextText())
            #expect(try EngineIOHandshake(json: String(open.dropFirst())).maxPayload == 100)
            try await socket.send(atTheLimit)
            #expect(try await socket.nextText() == atTheLimit)
            try await socket.send("4\"" + String(repeating: "x", count: 98) + "\"")
            #expect(try await socket.closeCode() == 1009)
        }
    }

    @Test func aPostWhileAnotherIsHeldIsAnOverlapThatClosesTheSession() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            // Nobody reads the spark: after two messages it stops reading, so the next POST is
            // held unanswered (the client's cue to slow down).
            $0.maxBufferedMessages = 2
        }) { port, primus in
            let sid = try await handshake(port: port)
            let first = try await request(port: port, method: "POST", polling + "&sid=\(sid)", body: "4\"a\"\u{1e}4\"b\"")
            #expect(first.status == 200)
            // One of these is held; the other overlaps it.
            async let second = request(port: port, method: "POST", polling + "&sid=\(sid)", body: "4\"c\"")
            async let third = request(port: port, method: "POST", polling + "&sid=\(sid)", body: "4\"d\"")
            let answers = try await [second, third].sorted { $0.status < $1.status }
            // The overlap is noticed when the later head arrives and closes the session. The
            // earlier POST is answered `ok` if it was already held, or finds the session gone
            // (400) if its body was still on its way; the overlapping one always gets 400.
            #expect(answers[1].status == 400)
            #expect(answers[1].json?["code"] == 1)
            #expect(answers[0].status == 400 || answers[0].body == "ok")
            #expect(primus.engineIOSessionCount == 0)
        }
    }

    @Test func jsonpAnswersAreJavaScript() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.engineIO.allowEIO3 = true
        }) { port, _ in
            let open = try await request(port: port, "/primus/?EIO=3&transport=polling&j=0")
            #expect(open.status == 200)
            #expect(open.headers["content-type"] == "text/javascript; charset=UTF-8")
            #expect(open.body.hasPrefix("___eio[0](\""))
        }
    }

    @Test func theUpgradeReleasesThePollWithANoopAndThenRefusesPolling() async throws {
        try await withPrimusServer(engineIO, setup: echo) { port, primus in
            let sid = try await handshake(port: port)
            async let pending = request(port: port, polling + "&sid=\(sid)")
            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket&sid=\(sid)")
            try await socket.send("2probe")
            #expect(try await socket.nextText() == "3probe")
            #expect(try await pending.body == "6")
            try await socket.send("5")
            try await socket.send("4\"over the websocket\"")
            #expect(try await socket.nextText() == "4\"over the websocket\"")
            let refused = try await request(port: port, polling + "&sid=\(sid)")
            #expect(refused.status == 400 && refused.json?["code"] == 3)
            // A second WebSocket for the upgraded session completes its handshake and is closed.
            let second = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket&sid=\(sid)")
            let closed = second.channel.closeFuture
            try await withTimeout(.seconds(5)) { try? await closed.get() }
            #expect(primus.engineIOSessionCount == 1)
            await socket.disconnect()
        }
    }

    @Test func messagesBufferedDuringTheProbeAreFlushedOnTheWebSocket() async throws {
        try await withPrimusServer(engineIO) { port, primus in
            let sid = try await handshake(port: port)
            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket&sid=\(sid)")
            try await socket.send("2probe")
            #expect(try await socket.nextText() == "3probe")
            primus.spark(sid)?.write("while probing")
            try await socket.send("5")
            #expect(try await socket.nextText() == "4\"while probing\"")
        }
    }

    @Test func aWebSocketCanOpenTheSessionDirectly() async throws {
        try await withPrimusServer(engineIO, setup: echo) { port, primus in
            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket&x=1")
            let open = try #require(try await socket.nextText())
            let handshake = try EngineIOHandshake(json: String(open.dropFirst()))
            #expect(open.first == "0" && handshake.upgrades.isEmpty)
            #expect(primus.spark(handshake.sid)?.query["x"] == "1")
            try await socket.send("4{\"a\":1}")
            #expect(try await socket.nextText() == "4{\"a\":1}")
            try await socket.send("1")
            #expect(try await socket.closeCode() == 1000)
        }
    }

    @Test func aWebSocketMessageOverMaxLengthClosesWith1009() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.maxLength = 100
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket")
            _ = try await socket.nextText()
            try await socket.send("4\"" + String(repeating: "x", count: 200) + "\"")
            #expect(try await socket.closeCode() == 1009)
        }
    }

    @Test func aClientThatStopsPollingIsClosedWithinIntervalPlusTimeout() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.engineIO.pingInterval = .milliseconds(200)
            $0.engineIO.pingTimeout = .milliseconds(100)
        }) { port, primus in
            let ended = primus.disconnections
            let clock = ContinuousClock()
            let started = clock.now
            let sid = try await handshake(port: port)
            let spark = try await withTimeout(.seconds(10)) { await ended.first { _ in true } }
            #expect(spark?.id == sid)
            // 300 ms is the rule; the bound only tells it from the default 45 s, with room for a
            // loaded machine.
            #expect(clock.now - started < .seconds(8))
            #expect(primus.engineIOSessionCount == 0)
            let after = try await request(port: port, polling + "&sid=\(sid)")
            #expect(after.json?["code"] == 1)
        }
    }

    @Test func aWebSocketClientThatStopsAnsweringPingsIsClosed() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            // Wide enough for a loaded machine to answer the first ping in time (the test runs in
            // parallel with the others on two cores).
            $0.engineIO.pingInterval = .milliseconds(1000)
            $0.engineIO.pingTimeout = .milliseconds(1500)
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket")
            _ = try await socket.nextText()
            #expect(try await socket.nextText() == "2")
            try await socket.send("3")
            #expect(try await socket.nextText() == "2")
            // No pong this time.
            #expect(try await socket.nextText(timeout: .seconds(5)) == nil)
            // The client may see the close before the server has finished the spark.
            try await waitUntil { primus.connected == 0 && primus.engineIOSessionCount == 0 }
        }
    }

    @Test func abandonedSessionsLeaveNothingBehind() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.engineIO.pingInterval = .milliseconds(100)
            $0.engineIO.pingTimeout = .milliseconds(100)
        }) { port, primus in
            let ended = primus.disconnections
            let count = 200
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count { group.addTask { _ = try await handshake(port: port) } }
                try await group.waitForAll()
            }
            let closed = try await withTimeout(.seconds(10)) {
                var closed = 0
                for await _ in ended {
                    closed += 1
                    if closed == count { break }
                }
                return closed
            }
            #expect(closed == count)
            #expect(primus.engineIOSessionCount == 0 && primus.connected == 0)
        }
    }

    @Test func sparkEndReachesAPollingClientThenTheSessionCloses() async throws {
        try await withPrimusServer(engineIO) { port, primus in
            let sid = try await handshake(port: port)
            async let polled = request(port: port, polling + "&sid=\(sid)")
            // The end is written whether or not the poll is already waiting.
            primus.spark(sid)?.end()
            let body = try await polled.body
            #expect(body == "4\"primus::server::close\"\u{1e}1")
            #expect(primus.engineIOSessionCount == 0)
        }
    }

    @Test func crossOriginPollingEchoesTheOriginWithCredentials() async throws {
        try await withPrimusServer(engineIO) { port, _ in
            let preflight = try await request(
                port: port, method: "OPTIONS", polling,
                headers: [("Origin", "http://example.test"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")]
            )
            #expect(preflight.status == 200)
            #expect(preflight.headers["access-control-allow-origin"] == "http://example.test")
            #expect(preflight.headers["access-control-allow-credentials"] == "true")
            #expect(preflight.headers["access-control-allow-headers"] == "content-type")
            #expect(preflight.headers["access-control-allow-methods"]?.contains("POST") == true)
            let response = try await request(port: port, polling, headers: [("Origin", "http://example.test")])
            #expect(response.status == 200)
            #expect(response.headers["access-control-allow-origin"] == "http://example.test")
            #expect(response.headers["access-control-allow-credentials"] == "true")
        }
    }

    @Test func engineIO3SpeaksLengthPrefixedPayloadsAndClientPings() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.engineIO.allowEIO3 = true
        }, setup: echo) { port, _ in
            let v3 = "/primus/?EIO=3&transport=polling"
            let open = try await request(port: port, v3)
            #expect(open.body.hasPrefix("0{") == false)
            let colon = try #require(open.body.firstIndex(of: ":"))
            let handshake = try EngineIOHandshake(json: String(open.body[open.body.index(after: colon)...].dropFirst()))
            #expect(handshake.maxPayload == nil)
            let posted = try await request(port: port, method: "POST", v3 + "&sid=\(handshake.sid)", body: "1:24:4\"€\"")
            #expect(posted.body == "ok")
            let polled = try await request(port: port, v3 + "&sid=\(handshake.sid)")
            #expect(polled.body == "1:34:4\"€\"")
        }
    }
}
