import NIOCore
import PrimusCore
import Testing

private typealias Machine = EngineIOSessionStateMachine

private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
private func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

private func machine(
    _ version: EngineIOProtocolVersion = .v4,
    transport: Machine.Transport = .polling,
    maxBuffered: Int = 100,
    perPayload: Int = 16
) -> Machine {
    Machine(
        configuration: .init(
            version: version,
            pingInterval: .milliseconds(1000),
            pingTimeout: .milliseconds(500),
            upgradeTimeout: .milliseconds(300),
            maxBufferedPackets: maxBuffered,
            maxPacketsPerPayload: perPayload
        ),
        transport: transport,
        now: start
    )
}

@Suite("Engine.IO session: polling")
struct EngineIOPollingSessionTests {
    @Test func theHandshakePollCarriesTheOpenPacket() {
        var session = machine()
        let open = EngineIOPacket(.open, data: .text("{}"))
        #expect(session.send(open) == .buffered)
        #expect(session.pollReceived(1, now: start) == [.answerPoll(1, [open])])
    }

    @Test func aPollWaitsUntilThereIsSomethingToSend() {
        var session = machine()
        #expect(session.pollReceived(1, now: start) == [])
        #expect(session.send(.message("a")) == .flushNeeded)
        #expect(session.send(.message("b")) == .flushNeeded)
        #expect(session.flush() == [.answerPoll(1, [.message("a"), .message("b")])])
        #expect(session.flush() == [])
        #expect(session.send(.message("c")) == .buffered)
    }

    @Test func aSecondPendingPollIsRefusedAndClosesTheSession() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        #expect(
            session.pollReceived(2, now: start) == [
                .reject(2, .badRequest), .answerPoll(1, [.close]), .closed(.transportError("poll overlap")),
            ]
        )
        #expect(session.isClosed)
        #expect(session.pollReceived(3, now: start) == [.reject(3, .unknownSession)])
        #expect(session.nextDeadline == nil)
    }

    @Test func postsDeliverMessagesInOrderAndAnswerOk() {
        var session = machine()
        let actions = session.postReceived(7, payload: .success([.message("a"), .noop, .message(.binary(ByteBuffer(bytes: [1])))]), now: start)
        #expect(actions == [.deliver(.text("a")), .deliver(.binary(ByteBuffer(bytes: [1]))), .answerPost(7)])
    }

    @Test func anUnparsablePostIsRefusedAndClosesTheSession() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        let actions = session.postReceived(2, payload: .failure(EngineIODecodingError("x")), now: start)
        #expect(actions == [.reject(2, .badRequest), .answerPoll(1, [.close]), .closed(.transportError("x"))])
    }

    @Test func theClientsClosePacketReleasesThePendingPollWithANoop() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        let actions = session.postReceived(2, payload: .success([.message("bye"), .close, .message("ignored")]), now: start)
        #expect(actions == [.deliver(.text("bye")), .answerPoll(1, [.noop]), .answerPost(2), .closed(.clientClosed)])
    }

    @Test func aPausedApplicationHoldsThePostAnswerAndADuplicatePostClosesTheSession() {
        var session = machine()
        session.pauseReading()
        #expect(session.postReceived(1, payload: .success([.message("a")]), now: start) == [.deliver(.text("a"))])
        #expect(session.resumeReading() == [.answerPost(1)])
        session.pauseReading()
        _ = session.postReceived(2, payload: .success([.message("b")]), now: start)
        #expect(session.postReceived(3, payload: .success([]), now: start) == [.reject(3, .badRequest), .answerPost(2), .closed(.transportError("post overlap"))])
    }

    @Test func pollAnswersAreCappedAndTheRestWaitsForTheNextPoll() {
        var session = machine(perPayload: 3)
        for index in 0..<7 { _ = session.send(.message("\(index)")) }
        #expect(session.pollReceived(1, now: start) == [.answerPoll(1, ["0", "1", "2"].map(EngineIOPacket.message))])
        #expect(session.pollReceived(2, now: start) == [.answerPoll(2, ["3", "4", "5"].map(EngineIOPacket.message))])
        #expect(session.pollReceived(3, now: start) == [.answerPoll(3, [.message("6")])])
    }

    @Test func aClientThatNeverPollsOverflowsTheBufferAndIsClosed() {
        var session = machine(maxBuffered: 3)
        for _ in 0..<3 { #expect(session.send(.message("x")) == .buffered) }
        #expect(session.send(.message("x")) == .close([.closed(.bufferOverflow)]))
    }

    @Test func aDroppedPollConnectionEndsTheSession() {
        var session = machine()
        #expect(session.pollAborted() == [])
        _ = session.pollReceived(1, now: start)
        #expect(session.pollAborted() == [.closed(.transportClosed)])
    }
}

