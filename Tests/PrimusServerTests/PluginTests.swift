import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PrimusCore
import Testing

@testable import PrimusServer

private typealias T = MiddlewareTesting

@Suite("plugins")
struct PluginTests {
    @Test("checklist 100: invalid plugins are refused with Primus's exact messages, and nothing is registered")
    func validation() throws {
        let primus = Primus()
        #expect(throws: PrimusPluginError.emptyName) { try primus.plugin(PrimusPlugin(name: "", client: "function () {}")) }
        #expect(throws: PrimusPluginError.missingParts) { try primus.plugin(PrimusPlugin(name: "lib-only", library: "var x;")) }
        try primus.plugin(PrimusPlugin(name: "emit", client: "function () {}"))
        #expect(throws: PrimusPluginError.alreadyDefined) { try primus.plugin(PrimusPlugin(name: "emit", server: { _ in })) }
        #expect(PrimusPluginError.emptyName.description == "Plugin name must be a non empty string")
        #expect(PrimusPluginError.missingParts.description == "Plugin is missing a client or server function")
        #expect(PrimusPluginError.alreadyDefined.description == "Plugin name already defined")
        #expect(primus.plugins.map(\.name) == ["emit"])
    }

    @Test("checklist 100: plugin() chains; the server part runs at once with the server and can add layers")
    func serverPart() async throws {
        let primus = Primus()
        let seen = NIOLockedValueBox<Primus?>(nil)
        let health = PrimusPlugin(name: "health", server: { server in
            seen.withLockedValue { $0 = server }
            server.use(PrimusMiddleware(name: "health", kinds: .http) { context in
                context.path == "/primus/health" ? .respond(.text("ok")) : .next
            })
        })
        let returned = try primus.plugin(health)
        #expect(returned === primus)
        #expect(seen.withLockedValue { $0 } === primus)
        #expect(await T.run(primus, .http, .GET, "/primus/health").response?.text == "ok")
    }

    @Test("a plugin's server part can set the authorization hook")
    func serverPartAuthorizes() async throws {
        let primus = Primus()
        try primus.plugin(PrimusPlugin(name: "auth", server: { server in
            server.authorize { _ in throw PrimusHTTPError.unauthorized("nope") }
        }))
        #expect(primus.hasAuthorization)
        #expect(await T.run(primus, .upgrade, .GET, "/primus").response?.status == .unauthorized)
    }

    @Test("checklist 101: plugins starts empty; plugin(named:) finds one; plugin and plugout events; plugout says whether it removed")
    func registry() throws {
        let primus = Primus()
        let events = NIOLockedValueBox<[String]>([])
        primus.onPlugin { plugin in events.withLockedValue { $0.append("plugin \(plugin.name)") } }
        primus.onPlugout { plugin in events.withLockedValue { $0.append("plugout \(plugin.name)") } }
        #expect(primus.plugins.isEmpty)
        #expect(primus.plugin(named: "emit") == nil)
        try primus.plugin(PrimusPlugin(name: "emit", server: { _ in events.withLockedValue { $0.append("server emit") } }, client: "function emit() {}"))
        #expect(primus.plugin(named: "emit")?.client == "function emit() {}")
        #expect(primus.plugout("emit"))
        #expect(!primus.plugout("emit"))
        #expect(primus.plugin(named: "emit") == nil)
        #expect(events.withLockedValue { $0 } == ["plugin emit", "server emit", "plugout emit"])
    }

    @Test("client parts and libraries go to the browser library in registration order")
    func clientParts() throws {
        let primus = Primus()
        try primus.plugin(PrimusPlugin(name: "b", client: "function b() {}"))
        try primus.plugin(PrimusPlugin(name: "server-only", server: { _ in }))
        try primus.plugin(PrimusPlugin(name: "a", client: "function a() {}", library: "window.aLib = 1;"))
        #expect(primus.clientPlugins.map(\.name) == ["b", "a"])
        #expect(primus.clientPlugins.map(\.source) == ["function b() {}", "function a() {}"])
        #expect(primus.clientPluginLibraries.map(\.name) == ["a"])
        #expect(primus.clientPluginLibraries.map(\.source) == ["window.aLib = 1;"])
        primus.plugout("b")
        #expect(primus.clientPlugins.map(\.name) == ["a"])
    }
}
