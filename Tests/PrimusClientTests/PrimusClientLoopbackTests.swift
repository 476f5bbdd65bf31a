import NIOCore
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// The client against our own server on loopback, with short delays. Every wait is bounded.
@Suite("PrimusClient on loopback", .timeLimit(.minutes(1)))
struct PrimusClientLoopbackTests {
    @Test("checklist 60, 90, 93 and 95: events and ready states follow the reference order through a reconnect; the attempt is announced")
    func eventsFollowTheReferenceOrderThroughAReconnect() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.manual = true })
        let recorder = EventRecorder(client)
        client.open()
        try await recorder.waitFor("open")
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("open", count: 2)
        client.end()
        try await recorder.waitFor("end")

        #expect(recorder.lifecycle == [
            "open", "close", "reconnect scheduled", "reconnect", "reconnected", "open", "close", "end",
        ])
        let states = recorder.events.compactMap { if case .readyStateChange(let state) = $0 { return state } else { return nil } }
        #expect(states == [.opening, .open, .closed, .opening, .open, .closed])
        // readyStateChange(.open) comes right after reconnected and right before open.
        let names = recorder.names
        let reconnected = try #require(names.firstIndex(of: "reconnected"))
        #expect(Array(names[reconnected...].prefix(3)) == ["reconnected", "readyStateChange", "open"])
        if case .reconnectScheduled(let attempt) = recorder.events.first(where: { $0.name == "reconnect scheduled" }) {
            #expect(attempt.number == 1 && attempt.delay == .milliseconds(20))
        }
        #expect(client.readyState == .closed)
    }

    @Test("checklist 68: eleven writes before open arrive in order")
    func elevenWritesBeforeOpenArriveInOrder() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.manual = true })
        for index in 0..<11 { client.write(.number(Double(index))) }
        client.open()
        try await eventually("11 messages") { server.received.count >= 11 }
        #expect(server.receivedValues == (0..<11).map { .number(Double($0)) })
        client.end()
    }

    @Test("checklist 75: the server's spark.end() ends the client, never reconnecting")
    func serverEndEndsTheClientWithoutReconnecting() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        try await server.spark().end()
        try await recorder.waitFor("end")
        try await Task.sleep(for: .milliseconds(150))  // several reconnect delays
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.count(of: "reconnect") == 0)
        #expect(server.sparks.count == 1)
        #expect(recorder.lifecycle == ["open", "close", "end"])
    }

    @Test("checklist 90 and 93: spark.end(reconnect: true) makes the client reconnect; reconnected then open; outage writes once, in order")
    func serverEndWithReconnectRecoversAndDeliversOutageWritesOnceInOrder() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration {
            $0.reconnect.minDelay = .milliseconds(150)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        client.write("before")
        try await eventually("before arrives") { server.received.count == 1 }
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("close")
        for word in ["during-1", "during-2", "during-3"] { client.write(.string(word)) }
        try await recorder.waitFor("open", count: 2)
        client.write("after")
        try await eventually("after arrives") { server.received.count >= 5 }

        let second = try await server.spark(2)
        #expect(server.receivedValues == ["before", "during-1", "during-2", "during-3", "after"])
        #expect(server.received.dropFirst().allSatisfy { $0.sparkID == second.id })
        #expect(recorder.lifecycle.suffix(5) == ["close", "reconnect scheduled", "reconnect", "reconnected", "open"])
        client.end()
    }

    @Test func serverRestartOnTheSamePortIsSurvived() async throws {
        let first = try await LoopbackServer.start()
        let port = first.port
        let client = try PrimusClient(first.url, configuration: fastConfiguration {
            $0.reconnect.minDelay = .milliseconds(30)
            $0.reconnect.maxDelay = .milliseconds(100)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        await first.stop()
        try await recorder.waitFor("reconnect scheduled")
        for index in 0..<5 { client.write(.number(Double(index))) }
        try await Task.sleep(for: .milliseconds(100))  // let an attempt or two fail against the closed port
        let second = try await LoopbackServer.start(port: port)
        defer { Task { await second.stop() } }
        try await recorder.waitFor("open", count: 2)
        try await eventually("outage writes arrive") { second.received.count >= 5 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(second.receivedValues == (0..<5).map { .number(Double($0)) })
        #expect(recorder.count(of: "reconnected") == 1)
        let names = recorder.lifecycle
        let close = try #require(names.firstIndex(of: "close"))
        #expect(names[close...].first == "close")
        #expect(names.suffix(2) == ["reconnected", "open"])
        #expect(names.contains("reconnect"))
        client.end()
    }

    @Test func reconnectFailedAfterTheRetriesRunOut() async throws {
        // A port nobody listens on, held so no test running in parallel can take it.
        let gone = try ClosedPort()
        defer { withExtendedLifetime(gone) {} }
        let client = try PrimusClient("ws://127.0.0.1:\(gone.port)/primus", configuration: fastConfiguration {
            $0.reconnect = .init(minDelay: .milliseconds(5), maxDelay: .milliseconds(20), retries: 3, attemptTimeout: .seconds(1))
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("reconnect failed")
        #expect(recorder.lifecycle == [
            "error",
            "reconnect scheduled", "reconnect",
            "reconnect scheduled", "reconnect",
            "reconnect scheduled", "reconnect",
            "end", "reconnect failed",
        ])
        guard case .reconnectFailed(let attempt) = recorder.events.last else {
            Issue.record("last event is \(String(describing: recorder.events.last))")
            return
        }
        #expect(attempt.number == 3 && attempt.retries == 3)
        #expect(client.readyState == .closed)
    }

    @Test func heartbeatTimeoutFiresWhenTheServerStopsPinging() async throws {
        let server = try await LoopbackServer.start(pingInterval: nil)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.pingTimeout = .milliseconds(150) })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("offline")
        // "open" follows "online": wait for it too, or the check below can run between the two.
        try await recorder.waitFor("open", count: 2)
        #expect(Array(recorder.lifecycle.prefix(8)) == [
            "open", "offline", "close", "reconnect scheduled", "reconnect", "reconnected", "online", "open",
        ])
        // The dead connection was torn down: the server saw it end.
        try await eventually("first spark ends") { server.sparks.first?.readyState == .closed }
        client.end()
    }

    @Test func pingsKeepTheConnectionAlive() async throws {
        // A generous interval: a loaded machine (these tests also run under ThreadSanitizer, in
        // parallel, on two cores) must not make a pong miss its tick.
        let server = try await LoopbackServer.start(pingInterval: .seconds(2))
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.pingTimeout = .seconds(6) })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        try await Task.sleep(for: .milliseconds(4500))  // two server ticks, each needing a pong
        #expect(recorder.count(of: "offline") == 0)
        #expect(server.sparks.count == 1 && server.sparks[0].readyState == .open)  // the server got its pongs
        client.end()
    }

    @Test("checklist 81: the client's id is the spark's id")
    func idEqualsTheSparkID() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration())
        let id = try await client.id()
        #expect(id == (try await server.spark()).id)
        client.end()
    }

    @Test("checklist 18 and 42: the URL is the pathname plus the query, then the cache buster; the spark reads the query")
    func queryStringAndCacheBusterReachTheServer() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url + "/?foo=bar&token=abc", configuration: fastConfiguration())
        let spark = try await server.spark()
        #expect(spark.query["foo"] == "bar")
        #expect(spark.query["token"] == "abc")
        #expect(spark.query["_primuscb"]?.isEmpty == false)
        #expect(spark.query.items.first?.name == "foo")
        client.end()
    }

    struct Greeting: Codable, Equatable {
        var text: String
        var count: Int
    }

    @Test func encodableWritesAndTypedDataRoundTrip() async throws {
        let server = try await LoopbackServer.start(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration())
        let recorder = EventRecorder(client)
        try client.write(Greeting(text: "pongРУССКИЙ €", count: 2))
        client.write(0)
        try await recorder.waitFor("data", count: 2)
        let messages = recorder.events.compactMap { if case .data(let message) = $0 { return message } else { return nil } }
        #expect(try messages[0].decode(as: Greeting.self) == Greeting(text: "pongРУССКИЙ €", count: 2))
        #expect(messages[1].value == 0)
        client.end()
    }

    @Test("checklist 64: end() twice announces end once; open() after end connects again")
    func endedClientCanBeOpenedAgain() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        client.end()
        client.end()
        try await recorder.waitFor("end")
        client.open()
        try await recorder.waitFor("open", count: 2)
        #expect(recorder.count(of: "end") == 1)
        #expect(recorder.count(of: "reconnect") == 0)
        _ = try await server.spark(2)
        client.end()
    }

    @Test func aDroppedClientIsDeallocatedAndItsConnectionClosed() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        weak var weakClient: PrimusClient?
        var recorder: EventRecorder?
        do {
            let client = try PrimusClient(server.url, configuration: fastConfiguration())
            client.onData { _ in }  // handlers that do not capture the client are fine
            weakClient = client
            recorder = EventRecorder(client)
            try await recorder?.waitFor("open")
        }
        #expect(weakClient == nil)
        let spark = try await server.spark()
        try await eventually("the server sees the connection close") { spark.readyState == .closed }
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.sparks.count == 1)  // and nothing reconnects
        _ = recorder
    }

    @Test func httpURLsAndOnlyOneLiveConnection() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient("http://127.0.0.1:\(server.port)", configuration: fastConfiguration { $0.manual = true })
        let recorder = EventRecorder(client)
        client.open()
        client.open()
        client.open()
        try await recorder.waitFor("open")
        try await Task.sleep(for: .milliseconds(50))
        #expect(server.primus.connected == 1)
        client.end()
    }
}