@Suite("Engine.IO session: heartbeat")
struct EngineIOHeartbeatTests {
    @Test func v4ServerPingsAndClosesWhenThePongIsLate() {
        var session = machine()
        #expect(session.nextDeadline == at(1000))
        #expect(session.timerFired(now: at(999)) == [])
        _ = session.pollReceived(1, now: at(10))
        #expect(session.timerFired(now: at(1000)) == [.answerPoll(1, [.ping])])
        #expect(session.nextDeadline == at(1500))
        _ = session.pollReceived(2, now: at(1100))
        #expect(session.timerFired(now: at(1500)) == [.answerPoll(2, [.close]), .closed(.pingTimeout)])
    }

    @Test func pingsGoAheadOfABacklogOfMessages() {
        var session = machine(perPayload: 2)
        for index in 0..<5 { _ = session.send(.message("\(index)")) }
        _ = session.timerFired(now: at(1000))
        #expect(session.pollReceived(1, now: at(1001)) == [.answerPoll(1, [.ping, .message("0")])])
    }

    @Test func v4PongRestartsThePingInterval() {
        var session = machine()
        _ = session.timerFired(now: at(1000))
        _ = session.postReceived(1, payload: .success([.pong]), now: at(1200))
        #expect(session.nextDeadline == at(2200))
    }

    @Test func aPollingClientThatStopsPollingIsGoneWithinIntervalPlusTimeout() {
        var session = machine()
        _ = session.timerFired(now: at(1000))  // ping buffered, nobody polls
        #expect(session.timerFired(now: at(1500)) == [.closed(.pingTimeout)])
    }

    @Test func v3ClientPingsAreAnsweredAndKeepTheSessionAlive() {
        var session = machine(.v3)
        #expect(session.nextDeadline == at(1500))
        _ = session.pollReceived(1, now: start)
        #expect(session.postReceived(2, payload: .success([.ping]), now: at(1400)) == [.answerPoll(1, [.pong]), .answerPost(2)])
        #expect(session.nextDeadline == at(2900))
        #expect(session.timerFired(now: at(2899)) == [])
        #expect(session.timerFired(now: at(2900)) == [.closed(.pingTimeout)])
    }

    @Test func v3OnAWebSocketAnswersPingsOnTheWebSocket() {
        var session = machine(.v3, transport: .websocket)
        #expect(session.packetReceived(EngineIOPacket(.ping, data: .text("x")), now: start) == .actions([.writeToWebSocket([EngineIOPacket(.pong, data: .text("x"))])]))
    }
}

