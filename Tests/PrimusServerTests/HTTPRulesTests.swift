import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOHTTP1
@testable import PrimusServer
import Testing

/// The sans-I/O HTTP rules: head verdicts, the connection timeline, the eviction choice.
@Suite struct HTTPRequestHeadRulesTests {
    static func rules(_ adjust: (inout PrimusLimits) -> Void = { _ in }, maxBody: Int = 1000) -> HTTPRequestHeadRules {
        var limits = PrimusLimits()
        adjust(&limits)
        return HTTPRequestHeadRules(limits: limits, maxBodyLength: maxBody)
    }

    static func head(_ method: HTTPMethod = .GET, _ uri: String = "/", version: HTTPVersion = .http1_1, _ headers: [(String, String)] = [("Host", "x")]) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    static let upgrade: [(String, String)] = [
        ("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    static func replacing(_ name: String, with value: String?, in headers: [(String, String)]) -> [(String, String)] {
        var result = headers.filter { $0.0.lowercased() != name.lowercased() }
        if let value { result.append((name, value)) }
        return result
    }

    @Test func anOrdinaryRequestProceeds() {
        #expect(Self.rules().verdict(for: Self.head()) == .proceed(sendContinue: false))
    }

    @Test func aTargetOverTheLimitIs414() {
        let rules = Self.rules { $0.maxRequestTargetLength = 10 }
        #expect(rules.verdict(for: Self.head(.GET, "/123456789")) == .proceed(sendContinue: false))
        #expect(rules.verdict(for: Self.head(.GET, "/1234567890")) == .refuse(.targetTooLong))
    }

    @Test func tooManyHeaderFieldsAre431() {
        let rules = Self.rules { $0.maxHeaderCount = 3 }
        #expect(rules.verdict(for: Self.head(.GET, "/", [("Host", "x"), ("a", "1"), ("b", "2")])) == .proceed(sendContinue: false))
        #expect(rules.verdict(for: Self.head(.GET, "/", [("Host", "x"), ("a", "1"), ("b", "2"), ("c", "3")])) == .refuse(.headersTooLarge))
    }

    @Test func headerBytesCountNameValueAndFourPerField() {
        #expect(HTTPRequestHeadRules.headerBytes(["Host": "x", "ab": "cde"]) == (4 + 1 + 4) + (2 + 3 + 4))
        let rules = Self.rules { $0.maxHeaderBytes = 18 }
        #expect(rules.verdict(for: Self.head(.GET, "/", [("Host", "x"), ("ab", "cde")])) == .proceed(sendContinue: false))
        #expect(rules.verdict(for: Self.head(.GET, "/", [("Host", "x"), ("ab", "cdef")])) == .refuse(.headersTooLarge))
    }

    @Test func http11WithoutHostOrWithTwoIs400() {
        let rules = Self.rules()
        #expect(rules.verdict(for: Self.head(.GET, "/", [])) == .refuse(.badRequest))
        #expect(rules.verdict(for: Self.head(.GET, "/", [("Host", "a"), ("Host", "b")])) == .refuse(.badRequest))
        #expect(rules.verdict(for: Self.head(.GET, "/", version: .http1_0, [])) == .proceed(sendContinue: false))
    }

    @Test func aWellFormedWebSocketHandshakeProceeds() {
        #expect(Self.rules().verdict(for: Self.head(.GET, "/primus", Self.upgrade)) == .proceed(sendContinue: false))
        let listed = Self.replacing("Upgrade", with: "foo, WebSocket", in: Self.upgrade)
        #expect(Self.rules().verdict(for: Self.head(.GET, "/primus", listed)) == .proceed(sendContinue: false))
    }

    struct Handshake: Sendable, CustomTestStringConvertible {
        var label: String
        var method: HTTPMethod = .GET
        var version: HTTPVersion = .http1_1
        var headers: [(String, String)] = HTTPRequestHeadRulesTests.upgrade
        var testDescription: String { label }
    }

    static let malformedHandshakes: [Handshake] = [
        Handshake(label: "method POST", method: .POST),
        Handshake(label: "HTTP/1.0", version: .http1_0),
        Handshake(label: "key x", headers: replacing("Sec-WebSocket-Key", with: "x", in: upgrade)),
        Handshake(label: "key of 15 bytes", headers: replacing("Sec-WebSocket-Key", with: "AAAAAAAAAAAAAAAAAAAA", in: upgrade)),
        Handshake(label: "key with a bad character", headers: replacing("Sec-WebSocket-Key", with: "dGhlIHNhbXBsZSBub25jZ*==", in: upgrade)),
        Handshake(label: "no key", headers: replacing("Sec-WebSocket-Key", with: nil, in: upgrade)),
        Handshake(label: "two keys", headers: upgrade + [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]),
        Handshake(label: "no version", headers: replacing("Sec-WebSocket-Version", with: nil, in: upgrade)),
        Handshake(label: "no host, HTTP/1.0", version: .http1_0, headers: replacing("Host", with: nil, in: upgrade)),
    ]

    @Test(arguments: malformedHandshakes)
    func aMalformedWebSocketHandshakeIs400(_ handshake: Handshake) {
        let verdict = Self.rules().verdict(for: Self.head(handshake.method, "/primus", version: handshake.version, handshake.headers))
        guard case .refuse(let refusal) = verdict else {
            Issue.record("\(handshake.label): \(verdict)")
            return
        }
        #expect(refusal.status == .badRequest)
    }

    @Test func aWrongWebSocketVersionIs400NamingVersion13() {
        let headers = Self.replacing("Sec-WebSocket-Version", with: "8", in: Self.upgrade)
        let verdict = Self.rules().verdict(for: Self.head(.GET, "/primus", headers))
        #expect(verdict == .refuse(HTTPRequestHeadRules.Refusal(status: .badRequest, reason: "Bad Request", headers: ["Sec-WebSocket-Version": "13"])))
    }

    @Test func webSocketKeysAreBase64OfSixteenBytes() {
        #expect(HTTPRequestHeadRules.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(HTTPRequestHeadRules.isValidWebSocketKey("+/+/+/+/+/+/+/+/+/+/+w=="))
        #expect(!HTTPRequestHeadRules.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ="))
        #expect(!HTTPRequestHeadRules.isValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=A"))
        #expect(!HTTPRequestHeadRules.isValidWebSocketKey(""))
    }

    @Test func expectContinueIsAnsweredForABody() {
        let rules = Self.rules()
        let expecting: [(String, String)] = [("Host", "x"), ("Expect", "100-Continue"), ("Content-Length", "10")]
        #expect(rules.verdict(for: Self.head(.POST, "/", expecting)) == .proceed(sendContinue: true))
        // HTTP/1.0 clients cannot be sent a 1xx (RFC 9110 §10.1.1): the expectation is ignored.
        #expect(rules.verdict(for: Self.head(.POST, "/", version: .http1_0, expecting)) == .proceed(sendContinue: false))
        let noBody: [(String, String)] = [("Host", "x"), ("Expect", "100-continue")]
        #expect(rules.verdict(for: Self.head(.GET, "/", noBody)) == .proceed(sendContinue: false))
    }

    @Test func anUnknownExpectationIs417() {
        let verdict = Self.rules().verdict(for: Self.head(.POST, "/", [("Host", "x"), ("Expect", "coffee"), ("Content-Length", "1")]))
        guard case .refuse(let refusal) = verdict else {
            Issue.record("\(verdict)")
            return
        }
        #expect(refusal.status == .expectationFailed)
    }

    @Test func aDeclaredBodyOverTheLimitIs413() {
        let rules = Self.rules(maxBody: 10)
        #expect(rules.verdict(for: Self.head(.POST, "/", [("Host", "x"), ("Content-Length", "10")])) == .proceed(sendContinue: false))
        #expect(rules.verdict(for: Self.head(.POST, "/", [("Host", "x"), ("Content-Length", "11")])) == .refuse(.payloadTooLarge))
        let expecting: [(String, String)] = [("Host", "x"), ("Expect", "100-continue"), ("Content-Length", "11")]
        #expect(rules.verdict(for: Self.head(.POST, "/", expecting)) == .refuse(.payloadTooLarge))
    }

    @Test func decoderErrorsMapToStatuses() {
        #expect(HTTPRequestHeadRules.refusal(for: .invalidMethod, inRequestLine: true) == .badRequest)
        #expect(HTTPRequestHeadRules.refusal(for: .headerOverflow, inRequestLine: false) == .headersTooLarge)
        #expect(HTTPRequestHeadRules.refusal(for: .headerOverflow, inRequestLine: true) == .targetTooLong)
    }

    @Test func theDecoderNeverHoldsMoreThanTheRulesAllow() {
        let rules = Self.rules {
            $0.maxHeaderCount = 50
            $0.maxHeaderBytes = 4000
            $0.maxRequestTargetLength = 1000
        }
        let limits = rules.decoderLimits
        #expect(limits.maxHeaderFieldCount == 50)
        #expect(limits.maxHeaderFieldSize == 4001)
        #expect(limits.maxHeaderListSize == 5001)
    }

    @Test func errorAnswersAreCompleteResponsesThatSayClose() {
        var refusal = HTTPRequestHeadRules.Refusal.badRequest
        refusal.headers = ["Sec-WebSocket-Version": "13"]
        let bytes = PrimusHTTPConnectionGuard.encode(refusal, allocator: ByteBufferAllocator())
        #expect(
            String(buffer: bytes)
                == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 11\r\nSec-WebSocket-Version: 13\r\n\r\nBad Request"
        )
    }
}

