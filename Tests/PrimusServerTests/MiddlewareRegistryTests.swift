import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PrimusCore
import Testing

@testable import PrimusServer

private typealias T = MiddlewareTesting

private func marker(_ name: String, kinds: PrimusMiddleware.Kinds = .all) -> PrimusMiddleware {
    PrimusMiddleware(name: name, kinds: kinds) { context in
        context.responseHeaders.add(name: "X-Ran", value: name)
        return .next
    }
}

private let defaults = ["forwarded", "cors", "primus.js", "spec", "x-xss", "no-cache", "authorization"]

@Suite("middleware: use, remove, enable, disable")
struct MiddlewareRegistryTests {
    @Test("checklist 23: use() chains (a layer is a function by type, so nothing else can be passed)")
    func useChains() {
        let primus = Primus()
        let returned = primus.use(marker("a")).use(marker("b")).remove("a").disable("b").enable("b")
        #expect(returned === primus)
        #expect(primus.layers.map(\.name) == defaults + ["b"])
    }

    @Test("checklist 24: a factory is called with the server and its layer is added")
    func factory() throws {
        let primus = Primus()
        let seen = NIOLockedValueBox<Primus?>(nil)
        primus.use { server in
            seen.withLockedValue { $0 = server }
            return marker("made")
        }
        #expect(seen.withLockedValue { $0 } === primus)
        #expect(primus.indexOfLayer("made") == defaults.count)
    }

    @Test("checklist 25: a layer is stored with its name, enabled, and its kinds")
    func stored() throws {
        let primus = Primus()
        primus.use(marker("upgrades", kinds: .upgrade))
        let layer = try #require(primus.layers.last)
        #expect(layer.name == "upgrades")
        #expect(layer.isEnabled)
        #expect(layer.kinds == .upgrade)
    }

    @Test("checklist 26: same name replaces in place; an index inserts there; otherwise it appends")
    func placement() async throws {
        let primus = Primus()
        primus.use(marker("first"), at: 0)
        #expect(primus.indexOfLayer("first") == 0)
        primus.use(marker("third"), at: 3)
        #expect(primus.layers.map(\.name) == ["first", "forwarded", "cors", "third", "primus.js", "spec", "x-xss", "no-cache", "authorization"])
        primus.use(marker("tail"))
        primus.use(marker("far"), at: 99)
        primus.use(marker("negative"), at: -1)
        #expect(primus.layers.suffix(3).map(\.name) == ["tail", "far", "negative"])

        // Replacing keeps the position, whatever index is given; the new body runs.
        primus.use(PrimusMiddleware(name: "third", kinds: .http) { context in
            context.responseHeaders.add(name: "X-Ran", value: "third v2")
            return .next
        }, at: 0)
        #expect(primus.indexOfLayer("third") == 3)
        #expect(primus.layers.count == defaults.count + 5)
        let context = try #require(await T.run(primus, .http, .GET, "/primus").context)
        #expect(context.responseHeaders["X-Ran"] == ["first", "third v2", "tail", "far", "negative"])

        // Replacing a default layer in place.
        primus.use(PrimusMiddleware(name: "spec", kinds: .http) { _ in .respond(.text("mine")) })
        #expect(primus.indexOfLayer("spec") == 5)
        #expect(await T.run(primus, .http, .GET, "/primus/anything").response?.text == "mine")
    }

    @Test("checklist 27: remove takes out only that layer; disable and enable toggle; indexOfLayer is nil when absent")
    func removeDisableEnable() async throws {
        let primus = Primus()
        primus.use(marker("a")).use(marker("b")).use(marker("c"))
        primus.remove("b")
        #expect(primus.layers.map(\.name) == defaults + ["a", "c"])
        #expect(primus.indexOfLayer("b") == nil)
        primus.remove("missing")
        #expect(primus.layers.count == defaults.count + 2)

        primus.disable("a")
        #expect(primus.layers.first { $0.name == "a" }?.isEnabled == false)
        #expect(primus.indexOfLayer("a") == defaults.count)
        var context = try #require(await T.run(primus, .http, .GET, "/primus").context)
        #expect(context.responseHeaders["X-Ran"] == ["c"])
        primus.enable("a")
        #expect(primus.layers.first { $0.name == "a" }?.isEnabled == true)
        context = try #require(await T.run(primus, .http, .GET, "/primus").context)
        #expect(context.responseHeaders["X-Ran"] == ["a", "c"])
    }

    @Test("default layers can be disabled or removed: no-cache, spec, cors")
    func defaultLayersAreOrdinary() async throws {
        let primus = Primus()
        primus.disable("no-cache").remove("spec").disable("cors")
        let context = try #require(await T.run(primus, .http, .GET, "/primus/spec", headers: [("Origin", "bad")]).context)
        #expect(context.responseHeaders.isEmpty)
        primus.enable("cors")
        #expect(await T.run(primus, .http, .GET, "/primus/spec", headers: [("Origin", "bad")]).response?.status == .forbidden)
    }

    @Test("a layer only runs for its kinds")
    func kinds() async throws {
        let primus = Primus()
        primus.use(marker("http", kinds: .http)).use(marker("upgrade", kinds: .upgrade)).use(marker("both"))
        let http = try #require(await T.run(primus, .http, .GET, "/primus").context)
        #expect(http.responseHeaders["X-Ran"] == ["http", "both"])
        let upgrade = try #require(await T.run(primus, .upgrade, .GET, "/primus").context)
        #expect(upgrade.responseHeaders["X-Ran"] == ["upgrade", "both"])
    }

    @Test("a layer added while a request waits in an async layer does not change that request")
    func requestsRunAgainstASnapshot() async throws {
        let primus = Primus()
        let gate = TestGate()
        primus.use(PrimusMiddleware.asynchronous(name: "wait") { _ in
            await gate.wait()
            return .next
        })
        async let run = T.run(primus, .http, .GET, "/primus")
        await gate.waitForArrivals(1)
        primus.use(marker("late"))
        gate.open()
        let context = try #require(await run.context)
        #expect(context.responseHeaders["X-Ran"].isEmpty)
    }
}
