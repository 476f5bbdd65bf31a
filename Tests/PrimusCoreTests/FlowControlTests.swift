import PrimusCore
import Testing

@Suite("read gate: reading stops while either side is behind")
struct ReadGateTests {
    @Test func readsFreelyWhileBothSidesKeepUp() {
        var gate = ReadGate()
        #expect(gate.isWritable)
        #expect(gate.readRequested() == true)
        #expect(gate.readRequested() == true)
        #expect(gate.readIfPending() == false)
    }

    @Test func holdsReadsWhileThePeerIsOverBudgetAndReadsOnceItCatchesUp() {
        var gate = ReadGate()
        #expect(gate.writabilityChanged(false) == .becameUnwritable)
        #expect(!gate.isWritable)
        #expect(gate.readRequested() == false)
        #expect(gate.readRequested() == false)
        #expect(gate.writabilityChanged(true) == .becameWritable)
        #expect(gate.readIfPending() == true)
        #expect(gate.readIfPending() == false)  // one held read, performed once
    }

    @Test func repeatedOrNestedWritabilityNotificationsChangeNothing() {
        var gate = ReadGate()
        #expect(gate.writabilityChanged(true) == nil)
        #expect(gate.writabilityChanged(false) == .becameUnwritable)
        #expect(gate.writabilityChanged(false) == nil)
        #expect(gate.writabilityChanged(true) == .becameWritable)
        #expect(gate.writabilityChanged(true) == nil)
    }

    @Test func needsBothTheApplicationAndThePeerBeforeReadingAgain() {
        var gate = ReadGate()
        gate.pauseReading()
        #expect(gate.writabilityChanged(false) == .becameUnwritable)
        #expect(gate.readRequested() == false)
        #expect(gate.resumeReading() == false)  // the application caught up, the peer has not
        #expect(gate.writabilityChanged(true) == .becameWritable)
        #expect(gate.readIfPending() == true)

        gate.pauseReading()
        #expect(gate.readRequested() == false)
        #expect(gate.writabilityChanged(false) == .becameUnwritable)
        #expect(gate.writabilityChanged(true) == .becameWritable)
        #expect(gate.readIfPending() == false)  // the peer caught up, the application has not
        #expect(gate.resumeReading() == true)
    }

    @Test func resumingWithoutAHeldReadDoesNotRead() {
        var gate = ReadGate()
        gate.pauseReading()
        #expect(gate.resumeReading() == false)
    }
}

@Suite("server heartbeat: transport pings count only from a reading client")
struct TransportPingLivenessTests {
    @Test func aPingFrameFromAReadingClientCountsAsAPong() {
        var heartbeat = ServerHeartbeat()
        #expect(heartbeat.tick(now: 1) == .sendPing(timestamp: 1))
        heartbeat.receivedTransportPing(peerIsReading: true)
        #expect(heartbeat.isAlive)
        #expect(heartbeat.tick(now: 2) == .sendPing(timestamp: 2))
    }

    @Test func pingFramesFromAClientThatDoesNotReadDoNotKeepItAlive() {
        var heartbeat = ServerHeartbeat()
        #expect(heartbeat.tick(now: 1) == .sendPing(timestamp: 1))
        for _ in 0..<1000 { heartbeat.receivedTransportPing(peerIsReading: false) }
        #expect(!heartbeat.isAlive)
        #expect(heartbeat.tick(now: 2) == .timeout)
    }

    @Test func aPrimusPongKeepsItAliveWhetherOrNotItReads() {
        var heartbeat = ServerHeartbeat()
        #expect(heartbeat.tick(now: 1) == .sendPing(timestamp: 1))
        heartbeat.receivedTransportPing(peerIsReading: false)
        heartbeat.receivedPong()
        #expect(heartbeat.tick(now: 2) == .sendPing(timestamp: 2))
    }
}

@Suite("retained handshake headers: bounded, the commonly read ones first")
struct RetainedHeadersTests {
    private typealias Header = (name: String, value: String)

    @Test func costIsNameValueAndFourBytes() {
        #expect(RetainedHeaders.cost(name: "Host", value: "x") == 9)
        #expect(RetainedHeaders.cost(name: "é", value: "") == 6)  // UTF-8 bytes, not characters
    }

    @Test func keepsEverythingWithoutACopyWhenItFits() {
        let headers: [Header] = [("Host", "a"), ("X-Custom", "b")]
        #expect(RetainedHeaders.select(headers, budget: 1000) == nil)
        #expect(RetainedHeaders.select(headers, budget: 9 + 13) == nil)  // exactly the budget
    }

    @Test func recognisesPriorityHeadersInAnyCase() {
        for name in [
            "Cookie", "AUTHORIZATION", "user-agent", "Origin", "Host", "Referer", "Accept-Language",
            "X-Forwarded-For", "x-forwarded-proto", "Forwarded", "X-Real-IP", "Sec-WebSocket-Protocol",
        ] {
            #expect(RetainedHeaders.isPriority(name), "\(name)")
        }
        for name in ["X-Custom", "Accept", "Content-Type", "X-Forwarded", "Sec-Fetch-Mode"] {
            #expect(!RetainedHeaders.isPriority(name), "\(name)")
        }
    }

    @Test func priorityHeadersWinOverEarlierOthersAndOrderIsKept() {
        let headers: [Header] = [
            ("X-Padding-1", String(repeating: "p", count: 40)),
            ("Cookie", "session=1"),  // 19
            ("X-Padding-2", String(repeating: "p", count: 40)),
            ("Authorization", "Bearer t"),  // 25
            ("X-Small", "s"),  // 12
        ]
        // Room for the two priority headers and the small one, not for the padding.
        #expect(RetainedHeaders.select(headers, budget: 19 + 25 + 12) == [1, 3, 4])
    }

    @Test func othersFillTheRemainingRoomInOrderSkippingWhatDoesNotFit() {
        let headers: [Header] = [
            ("A", "1"),  // 6
            ("B", String(repeating: "x", count: 100)),  // 105
            ("C", "3"),  // 6
            ("Host", "h"),  // 9
        ]
        #expect(RetainedHeaders.select(headers, budget: 21) == [0, 2, 3])
        #expect(RetainedHeaders.select(headers, budget: 9) == [3])
    }

    @Test func anOversizedPriorityHeaderIsDroppedWholeNeverTruncated() {
        let headers: [Header] = [("Cookie", String(repeating: "c", count: 10_000)), ("Host", "h")]
        #expect(RetainedHeaders.select(headers, budget: 100) == [1])
    }

    @Test func tenThousandSmallHeadersStayWithinTheBudget() {
        var headers: [Header] = [("Host", "example.com"), ("User-Agent", "test")]
        for index in 0..<10_000 { headers.append(("X-H\(index)", "v")) }
        let budget = 8 * 1024
        let kept = try! #require(RetainedHeaders.select(headers, budget: budget))
        #expect(kept.prefix(2) == [0, 1])
        let total = kept.map { RetainedHeaders.cost(name: headers[$0].name, value: headers[$0].value) }.reduce(0, +)
        #expect(total <= budget)
        #expect(total > budget - 20)  // filled, not merely bounded
    }

    @Test func aZeroOrNegativeBudgetKeepsNothing() {
        let headers: [Header] = [("Host", "h")]
        #expect(RetainedHeaders.select(headers, budget: 0) == [])
        #expect(RetainedHeaders.select(headers, budget: -5) == [])
    }
}