@Suite("Engine.IO session: upgrade to WebSocket")
struct EngineIOUpgradeTests {
    @Test func probeNoopUpgradeThenFlushOnTheWebSocket() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        #expect(session.webSocketRequested(now: start) == .probe)
        #expect(session.webSocketRequested(now: start) == .refuse)  // one probe at a time
        #expect(session.probePacketReceived(.pingProbe, now: start) == [.writeToProbe(.pongProbe), .answerPoll(1, [.noop])])
        // Messages still go by polling until the upgrade packet.
        #expect(session.send(.message("a")) == .buffered)
        #expect(session.probePacketReceived(.upgrade, now: start) == [.promoteProbe, .writeToWebSocket([.message("a")])])
        #expect(session.isUpgraded)
        #expect(session.send(.message("b")) == .writeToWebSocket(.message("b")))
        // Polling after the upgrade is refused; a second WebSocket is refused.
        #expect(session.pollReceived(2, now: start) == [.reject(2, .badRequest)])
        #expect(session.postReceived(3, payload: .success([]), now: start) == [.reject(3, .badRequest)])
        #expect(session.webSocketRequested(now: start) == .refuse)
    }

    @Test func closedWhileTheClientFinishesItsUpgradeTheLastPacketsGoOverTheWebSocket() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        _ = session.webSocketRequested(now: start)
        // The probe is answered and the poll released: the client pauses polling to upgrade.
        _ = session.probePacketReceived(.pingProbe, now: start)
        #expect(session.send(.message("last")) == .buffered)
        #expect(session.close(now: start) == [])  // no poll to answer, and the probe stays
        #expect(session.probePacketReceived(.upgrade, now: start) == [
            .promoteProbe, .writeToWebSocket([.message("last")]), .closeWebSocket, .closed(.serverClosed),
        ])
    }

    @Test func closedBeforeTheProbeIsAnsweredTheProbeClosesAndTheNextPollTakesTheRest() {
        var session = machine()
        _ = session.webSocketRequested(now: start)
        #expect(session.send(.message("last")) == .buffered)
        #expect(session.close(now: start) == [.closeProbe])
        #expect(session.pollReceived(1, now: start) == [.answerPoll(1, [.message("last"), .close]), .closed(.serverClosed)])
    }

    @Test func aPollArrivingWhileProbedIsReleasedWithANoopShortlyAfter() {
        var session = machine()
        _ = session.webSocketRequested(now: start)
        _ = session.probePacketReceived(.pingProbe, now: start)
        #expect(session.pollReceived(1, now: at(10)) == [])
        #expect(session.nextDeadline == at(110))
        #expect(session.timerFired(now: at(110)) == [.answerPoll(1, [.noop])])
    }

    @Test func upgradeTimeoutClosesTheProbeAndPollingGoesOn() {
        var session = machine()
        _ = session.webSocketRequested(now: start)
        #expect(session.nextDeadline == at(300))
        #expect(session.timerFired(now: at(300)) == [.closeProbe])
        #expect(!session.isUpgrading)
        #expect(session.webSocketRequested(now: at(400)) == .probe)
    }

    @Test func anythingButProbeOrUpgradeOnTheProbeEndsIt() {
        var session = machine()
        _ = session.webSocketRequested(now: start)
        #expect(session.probePacketReceived(.message("early"), now: start) == [.closeProbe])
        #expect(session.pollReceived(1, now: start) == [])
    }

    @Test func aClosedProbeLeavesThePollingSessionAsItWas() {
        var session = machine()
        _ = session.send(.message("kept"))
        _ = session.webSocketRequested(now: start)
        #expect(session.probeClosed() == [])
        #expect(session.pollReceived(1, now: start) == [.answerPoll(1, [.message("kept")])])
    }

    @Test func theUpgradedWebSocketClosingEndsTheSession() {
        var session = machine()
        _ = session.webSocketRequested(now: start)
        _ = session.probePacketReceived(.upgrade, now: start)
        #expect(session.webSocketClosed() == [.closed(.transportClosed)])
    }
}

@Suite("Engine.IO session: closing")
struct EngineIOClosingTests {
    @Test func serverCloseWithAPendingPollSendsBufferedPacketsThenClose() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        _ = session.send(.message("bye"))
        #expect(session.close(now: start) == [.answerPoll(1, [.message("bye"), .close]), .closed(.serverClosed)])
    }

    @Test func serverCloseWithoutAPollWaitsForTheNextOneOrTheTimeout() {
        var session = machine()
        _ = session.send(.message("bye"))
        #expect(session.close(now: start) == [])
        #expect(session.send(.message("late")) == .dropped)
        #expect(session.pollReceived(1, now: start) == [.answerPoll(1, [.message("bye"), .close]), .closed(.serverClosed)])

        var abandoned = machine()
        _ = abandoned.close(now: start)
        #expect(abandoned.nextDeadline == at(500))
        #expect(abandoned.timerFired(now: at(500)) == [.closed(.serverClosed)])
    }

    @Test func serverCloseOnAWebSocketClosesIt() {
        var session = machine(transport: .websocket)
        #expect(session.send(.message("x")) == .writeToWebSocket(.message("x")))
        #expect(session.close(now: start) == [.closeWebSocket, .closed(.serverClosed)])
        #expect(session.close(now: start) == [])
    }

    @Test func theClientsCloseOnAWebSocketClosesIt() {
        var session = machine(transport: .websocket)
        #expect(session.packetReceived(.message("x"), now: start) == .deliver(.text("x")))
        #expect(session.packetReceived(.close, now: start) == .actions([.closeWebSocket, .closed(.clientClosed)]))
        #expect(session.packetReceived(.message("y"), now: start) == .none)
    }
}
