import NIOCore
import NIOHTTP1
@testable import PrimusClient
import PrimusCore
import Testing

/// The lifecycle of reference section 2.5, driven by hand: no sockets, no clock, no sleeping.
@Suite("ClientStateMachine: Primus's client lifecycle")
struct ClientStateMachineTests {
    typealias Machine = ClientStateMachine
    typealias Action = ClientStateMachine.Action

    static func machine(_ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) -> Machine {
        var configuration = PrimusClientConfiguration()
        adjust(&configuration)
        return Machine(settings: .init(configuration))
    }

    static func text(_ json: String) -> TransportMessage { .text(json) }

    static func events(_ actions: [Action]) -> [PrimusClientEvent] {
        actions.compactMap { if case .emit(let event) = $0 { return event } else { return nil } }
    }

    static func sends(_ actions: [Action]) -> [String] {
        actions.compactMap { if case .send(let message) = $0 { return message.string } else { return nil } }
    }

    @Test func openArmsTheConnectTimeoutAnnouncesOpeningAndConnects() {
        var machine = Self.machine()
        #expect(machine.open() == [.arm(.connect, after: .seconds(10)), .emit(.readyStateChange(.opening)), .connect(generation: 1)])
        #expect(machine.readyState == .opening)
        // A second open while connecting would make a second socket (Primus #399): ignored.
        #expect(machine.open() == [])
    }

