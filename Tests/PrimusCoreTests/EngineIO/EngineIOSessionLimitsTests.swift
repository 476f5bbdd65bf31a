import NIOCore
import PrimusCore
import Testing

private typealias Machine = EngineIOSessionStateMachine

private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
private func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

private func machine(
    _ version: EngineIOProtocolVersion = .v4,
    maxBuffered: Int = 100,
    perPayload: Int = 16,
    maxBytes: Int = 1 << 20
) -> Machine {
    Machine(
        configuration: .init(
            version: version,
            pingInterval: .milliseconds(1000),
            pingTimeout: .milliseconds(500),
            upgradeTimeout: .milliseconds(300),
            maxBufferedPackets: maxBuffered,
            maxPacketsPerPayload: perPayload,
            maxBufferedBytes: maxBytes
        ),
        transport: .polling,
        now: start
    )
}

/// `n` characters of text.
private func text(_ count: Int) -> EngineIOPacket { .message(String(repeating: "x", count: count)) }

@Suite("Engine.IO session: bounded queues")
struct EngineIOSessionLimitsTests {
    @Test func aPostOfTenThousandPingsQueuesOnePongForTheNextPoll() {
        var session = machine(.v3, maxBuffered: 100)
        let pings = [EngineIOPacket](repeating: .ping, count: 10_000)
        #expect(session.postReceived(1, payload: .success(pings), now: start) == [.answerPost(1)])
        #expect(session.bufferedPackets == 1)
        #expect(session.bufferedBytes == 1)
        #expect(session.pollReceived(2, now: start) == [.answerPoll(2, [.pong])])
        // Taken: the next ping is answered again.
        #expect(session.postReceived(3, payload: .success([.ping, .ping]), now: start) == [.answerPost(3)])
        #expect(session.bufferedPackets == 1)
    }

    @Test func aWaitingPollTakesEachPongAtOnce() {
        var session = machine(.v3)
        _ = session.pollReceived(1, now: start)
        #expect(session.postReceived(2, payload: .success([.ping, .ping, .ping]), now: start) == [.answerPoll(1, [.pong]), .answerPost(2)])
        #expect(session.bufferedPackets == 1)
    }

    @Test func aPongThatFindsTheQueueFullClosesTheSession() {
        var session = machine(.v3, maxBuffered: 3)
        for _ in 0..<3 { _ = session.send(.message("x")) }
        #expect(session.postReceived(1, payload: .success([.ping]), now: start) == [.answerPost(1), .closed(.bufferOverflow)])
    }

    @Test func theHeartbeatPingCountsAgainstTheQueueLimit() {
        var session = machine(maxBuffered: 2)
        for _ in 0..<2 { _ = session.send(.message("x")) }
        #expect(session.timerFired(now: at(1000)) == [.closed(.bufferOverflow)])
    }

    @Test func controlPacketsJumpABacklogAndTheRestKeepsItsOrder() {
        var session = machine(.v3, maxBuffered: 2000, perPayload: 3)
        for index in 0..<1000 { _ = session.send(.message("\(index)")) }
        _ = session.postReceived(1, payload: .success([.ping]), now: start)
        #expect(session.pollReceived(2, now: start) == [.answerPoll(2, [.pong, .message("0"), .message("1")])])
        #expect(session.pollReceived(3, now: start) == [.answerPoll(3, ["2", "3", "4"].map(EngineIOPacket.message))])
        #expect(session.bufferedPackets == 995)
    }

    @Test func theQueueIsCountedInBytesAndWritableAgainAtHalfTheBudget() {
        var session = machine(perPayload: 2, maxBytes: 100)
        #expect(session.isWritable)
        for _ in 0..<3 { _ = session.send(text(29)) }  // 30 bytes each: 90
        #expect(session.bufferedBytes == 90 && session.isWritable)
        _ = session.send(text(29))  // 120: over the budget
        #expect(session.bufferedBytes == 120 && !session.isWritable)
        _ = session.pollReceived(1, now: start)  // 60: above half of it
        #expect(session.bufferedBytes == 60 && !session.isWritable)
        _ = session.pollReceived(2, now: start)  // 0
        #expect(session.bufferedBytes == 0 && session.isWritable)
    }

    @Test func theUpgradeHandsTheQueueToTheWebSocket() {
        var session = machine(maxBytes: 10)
        _ = session.send(text(20))
        #expect(!session.isWritable)
        #expect(session.webSocketRequested(now: start) == .probe)
        _ = session.probePacketReceived(.pingProbe, now: start)
        #expect(session.probePacketReceived(.upgrade, now: start) == [.promoteProbe, .writeToWebSocket([text(20)])])
        #expect(session.bufferedBytes == 0 && session.bufferedPackets == 0 && session.isWritable)
        #expect(session.send(.message("y")) == .writeToWebSocket(.message("y")))
    }

    @Test func aPostOverMaxPayloadIsRefusedWith413AndClosesTheSession() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        #expect(
            session.postTooLarge(2) == [
                .reject(2, .payloadTooLarge), .answerPoll(1, [.close]), .closed(.transportError("payload too large")),
            ]
        )
        #expect(session.isClosed)
        #expect(session.postReceived(3, payload: .success([]), now: start) == [.reject(3, .unknownSession)])
    }

    @Test func aBodyRefusedByTheHTTPLayerClosesTheSessionToo() {
        var session = machine()
        _ = session.send(.message("waiting"))
        #expect(session.postTooLarge(nil) == [.closed(.transportError("payload too large"))])
        #expect(session.bufferedPackets == 0)
    }

    @Test func aPostWhileAnotherIsHeldIsAnOverlapThatClosesTheSession() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        session.pauseReading()
        #expect(session.postReceived(2, payload: .success([.message("a")]), now: start) == [.deliver(.text("a"))])
        #expect(
            session.postReceived(3, payload: .success([.message("b")]), now: start) == [
                .reject(3, .badRequest), .answerPoll(1, [.close]), .answerPost(2), .closed(.transportError("post overlap")),
            ]
        )
    }

    @Test func aPostThatBeginsWhileAnotherArrivesClosesTheSession() {
        var session = machine()
        _ = session.pollReceived(1, now: start)
        #expect(!session.holdsPost)
        #expect(session.postOverlapped() == [.answerPoll(1, [.close]), .closed(.transportError("post overlap"))])
        #expect(session.postReceived(2, payload: .success([.message("late")]), now: start) == [.reject(2, .unknownSession)])
        #expect(session.postOverlapped() == [])
    }

    @Test func aClosedSessionHoldsNothing() {
        var session = machine()
        for _ in 0..<50 { _ = session.send(text(10)) }
        _ = session.timerFired(now: at(1000))
        _ = session.timerFired(now: at(1500))
        #expect(session.isClosed && session.bufferedPackets == 0 && session.bufferedBytes == 0)
    }
}
