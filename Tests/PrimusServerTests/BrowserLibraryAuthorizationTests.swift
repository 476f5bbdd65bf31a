import Foundation
import PrimusCore
@testable import PrimusServer
import Testing

/// The browser library's `authorization` flag and client plugins: what the compiler writes, and
/// what the compiled client does with them, run in Node with a stand-in WebSocket (no network).
/// The Node side is Tests/JavaScript/fixtures (see ``NodeFixtures``).
@Suite("Browser library: authorization and client plugins", .timeLimit(.minutes(1)))
struct BrowserLibraryAuthorizationTests {
    static func compile(authorization: Bool, plugins: [(name: String, source: String)] = []) -> String {
        BrowserLibraryCompiler(configuration: PrimusConfiguration(), authorization: authorization, plugins: plugins).compile()
    }

    @Test("Primus compiles the server's authorization flag and its plugins' client parts")
    func compiledFromPrimus() throws {
        let source = Primus(configuration: PrimusConfiguration()).library()
        #expect(source.contains("authorization: \(Primus(configuration: PrimusConfiguration()).hasAuthorization)"))
        let plugin = try NodeFixtures.source("probe-plugin.js")
        let compiled = Self.compile(authorization: true, plugins: [("probe", plugin)])
        #expect(compiled.contains("    authorization: true\n"))
        #expect(compiled.contains("[\"probe\", " + plugin))
        // Inside the wrapper, before the class is handed out.
        let ark = try #require(compiled.range(of: "[\"probe\", "))
        let end = try #require(compiled.range(of: "return Primus;"))
        #expect(ark.lowerBound < end.lowerBound)
    }

    @Test(
        "checklist 32 and 15: with authorization the strategy has no timeout, a WebSocket failing before open is final, plugins run at construction"
    )
    func compiledClientBehaviour() async throws {
        let library = Self.compile(authorization: true, plugins: [("probe", try NodeFixtures.source("probe-plugin.js"))])
        let result = try await NodeFixtures.run("authorization-first-failure.js", library: library)
        #expect(result["strategy"] == "disconnect,online")
        #expect(result["events"] == ["error", "close", "end"])
        #expect(result["sockets"] == 1)
        #expect(result["probed"] == ["self": true, "option": 42])
        #expect(result["plugin"] == "function")
        #expect(result["plugins"] == ["probe"])
    }

    @Test("without authorization a failed first WebSocket is retried (strategy timeout)")
    func withoutAuthorizationFailuresAreRetried() async throws {
        let result = try await NodeFixtures.run("retry-without-authorization.js", library: Self.compile(authorization: false))
        #expect(result["events"] == ["error", "reconnect scheduled", "end", "reconnect failed"])
        #expect(result["sockets"] == 2)
    }
}