@Suite struct HTTPConnectionTimelineTests {
    static let timeouts = HTTPConnectionTimeline.Timeouts(headers: .seconds(10), body: .seconds(20), keepAlive: .seconds(5))
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func aFreshConnectionMustSendAHeadWithinTheHeadersTimeout() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        #expect(timeline.deadline == Self.start + .seconds(10))
        #expect(timeline.idleSince == Self.start)
        #expect(timeline.expiry(now: Self.start + .seconds(9)) == .notYet)
        #expect(timeline.expiry(now: Self.start + .seconds(10)) == .closeIdle)
        // Bytes arriving keep the same deadline, counted from accept; it is now a 408.
        timeline.bytesReceived(now: Self.start + .seconds(3))
        #expect(timeline.deadline == Self.start + .seconds(10))
        #expect(timeline.idleSince == nil)
        #expect(timeline.expiry(now: Self.start + .seconds(10)) == .requestTimedOut)
    }

    @Test func aBodyMustArriveWithinTheBodyTimeout() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        timeline.bytesReceived(now: Self.start)
        timeline.requestHeadReceived(now: Self.start + .seconds(1))
        #expect(timeline.deadline == Self.start + .seconds(21))
        #expect(timeline.expiry(now: Self.start + .seconds(21)) == .requestTimedOut)
    }

    @Test func aPendingAnswerHasNoDeadline() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        timeline.requestHeadReceived(now: Self.start)
        timeline.requestEnded(now: Self.start)
        #expect(timeline.deadline == nil)
        #expect(timeline.idleSince == nil)
        #expect(timeline.expiry(now: Self.start + .seconds(3600)) == .notYet)
    }

    @Test func afterAResponseTheConnectionIdlesOnTheKeepAliveClock() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        timeline.requestHeadReceived(now: Self.start)
        timeline.requestEnded(now: Self.start)
        let end = Self.start + .seconds(30)
        timeline.responseEnded(now: end)
        #expect(timeline.idleSince == end)
        #expect(timeline.deadline == end + .seconds(5))
        #expect(timeline.expiry(now: end + .seconds(5)) == .closeIdle)
        // The next request's head is due `headers` after the previous response ended.
        timeline.bytesReceived(now: end + .seconds(1))
        #expect(timeline.deadline == end + .seconds(10))
        #expect(timeline.expiry(now: end + .seconds(10)) == .requestTimedOut)
    }

    @Test func anEarlyAnswerLetsTheRequestFinishThenIdles() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        timeline.requestHeadReceived(now: Self.start)
        timeline.responseEnded(now: Self.start + .seconds(1))
        #expect(timeline.deadline == Self.start + .seconds(20))
        #expect(timeline.expiry(now: Self.start + .seconds(20)) == .closeIdle)
        timeline.requestEnded(now: Self.start + .seconds(2))
        #expect(timeline.idleSince == Self.start + .seconds(2))
    }

    @Test func aFinishedTimelineNeverExpires() {
        var timeline = HTTPConnectionTimeline(timeouts: Self.timeouts, acceptedAt: Self.start)
        timeline.finish()
        #expect(timeline.deadline == nil)
        #expect(timeline.isFinished)
        timeline.bytesReceived(now: Self.start)
        timeline.requestHeadReceived(now: Self.start)
        #expect(timeline.deadline == nil)
    }
}