@Suite("PrimusClient: discovery and hung servers", .timeLimit(.minutes(1)))
struct PrimusClientDiscoveryTests {
    @Test func discoveryReadsTheSpecAndDerivesPingTimeout() async throws {
        let server = try await LoopbackServer.start(pingInterval: .seconds(30))
        defer { Task { await server.stop() } }
        let configuration = try await PrimusClient.discover(server.url, configuration: fastConfiguration())
        #expect(configuration.pingTimeout == .seconds(45))
        #expect(configuration.transport.name == "websockets")
        #expect(configuration.parser.name == "json")
        #expect(configuration.pathname == "/primus")
        let client = try PrimusClient(server.url, configuration: configuration)
        #expect(try await client.id() == (try await server.spark()).id)
        client.end()
    }

    @Test func aServerThatNeverAnswersTimesOutThenEachAttemptTimesOut() async throws {
        // Accepts TCP connections and never says a word.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        let client = try PrimusClient("ws://127.0.0.1:\(port)", configuration: fastConfiguration {
            $0.timeout = .milliseconds(100)
            $0.reconnect = .init(minDelay: .milliseconds(10), retries: 2, attemptTimeout: .milliseconds(100))
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("reconnect failed")
        #expect(recorder.lifecycle == [
            "timeout", "reconnect scheduled", "reconnect", "reconnect timeout",
            "reconnect scheduled", "reconnect", "reconnect timeout", "end", "reconnect failed",
        ])
        try await silent.close()
    }
}
