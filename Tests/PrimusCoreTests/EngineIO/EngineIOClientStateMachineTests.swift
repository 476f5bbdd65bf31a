import NIOCore
import PrimusCore
import Testing

private typealias Client = EngineIOClientStateMachine

private let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
private func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

private let sid = "abc123"

/// The server's handshake answer: `0{…}` and, optionally, more packets in the same payload.
private func handshakeBody(upgrades: [String] = ["websocket"], maxPayload: Int? = 1_000_000, then more: [EngineIOPacket] = []) -> ByteBuffer {
    let open = EngineIOHandshake(sid: sid, upgrades: upgrades, pingInterval: 1000, pingTimeout: 500, maxPayload: maxPayload).packet
    return EngineIOPayloadCodec.encode([open] + more, format: .v4)
}

private func payload(_ packets: [EngineIOPacket]) -> ByteBuffer {
    EngineIOPayloadCodec.encode(packets, format: .v4)
}

private func frame(_ packet: EngineIOPacket) -> TransportMessage {
    EngineIOPacketCodec.encodeFrame(packet, version: .v4)
}

private func parameters(upgrades: [String] = ["websocket"], maxPayload: Int? = 1_000_000) -> EngineIOHandshake {
    EngineIOHandshake(sid: sid, upgrades: upgrades, pingInterval: 1000, pingTimeout: 500, maxPayload: maxPayload)
}

/// A client past the handshake, polling (no upgrade unless asked), with its first `GET` out.
private func openClient(upgrade: Bool = false, maxPayload: Int? = 1_000_000, maxMessageLength: Int = 1000) -> Client {
    var client = Client(configuration: .init(upgrade: upgrade, maxMessageLength: maxMessageLength, upgradeTimeout: .milliseconds(300), closeTimeout: .milliseconds(200)))
    _ = client.start(now: start)
    _ = client.pollSucceeded(handshakeBody(maxPayload: maxPayload), now: start)
    return client
}

/// A client that has received `3probe` and waits for its outstanding requests.
private func upgradingClient() -> Client {
    var client = openClient(upgrade: true)
    _ = client.webSocketOpened(now: at(1))
    _ = client.webSocketReceived(frame(.pongProbe), now: at(2))
    return client
}

private func closedWith(_ actions: [Client.Action]) -> PrimusError?? {
    guard case .closed(let error) = actions.last else { return nil }
    return .some(error)
}

@Suite("Engine.IO client: handshake and polling")
struct EngineIOClientPollingTests {
    @Test func theHandshakeOpensTheSessionAndStartsPolling() {
        var client = Client(configuration: .init(upgrade: false))
        #expect(client.start(now: start) == [.handshake])
        #expect(client.nextDeadline == nil)
        #expect(client.pollSucceeded(handshakeBody(), now: start) == [.opened(parameters()), .poll(sid: sid)])
        #expect(client.sessionParameters?.sid == sid)
        #expect(client.nextDeadline == at(1500))
    }

    @Test func messagesInTheHandshakePayloadAreDeliveredAfterOpen() {
        var client = Client(configuration: .init(upgrade: false))
        _ = client.start(now: start)
        let actions = client.pollSucceeded(handshakeBody(then: [.message("hi")]), now: start)
        #expect(actions == [.opened(parameters()), .deliver(.text("hi")), .poll(sid: sid)])
    }

