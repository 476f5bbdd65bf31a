import NIOConcurrencyHelpers
import NIOCore
import PrimusCore
import PrimusServer
import Testing

private func echo(_ primus: Primus) {
    primus.onConnection { spark in
        spark.onMessage { message in spark.write(message.value) }
    }
}

@Suite("server-side message transforms, live on loopback")
struct TransformTests {
    @Test("checklist 89: an incoming transform rewrites data before the spark sees it; returning .swallow suppresses it")
    func incomingSync() async throws {
        let received = Recorder<JSONValue>()
        try await withPrimusServer(setup: { primus in
            primus.transform(.incoming) { packet in
                if packet.data == "secret" { return .swallow }
                return .pass(["wrapped": packet.data, "by": .string(packet.spark.id.isEmpty ? "?" : "server")])
            }
            primus.onConnection { spark in spark.onMessage { received.append($0.value) } }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""secret""#)
            try await socket.send(#""foo""#)
            try await waitUntil { received.count == 1 }
            #expect(received.all == [["wrapped": "foo", "by": "server"]])
        }
    }

    @Test("checklist 88: an outgoing transform rewrites spark.write('foo'); returning .swallow sends nothing")
    func outgoingSync() async throws {
        try await withPrimusServer(setup: { primus in
            primus.transform(.outgoing) { packet in
                switch packet.data {
                case "foo": return .pass("bar")
                case "drop": return .swallow
                default: return .pass(packet.data)
                }
            }
            echo(primus)
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""drop""#)
            try await socket.send(#""foo""#)
            #expect(try await socket.nextText() == #""bar""#)
        }
    }

    @Test("checklist 88 and 89: transforms run in the order they were added, each on the previous one's result")
    func chained() async throws {
        let received = Recorder<JSONValue>()
        try await withPrimusServer(setup: { primus in
            primus.transform(.incoming) { .pass(.string(($0.data.stringValue ?? "") + "1")) }
            primus.transform(.incoming) { packet async in .pass(.string((packet.data.stringValue ?? "") + "2")) }
            primus.transform(.incoming) { .pass(.string(($0.data.stringValue ?? "") + "3")) }
            primus.onConnection { spark in spark.onMessage { received.append($0.value) } }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""x""#)
            try await waitUntil { received.count == 1 }
            #expect(received.all == ["x123"])
        }
    }

    @Test("async transforms keep messages in order, both ways, and may swallow")
    func asyncKeepsOrder() async throws {
        try await withPrimusServer(setup: { primus in
            primus.transform(.incoming) { packet async in
                guard let number = packet.data.numberValue else { return .pass(packet.data) }
                // Early messages wait longest: a message must still wait for the one before it.
                try? await Task.sleep(for: .milliseconds(Int(20 - number)))
                if number == 5 { return .swallow }
                return .pass(packet.data)
            }
            primus.transform(.outgoing) { packet async in
                try? await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                return .pass(.string("n\(Int(packet.data.numberValue ?? -1))"))
            }
            echo(primus)
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            for number in 0..<20 { try await socket.send("\(number)") }
            var texts: [String] = []
            for _ in 0..<19 { texts.append(try #require(try await socket.nextText())) }
            #expect(texts == (0..<20).filter { $0 != 5 }.map { #""n\#($0)""# })
        }
    }

    @Test("an async transform that throws reports the error and drops the message; the connection stays")
    func asyncThrows() async throws {
        struct Bad: Error {}
        let errors = Recorder<PrimusError>()
        try await withPrimusServer(setup: { primus in
            primus.transform(.incoming) { packet async throws in
                if packet.data == "bad" { throw Bad() }
                return .pass(packet.data)
            }
            primus.onConnection { spark in
                spark.onError { errors.append($0) }
                spark.onMessage { spark.write($0.value) }
            }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""bad""#)
            try await socket.send(#""good""#)
            #expect(try await socket.nextText() == #""good""#)
            #expect(errors.count == 1)
            #expect(primus.connected == 1)
        }
    }

    @Test("broadcasts go through each spark's outgoing transforms; protocol messages never do")
    func broadcastAndProtocol() async throws {
        let sparks = Recorder<Spark>()
        // No timer: the test ticks the heartbeat itself, so a loaded machine cannot miss a pong.
        try await withPrimusServer({ $0.pingInterval = nil }, setup: { primus in
            primus.transform(.outgoing) { packet in .pass(["to": .string(packet.spark.id), "data": packet.data]) }
            primus.onConnection { sparks.append($0) }
        }) { port, primus in
            let first = try await TestWebSocket.connect(port: port)
            let second = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 2 }
            // The heartbeat's ping is not transformed.
            primus.heartbeat()
            for socket in [first, second] {
                let ping = try #require(try await socket.nextText())
                #expect(pingTimestamp(ping) != nil, "\(ping)")
            }
            primus.write("hi")
            for socket in [first, second] {
                let message = try #require(try await socket.nextJSON())
                #expect(message["data"] == "hi")
                #expect(primus.spark(message["to"]?.stringValue ?? "") != nil)
            }
            struct Note: Codable { var text: String }
            try primus.broadcast(Note(text: "encodable"))
            #expect(try await first.nextJSON()?["data"] == ["text": "encodable"])
            // `primus::server::close` goes out as is.
            sparks.all[0].end()
            var texts: [String] = []
            while let text = try await first.nextText() { texts.append(text) }
            #expect(texts.last == #""primus::server::close""#)
        }
    }

    @Test("an awaited send runs the outgoing transforms too; decode(as:) reads the transformed value")
    func awaitedSendAndDecode() async throws {
        struct Greeting: Codable, Equatable { var hello: String }
        let decoded = Recorder<Greeting>()
        try await withPrimusServer(setup: { primus in
            primus.transform(.incoming) { _ in .pass(["hello": "world"]) }
            primus.transform(.outgoing) { packet async in .pass(["sent": packet.data]) }
            primus.onConnection { spark in
                spark.onMessage { message in
                    if let greeting = try? message.decode(as: Greeting.self) { decoded.append(greeting) }
                    Task { try await spark.send(message.value) }
                }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""anything""#)
            #expect(try await socket.nextJSON() == ["sent": ["hello": "world"]])
            #expect(decoded.all == [Greeting(hello: "world")])
        }
    }
}
