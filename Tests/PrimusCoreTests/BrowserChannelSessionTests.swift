import NIOCore
import PrimusCore
import Testing

private typealias Machine = BrowserChannelSessionStateMachine

private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
private func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

/// A session created with `RID=100` whose creation answer went out.
private func created(_ configure: (inout Machine.Configuration) -> Void = { _ in }) -> Machine {
    var configuration = Machine.Configuration()
    configure(&configuration)
    var machine = Machine(sid: "sid1", rid: 100, configuration: configuration, now: at(0))
    _ = machine.creationAnswer(now: at(0))
    return machine
}

private func written(_ actions: [Machine.Action]) -> [Int] {
    actions.flatMap { action -> [Int] in
        if case .writeBackChannel(let arrays) = action { return arrays.map(\.id) }
        return []
    }
}

private func delivered(_ actions: [Machine.Action]) -> [String] {
    actions.compactMap { action in
        if case .deliver(let message) = action { return message }
        return nil
    }
}

private func forward(_ rid: Int, ofs: Int, _ messages: [String], aid: Int? = nil, into machine: inout Machine, at time: Int64 = 10) throws -> [Machine.Action] {
    try machine.forwardReceived(rid: rid, aid: aid, data: BrowserChannelForwardData(offset: ofs, messages: messages), now: at(time)).actions
}

@Suite struct BrowserChannelSessionTests {
    @Test func creationAnswerCarriesTheCreationArrayAndEarlyWrites() {
        var machine = Machine(sid: "sid1", rid: 5, now: at(0))
        #expect(machine.send("hello") == .queued)
        let arrays = machine.creationAnswer(now: at(0))
        #expect(arrays.map(\.json) == ["[0,[\"c\",\"sid1\",null,8]]", "[1,\"hello\"]"])
        #expect(machine.answer == Machine.ForwardAnswer(backChannelOpen: false, lastSentArrayID: 1, outstandingBytes: arrays.reduce(0) { $0 + $1.length }))
    }

    @Test func acknowledgedArraysAreForgotten() {
        var machine = created()
        _ = machine.send("a")
        _ = machine.send("b")
        #expect(written(machine.backChannelOpened(aid: 0, chunked: true, now: at(1))) == [1, 2])
        #expect(machine.bufferedBytes == "[1,\"a\"]".utf16.count + "[2,\"b\"]".utf16.count)
        machine.acknowledge(1)
        #expect(machine.bufferedBytes == "[2,\"b\"]".utf16.count)
        machine.acknowledge(2)
        #expect(machine.bufferedBytes == 0)
        #expect(machine.answer.lastSentArrayID == 2)
    }

    @Test func anAcknowledgementBeyondWhatWasSentTakesOnlyWhatWasSent() {
        var machine = created()
        _ = machine.send("queued, not yet written")
        machine.acknowledge(50)
        #expect(written(machine.backChannelOpened(aid: 50, chunked: true, now: at(1))) == [1])
    }

    @Test func aNewBackChannelGetsEveryUnacknowledgedArrayAgain() {
        var machine = created()
        #expect(written(machine.backChannelOpened(aid: 0, chunked: true, now: at(1))) == [])
        _ = machine.send("a")
        _ = machine.send("b")
        #expect(written(machine.flush(now: at(2))) == [1, 2])
        // The back channel is lost before the client saw array 2.
        machine.backChannelClosed(now: at(3))
        _ = machine.send("c")
        #expect(written(machine.flush(now: at(4))) == [], "no back channel to write to")
        #expect(written(machine.backChannelOpened(aid: 1, chunked: true, now: at(5))) == [2, 3])
    }

    @Test func chunkingOffEndsTheBackChannelAfterEachChunk() {
        var machine = created()
        _ = machine.send("a")
        let actions = machine.backChannelOpened(aid: 0, chunked: false, now: at(1))
        #expect(written(actions) == [1])
        #expect(actions.last == .endBackChannel)
        #expect(!machine.hasBackChannel)
        // Nothing waiting: the next one hangs until there is.
        #expect(machine.backChannelOpened(aid: 1, chunked: false, now: at(2)) == [])
        _ = machine.send("b")
        #expect(machine.flush(now: at(3)) == [.writeBackChannel([BrowserChannelArray(id: 2, data: "b")]), .endBackChannel])
    }

