import NIOCore
import PrimusCore
import PrimusServer
import Testing

/// A transformer defined in this test target with public API only (``ToyLongPollingTransformer``)
/// serves sparks like the built-in ones: connection events, echo, broadcast, `spark.end`, the
/// spec, streamed answers, and clean-up when the client leaves.
@Suite("A transformer defined outside PrimusServer", .timeLimit(.minutes(1)))
struct CustomTransformerTests {
    private func configure(_ configuration: inout PrimusConfiguration) {
        configuration.transformer = .toyLongPolling
        configuration.pingInterval = nil
    }

    private func echo(_ primus: Primus) {
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
        }
    }

    @Test("checklist 7: a custom transformer defined outside PrimusServer serves sparks: open, echo, broadcast and end")
    func sparksOpenEchoBroadcastAndEnd() async throws {
        try await withPrimusServer(configure, setup: echo) { port, primus in
            let opened = try await httpRequest(port: port, target: "/primus/?open")
            #expect(opened.status == 200)
            let id = opened.body
            #expect(primus.connected == 1 && primus.spark(id) != nil)
            #expect(try await httpRequest(port: port, target: "/primus/spec").body.contains(#""transformer":"toy-long-polling""#))

            let posted = try await httpRequest(port: port, method: "POST", target: "/primus/?id=\(id)", body: "\"hello\"\n{\"n\":1}")
            #expect(posted.body == "ok")
            let polled = try await httpRequest(port: port, target: "/primus/?id=\(id)")
            #expect(polled.body == "\"hello\"\n{\"n\":1}")

            // A broadcast reaches the next poll, whether it was parked first or arrives after.
            async let parked = httpRequest(port: port, target: "/primus/?id=\(id)")
            primus.write("to everyone")
            #expect(try await parked.body == "\"to everyone\"")

            // `spark.end()` leaves `primus::server::close` for the next poll, then the session goes.
            primus.spark(id)?.end()
            try await waitUntil { primus.connected == 0 }
            let last = try await httpRequest(port: port, target: "/primus/?id=\(id)")
            #expect(last.body == "\"primus::server::close\"")
            #expect(primus.connected == 0)
            #expect(try await httpRequest(port: port, target: "/primus/?id=\(id)").status == 404)
        }
    }

    @Test func aStreamedAnswerCarriesMessagesAndItsClientLeavingEndsTheSpark() async throws {
        try await withPrimusServer(configure, setup: echo) { port, primus in
            let id = try await httpRequest(port: port, target: "/primus/?open").body
            let client = try await RawHTTPClient.connect(port: port, sending: "GET /primus/?id=\(id)&stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let head = try await client.waitFor("\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200 OK"))
            #expect(head.lowercased().contains("transfer-encoding: chunked"))
            _ = try await httpRequest(port: port, method: "POST", target: "/primus/?id=\(id)", body: "\"one\"\n\"two\"")
            let streamed = try await client.waitFor("\"two\"\n")
            #expect(streamed.contains("\"one\"\n"))
            client.close()
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test func upgradesAreRefusedByDefaultAndMiddlewareStillAnswersTheLibrary() async throws {
        try await withPrimusServer(configure) { port, _ in
            let client = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake(path: "/primus"))
            let answer = try await client.readToEnd()
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request"))
            #expect(answer.lowercased().contains("connection: close"))
            let library = try await httpRequest(port: port, target: "/primus/primus.js")
            #expect(library.status == 200 && library.body.contains("toy-long-polling"))
        }
    }
}
