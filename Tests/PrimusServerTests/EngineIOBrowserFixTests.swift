import PrimusCore
import PrimusServer
import Testing

// Server fixes of the `engine.io` transformer found by the browser client in Chromium.

@Suite("engine.io transformer, fixes found by the browser client")
struct EngineIOBrowserFixTests {
    /// A spark that ends itself on a message (`spark.end()`, with or without reconnect) must not
    /// turn the POST that carried the message into a `400`: the payload was accepted. The browser
    /// client would report that `400` as an `error` before the clean `end`.
    @Test func aPostWhoseMessageEndsTheSparkIsAnsweredOK() async throws {
        try await withPrimusServer({
            $0.transformer = .engineIO
            $0.pingInterval = nil
        }, setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { message in
                    if message.value == .string("bye") { spark.end(reconnect: true) }
                }
            }
        }) { port, _ in
            let polling = "/primus/?EIO=4&transport=polling"
            // The bug needs a poll parked when the session closes. Parking is not observable from
            // here, so each attempt checks afterwards that its poll was parked (it then gets the
            // close packet; one that came too late gets `400`).
            var parkedAttempts = 0
            for _ in 0..<20 where parkedAttempts == 0 {
                let open = try await httpRequest(port: port, target: polling)
                let sid = try EngineIOHandshake(json: String(open.body.dropFirst())).sid
                async let poll = httpRequest(port: port, target: polling + "&sid=\(sid)")
                try await Task.sleep(for: .milliseconds(100))  // lets the poll park (checked below)
                let post = try await httpRequest(port: port, method: "POST", target: polling + "&sid=\(sid)", body: "4\"bye\"")
                let parked = try await poll
                guard parked.status == 200 else { continue }
                parkedAttempts += 1
                #expect(parked.body.hasSuffix("1"))
                #expect(post.status == 200)
                #expect(post.body == "ok")
            }
            #expect(parkedAttempts == 1)
        }
    }
}