    @Test func aStreamingBackChannelEndsAfterItsByteBudget() {
        var machine = created { $0.backChannelMaxBytes = 100 }
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(1))
        _ = machine.send(.string(String(repeating: "x", count: 60)))
        #expect(!machine.flush(now: at(2)).contains(.endBackChannel))
        _ = machine.send(.string(String(repeating: "y", count: 60)))
        #expect(machine.flush(now: at(3)).last == .endBackChannel)
        #expect(!machine.hasBackChannel)
    }

    @Test func mapsAreDeliveredByOffsetAndRetriesOnce() throws {
        var machine = created()
        #expect(delivered(try forward(101, ofs: 0, ["a", "b"], into: &machine)) == ["a", "b"])
        // The client did not see the answer and sends the same request again, plus one more map.
        #expect(delivered(try forward(101, ofs: 0, ["a", "b"], into: &machine)) == [])
        #expect(delivered(try forward(102, ofs: 1, ["b", "c"], into: &machine)) == ["c"])
    }

    @Test func requestsAheadOfTheirRIDWaitForTheOnesBefore() throws {
        var machine = created()
        #expect(delivered(try forward(103, ofs: 2, ["c"], into: &machine)) == [])
        #expect(delivered(try forward(102, ofs: 1, ["b"], into: &machine)) == [])
        #expect(delivered(try forward(101, ofs: 0, ["a"], into: &machine)) == ["a", "b", "c"])
    }

    @Test func aRIDTooFarAheadIsBadData() {
        var machine = created()
        #expect(throws: BrowserChannelError.badData) { try forward(101 + 1000, ofs: 0, ["a"], into: &machine) }
    }

    @Test func heldBytesAreBounded() throws {
        var machine = created { $0.maxHeldBytes = 10 }
        _ = try forward(102, ofs: 1, ["12345"], into: &machine)
        #expect(throws: BrowserChannelError.badData) { try forward(103, ofs: 2, ["123456"], into: &machine) }
        // What was held is still delivered once the gap fills.
        #expect(delivered(try forward(101, ofs: 0, ["0"], into: &machine)) == ["0", "12345"])
    }

    @Test func forwardAnswerReportsTheBackChannelAndOutstandingBytes() throws {
        var machine = created()
        let creation = "[0,[\"c\",\"sid1\",null,8]]".utf16.count
        var answer = try machine.forwardReceived(rid: 101, aid: nil, data: BrowserChannelForwardData(offset: 0, messages: []), now: at(1)).answer
        #expect(answer == Machine.ForwardAnswer(backChannelOpen: false, lastSentArrayID: 0, outstandingBytes: creation))
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(2))
        answer = try machine.forwardReceived(rid: 102, aid: 0, data: BrowserChannelForwardData(offset: 0, messages: []), now: at(3)).answer
        #expect(answer == Machine.ForwardAnswer(backChannelOpen: true, lastSentArrayID: 0, outstandingBytes: 0))
        #expect(answer.json == "[1,0,0]")
    }

    @Test func keepAliveNoopAfterTwentySecondsOfSilence() {
        var machine = created()
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(1000))
        #expect(machine.nextDeadline == at(21_000))
        #expect(machine.timerFired(now: at(20_999)) == [])
        #expect(machine.timerFired(now: at(21_000)) == [.writeBackChannel([BrowserChannelArray(id: 1, data: ["noop"])])])
        #expect(machine.nextDeadline == at(41_000))
    }

    @Test func sessionTimesOutWithoutABackChannel() {
        var machine = created()
        #expect(machine.nextDeadline == at(30_000))
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(10_000))
        machine.backChannelClosed(now: at(15_000))
        #expect(machine.nextDeadline == at(45_000))
        #expect(machine.timerFired(now: at(44_999)) == [])
        #expect(machine.timerFired(now: at(45_000)) == [.closed(.timedOut)])
        #expect(machine.isClosed)
        #expect(machine.nextDeadline == nil)
    }

    @Test func terminateWaitsForEarlierRequests() throws {
        var machine = created()
        #expect(machine.terminate(rid: 103, now: at(1)) == [])
        _ = try forward(102, ofs: 1, ["b"], into: &machine)
        let actions = try forward(101, ofs: 0, ["a"], into: &machine)
        #expect(delivered(actions) == ["a", "b"])
        #expect(actions.last == .closed(.terminated))
    }

    @Test func terminateInOrderClosesAtOnce() {
        var machine = created()
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(1))
        #expect(machine.terminate(rid: 101, now: at(2)) == [.endBackChannel, .closed(.terminated)])
    }

    @Test func serverCloseSendsStopOnTheBackChannel() {
        var machine = created()
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(1))
        let actions = machine.close(now: at(2))
        #expect(actions == [.writeBackChannel([BrowserChannelArray(id: 1, data: ["stop"])]), .endBackChannel, .closed(.closedByServer)])
        #expect(machine.send("late") == .dropped)
    }

    @Test func serverCloseWithoutBackChannelWaitsForOneThenGivesUp() {
        var machine = created()
        #expect(machine.close(now: at(1)) == [])
        #expect(machine.nextDeadline == at(5001))
        let actions = machine.backChannelOpened(aid: 0, chunked: true, now: at(2))
        #expect(written(actions) == [1])
        #expect(actions.last == .closed(.closedByServer))

        var other = created()
        _ = other.close(now: at(1))
        #expect(other.timerFired(now: at(5001)) == [.closed(.closedByServer)])
    }

    @Test func evictionAcknowledgesAndCloses() {
        var machine = created()
        _ = machine.backChannelOpened(aid: 0, chunked: true, now: at(1))
        #expect(machine.evicted(aid: 0) == [.endBackChannel, .closed(.evicted)])
    }

    @Test func tooManyUnacknowledgedArraysGiveTheSessionUp() {
        var machine = created { $0.maxBufferedArrays = 3 }
        #expect(machine.send("a") == .queued)
        #expect(machine.send("b") == .queued)
        #expect(machine.send("c") == .overflow([.closed(.overflow)]))
    }
}

@Suite struct BrowserChannelCreationTests {
    @Test func aSessionClosedBeforeItsCreationAnswerEndsWithThatAnswer() {
        var machine = Machine(sid: "sid1", rid: 1, now: at(0))
        #expect(machine.close(now: at(0)) == [])
        let arrays = machine.creationAnswer(now: at(0))
        #expect(arrays.map(\.id) == [0, 1])
        #expect(arrays.last == BrowserChannelArray(id: 1, data: ["stop"]))
        #expect(machine.creationAnswered() == [.closed(.closedByServer)])
    }

    @Test func anOpenSessionCarriesOnAfterItsCreationAnswer() {
        var machine = Machine(sid: "sid1", rid: 1, now: at(0))
        _ = machine.creationAnswer(now: at(0))
        #expect(machine.creationAnswered() == [])
        #expect(!machine.isClosed)
    }
}