    @Test func buffersWritesUntilOpenThenFlushesThemBeforeAnnouncingOpen() {
        var machine = Self.machine()
        _ = machine.open()
        for index in 0..<11 { #expect(machine.write(Self.text("\(index)")) == .buffered) }
        let actions = machine.transportOpened(generation: 1, now: .zero)
        #expect(Self.sends(actions) == (0..<11).map { "\($0)" })
        #expect(actions.last == .emit(.open))
        #expect(Self.events(actions) == [.readyStateChange(.open), .open])
        #expect(actions.contains(.arm(.heartbeat, after: .seconds(45))))
        #expect(machine.write(Self.text("11")) == .send(Self.text("11")))
    }

    @Test func queueSizeDropsTheOldestAndZeroDisablesBuffering() {
        var bounded = Self.machine { $0.queueSize = 2 }
        for index in 0..<4 { _ = bounded.write(Self.text("\(index)")) }
        _ = bounded.open()
        #expect(Self.sends(bounded.transportOpened(generation: 1, now: .zero)) == ["2", "3"])

        var none = Self.machine { $0.queueSize = 0 }
        #expect(none.write(Self.text("1")) == .dropped)
    }

    @Test func pingIsAnsweredWithPongAndProtocolMessagesAreNotData() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        #expect(machine.received(Self.text("\"primus::ping::1700000000000\""), generation: 1, now: .seconds(1))
            == [.send(Self.text("\"primus::pong::1700000000000\""))])
        #expect(machine.received(Self.text("\"primus::id::abc\""), generation: 1, now: .zero) == [.resolveID("abc")])
        #expect(machine.received(Self.text("\"primus::server::other\""), generation: 1, now: .zero) == [])
        let data = machine.received(Self.text("{\"a\":1}"), generation: 1, now: .zero)
        #expect(Self.events(data).map(\.name) == ["data"])
        // A message from an old connection is ignored.
        #expect(machine.received(Self.text("1"), generation: 0, now: .zero) == [])
    }

    @Test("checklist 32: a refused first connection announces error, close and end, and schedules nothing")
    func refusedFirstConnectionEnds() {
        var machine = Self.machine()
        _ = machine.open()
        let refusal = PrimusError.handshakeRefused(status: .unauthorized, body: ByteBuffer(string: #"{"error":"nope"}"#))
        #expect(refusal.message == "The server refused the connection: 401 Unauthorized: nope")
        let actions = machine.transportRefused(generation: 1, error: refusal)
        #expect(Self.events(actions) == [.readyStateChange(.closed), .error(refusal), .close, .end])
        #expect(actions.contains(.cancel(.connect)))
        #expect(!actions.contains { if case .arm = $0 { return true } else { return false } })
        #expect(machine.hasEnded)
        // A late close from the refused connection changes nothing.
        #expect(machine.transportClosed(generation: 1, error: nil, now: .zero, random: 0) == [])
        // The application may try again.
        #expect(machine.open().contains(.connect(generation: 2)))
    }

    @Test("a refused reconnect attempt ends the recovery: error and end, no further attempt")
    func refusedReconnectAttemptEnds() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        _ = machine.transportClosed(generation: 1, error: nil, now: .seconds(1), random: 0)
        let attempt = machine.timerFired(.reconnectDelay, now: .seconds(2), random: 0)
        #expect(attempt.contains(.connect(generation: 2)))
        let refusal = PrimusError.handshakeRefused(status: .forbidden, body: nil)
        let actions = machine.transportRefused(generation: 2, error: refusal)
        #expect(Self.events(actions) == [.readyStateChange(.closed), .error(refusal), .end])
        #expect(actions.contains(.cancel(.attemptTimeout)))
        #expect(!machine.isReconnecting)
        #expect(machine.timerFired(.reconnectDelay, now: .seconds(10), random: 0) == [])
    }

    @Test("a refusal of an open session (a later poll answered 401) closes and ends it")
    func refusedOpenSessionEnds() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        let refusal = PrimusError.handshakeRefused(status: .unauthorized, body: ByteBuffer(string: "not json"))
        #expect(refusal.message == "The server refused the connection: 401 Unauthorized")
        let actions = machine.transportRefused(generation: 1, error: refusal)
        #expect(Self.events(actions) == [.readyStateChange(.closed), .error(refusal), .close, .end])
        #expect(actions.contains(.closeTransport))
        // Another connection's refusal is ignored.
        #expect(machine.transportRefused(generation: 7, error: refusal) == [])
    }

    @Test func undecodableDataIsAnErrorThatKeepsTheConnection() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        #expect(Self.events(machine.received(Self.text("{nope"), generation: 1, now: .zero)).map(\.name) == ["error"])
        #expect(machine.readyState == .open)
    }

    @Test func lostConnectionClosesThenSchedulesAReconnectInReferenceOrder() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        let lost = machine.transportClosed(generation: 1, error: nil, now: .seconds(1), random: 0.5)
        let attempt1 = ReconnectBackoff.Attempt(number: 1, delay: .milliseconds(500), elapsed: .zero, retries: 10)
        #expect(lost == [
            .cancel(.heartbeat), .emit(.readyStateChange(.closed)), .emit(.close),
            .emit(.reconnectScheduled(attempt1)), .arm(.reconnectDelay, after: .milliseconds(500)),
        ])
        #expect(machine.write(Self.text("during outage")) == .buffered)

        let due = machine.timerFired(.reconnectDelay, now: .milliseconds(1500), random: 0)
        var started = attempt1
        started.elapsed = .milliseconds(500)
        #expect(due == [
            .emit(.reconnect(started)), .arm(.attemptTimeout, after: .seconds(30)),
            .emit(.readyStateChange(.opening)), .connect(generation: 2),
        ])
        // The torn-down first connection reporting late changes nothing.
        #expect(machine.transportClosed(generation: 1, error: nil, now: .seconds(2), random: 0) == [])

        let reopened = machine.transportOpened(generation: 2, now: .milliseconds(1600))
        var succeeded = attempt1
        succeeded.elapsed = .milliseconds(600)
        #expect(Self.events(reopened) == [.reconnected(succeeded), .readyStateChange(.open), .open])
        #expect(Self.sends(reopened) == ["during outage"])
        #expect(!machine.isReconnecting)
    }

    @Test func serverCloseEndsWithoutReconnect() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        #expect(machine.received(Self.text("\"primus::server::close\""), generation: 1, now: .zero) == [])
        let closed = machine.transportClosed(generation: 1, error: nil, now: .zero, random: 0)
        #expect(Self.events(closed) == [.readyStateChange(.closed), .close, .end])
        #expect(machine.hasEnded)
        #expect(!closed.contains { if case .arm(.reconnectDelay, _) = $0 { return true } else { return false } })
    }

    @Test func strategyWithoutDisconnectEndsOnLoss() {
        var machine = Self.machine { $0.strategy = .none }
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        let closed = machine.transportClosed(generation: 1, error: nil, now: .zero, random: 0)
        #expect(Self.events(closed) == [.readyStateChange(.closed), .close, .end])
    }

    @Test func failedFirstConnectionReportsTheErrorThenReconnectsOrEnds() {
        let refused = PrimusError(code: .connectionFailed, message: "refused")
        var reconnecting = Self.machine()
        _ = reconnecting.open()
        let failed = reconnecting.transportClosed(generation: 1, error: refused, now: .zero, random: 0)
        #expect(Self.events(failed).map(\.name) == ["readyStateChange", "error", "reconnect scheduled"])

        var ending = Self.machine { $0.strategy = [.disconnect] }
        _ = ending.open()
        let ended = ending.transportClosed(generation: 1, error: refused, now: .zero, random: 0)
        #expect(Self.events(ended).map(\.name) == ["readyStateChange", "error", "close", "end"])
    }

    @Test func connectTimeoutAnnouncesTimeoutThenReconnects() {
        var machine = Self.machine()
        _ = machine.open()
        let expired = machine.timerFired(.connect, now: .seconds(10), random: 0)
        #expect(expired.prefix(2) == [.emit(.timeout), .closeTransport])
        #expect(Self.events(expired).map(\.name) == ["timeout", "readyStateChange", "reconnect scheduled"])
        // The abandoned connection reporting its close later is ignored.
        #expect(machine.transportClosed(generation: 1, error: nil, now: .seconds(11), random: 0) == [])
    }

    @Test func reconnectFailedAfterRetriesAnnouncesEndThenReconnectFailed() {
        var machine = Self.machine { $0.reconnect = .init(minDelay: .milliseconds(10), retries: 2) }
        _ = machine.open()
        var actions = machine.transportClosed(generation: 1, error: PrimusError(code: .connectionFailed, message: "x"), now: .zero, random: 0)
        var now = Duration.zero
        var generation: UInt64 = 1
        var names = Self.events(actions).map(\.name)
        while names.last != "reconnect failed" && names.count < 50 {
            now += .seconds(1)
            actions = machine.timerFired(.reconnectDelay, now: now, random: 0)
            generation += 1
            actions += machine.transportClosed(generation: generation, error: PrimusError(code: .connectionFailed, message: "x"), now: now, random: 0)
            names += Self.events(actions).map(\.name)
        }
        #expect(names == [
            "readyStateChange", "error", "reconnect scheduled",
            "reconnect", "readyStateChange", "readyStateChange", "reconnect scheduled",
            "reconnect", "readyStateChange", "readyStateChange", "end", "reconnect failed",
        ])
        #expect(machine.hasEnded)
    }

    @Test func attemptTimeoutAbandonsTheAttemptAndSchedulesTheNext() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        _ = machine.transportClosed(generation: 1, error: nil, now: .zero, random: 0)
        _ = machine.timerFired(.reconnectDelay, now: .seconds(1), random: 0)
        let timedOut = machine.timerFired(.attemptTimeout, now: .seconds(31), random: 0)
        #expect(timedOut.first == .closeTransport)
        #expect(Self.events(timedOut).map(\.name) == ["reconnect timeout", "readyStateChange", "reconnect scheduled"])
    }

    @Test func heartbeatTimeoutGoesOfflineAndReconnectsThenComesBackOnline() {
        var machine = Self.machine { $0.pingTimeout = .seconds(45) }
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        _ = machine.received(Self.text("\"primus::ping::1\""), generation: 1, now: .seconds(30))
        #expect(machine.timerFired(.heartbeat, now: .seconds(45), random: 0) == [.arm(.heartbeat, after: .seconds(30))])
        let dead = machine.timerFired(.heartbeat, now: .seconds(75), random: 0)
        #expect(dead.prefix(2) == [.emit(.offline), .closeTransport])
        #expect(Self.events(dead).map(\.name) == ["offline", "readyStateChange", "close", "reconnect scheduled"])
        _ = machine.timerFired(.reconnectDelay, now: .seconds(76), random: 0)
        let back = machine.transportOpened(generation: 2, now: .seconds(77))
        #expect(Self.events(back).map(\.name) == ["reconnected", "online", "readyStateChange", "open"])
    }

    @Test func endAnnouncesCloseAndEndOnceAndStopsAScheduledReconnect() {
        var open = Self.machine()
        _ = open.open()
        _ = open.transportOpened(generation: 1, now: .zero)
        let ended = open.end(data: Self.text("\"bye\""))
        #expect(ended.first == .send(Self.text("\"bye\"")))
        #expect(ended.contains(.closeTransport))
        #expect(Self.events(ended) == [.readyStateChange(.closed), .close, .end])
        #expect(open.end() == [])

        var waiting = Self.machine()
        _ = waiting.open()
        _ = waiting.transportOpened(generation: 1, now: .zero)
        _ = waiting.transportClosed(generation: 1, error: nil, now: .zero, random: 0)
        #expect(waiting.end() == [.cancel(.reconnectDelay), .cancel(.attemptTimeout), .emit(.end)])
        #expect(waiting.timerFired(.reconnectDelay, now: .seconds(1), random: 0) == [])
        // An ended client may be opened again (Primus test 62).
        #expect(waiting.open().contains(.connect(generation: 2)))
    }

    @Test func networkOfflineEndsAndOnlineReconnects() {
        var machine = Self.machine()
        _ = machine.open()
        _ = machine.transportOpened(generation: 1, now: .zero)
        #expect(Self.events(machine.networkChanged(online: false, now: .zero, random: 0)).map(\.name) == ["offline", "readyStateChange", "close", "end"])
        #expect(Self.events(machine.networkChanged(online: true, now: .zero, random: 0)).map(\.name) == ["online", "reconnect scheduled"])

        // A manual client that was never opened stays closed (Primus #708).
        var manual = Self.machine { $0.manual = true }
        _ = manual.networkChanged(online: false, now: .zero, random: 0)
        #expect(Self.events(manual.networkChanged(online: true, now: .zero, random: 0)).map(\.name) == ["online"])
    }
}