@Suite struct PrimusConnectionTrackerTests {
    @Test func theLongestIdleIsChosenAndBusyOnesNever() {
        let t = NIODeadline.uptimeNanoseconds(1000)
        let mixed: [(UInt64, NIODeadline?)] = [(1, t + .seconds(2)), (2, nil), (3, t), (4, t + .seconds(1))]
        #expect(PrimusConnectionTracker.longestIdle(mixed) == 3)
        let busy: [(UInt64, NIODeadline?)] = [(1, nil), (2, nil)]
        #expect(PrimusConnectionTracker.longestIdle(busy) == nil)
        #expect(PrimusConnectionTracker.longestIdle([(UInt64, NIODeadline?)]()) == nil)
    }

    /// Connected loopback channels (the client ends), to track.
    static func withConnectedChannels(_ count: Int, _ body: ([any Channel]) async throws -> Void) async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        var channels: [any Channel] = []
        for _ in 0..<count {
            channels.append(
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: listener.localAddress?.port ?? 0).get()
            )
        }
        try await body(channels)
        for channel in channels { try? await channel.close() }
        try await listener.close()
    }

    @Test func aFullTrackerEvictsTheLongestIdleThenRefusesWhenNoneIsIdle() async throws {
        try await Self.withConnectedChannels(4) { channels in
            let (a, b, c, d) = (channels[0], channels[1], channels[2], channels[3])
            let tracker = PrimusConnectionTracker(capacity: 2)
            let t = NIODeadline.uptimeNanoseconds(1_000_000)
            _ = try #require(tracker.admit(a, now: t))
            let second = try #require(tracker.admit(b, now: t + .seconds(1)))
            #expect(tracker.count == 2)
            second.setIdle(since: nil)  // b has a request in progress
            let third = try #require(tracker.admit(c, now: t + .seconds(2)))
            try await a.closeFuture.get()  // evicted: the longest idle
            #expect(b.isActive)
            #expect(tracker.count == 2)
            // With c busy too, nobody can be evicted: d is refused and nobody is closed.
            third.setIdle(since: nil)
            #expect(tracker.admit(d, now: t + .seconds(3)) == nil)
            #expect(b.isActive && c.isActive && d.isActive)
            #expect(tracker.count == 2)
        }
    }

    @Test func closedConnectionsLeaveTheTracker() async throws {
        try await Self.withConnectedChannels(1) { channels in
            let tracker = PrimusConnectionTracker(capacity: 4)
            _ = try #require(tracker.admit(channels[0]))
            #expect(tracker.count == 1)
            try await channels[0].close()
            // The tracker hears of the close on the channel's loop, just after.
            try await channels[0].eventLoop.submit {}.get()
            #expect(tracker.count == 0)
        }
    }

    @Test func theDefaultCapacityLeavesAReserve() {
        #expect(PrimusConnectionTracker.defaultCapacity() >= 1)
    }
}