    @Test func eachPollAnswerIsDeliveredInOrderAndTheNextPollGoesOut() {
        var client = openClient()
        let body = payload([.message("a"), .noop, .message(.binary(ByteBuffer(bytes: [1, 2]))), .message("b")])
        #expect(client.pollSucceeded(body, now: at(10)) == [
            .deliver(.text("a")), .deliver(.binary(ByteBuffer(bytes: [1, 2]))), .deliver(.text("b")), .poll(sid: sid),
        ])
    }

    @Test func onePostAtATimeAndSendsMadeMeanwhileGoOutTogether() {
        var client = openClient()
        #expect(client.send(.text("1")) == [.post(sid: sid, [.message("1")])])
        #expect(client.send(.text("2")) == [])
        #expect(client.send(.binary(ByteBuffer(bytes: [9]))) == [])
        #expect(client.postSucceeded(now: at(5)) == [.post(sid: sid, [.message("2"), .message(.binary(ByteBuffer(bytes: [9])))])])
        #expect(client.postSucceeded(now: at(6)) == [])
    }

    @Test func postsRespectTheServersMaxPayload() {
        // Each "xxxx" message is 5 bytes in a payload, plus 1 for each separator.
        var client = openClient(maxPayload: 12)
        _ = client.send(.text("first"))
        for _ in 0..<5 { _ = client.send(.text("xxxx")) }
        #expect(client.postSucceeded(now: at(1)) == [.post(sid: sid, [.message("xxxx"), .message("xxxx")])])
        #expect(client.postSucceeded(now: at(2)) == [.post(sid: sid, [.message("xxxx"), .message("xxxx")])])
        #expect(client.postSucceeded(now: at(3)) == [.post(sid: sid, [.message("xxxx")])])
    }

    @Test func aPacketLargerThanMaxPayloadStillGoesOutAlone() {
        var client = openClient(maxPayload: 4)
        #expect(client.send(.text("too long for the payload")) == [.post(sid: sid, [.message("too long for the payload")])])
    }

    @Test func aServerCloseEndsTheSessionCleanly() {
        var client = openClient()
        #expect(client.pollSucceeded(payload([.message("last"), .close, .message("ignored")]), now: at(1)) == [
            .deliver(.text("last")), .closed(nil),
        ])
        #expect(client.isClosed)
        #expect(client.nextDeadline == nil)
        #expect(client.send(.text("late")) == [])
    }

    @Test func aRefusedPollOrPostEndsTheSessionWithItsError() {
        let error = PrimusError(code: .connectionFailed, message: "Engine.IO error 1: Session ID unknown (HTTP 400)")
        var client = openClient()
        #expect(client.pollFailed(error, now: at(1)) == [.closed(error)])
        var posting = openClient()
        _ = posting.send(.text("x"))
        #expect(posting.postFailed(error, now: at(1)) == [.closed(error)])
        #expect(posting.postFailed(error, now: at(2)) == [])
    }

    @Test func anOversizedMessageClosesTheSession() {
        var client = openClient(maxMessageLength: 3)
        #expect(client.pollSucceeded(payload([.message("abc")]), now: at(1)) == [.deliver(.text("abc")), .poll(sid: sid)])
        #expect(closedWith(client.pollSucceeded(payload([.message("abcd")]), now: at(2))) == .some(.messageTooLarge(limit: 3)))
    }
}

@Suite("Engine.IO client: malformed input")
struct EngineIOClientMalformedInputTests {
    private func handshake(_ body: String) -> PrimusError? {
        var client = Client()
        _ = client.start(now: start)
        return closedWith(client.pollSucceeded(ByteBuffer(string: body), now: start)) ?? nil
    }

    @Test func aHandshakeThatIsNotAnOpenPacketIsAProtocolViolation() throws {
        let notOpen = try #require(handshake("4hello"))
        #expect(notOpen.code == .protocolViolation)
        #expect(notOpen.message.contains("expected an open packet"))
        #expect(handshake("")?.code == .protocolViolation)
        #expect(handshake("<html>Bad Gateway</html>")?.code == .protocolViolation)
    }

    @Test func aHandshakeWithBadJSONOrMissingFieldsIsAProtocolViolation() throws {
        let badJSON = try #require(handshake("0{not json"))
        #expect(badJSON.code == .protocolViolation)
        #expect(badJSON.message.hasPrefix("Engine.IO handshake"))
        #expect(handshake("0{\"sid\":\"x\"}")?.message.contains("pingInterval") == true)
        #expect(handshake("0{\"sid\":\"\",\"pingInterval\":1,\"pingTimeout\":1}")?.code == .protocolViolation)
        #expect(handshake("0{\"sid\":\"x\",\"pingInterval\":0,\"pingTimeout\":1}")?.code == .protocolViolation)
    }

    @Test func garbageInAPollAnswerClosesTheSession() {
        var client = openClient()
        let error = closedWith(client.pollSucceeded(ByteBuffer(string: "9what"), now: at(1)))
        #expect(error??.code == .protocolViolation)
        var base64 = openClient()
        #expect(closedWith(base64.pollSucceeded(ByteBuffer(string: "b!!!"), now: at(1)))??.code == .protocolViolation)
    }

    @Test func aSecondOpenPacketIsAProtocolViolation() {
        var client = openClient()
        let actions = client.pollSucceeded(payload([parameters().packet]), now: at(1))
        #expect(closedWith(actions)??.code == .protocolViolation)
    }
}

