import NIOCore
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

private func browserChannelServer(port: Int = 0, echo: Bool = false, pingInterval: Duration? = .seconds(30)) async throws -> LoopbackServer {
    try await LoopbackServer.start(port: port, pingInterval: pingInterval, echo: echo, transformer: .browserChannel)
}

private func browserChannelConfiguration(_ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) -> PrimusClientConfiguration {
    fastConfiguration {
        $0.transport = BrowserChannelClientTransport()
        $0.reconnect.attemptTimeout = .seconds(5)
        $0.timeout = .seconds(5)
        adjust(&$0)
    }
}

private func receivedData(_ recorder: EventRecorder) -> [JSONValue] {
    recorder.events.compactMap { if case .data(let message) = $0 { return message.value } else { return nil } }
}

/// The Swift client over BrowserChannel against our own server on loopback: the behaviours of
/// the WebSocket suite. Every wait is bounded and generous.
@Suite("PrimusClient over BrowserChannel", .timeLimit(.minutes(2)))
struct BrowserChannelClientTests {
    @Test func theTransportIsFoundByName() throws {
        #expect(try PrimusClientTransports.named("BrowserChannel").name == "browserchannel")
        #expect(PrimusClientTransports.names.contains("browserchannel"))
    }

    @Test func opensAndEchoesJSONValues() async throws {
        let server = try await browserChannelServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: browserChannelConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let values: [JSONValue] = ["text € \u{1F600} \u{2028}", 42, true, .null, ["nested": [1, 2, "three"]], "a&b=c+d%"]
        for value in values { client.write(value) }
        try await eventually("echoes", timeout: .seconds(10)) { receivedData(recorder).count >= values.count }
        #expect(receivedData(recorder) == values)
        #expect(server.receivedValues == values)
        client.end()
        try await recorder.waitFor("end")
        // The client terminated its session: the server forgets it.
        try await eventually("the session ends", timeout: .seconds(10)) { server.primus.browserChannelSessionCount == 0 }
    }

    @Test func aThousandMessagesArriveInOrderBothWays() async throws {
        let server = try await browserChannelServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: browserChannelConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        // Long enough to make the server end several back channels (10 KiB each).
        let filler = String(repeating: "x", count: 200)
        for index in 0..<1000 { client.write(["i": .number(Double(index)), "f": .string(filler)]) }
        try await eventually("1,000 echoes", timeout: .seconds(60)) { receivedData(recorder).count >= 1000 }
        let expected = (0..<1000).map { JSONValue.object(["i": .number(Double($0)), "f": .string(filler)]) }
        #expect(server.receivedValues == expected)
        #expect(receivedData(recorder) == expected)
        #expect(server.sparks.count == 1)
        client.end()
    }

    @Test func writesMadeWhileOfflineArriveOnceInOrder() async throws {
        let server = try await browserChannelServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: browserChannelConfiguration { $0.manual = true })
        let recorder = EventRecorder(client)
        for index in 0..<11 { client.write(.number(Double(index))) }
        client.open()
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("marker")
        try await eventually("12 messages", timeout: .seconds(10)) { server.received.count >= 12 }
        #expect(server.receivedValues == (0..<11).map { .number(Double($0)) } + ["marker"])
        client.end()
    }

    @Test func serverEndEndsTheClientWithoutReconnecting() async throws {
        let server = try await browserChannelServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: browserChannelConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end()
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.lifecycle == ["open", "close", "end"])
        try await eventually("the session ends", timeout: .seconds(10)) { server.primus.browserChannelSessionCount == 0 }
    }

    @Test func aServerRestartOnTheSamePortIsSurvived() async throws {
        let first = try await browserChannelServer()
        let port = first.port
        let client = try PrimusClient(first.httpURL, configuration: browserChannelConfiguration {
            $0.reconnect.minDelay = .milliseconds(30)
            $0.reconnect.maxDelay = .milliseconds(100)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        await first.stop()
        try await recorder.waitFor("reconnect scheduled", timeout: .seconds(10))
        for index in 0..<5 { client.write(.number(Double(index))) }
        let second = try await browserChannelServer(port: port)
        defer { Task { await second.stop() } }
        try await recorder.waitFor("open", count: 2, timeout: .seconds(20))
        try await eventually("outage writes arrive", timeout: .seconds(10)) { second.received.count >= 5 }
        client.write("marker")
        try await eventually("the marker", timeout: .seconds(10)) { second.received.count >= 6 }
        #expect(second.receivedValues == (0..<5).map { .number(Double($0)) } + ["marker"])
        #expect(recorder.count(of: "reconnected") == 1)
        client.end()
    }

    @Test func primusHeartbeatsFlowOverTheBackChannel() async throws {
        let server = try await browserChannelServer(pingInterval: .seconds(3))
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: browserChannelConfiguration { $0.pingTimeout = .seconds(7) })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        // The behaviour under test is a connection that outlives several heartbeat windows: the
        // server drops a spark that missed a pong by its next ping (3 s), the client gives up
        // 7 s without a ping, so surviving 8 s needs pings down the back channel and pongs up
        // the forward channel. (Wide margins: the client tests also run under
        // ThreadSanitizer, in parallel, on two cores.)
        try await Task.sleep(for: .seconds(8))
        client.write("still here")
        try await eventually("the message", timeout: .seconds(10)) { server.received.count == 1 }
        #expect(recorder.lifecycle == ["open"], "\(recorder.lifecycle)")
        #expect(server.sparks.count == 1)
        client.end()
    }
}