@Suite("Client URL and cache buster")
struct ClientEndpointTests {
    @Test func queryKeysComeFirstThenTheCacheBuster() throws {
        let endpoint = try ClientEndpoint(url: "ws://example.com:8080/?foo=bar&x=1", pathname: "/primus", headers: [:])
        let target = endpoint.target(cacheBuster: "OqAbCdE", configuration: PrimusClientConfiguration())
        #expect(target.requestURI == "/primus?foo=bar&x=1&_primuscb=OqAbCdE")
        #expect(target.hostHeader == "example.com:8080")
        #expect(!target.secure)
    }

    @Test func schemesPortsPathsAndCredentials() throws {
        let secure = try ClientEndpoint(url: "https://usr:pass@example.com", pathname: "/primus", headers: [:])
        #expect(secure.secure && secure.port == 443 && secure.path == "/primus")
        #expect(secure.headers["authorization"] == ["Basic dXNyOnBhc3M="])
        let pathed = try ClientEndpoint(url: "wss://example.com/realtime/", pathname: "/primus", headers: [:])
        #expect(pathed.path == "/realtime")
        let ipv6 = try ClientEndpoint(url: "http://[::1]:9000", pathname: "/primus", headers: [:])
        #expect(ipv6.host == "::1")
        #expect(ipv6.target(cacheBuster: "x", configuration: .init()).hostHeader == "[::1]:9000")
        #expect(throws: PrimusError.self) { try ClientEndpoint(url: "ftp://example.com", pathname: "/primus", headers: [:]) }
    }

    @Test func cacheBusterIsYeast() {
        #expect(CacheBuster.encode(0) == "0")
        #expect(CacheBuster.encode(64) == "10")
        #expect(CacheBuster.encode(63) == "_")
        var buster = CacheBuster()
        let first = buster.next(milliseconds: 1_700_000_000_000)
        #expect(buster.next(milliseconds: 1_700_000_000_000) == first + ".0")
        #expect(buster.next(milliseconds: 1_700_000_000_000) == first + ".1")
        #expect(buster.next(milliseconds: 1_700_000_000_001) != first)
    }
}