@Suite("Engine.IO client: heartbeat")
struct EngineIOClientHeartbeatTests {
    @Test func serverPingsAreAnsweredAndPushTheDeadlineBack() {
        var client = openClient()
        #expect(client.pollSucceeded(payload([.ping]), now: at(900)) == [.poll(sid: sid), .post(sid: sid, [.pong])])
        #expect(client.nextDeadline == at(2400))
        #expect(client.timerFired(now: at(1500)) == [])
    }

    @Test func noPingWithinIntervalPlusTimeoutMeansTheServerIsGone() throws {
        var client = openClient()
        #expect(client.timerFired(now: at(1499)) == [])
        let actions = client.timerFired(now: at(1500))
        let error = try #require(closedWith(actions) ?? nil)
        #expect(error.code == .timeout)
        #expect(error.message.contains("1500 ms"))
        #expect(client.isClosed)
    }

    @Test func pingsOnTheWebSocketAreAnsweredOnTheWebSocket() {
        var client = upgradingClient()
        _ = client.pollSucceeded(payload([.noop]), now: at(3))
        #expect(client.isUpgraded)
        #expect(client.webSocketReceived(frame(.ping), now: at(1000)) == [.writeToWebSocket([.pong])])
        #expect(client.nextDeadline == at(2500))
        #expect(closedWith(client.timerFired(now: at(2500)))??.code == .timeout)
    }
}

@Suite("Engine.IO client: upgrade")
struct EngineIOClientUpgradeTests {
    @Test func theProbeOpensAlongsideTheFirstPoll() {
        var client = Client(configuration: .init(upgrade: true, upgradeTimeout: .milliseconds(300)))
        _ = client.start(now: start)
        #expect(client.pollSucceeded(handshakeBody(), now: start) == [.opened(parameters()), .openWebSocket(sid: sid), .poll(sid: sid)])
        #expect(client.nextDeadline == at(300))
        #expect(client.webSocketOpened(now: at(1)) == [.writeToWebSocket([.pingProbe])])
    }

    @Test func noUpgradeWhenTurnedOffOrNotOffered() {
        var pollingOnly = Client(configuration: .init(upgrade: false))
        _ = pollingOnly.start(now: start)
        #expect(!pollingOnly.pollSucceeded(handshakeBody(), now: start).contains(.openWebSocket(sid: sid)))
        var notOffered = Client(configuration: .init(upgrade: true))
        _ = notOffered.start(now: start)
        #expect(notOffered.pollSucceeded(handshakeBody(upgrades: []), now: start) == [.opened(parameters(upgrades: [])), .poll(sid: sid)])
    }

