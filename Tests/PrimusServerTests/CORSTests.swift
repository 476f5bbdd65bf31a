import NIOCore
import NIOHTTP1
import PrimusCore
import Testing

@testable import PrimusServer

private typealias T = MiddlewareTesting

private let noCache = ["Cache-Control: no-store, no-cache, must-revalidate, max-age=0", "Pragma: no-cache"]

@Suite("middleware: cors (Primus's access-control)")
struct CORSTests {
    @Test("a request without Origin gets no CORS headers")
    func sameOrigin() async throws {
        let context = try #require(await T.run(Primus(), .http, .GET, "/primus").context)
        #expect(context.responseHeaders.lines == noCache)
    }

    @Test("defaults: any origin, echoed with Vary and credentials")
    func allowedByDefault() async throws {
        let context = try #require(await T.run(Primus(), .http, .GET, "/primus", headers: [("Origin", "https://App.example:8443")]).context)
        #expect(context.responseHeaders.lines == [
            "Access-Control-Allow-Origin: https://App.example:8443",
            "Vary: Origin",
            "Access-Control-Allow-Credentials: true",
        ] + noCache)
    }

    @Test("without credentials and with any origin, the origin is *")
    func wildcardWithoutCredentials() async throws {
        var configuration = PrimusConfiguration()
        configuration.cors.credentials = false
        configuration.cors.exposed = ["X-Request-Id", "X-Trace"]
        let context = try #require(
            await T.run(Primus(configuration: configuration), .http, .POST, "/primus", headers: [("Origin", "null")]).context
        )
        #expect(context.responseHeaders.lines == [
            "Access-Control-Allow-Origin: *",
            "Access-Control-Expose-Headers: X-Request-Id,X-Trace",
        ] + noCache)
    }

    @Test("a preflight answers 200 with Primus's headers and an empty body")
    func preflight() async throws {
        let run = await T.run(Primus(), .http, .OPTIONS, "/primus/?EIO=4&transport=polling", headers: [
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, authorization"),
        ])
        let response = try #require(run.response)
        #expect(response.status == .ok)
        #expect(response.headers.lines == [
            "Access-Control-Allow-Origin: http://localhost:3000",
            "Vary: Origin",
            "Access-Control-Allow-Credentials: true",
            "Access-Control-Max-Age: 2592000",
            "Access-Control-Allow-Methods: GET, HEAD, PUT, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers: content-type, authorization",
            "Content-Length: 0",
        ])
        #expect(response.body.readableBytes == 0)
        #expect(run.synchronous)
    }

    @Test("a preflight with configured headers, methods and max-age")
    func configuredPreflight() async throws {
        var configuration = PrimusConfiguration()
        configuration.cors.origins = ["https://a.example"]
        configuration.cors.methods = ["get", "post", "options"]
        configuration.cors.headers = ["Content-Type", "X-Token"]
        configuration.cors.maxAge = .seconds(600)
        configuration.cors.exposed = ["X-Never-On-Preflights"]
        let response = try #require(await T.run(Primus(configuration: configuration), .http, .OPTIONS, "/primus", headers: [
            ("Origin", "https://a.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-other"),
        ]).response)
        #expect(response.headers.lines == [
            "Access-Control-Allow-Origin: https://a.example",
            "Vary: Origin",
            "Access-Control-Allow-Credentials: true",
            "Access-Control-Max-Age: 600",
            "Access-Control-Allow-Methods: GET, POST, OPTIONS",
            "Access-Control-Allow-Headers: Content-Type,X-Token",
            "Content-Length: 0",
        ])
    }

    @Test("OPTIONS without Access-Control-Request-Method is not a preflight: it goes on")
    func optionsWithoutRequestMethod() async throws {
        let context = try #require(await T.run(Primus(), .http, .OPTIONS, "/primus", headers: [("Origin", "https://a.example")]).context)
        #expect(context.responseHeaders.lines.prefix(3) == [
            "Access-Control-Allow-Origin: https://a.example", "Vary: Origin", "Access-Control-Allow-Credentials: true",
        ])
    }

    @Test(
        "refusals answer 403 text/plain with Primus's exact body",
        arguments: [
            ("example.com", HTTPMethod.GET),  // no scheme
            ("http://evil%2ecom", .GET),  // a percent sign
            ("https://b.example", .GET),  // not listed
            ("https://a.example", .PATCH),  // method not listed
            ("", .GET),  // empty
        ]
    )
    func refused(origin: String, method: HTTPMethod) async throws {
        var configuration = PrimusConfiguration()
        configuration.cors.origins = ["https://A.example", "null"]
        let primus = Primus(configuration: configuration)
        let response = try #require(await T.run(primus, .http, method, "/primus", headers: [("Origin", origin)]).response)
        let body = "Invalid HTTP Access Control (CORS) request:\n  Origin: \(origin)\n  Method: \(method.rawValue)"
        #expect(response.status == .forbidden)
        #expect(response.headers.lines == ["Content-Type: text/plain", "Content-Length: \(body.utf8.count)"])
        #expect(response.text == body)
    }

    @Test("listed origins match case-insensitively; null is allowed when listed; --cors-origin sets the list")
    func listedOrigins() async throws {
        var configuration = PrimusConfiguration()
        configuration.cors.origins = ["https://A.example", "null"]
        let primus = Primus(configuration: configuration)
        #expect(await T.run(primus, .http, .GET, "/primus", headers: [("Origin", "https://a.EXAMPLE")]).context != nil)
        #expect(await T.run(primus, .http, .GET, "/primus", headers: [("Origin", "null")]).context != nil)
        // Node's url.parse finds a protocol in `localhost:3000` too, so Primus lets it by with `*`.
        #expect(await T.run(Primus(), .http, .GET, "/primus", headers: [("Origin", "localhost:3000")]).context != nil)
    }

    @Test("cors is HTTP only: an upgrade with a foreign Origin goes on without CORS headers")
    func upgradesAreNotChecked() async throws {
        var configuration = PrimusConfiguration()
        configuration.cors.origins = ["https://a.example"]
        let context = try #require(
            await T.run(Primus(configuration: configuration), .upgrade, .GET, "/primus", headers: [("Origin", "https://evil.example")]).context
        )
        #expect(context.responseHeaders.isEmpty)
    }

    @Test("the library and the spec answer cross-origin requests with the CORS headers")
    func libraryCarriesCORS() async throws {
        let primus = Primus()
        let spec = try #require(await T.run(primus, .http, .GET, "/primus/spec", headers: [("Origin", "https://a.example")]).response)
        #expect(spec.headers.lines.prefix(4) == [
            "Access-Control-Allow-Origin: https://a.example",
            "Vary: Origin",
            "Access-Control-Allow-Credentials: true",
            "Content-Type: application/json",
        ])
        let library = try #require(await T.run(primus, .http, .GET, "/primus/primus.js", headers: [("Origin", "https://a.example")]).response)
        #expect(library.headers.first(name: "Access-Control-Allow-Origin") == "https://a.example")
    }

    @Test("a URL scheme is what Node's url.parse calls a protocol")
    func schemeDetection() {
        #expect(PrimusCORSPolicy.hasScheme("https://a.example"))
        #expect(PrimusCORSPolicy.hasScheme("chrome-extension://abc"))
        #expect(PrimusCORSPolicy.hasScheme("localhost:3000"))
        #expect(!PrimusCORSPolicy.hasScheme("a.example"))
        #expect(!PrimusCORSPolicy.hasScheme(":8080"))
        #expect(!PrimusCORSPolicy.hasScheme("a b:c"))
    }
}
