import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PrimusCore
import Testing

@testable import PrimusServer

private typealias T = MiddlewareTesting

@Suite("middleware: authorization")
struct AuthorizationTests {
    /// The `primus-testserver --authorize-token` rule.
    static func bearer(_ token: String) -> @Sendable (PrimusMiddlewareContext) async throws -> Void {
        { context in
            if context.query["token"] == token || context.headers.first(name: "authorization") == "Bearer " + token { return }
            throw PrimusHTTPError.unauthorized("unauthorized", authenticate: "Bearer")
        }
    }

    @Test("authorize sets hasAuthorization; without a hook the layer costs nothing (completion inline)")
    func hookFlag() async {
        let primus = Primus()
        #expect(!primus.hasAuthorization)
        #expect(await T.run(primus, .upgrade, .GET, "/primus").synchronous)
        primus.authorize(Self.bearer("s3cret"))
        #expect(primus.hasAuthorization)
        let run = await T.run(primus, .upgrade, .GET, "/primus?token=s3cret")
        #expect(run.context != nil)
        #expect(!run.synchronous)
        #expect(run.onLoop)
    }

    @Test("checklist 34: a refused request gets 401, {\"error\":…}, WWW-Authenticate, after the HTTP layers' headers")
    func refusedHTTP() async throws {
        let primus = Primus()
        primus.authorize(Self.bearer("s3cret"))
        let response = try #require(await T.run(primus, .http, .GET, "/primus/?EIO=4&transport=polling&token=wrong").response)
        #expect(response.status == .unauthorized)
        #expect(response.headers.lines == [
            "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
            "Pragma: no-cache",
            "Content-Type: application/json",
            "Content-Length: 24",
            "WWW-Authenticate: Bearer",
        ])
        #expect(response.text == #"{"error":"unauthorized"}"#)
    }

    @Test("checklist 34: a refused upgrade gets the raw answer's headers, Connection: close first")
    func refusedUpgrade() async throws {
        let primus = Primus()
        primus.authorize(Self.bearer("s3cret"))
        let response = try #require(await T.run(primus, .upgrade, .GET, "/primus", headers: [("Authorization", "Bearer nope")]).response)
        #expect(response.status == .unauthorized)
        #expect(response.headers.lines == [
            "Connection: close",
            "Content-Type: application/json",
            "Content-Length: 24",
            "WWW-Authenticate: Bearer",
        ])
        #expect(response.text == #"{"error":"unauthorized"}"#)
    }

    @Test("checklist 35: an accepted request goes on (token in the query, or a Bearer header)")
    func accepted() async throws {
        let primus = Primus()
        primus.authorize(Self.bearer("s3cret"))
        #expect(await T.run(primus, .http, .GET, "/primus/?EIO=4&transport=polling&token=s3cret").context != nil)
        #expect(await T.run(primus, .upgrade, .GET, "/primus", headers: [("Authorization", "Bearer s3cret")]).context != nil)
    }

    struct Declined: Error, CustomStringConvertible {
        var description: String { "I failed" }
    }

    @Test("checklist 32: any other error refuses with 401 and its description, no challenge")
    func otherErrorsAre401() async throws {
        let primus = Primus()
        primus.authorize { _ in throw Declined() }
        let response = try #require(await T.run(primus, .upgrade, .GET, "/primus").response)
        #expect(response.status == .unauthorized)
        #expect(response.headers.lines == ["Connection: close", "Content-Type: application/json", "Content-Length: 20"])
        #expect(response.text == #"{"error":"I failed"}"#)
    }

    @Test("checklist 33: a refusal with its own status (404) answers it, and no challenge but for 401")
    func ownStatus() async throws {
        let primus = Primus()
        primus.authorize { _ in throw PrimusHTTPError(status: .notFound, message: "I failed", authenticate: "Basic realm=\"primus\"") }
        let response = try #require(await T.run(primus, .http, .GET, "/primus").response)
        #expect(response.status == .notFound)
        #expect(!response.headers.contains(name: "WWW-Authenticate"))
        #expect(response.text == #"{"error":"I failed"}"#)
    }

    @Test("checklists 31 and 36: the hook sees the headers and the forwarded address, also on upgrades")
    func hookSeesRequest() async throws {
        let primus = Primus()
        let seen = NIOLockedValueBox<[(String?, SparkAddress)]>([])
        primus.authorize { context in
            seen.withLockedValue { $0.append((context.headers.first(name: "x-custom"), context.forwarded)) }
        }
        for kind in [PrimusMiddlewareContext.Kind.http, .upgrade] {
            _ = await T.run(primus, kind, .GET, "/primus", headers: [("X-Custom", "yes"), ("X-Forwarded-For", "198.51.100.4")])
        }
        let calls = seen.withLockedValue { $0 }
        #expect(calls.count == 2)
        for call in calls {
            #expect(call.0 == "yes")
            #expect(call.1 == SparkAddress(ip: "198.51.100.4", port: 51000, secure: false))
        }
    }

    @Test("checklist 35: a delayed hook holds the request until it returns, then it goes on")
    func delayedHook() async throws {
        let primus = Primus()
        let gate = TestGate()
        primus.authorize { _ in await gate.wait() }
        let completed = NIOLockedValueBox(false)
        let finished = Task {
            let run = await T.run(primus, .upgrade, .GET, "/primus")
            completed.withLockedValue { $0 = true }
            return run
        }
        await gate.waitForArrivals(1)
        #expect(!completed.withLockedValue { $0 })
        gate.open()
        let run = await finished.value
        #expect(run.context != nil)
        #expect(run.onLoop)
    }

    @Test("a delayed hook that refuses answers once it decides")
    func delayedRefusal() async throws {
        let primus = Primus()
        let gate = TestGate()
        primus.authorize { _ in
            await gate.wait()
            throw PrimusHTTPError.unauthorized("too late", authenticate: "Bearer")
        }
        async let run = T.run(primus, .http, .GET, "/primus")
        await gate.waitForArrivals(1)
        gate.open()
        let response = try #require(await run.response)
        #expect(response.status == .unauthorized)
        #expect(response.text == #"{"error":"too late"}"#)
    }

    @Test("the hook does not run for primus.js, spec or CORS refusals, which answer before it")
    func earlierAnswersSkipTheHook() async throws {
        let primus = Primus()
        let calls = NIOLockedValueBox(0)
        primus.authorize { _ in calls.withLockedValue { $0 += 1 } }
        #expect(await T.run(primus, .http, .GET, "/primus/spec").response?.status == .ok)
        #expect(await T.run(primus, .http, .GET, "/primus/primus.js").response?.status == .ok)
        #expect(await T.run(primus, .http, .GET, "/primus", headers: [("Origin", "no-scheme")]).response?.status == .forbidden)
        #expect(calls.withLockedValue { $0 } == 0)
        _ = await T.run(primus, .http, .GET, "/primus")
        #expect(calls.withLockedValue { $0 } == 1)
    }

    @Test("authorize and plugins drop the compiled library, so the next request compiles it with them")
    func libraryRecompiled() throws {
        let primus = Primus()
        _ = primus.library()
        #expect(primus.browserLibraryCache.withLockedValue { $0 } != nil)
        primus.authorize { _ in }
        #expect(primus.browserLibraryCache.withLockedValue { $0 } == nil)
        _ = primus.library()
        try primus.plugin(PrimusPlugin(name: "p", client: "function () {}"))
        #expect(primus.browserLibraryCache.withLockedValue { $0 } == nil)
        _ = primus.library()
        primus.plugout("p")
        #expect(primus.browserLibraryCache.withLockedValue { $0 } == nil)
    }

    @Test("a disabled authorization layer lets everything through")
    func disabledLayer() async {
        let primus = Primus()
        primus.authorize { _ in throw Declined() }
        primus.disable("authorization")
        let run = await T.run(primus, .upgrade, .GET, "/primus")
        #expect(run.context != nil)
        #expect(run.synchronous)
    }
}