/// The listener's accept throttle: its rule on an embedded listener (no clock, no sockets), then
/// against real loopback connections.
@Suite struct PrimusAcceptThrottleTests {
    /// Counts the reads the throttle lets through to the listener.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Never
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    @Test func readsAreHeldWhileTheListenerIsFullAndIssuedWhenASocketCloses() throws {
        let listener = EmbeddedChannel()
        let counter = ReadCounter()
        let throttle = PrimusAcceptThrottle(limit: 3, acceptsPerRead: 1)
        try listener.pipeline.syncOperations.addHandler(counter)
        try listener.pipeline.syncOperations.addHandler(throttle)
        var children: [EmbeddedChannel] = []
        for expectedReads in 1...3 {
            listener.read()
            #expect(counter.reads == expectedReads, "room for one more accept: the read goes through")
            let child = EmbeddedChannel()
            children.append(child)
            try listener.writeInbound(child as any Channel)
        }
        #expect(throttle.openCount == 3)
        listener.read()
        listener.read()
        #expect(counter.reads == 3, "full: reads are held")

        try children[0].close().wait()
        children[0].embeddedEventLoop.run()  // the close's callbacks, on the child's loop
        listener.embeddedEventLoop.run()  // the resumed read, on the listener's
        #expect(throttle.openCount == 2)
        #expect(counter.reads == 4, "one socket closed: the held read is issued, once")
        try children[1].close().wait()
        children[1].embeddedEventLoop.run()
        listener.embeddedEventLoop.run()
        #expect(counter.reads == 4, "nothing was held any more")
        for child in children.dropFirst(2) { try child.close().wait() }
        _ = try listener.finish()
    }

    @Test func aFullListenerAcceptsAgainWhenASocketCloses() async throws {
        let throttle = PrimusAcceptThrottle(limit: 3, acceptsPerRead: 1)
        let accepted = NIOLockedValueBox<[any Channel]>([])
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.maxMessagesPerRead, value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(throttle) }
            }
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var clients: [any Channel] = []
        for _ in 0..<5 {
            // The kernel completes each handshake from its backlog, accepted or not.
            clients.append(
                try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: listener.localAddress?.port ?? 0).get()
            )
        }
        try await waitUntil { throttle.openCount == 3 }
        // Each close lets the next waiting connection in (the embedded test above proves the
        // listener holds its reads while full).
        try await accepted.withLockedValue { $0[0] }.close()
        try await waitUntil { accepted.withLockedValue { $0.count } == 4 }
        for channel in accepted.withLockedValue({ $0 }) { try? await channel.close() }
        try await waitUntil { accepted.withLockedValue { $0.count } == 5 }
        #expect(throttle.openCount <= 3)
        for channel in accepted.withLockedValue({ $0 }) { try? await channel.close() }
        for client in clients { try? await client.close() }
        try await listener.close()
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
