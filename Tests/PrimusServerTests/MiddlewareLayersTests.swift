import NIOCore
import NIOHTTP1
import PrimusCore
import Testing

@testable import PrimusServer

private typealias T = MiddlewareTesting

@Suite("middleware: the default layers, byte for byte")
struct MiddlewareLayersTests {
    @Test("the default layers are Primus 8's, in its order, each for its kinds")
    func defaultLayers() {
        let layers = Primus().layers
        #expect(layers.map(\.name) == ["forwarded", "cors", "primus.js", "spec", "x-xss", "no-cache", "authorization"])
        #expect(layers.map(\.kinds) == [.all, .http, .http, .http, .http, .http, .all])
        #expect(layers.map(\.isEnabled) == Array(repeating: true, count: 7))
    }

    @Test("checklist 20: GET <pathname>/spec answers 200 application/json with the spec")
    func specAnswer() async throws {
        let primus = Primus()
        let run = await T.run(primus, .http, .GET, "/primus/spec")
        let response = try #require(run.response)
        let body = #"{"pingInterval":30000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#
        #expect(response.status == .ok)
        #expect(response.headers.lines == [
            "Content-Type: application/json",
            "Content-Length: \(body.utf8.count)",
            "cache-control: no-store, no-cache, must-revalidate, max-age=0",
        ])
        #expect(response.text == body)
        #expect(run.synchronous)
        #expect(run.onLoop)

        let head = try #require(await T.run(primus, .http, .HEAD, "/primus/spec").response)
        #expect(head.status == .ok)
        #expect(head.text == body)  // the front-end leaves the body out for HEAD
    }

    @Test("spec is HTTP only and GET/HEAD only: an upgrade or a POST to it goes on")
    func specOnlyForHTTPGets() async {
        let primus = Primus()
        #expect(await T.run(primus, .upgrade, .GET, "/primus/spec").context != nil)
        #expect(await T.run(primus, .http, .POST, "/primus/spec").context != nil)
        #expect(await T.run(primus, .http, .GET, "/primus/spec?x=1").response?.status == .ok)
    }

    @Test("checklist 14: GET <pathname>/primus.js answers the library as text/javascript")
    func libraryAnswer() async throws {
        var configuration = PrimusConfiguration()
        configuration.pathname = "/realtime"
        let primus = Primus(configuration: configuration)
        let response = try #require(await T.run(primus, .http, .GET, "/realtime/primus.js").response)
        let library = primus.library()
        #expect(response.status == .ok)
        #expect(response.headers.lines == [
            "etag: \(primus.browserLibrary.etag)",
            "cache-control: no-cache",
            "content-type: text/javascript; charset=utf-8",
        ])
        #expect(response.text == library)
        #expect(library.contains("Primus.prototype"))

        let revalidated = try #require(
            await T.run(primus, .http, .GET, "/realtime/primus.js", headers: [("If-None-Match", primus.browserLibrary.etag)]).response
        )
        #expect(revalidated.status == .notModified)
        #expect(await T.run(primus, .upgrade, .GET, "/realtime/primus.js").context != nil)
        #expect(await T.run(primus, .http, .GET, "/primus/primus.js").response == nil)
    }

    @Test("no-cache: a request that goes on carries Cache-Control and Pragma for the transport's answer")
    func noCacheHeaders() async throws {
        let primus = Primus()
        let context = try #require(await T.run(primus, .http, .GET, "/primus/?EIO=4&transport=polling").context)
        #expect(context.responseHeaders.lines == [
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "Pragma: no-cache",
        ])
        let upgrade = try #require(await T.run(primus, .upgrade, .GET, "/primus").context)
        #expect(upgrade.responseHeaders.isEmpty)
    }

    @Test("x-xss: Internet Explorer gets X-XSS-Protection: 0, others nothing")
    func xssHeader() async throws {
        let primus = Primus()
        for agent in ["Mozilla/4.0 (compatible;MSIE 7.0; Windows NT 6.0)", "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko"] {
            let context = try #require(await T.run(primus, .http, .GET, "/primus", headers: [("User-Agent", agent)]).context)
            #expect(context.responseHeaders.lines == [
                "X-XSS-Protection: 0",
                "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
                "Pragma: no-cache",
            ])
        }
        let chrome = try #require(await T.run(primus, .http, .GET, "/primus", headers: [("User-Agent", "Mozilla/5.0 Chrome/120")]).context)
        #expect(!chrome.responseHeaders.contains(name: "X-XSS-Protection"))
    }

    @Test("forwarded: the client's address through a trusted proxy, for requests and upgrades")
    func forwardedAddress() async throws {
        let primus = Primus()
        let headers = [("X-Forwarded-For", "203.0.113.7, 10.0.0.1"), ("X-Forwarded-Port", "4431"), ("X-Forwarded-Proto", "https")]
        for kind in [PrimusMiddlewareContext.Kind.http, .upgrade] {
            let context = try #require(await T.run(primus, kind, .GET, "/primus", headers: headers).context)
            #expect(context.forwarded == SparkAddress(ip: "203.0.113.7", port: 4431, secure: true))
        }
        let direct = try #require(await T.run(primus, .upgrade, .GET, "/primus").context)
        #expect(direct.forwarded == SparkAddress(ip: "127.0.0.1", port: 51000, secure: false))
        let tls = try #require(await T.run(primus, .upgrade, .GET, "/primus", secure: true).context)
        #expect(tls.forwarded.secure)
        let protoOnly = try #require(await T.run(primus, .http, .GET, "/primus", headers: [("X-Forwarded-Proto", "https")]).context)
        #expect(protoOnly.forwarded == SparkAddress(ip: "127.0.0.1", port: 51000, secure: true))
    }

    @Test("forwarded: an untrusted peer's forwarding headers are ignored")
    func forwardedUntrusted() async throws {
        var configuration = PrimusConfiguration()
        configuration.trustedProxies = .addresses(["10.0.0.1"])
        let primus = Primus(configuration: configuration)
        let headers = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]
        let untrusted = try #require(await T.run(primus, .http, .GET, "/primus", headers: headers, peer: "192.0.2.9").context)
        #expect(untrusted.forwarded == SparkAddress(ip: "192.0.2.9", port: 51000, secure: false))
        let trusted = try #require(await T.run(primus, .http, .GET, "/primus", headers: headers, peer: "10.0.0.1").context)
        #expect(trusted.forwarded == SparkAddress(ip: "203.0.113.7", port: 51000, secure: true))
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "database \"down\"" }
    }

    @Test("a layer's thrown error answers 500 {\"error\": …} as Primus's error responder")
    func thrownErrorAnswers500() async throws {
        let primus = Primus()
        primus.use(PrimusMiddleware(name: "broken") { _ in throw Broken() })
        let http = try #require(await T.run(primus, .http, .GET, "/primus").response)
        let body = #"{"error":"database \"down\""}"#
        #expect(http.status == .internalServerError)
        #expect(http.headers.lines == [
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "Pragma: no-cache",
            "Content-Type: application/json",
            "Content-Length: \(body.utf8.count)",
        ])
        #expect(http.text == body)

        let upgrade = try #require(await T.run(primus, .upgrade, .GET, "/primus").response)
        #expect(upgrade.status == .internalServerError)
        #expect(upgrade.headers.lines == ["Connection: close", "Content-Type: application/json", "Content-Length: \(body.utf8.count)"])
        #expect(upgrade.text == body)
    }

    @Test("a layer's PrimusHTTPError answers its status; WWW-Authenticate only with 401")
    func thrownHTTPError() async throws {
        let primus = Primus()
        primus.use(PrimusMiddleware(name: "gate", kinds: .upgrade) { context in
            if context.query["who"] == "nobody" { throw PrimusHTTPError.unauthorized("who?", authenticate: "Basic realm=\"primus\"") }
            throw PrimusHTTPError(status: .forbidden, message: "no", authenticate: "Basic")
        })
        let forbidden = try #require(await T.run(primus, .upgrade, .GET, "/primus").response)
        #expect(forbidden.status == .forbidden)
        #expect(forbidden.headers.lines == ["Connection: close", "Content-Type: application/json", "Content-Length: \(#"{"error":"no"}"#.utf8.count)"])
        #expect(forbidden.text == #"{"error":"no"}"#)

        let unauthorized = try #require(await T.run(primus, .upgrade, .GET, "/primus?who=nobody").response)
        #expect(unauthorized.status == .unauthorized)
        #expect(unauthorized.headers.lines == [
            "Connection: close", "Content-Type: application/json", "Content-Length: 16", "WWW-Authenticate: Basic realm=\"primus\"",
        ])
        #expect(unauthorized.text == #"{"error":"who?"}"#)
        // HTTP only layers never saw it, and the gate is upgrade only.
        #expect(await T.run(primus, .http, .GET, "/primus").context != nil)
    }

    @Test("a layer's answer carries the earlier layers' headers, which it cannot override")
    func answersCarryProtectedHeaders() async throws {
        let primus = Primus()
        primus.use(PrimusMiddleware(name: "teapot", kinds: .http) { _ in
            .respond(PrimusHTTPResponse(status: .imATeapot, headers: ["Pragma": "cache-me", "Content-Type": "text/plain"], body: ByteBuffer(string: "short and stout")))
        })
        let response = try #require(await T.run(primus, .http, .GET, "/primus", headers: [("Origin", "https://a.example")]).response)
        #expect(response.status == .imATeapot)
        #expect(response.headers.lines == [
            "Access-Control-Allow-Origin: https://a.example",
            "Vary: Origin",
            "Access-Control-Allow-Credentials: true",
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "Pragma: no-cache",
            "Content-Type: text/plain",
        ])
    }

    @Test("an upgrade answered by a layer says Connection: close")
    func upgradeAnswerClosesConnection() async throws {
        let primus = Primus()
        primus.use(PrimusMiddleware(name: "busy", kinds: .upgrade) { _ in
            .respond(PrimusHTTPResponse(status: .serviceUnavailable, headers: ["Connection": "keep-alive", "Retry-After": "5"]))
        }, at: 0)
        let response = try #require(await T.run(primus, .upgrade, .GET, "/primus").response)
        #expect(response.headers.lines == ["Connection: close", "Retry-After: 5"])
    }

    @Test("the transformer's answer gets the middleware's headers first, and keeps its own others")
    func addingMiddlewareHeaders() {
        var middleware = HTTPHeaders()
        middleware.add(name: "Access-Control-Allow-Origin", value: "https://a.example")
        middleware.add(name: "Cache-Control", value: "no-store, no-cache, must-revalidate, max-age=0")
        let transformer = PrimusHTTPResponse(status: .ok, headers: ["content-type": "text/plain", "access-control-allow-origin": "*"])
        #expect(transformer.addingMiddlewareHeaders(middleware).headers.lines == [
            "Access-Control-Allow-Origin: https://a.example",
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "content-type: text/plain",
        ])
        #expect(transformer.addingMiddlewareHeaders(HTTPHeaders()).headers.lines == transformer.headers.lines)
    }

    @Test("with no authorization hook and no async layer the chain completes inline: no task, no hop")
    func fastPathIsSynchronous() async {
        let primus = Primus()
        let polling = await T.run(primus, .http, .GET, "/primus/?EIO=4&transport=polling")
        #expect(polling.context != nil && polling.synchronous && polling.onLoop)
        let upgrade = await T.run(primus, .upgrade, .GET, "/primus")
        #expect(upgrade.context != nil && upgrade.synchronous && upgrade.onLoop)
        #expect(!primus.hasAuthorization)
    }

    @Test("an async layer moves the rest of the chain to a task; completion comes back on the loop, in order")
    func asyncLayerHops() async throws {
        let primus = Primus()
        let gate = TestGate()
        primus.use(PrimusMiddleware.asynchronous(name: "slow") { context in
            await gate.wait()
            context.responseHeaders.add(name: "X-Slow", value: "1")
            return .next
        }, at: 1)
        primus.use(PrimusMiddleware(name: "last") { context in
            context.responseHeaders.add(name: "X-Last", value: String(context.responseHeaders.contains(name: "X-Slow")))
            return .next
        })
        async let run = T.run(primus, .http, .GET, "/primus")
        await gate.waitForArrivals(1)
        gate.open()
        let finished = await run
        #expect(!finished.synchronous)
        #expect(finished.onLoop)
        let context = try #require(finished.context)
        #expect(context.responseHeaders.lines == [
            "X-Slow: 1",
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "Pragma: no-cache",
            "X-Last: true",
        ])
    }
}