    @Test func afterTheProbeAnswerPollingPausesAndSwitchesOnceTheOutstandingPollReturns() {
        var client = openClient(upgrade: true)
        _ = client.webSocketOpened(now: at(1))
        #expect(client.webSocketReceived(frame(.pongProbe), now: at(2)) == [])  // the GET is still out
        #expect(client.send(.text("held")) == [])  // no POST while pausing
        #expect(client.pollSucceeded(payload([.noop]), now: at(3)) == [
            .writeToWebSocket([.upgrade]), .upgraded, .writeToWebSocket([.message("held")]),
        ])
        #expect(client.isUpgraded)
        #expect(client.send(.text("direct")) == [.writeToWebSocket([.message("direct")])])
        #expect(client.webSocketReceived(frame(.message("in")), now: at(4)) == [.deliver(.text("in"))])
        #expect(client.webSocketReceived(.binary(ByteBuffer(bytes: [7])), now: at(4)) == [.deliver(.binary(ByteBuffer(bytes: [7])))])
    }

    @Test func theSwitchAlsoWaitsForTheOutstandingPost() {
        var client = openClient(upgrade: true)
        _ = client.webSocketOpened(now: at(1))
        #expect(client.send(.text("posted")) == [.post(sid: sid, [.message("posted")])])
        _ = client.webSocketReceived(frame(.pongProbe), now: at(2))
        #expect(client.pollSucceeded(payload([.noop]), now: at(3)) == [])
        #expect(client.postSucceeded(now: at(4)) == [.writeToWebSocket([.upgrade]), .upgraded])
    }

    @Test func aProbeThatCannotConnectLeavesTheSessionOnPolling() {
        var client = openClient(upgrade: true)
        #expect(client.webSocketClosed(PrimusError(code: .connectionFailed, message: "refused"), now: at(1)) == [.closeWebSocket])
        #expect(!client.isClosed)
        #expect(client.send(.text("still")) == [.post(sid: sid, [.message("still")])])
        #expect(client.nextDeadline == at(1500))
    }

    @Test func aWrongProbeAnswerClosesTheProbeAndResumesPolling() {
        var client = upgradingClient()
        // Paused with the GET out; the probe then breaks: polling resumes where it stopped.
        #expect(client.send(.text("held")) == [])
        #expect(client.webSocketClosed(nil, now: at(3)) == [.closeWebSocket, .post(sid: sid, [.message("held")])])
        #expect(client.pollSucceeded(payload([.noop]), now: at(4)) == [.poll(sid: sid)])

        var other = openClient(upgrade: true)
        _ = other.webSocketOpened(now: at(1))
        #expect(other.webSocketReceived(frame(.message("surprise")), now: at(2)) == [.closeWebSocket])
        #expect(!other.isUpgraded && !other.isClosed)
    }

    @Test func aProbeThatDoesNotAnswerInTimeIsAbandoned() {
        var client = openClient(upgrade: true)
        _ = client.webSocketOpened(now: at(1))
        #expect(client.timerFired(now: at(299)) == [])
        #expect(client.timerFired(now: at(300)) == [.closeWebSocket])
        #expect(client.nextDeadline == at(1500))
        #expect(client.webSocketReceived(frame(.pongProbe), now: at(301)) == [])  // too late
    }

    @Test func theUpgradedWebSocketClosingEndsTheSession() {
        var client = upgradingClient()
        _ = client.pollSucceeded(payload([.noop]), now: at(3))
        #expect(client.pollFailed(PrimusError(code: .connectionFailed, message: "late"), now: at(4)) == [])
        #expect(client.webSocketClosed(nil, now: at(5)) == [.closed(nil)])

        var failing = upgradingClient()
        _ = failing.pollSucceeded(payload([.noop]), now: at(3))
        #expect(closedWith(failing.webSocketReceived(.text(ByteBuffer()), now: at(4)))??.code == .protocolViolation)
    }
}

@Suite("Engine.IO client: closing")
struct EngineIOClientCloseTests {
    @Test func closingOnPollingPostsWhatWaitsThenTheClosePacket() {
        var client = openClient()
        _ = client.send(.text("a"))
        _ = client.send(.text("b"))
        #expect(client.close(now: at(1)) == [])  // the POST of "a" is still out
        #expect(client.send(.text("after close")) == [])
        #expect(client.postSucceeded(now: at(2)) == [.post(sid: sid, [.message("b"), .close])])
        #expect(client.postSucceeded(now: at(3)) == [.closed(nil)])
    }

    @Test func closingWithoutAPostOutPostsTheClosePacketAtOnce() {
        var client = openClient()
        #expect(client.close(now: at(1)) == [.post(sid: sid, [.close])])
        #expect(client.pollSucceeded(payload([.noop]), now: at(2)) == [])
        #expect(client.postFailed(PrimusError(code: .connectionFailed, message: "x"), now: at(3)) == [.closed(nil)])
    }

    @Test func aCloseThatCannotBePostedGivesUpAfterTheCloseTimeout() {
        var client = openClient()
        _ = client.close(now: at(1))
        #expect(client.nextDeadline == at(201))
        #expect(client.timerFired(now: at(201)) == [.closed(nil)])
    }

    @Test func closingDuringTheProbeClosesTheProbeToo() {
        var client = openClient(upgrade: true)
        #expect(client.close(now: at(1)) == [.closeWebSocket, .post(sid: sid, [.close])])
    }

    @Test func closingOnTheWebSocketSendsTheClosePacket() {
        var client = upgradingClient()
        _ = client.pollSucceeded(payload([.noop]), now: at(3))
        #expect(client.close(now: at(4)) == [.writeToWebSocket([.close]), .closed(nil)])
        #expect(client.close(now: at(5)) == [])
    }

    @Test func closingBeforeTheHandshakeAnswersEndsAtOnce() {
        var client = Client()
        _ = client.start(now: start)
        #expect(client.close(now: start) == [.closed(nil)])
        #expect(client.pollSucceeded(handshakeBody(), now: at(1)) == [])
    }
}
