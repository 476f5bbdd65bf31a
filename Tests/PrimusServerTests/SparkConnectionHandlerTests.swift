import NIOConcurrencyHelpers
import NIOCore
import PrimusCore
import PrimusServer
import Testing

@Suite("async connection handlers, live on loopback")
struct SparkConnectionHandlerTests {
    @Test("checklist 98: an async connection handler delays the later handlers until it finishes")
    func asyncHandlerDelaysLaterOnes() async throws {
        let order = Recorder<String>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { _ in order.append("sync 1") }
            primus.onConnection { _ async in
                order.append("async begins")
                try? await Task.sleep(for: .milliseconds(100))
                order.append("async ends")
            }
            primus.onConnection { spark in
                #expect(spark.eventLoop.inEventLoop)  // sync handlers stay on the spark's loop
                order.append("sync 2")
            }
            primus.onConnection { _ async in order.append("async 2") }
        }) { port, _ in
            _ = try await TestWebSocket.connect(port: port)
            try await waitUntil { order.count == 5 }
            #expect(order.all == ["sync 1", "async begins", "async ends", "sync 2", "async 2"])
        }
    }

    @Test("checklist 99: messages sent while the async handler runs arrive after it, in order, none lost")
    func messagesWaitInOrder() async throws {
        let events = Recorder<String>()
        let release = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark async in
                events.append("handler begins")
                // Attaching the reader here does not start delivery: it waits for the handler.
                spark.onMessage { message in events.append(message.value.stringValue ?? "?") }
                await withCheckedContinuation { continuation in release.withLockedValue { $0 = continuation } }
                events.append("handler ends")
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            for word in ["hello", "in", "order"] { try await socket.send(#""\#(word)""#) }
            try await waitUntil { release.withLockedValue { $0 != nil } }
            // Give the three messages every chance to arrive at the server while it holds them.
            try await socket.send(#""primus::id::""#)
            _ = try await socket.nextText()
            #expect(events.all == ["handler begins"])
            release.withLockedValue { $0?.resume() }
            try await waitUntil { events.count == 5 }
            #expect(events.all == ["handler begins", "handler ends", "hello", "in", "order"])
        }
    }

    @Test("checklist 99: the async sequence reader also waits for the handlers, then gets everything in order")
    func streamReaderWaits() async throws {
        let received = Recorder<String>()
        let gate = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
        try await withPrimusServer(setup: { primus in
            primus.onConnection { _ async in
                await withCheckedContinuation { continuation in gate.withLockedValue { $0 = continuation } }
            }
            primus.onConnection { spark in
                Task { for await message in spark.messages { received.append(message.value.stringValue ?? "?") } }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            for index in 0..<50 { try await socket.send(#""m\#(index)""#) }
            try await waitUntil { gate.withLockedValue { $0 != nil } }
            #expect(received.count == 0)
            gate.withLockedValue { $0?.resume() }
            try await waitUntil { received.count == 50 }
            #expect(received.all == (0..<50).map { "m\($0)" })
        }
    }

    @Test("checklist 71: connection comes before any data, for clients that write at once")
    func connectionBeforeData() async throws {
        let events = Recorder<String>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark async in
                events.append("connection \(spark.id)")
                spark.onMessage { _ in events.append("data \(spark.id)") }
            }
        }) { port, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let socket = try await TestWebSocket.connect(port: port)
                        try await socket.send(#""foo""#)
                    }
                }
                try await group.waitForAll()
            }
            try await waitUntil { events.count == 20 }
            let all = events.all
            for event in all where event.hasPrefix("data ") {
                let id = event.dropFirst("data ".count)
                let connection = try #require(all.firstIndex(of: "connection \(id)"))
                #expect(connection < all.firstIndex(of: event)!)
            }
        }
    }

    @Test("a connection handler that throws reports the error and ends the spark with primus::server::close")
    func throwingHandlerEndsTheSpark() async throws {
        struct Refused: Error {}
        let errors = Recorder<PrimusError>()
        let later = Recorder<Bool>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in spark.onError { errors.append($0) } }
            primus.onConnection { _ async throws in throw Refused() }
            primus.onConnection { _ in later.append(true) }
        }) { port, primus in
            // Raw bytes: the handler may fail before the client has finished its upgrade.
            let client = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake())
            let received = try await client.readToEnd()
            #expect(received.hasPrefix("HTTP/1.1 101"))
            #expect(received.contains(#""primus::server::close""#))
            try await waitUntil { primus.connected == 0 }
            #expect(errors.count == 1)
            #expect(errors.all.first?.code == .connectionFailed)
            #expect(later.count == 0)  // the chain stops, as with Primus's next(err)
        }
    }
}
