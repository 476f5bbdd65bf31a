import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

/// Keeps what handlers saw, from any thread.
final class Recorder<Element: Sendable>: Sendable {
    private let box = NIOLockedValueBox<[Element]>([])
    func append(_ element: Element) { box.withLockedValue { $0.append(element) } }
    var all: [Element] { box.withLockedValue { $0 } }
    var count: Int { box.withLockedValue { $0.count } }
}

/// Records every spark that connects, and echoes its messages.
private func recordingSparks(_ sparks: Recorder<Spark>) -> (Primus) -> Void {
    { primus in
        primus.onConnection { spark in
            sparks.append(spark)
            spark.onMessage { message in spark.write(message.value) }
        }
    }
}

@Suite("spark and server events, live on loopback")
struct SparkEventsTests {
    @Test("checklist 1: primus.version is the Primus version we speak")
    func version() {
        let primus = Primus()
        #expect(primus.version == PrimusSpec.protocolVersion)
        #expect(primus.version == "8.0.9")
        #expect(primus.spec.version == primus.version)
    }

    @Test("checklist 10 and 40: a spark is announced, counted, found by id, and forgotten when it ends")
    func connectedAndFoundById() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, primus in
            #expect(primus.connected == 0)
            let first = try await TestWebSocket.connect(port: port)
            _ = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 2 }
            #expect(primus.connected == 2)
            let spark = sparks.all[0]
            #expect(primus.spark(spark.id) === spark)
            #expect(Set(primus.sparks.map(\.id)) == Set(sparks.all.map(\.id)))
            await first.disconnect()
            try await waitUntil { primus.connected == 1 }
            #expect(primus.spark(spark.id) == nil)
        }
    }

    @Test("checklist 38: ids are generated strings, unique; idGenerator overrides them")
    func sparkIDs() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, _ in
            _ = try await TestWebSocket.connect(port: port)
            _ = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 2 }
            let ids = sparks.all.map(\.id)
            #expect(ids.allSatisfy { !$0.isEmpty })
            #expect(ids[0] != ids[1])
        }
        let generated = Recorder<Spark>()
        try await withPrimusServer({ $0.idGenerator = { "foo" } }, setup: recordingSparks(generated)) { port, _ in
            _ = try await TestWebSocket.connect(port: port)
            try await waitUntil { generated.count == 1 }
            #expect(generated.all[0].id == "foo")
        }
    }

    @Test("checklist 41: readyState starts open; closing emits readyStateChange once")
    func readyStateChange() async throws {
        let sparks = Recorder<Spark>()
        let changes = Recorder<Spark.ReadyState>()
        let order = Recorder<String>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                #expect(spark.readyState == .open)
                spark.onReadyStateChange { state in
                    changes.append(state)
                    order.append("readyStateChange")
                }
                spark.onEnd { order.append("end") }
                sparks.append(spark)
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            let spark = sparks.all[0]
            spark.end()
            spark.end()
            #expect(try await socket.closeCode() == 1005, "no status code, as Primus closes")
            try await waitUntil { order.count == 2 }
            #expect(changes.all == [.closed])
            #expect(order.all == ["readyStateChange", "end"])
            #expect(spark.readyState == .closed)
            // A handler added once closed is never called: there is no change left.
            spark.onReadyStateChange { changes.append($0) }
            try await spark.eventLoop.submit {}.get()
            #expect(changes.count == 1)
        }
    }

    @Test("checklist 44: end emits disconnection; shutdown emits it for every spark before it returns")
    func disconnection() async throws {
        let sparks = Recorder<Spark>()
        let disconnected = Recorder<String>()
        try await withPrimusServer(setup: { primus in
            recordingSparks(sparks)(primus)
            primus.onDisconnection { disconnected.append($0.id) }
        }) { port, primus in
            for _ in 0..<3 { _ = try await TestWebSocket.connect(port: port) }
            try await waitUntil { sparks.count == 3 }
            sparks.all[0].end()
            try await waitUntil { disconnected.count == 1 }
            #expect(disconnected.all == [sparks.all[0].id])
            await primus.shutdown()
            #expect(Set(disconnected.all) == Set(sparks.all.map(\.id)))
            #expect(disconnected.count == 3)
        }
    }

    @Test("checklist 45: after end the transport is closed, writes are ignored, and handlers added later still run")
    func afterEnd() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            let spark = sparks.all[0]
            spark.end()
            spark.write("ignored")
            #expect(try await socket.nextText() == #""primus::server::close""#)
            #expect(try await socket.closeCode() == 1005, "no status code, as Primus closes")
            let ended = Recorder<Bool>()
            spark.onEnd { ended.append(true) }
            try await waitUntil { ended.count == 1 }
        }
    }

    @Test("checklist 46: with a short pingInterval and a silent client, the spark is disconnected")
    func heartbeatTimeoutWithSilentClient() async throws {
        let disconnected = Recorder<String>()
        // Short, yet long enough for the test client to finish its upgrade before the end, even
        // on a loaded machine.
        try await withPrimusServer({ $0.pingInterval = .milliseconds(1000) }, setup: { primus in
            primus.onDisconnection { disconnected.append($0.id) }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { disconnected.count == 1 }
            #expect(primus.connected == 0)
            // Silently: the client is to reconnect.
            var texts: [String] = []
            while let text = try await socket.nextText() { texts.append(text) }
            #expect(!texts.contains(#""primus::server::close""#))
        }
    }

    @Test("checklist 47: write({foo:'bar'}) sends '{\"foo\":\"bar\"}'")
    func writeSendsJSON() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            sparks.all[0].write(["foo": "bar"])
            #expect(try await socket.nextText() == #"{"foo":"bar"}"#)
        }
    }

    @Test("checklist 51: a primus::pong:: emits heartbeat; it is not delivered as data")
    func pongEmitsHeartbeat() async throws {
        let heartbeats = Recorder<Bool>()
        let data = Recorder<JSONValue>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onHeartbeat { heartbeats.append(true) }
                spark.onMessage { data.append($0.value) }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""primus::pong::1700000000000""#)
            try await socket.send(#""after""#)
            try await waitUntil { data.count == 1 }
            #expect(heartbeats.count == 1)
            #expect(data.all == ["after"])
        }
    }

    @Test("checklist 52: the heartbeat sends primus::ping::<time>; unanswered, the spark ends")
    func heartbeatPingsThenEnds() async throws {
        let ended = Recorder<Bool>()
        try await withPrimusServer({ $0.pingInterval = .milliseconds(300) }, setup: { primus in
            primus.onConnection { spark in spark.onEnd { ended.append(true) } }
        }) { port, _ in
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            let socket = try await TestWebSocket.connect(port: port)
            let ping = try #require(try await socket.nextText())
            let timestamp = try #require(pingTimestamp(ping))
            #expect(timestamp >= before)
            try await waitUntil { ended.count == 1 }
        }
    }

    @Test("checklist 106: shutdown emits close once, after the sparks ended; every shutdown call returns")
    func closeEvent() async throws {
        let events = Recorder<String>()
        try await withPrimusServer(setup: { primus in
            primus.onDisconnection { _ in events.append("disconnection") }
            primus.onClose { event in
                try? await Task.sleep(for: .milliseconds(20))  // close handlers are awaited
                events.append("close reconnect=\(event.reconnect)")
            }
        }) { port, primus in
            _ = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            await primus.shutdown(reconnect: true)
            #expect(events.all == ["disconnection", "close reconnect=true"])
            await primus.shutdown()
            #expect(events.all == ["disconnection", "close reconnect=true"])
        }
    }

    @Test("checklist 105: sync forEach visits every spark and stops on false")
    func syncForEach() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, primus in
            for _ in 0..<4 { _ = try await TestWebSocket.connect(port: port) }
            try await waitUntil { sparks.count == 4 }
            var visited: [String] = []
            let completed = primus.forEach { spark in
                visited.append(spark.id)
                return true
            } as Bool
            #expect(completed)
            #expect(Set(visited) == Set(sparks.all.map(\.id)))
            var stoppedAfter = 0
            let stopped = primus.forEach { _ in
                stoppedAfter += 1
                return stoppedAfter < 2
            } as Bool
            #expect(!stopped)
            #expect(stoppedAfter == 2)
        }
    }

    @Test("checklist 105: async forEach is sequential, visits sparks that arrive meanwhile (4+4=8), skips ended ones, stops on false")
    func asyncForEach() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: recordingSparks(sparks)) { port, primus in
            var sockets: [TestWebSocket] = []
            for _ in 0..<4 { sockets.append(try await TestWebSocket.connect(port: port)) }
            try await waitUntil { sparks.count == 4 }
            let visited = Recorder<String>()
            let running = NIOLockedValueBox(0)
            let completed = try await primus.forEach { spark in
                let concurrent = running.withLockedValue { $0 += 1; return $0 }
                #expect(concurrent == 1)  // one at a time
                if visited.count == 0 {
                    for _ in 0..<4 { _ = try await TestWebSocket.connect(port: port) }
                    try await waitUntil { sparks.count == 8 }
                }
                try await Task.sleep(for: .milliseconds(2))
                visited.append(spark.id)
                running.withLockedValue { $0 -= 1 }
                return true
            }
            #expect(completed)
            #expect(visited.count == 8)
            #expect(Set(visited.all) == Set(sparks.all.map(\.id)))

            // A spark that ends before its turn is skipped; `false` stops.
            let seen = Recorder<String>()
            let stopped = try await primus.forEach { spark in
                seen.append(spark.id)
                if seen.count == 1 {
                    for other in primus.sparks where other !== spark {
                        try await other.eventLoop.submit { other.end() }.get()
                    }
                    try await waitUntil { primus.connected == 1 }
                }
                return true
            }
            #expect(stopped)
            #expect(seen.count == 1)
            let none = await primus.forEach { _ async in false }
            #expect(!none)
        }
    }
}

import Foundation
