import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

private func echo(_ primus: Primus) {
    primus.onConnection { spark in
        spark.onMessage { message in spark.write(message.value) }
    }
}

@Suite("websockets transformer, live on loopback")
struct WebSocketsTransformerTests {
    @Test func upgradesAtThePathnameAndEchoesEveryKindOfJSONValue() async throws {
        try await withPrimusServer(setup: echo) { port, _ in
            let socket = try await TestWebSocket.connect(port: port, target: "/primus?foo=bar")
            let values: [String] = [
                #"{"foo":"bar"}"#, #"[1,"two",null]"#, #""pongРУССКИЙ""#, #""€€€""#, "0", "-1.5", "true", "false", "null", #""""#,
            ]
            for value in values {
                try await socket.send(value)
                let echoed = try #require(try await socket.nextJSON())
                #expect(echoed == (try JSONReader.parse(value)))
            }
        }
    }

    @Test func protocolMessagesTravelAsQuotedJSONStrings() async throws {
        try await withPrimusServer(setup: echo) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""primus::id::""#)
            let text = try #require(try await socket.nextText())
            #expect(text.hasPrefix(#""primus::id::"#) && text.hasSuffix(#"""#))
            let id = String(text.dropFirst(#""primus::id::"#.count).dropLast())
            #expect(primus.spark(id) != nil)
        }
    }

    @Test func serverPingsAndEndsASparkThatNeverAnswers() async throws {
        try await withPrimusServer({ $0.pingInterval = .milliseconds(300) }, setup: echo) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            let ping = try #require(try await socket.nextText())
            #expect(ping.hasPrefix(#""primus::ping::"#))
            let timestamp = Int64(ping.dropFirst(#""primus::ping::"#.count).dropLast())
            #expect(timestamp != nil)
            // No pong: the next tick ends the spark silently (no primus::server::close).
            var texts: [String] = []
            while let text = try await socket.nextText(timeout: .seconds(10)) { texts.append(text) }
            #expect(!texts.contains(#""primus::server::close""#))
            #expect(primus.connected == 0)
        }
    }

    @Test func answeringPingsKeepsTheSparkAlive() async throws {
        // Intervals are generous so a loaded machine cannot miss a deadline: the pong must be
        // read before the next tick, and the whole suite runs in parallel on two cores.
        try await withPrimusServer({ $0.pingInterval = .seconds(2) }, setup: echo) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            for _ in 0..<2 {
                let ping = try #require(try await socket.nextText())
                #expect(ping.hasPrefix(#""primus::ping::"#))
                try await socket.send(ping.replacingOccurrences(of: "ping", with: "pong"))
            }
            #expect(primus.connected == 1)
        }
    }

    @Test func aWebSocketPingFrameCountsAsAPong() async throws {
        try await withPrimusServer({ $0.pingInterval = .seconds(2) }, setup: echo) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            for _ in 0..<2 {
                _ = try #require(try await socket.nextText())
                try await socket.send(frame: WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer(string: "hi")))
            }
            #expect(primus.connected == 1)
        }
    }

    @Test func endSendsServerCloseButEndWithReconnectDoesNot() async throws {
        try await withPrimusServer { port, primus in
            let ended = try await TestWebSocket.connect(port: port)
            let reconnecting = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 2 }
            let sparks = primus.sparks
            #expect(sparks.count == 2)
            sparks[0].end(0)
            sparks[1].end(reconnect: true)
            var first: [String] = []
            while let text = try await ended.nextText() { first.append(text) }
            var second: [String] = []
            while let text = try await reconnecting.nextText() { second.append(text) }
            let all = [first, second]
            #expect(all.contains(["0", #""primus::server::close""#]))
            #expect(all.contains([]))
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test("checklist 78: writing to a spark after end neither throws nor sends")
    func writingAfterEndIsIgnored() async throws {
        try await withPrimusServer { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            spark.end()
            spark.write("late")  // queued behind end() on the spark's event loop: ignored
            try await waitUntil { spark.readyState == .closed }
            var texts: [String] = []
            while let text = try await socket.nextText() { texts.append(text) }
            #expect(texts == [#""primus::server::close""#])
        }
    }

    @Test("checklist 80: with maxLength 5, 'abcdef' is not delivered and closes with 1009")
    func messagesLongerThanMaxLengthCloseWith1009() async throws {
        try await withPrimusServer({ $0.maxLength = 5 }, setup: echo) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""abcdef""#)
            #expect(try await socket.closeCode() == 1009)
        }
    }

    /// Frames NIO's decoder refuses before any payload: answered by the transport handler.
    static let refusedFrameHeaders: [(String, [UInt8], UInt16)] = [
        // A text frame claiming 2^40 bytes: over the frame limit.
        ("oversized", [0x81, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4], 1009),
        // A ping without FIN: control frames cannot be fragmented.
        ("fragmented ping", [0x09, 0x80, 1, 2, 3, 4], 1002),
        // A ping with a 16-bit length: control frames carry at most 125 bytes.
        ("long ping", [0x89, 0xFE, 0, 200, 1, 2, 3, 4], 1002),
    ]

    @Test(arguments: refusedFrameHeaders)
    func framesTheDecoderRefusesAreClosedWithTheirCode(_ label: String, _ header: [UInt8], _ code: UInt16) async throws {
        try await withPrimusServer { port, _ in
            let client = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake())
            try await client.waitFor("\r\n\r\n")
            try await client.channel.writeAndFlush(ByteBuffer(bytes: header)).get()
            _ = try? await client.readToEnd()
            let bytes = client.bytes
            let head = try #require(bytes.firstRange(of: Array("\r\n\r\n".utf8)))
            let frames = Array(bytes[head.upperBound...])
            // One close frame: FIN + close, 2 bytes of payload, the code.
            #expect(frames == [0x88, 0x02, UInt8(code >> 8), UInt8(code & 0xFF)], "\(label)")
        }
    }

    @Test func fragmentedMessagesOverMaxLengthCloseWith1009() async throws {
        try await withPrimusServer({ $0.maxLength = 8 }, setup: echo) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(frame: WebSocketFrame(fin: false, opcode: .text, maskKey: .random(), data: ByteBuffer(string: "\"abcd")))
            try await socket.send(frame: WebSocketFrame(fin: true, opcode: .continuation, maskKey: .random(), data: ByteBuffer(string: "efgh\"")))
            #expect(try await socket.closeCode() == 1009)
        }
    }

    @Test func fragmentedMessagesAreReassembled() async throws {
        try await withPrimusServer(setup: echo) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(frame: WebSocketFrame(fin: false, opcode: .text, maskKey: .random(), data: ByteBuffer(string: "{\"a\":")))
            try await socket.send(frame: WebSocketFrame(fin: true, opcode: .continuation, maskKey: .random(), data: ByteBuffer(string: "\"€\"}")))
            #expect(try await socket.nextJSON() == ["a": "€"])
        }
    }

    @Test func invalidUTF8ClosesWith1007() async throws {
        try await withPrimusServer(setup: echo) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.sendRawText([0x22, 0xC3, 0x28, 0x22])
            #expect(try await socket.closeCode() == 1007)
        }
    }

    @Test func invalidJSONIsReportedAndDroppedButTheConnectionStays() async throws {
        let errors = NIOLockedValueBox<[PrimusError]>([])
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onError { error in errors.withLockedValue { $0.append(error) } }
                spark.onMessage { message in spark.write(message.value) }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send("{not json")
            try await socket.send(#""still here""#)
            #expect(try await socket.nextJSON() == "still here")
            #expect(errors.withLockedValue { $0.map(\.code) } == [.decodingFailed])
        }
    }

    @Test func clientCloseHandshakeIsAnsweredAndTheSparkEnds() async throws {
        let ended = NIOLockedValueBox(false)
        try await withPrimusServer(setup: { primus in
            primus.onDisconnection { _ in ended.withLockedValue { $0 = true } }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            var payload = ByteBuffer()
            payload.writeInteger(UInt16(1000))
            try await socket.send(frame: WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload))
            #expect(try await socket.closeCode() == 1000)
            try await waitUntil { primus.connected == 0 && ended.withLockedValue { $0 } }
        }
    }

    @Test("checklist 42, 74 and 76: the spark sees the query, the headers, and the client's ephemeral port")
    func sparkSeesQueryHeadersAndAddress() async throws {
        try await withPrimusServer { port, primus in
            let socket = try await TestWebSocket.connect(port: port, target: "/primus?foo=bar&n=1&n=2", headers: ["x-custom": "yes"])
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            #expect(spark.query["foo"] == "bar")
            #expect(spark.query.values(for: "n") == ["1", "2"])
            #expect(spark.headers["x-custom"] == ["yes"])
            #expect(spark.address.ip == "127.0.0.1")
            let localPort = try #require(socket.channel.localAddress?.port)
            #expect(spark.address.port == localPort)
            #expect(spark.address.port != port)
        }
    }

    @Test("checklist 77: x-forwarded-for and x-forwarded-port give the first address and port")
    func forwardedHeadersGiveTheClientAddress() async throws {
        try await withPrimusServer { port, primus in
            _ = try await TestWebSocket.connect(
                port: port,
                headers: ["x-forwarded-for": "13.3.37.1,12.12.12.12", "x-forwarded-port": "9083,1334"]
            )
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            #expect(spark.address == SparkAddress(ip: "13.3.37.1", port: 9083, secure: false))
        }
    }

    @Test func untrustedPeersCannotSpoofTheirAddress() async throws {
        try await withPrimusServer({ $0.trustedProxies = .addresses(["10.0.0.1"]) }) { port, primus in
            _ = try await TestWebSocket.connect(port: port, headers: ["x-forwarded-for": "13.3.37.1"])
            try await waitUntil { primus.connected == 1 }
            #expect(primus.sparks.first?.address.ip == "127.0.0.1")
        }
    }

    @Test func broadcastReachesEverySpark() async throws {
        try await withPrimusServer { port, primus in
            let a = try await TestWebSocket.connect(port: port)
            let b = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 2 }
            primus.write(["news": "hello"])
            #expect(try await a.nextJSON() == ["news": "hello"])
            #expect(try await b.nextJSON() == ["news": "hello"])
        }
    }

    @Test func encodableValuesAreWrittenAsJSON() async throws {
        struct Greeting: Codable, Equatable { var text: String; var count: Int }
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { message in
                    guard var greeting = try? message.decode(as: Greeting.self) else { return }
                    greeting.count += 1
                    spark.write(greeting)
                }
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#"{"text":"hi\u2028","count":1}"#)
            let text = try #require(try await socket.nextText())
            #expect(text.contains(#"\u2028"#))
            #expect(try JSONReader.parse(text) == ["text": "hi\u{2028}", "count": 2])
        }
    }

    @Test func hundredClientsWritingBeforeTheirHandlerRunsLoseNothing() async throws {
        // Connections are consumed through the async sequence, slowly: every client has written
        // all its messages before the application starts reading them.
        try await withPrimusServer { port, primus in
            let connections = primus.connections
            let consumer = Task {
                await withDiscardingTaskGroup { group in
                    for await spark in connections {
                        group.addTask {
                            try? await Task.sleep(for: .milliseconds(50))
                            for await message in spark.messages { spark.write(message.value) }
                        }
                    }
                }
            }
            defer { consumer.cancel() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<100 {
                    group.addTask {
                        let socket = try await TestWebSocket.connect(port: port)
                        for index in 0..<10 { try await socket.send(#"{"client":\#(client),"index":\#(index)}"#) }
                        for index in 0..<10 {
                            let echoed = try #require(try await socket.nextJSON(timeout: .seconds(10)))
                            #expect(echoed == ["client": .number(Double(client)), "index": .number(Double(index))])
                        }
                        await socket.disconnect()
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func shutdownEndsEverySpark() async throws {
        try await withPrimusServer { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            await primus.shutdown(reconnect: false)
            #expect(try await socket.nextText() == #""primus::server::close""#)
            #expect(primus.connected == 0)
        }
    }
}

@Suite("HTTP under and outside the pathname")
struct HTTPEndpointTests {
    @Test func specDescribesTheServer() async throws {
        try await withPrimusServer({ $0.pingInterval = .seconds(25) }) { port, _ in
            let response = try await httpRequest(port: port, target: "/primus/spec")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "application/json")
            #expect(response.body == #"{"pingInterval":25000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#)
        }
    }

    @Test func specSaysFalseWhenHeartbeatsAreOff() async throws {
        try await withPrimusServer({ $0.pingInterval = nil; $0.pathname = "realtime" }) { port, _ in
            let response = try await httpRequest(port: port, target: "/realtime/spec")
            #expect(response.body == #"{"pingInterval":false,"pathname":"/realtime","version":"8.0.9","parser":"json","transformer":"websockets"}"#)
        }
    }

    @Test func plainHTTPToThePathnameIsToldToUpgrade() async throws {
        try await withPrimusServer { port, _ in
            let response = try await httpRequest(port: port, target: "/primus?foo=bar")
            #expect(response.status == 426)
            #expect(response.body == "Upgrade Required")
        }
    }

    @Test("checklist 21: requests outside the pathname reach the fallback (the original listener)")
    func requestsOutsideThePathnameReachTheFallback() async throws {
        try await withPrimusServer(fallback: { request in .text("original listener \(request.path)") }) { port, _ in
            let response = try await httpRequest(port: port, target: "/nothrow")
            #expect(response.status == 200)
            #expect(response.body == "original listener /nothrow")
        }
    }

    @Test func theDefaultFallbackIs404() async throws {
        try await withPrimusServer { port, _ in
            let response = try await httpRequest(port: port, target: "/elsewhere")
            #expect(response.status == 404)
        }
    }

    @Test func upgradesOutsideThePathnameAreRefused() async throws {
        try await withPrimusServer { port, _ in
            await #expect(throws: (any Error).self) {
                _ = try await TestWebSocket.connect(port: port, target: "/elsewhere")
            }
        }
    }
}

/// Polls `condition` until it holds (at most 5 s): for server-side effects that follow a socket event.
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within 5 s")
    throw TimedOut()
}

import Foundation
