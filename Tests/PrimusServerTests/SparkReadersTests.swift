import NIOConcurrencyHelpers
import PrimusCore
import PrimusServer
import Testing

/// Several `onMessage` handlers on one spark, as Primus allows several `data` listeners: each
/// gets every message, in the order the handlers were added, over a real WebSocket.
@Suite("Spark readers", .timeLimit(.minutes(1)))
struct SparkReadersTests {
    @Test func everyOnMessageHandlerGetsEveryMessageInOrder() async throws {
        let seen = NIOLockedValueBox<[String]>([])
        try await withPrimusServer({ $0.pingInterval = nil }, setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { message in seen.withLockedValue { $0.append("first \(message.value)") } }
                spark.onMessage { message in
                    seen.withLockedValue { $0.append("second \(message.value)") }
                    spark.write(message.value)
                }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send("1")
            try await socket.send("2")
            #expect(try await socket.nextText() == "1")
            #expect(try await socket.nextText() == "2")
            #expect(seen.withLockedValue { $0 } == ["first 1", "second 1", "first 2", "second 2"])
            await socket.disconnect()
        }
    }
}
