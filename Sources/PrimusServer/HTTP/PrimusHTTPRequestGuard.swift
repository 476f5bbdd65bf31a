import NIOCore
import NIOHTTP1

/// The front of an HTTP connection, ahead of the decoder: it runs the ``HTTPConnectionTimeline``
/// timeouts on one lazily re-armed timer, reports idleness to the ``PrimusConnectionTracker``,
/// notices the first bytes of each request (the decoder speaks only once a head is complete),
/// and writes the connection's error answers.
///
/// An error answer is a canned response with `Connection: close`, written straight to the
/// socket (nothing behind the decoder has to agree, and the decoder may be in an error state);
/// the output is then shut, so the peer reads the answer and sees the end; whatever it sends
/// afterwards is read and dropped until it closes too, or ``PrimusLimits/closeTimeout`` passes.
/// A full close at once could reset the connection under unread input and lose the answer.
///
/// It is removed with the other HTTP handlers when the connection upgrades: the WebSocket layer
/// has its own heartbeat and close timeout.
final class PrimusHTTPConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let closeTimeout: TimeAmount
    private let tracked: TrackedConnection?
    private var timeline: HTTPConnectionTimeline
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var lingerTimer: Scheduled<Void>?
    private var responseOpen = false
    /// An error answer went out: inbound bytes are dropped until the peer closes.
    private(set) var refused = false
    /// Whether the request being received may still be in its request line, as far as the bytes
    /// read tell: a decoder overflow there is a target too long (`414`), not headers (`431`).
    private(set) var inRequestLine = true
    /// Bytes of the current request's line read so far (up to its line feed).
    private var requestLineBytes = 0
    private let maxRequestTargetLength: Int
    /// Whether the current request's line is longer than a target may be: a decoder overflow is
    /// then the target's (`414`), even when the whole head arrived in one read.
    var requestLineTooLong: Bool { requestLineBytes > maxRequestTargetLength }

    init(limits: PrimusLimits, tracked: TrackedConnection?, now: NIODeadline = .now()) {
        self.closeTimeout = TimeAmount(limits.closeTimeout)
        self.maxRequestTargetLength = limits.maxRequestTargetLength
        self.tracked = tracked
        self.timeline = HTTPConnectionTimeline(timeouts: .init(limits: limits), acceptedAt: now)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        tracked?.setIdle(since: timeline.idleSince)
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Upgraded, or torn down: an upgraded connection is never idle in the tracker's sense.
        timeline.finish()
        tracked?.setIdle(since: nil)
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeline.finish()
        timer?.cancel()
        timer = nil
        lingerTimer?.cancel()
        lingerTimer = nil
        context.fireChannelInactive()
    }

    // MARK: Raw bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        // One check per read; the scan for the request line's end only runs until it is found.
        if inRequestLine || timeline.awaitsRequestStart {
            if timeline.awaitsRequestStart {
                timeline.bytesReceived(now: .now())
                tracked?.setIdle(since: nil)
                inRequestLine = true
                requestLineBytes = 0
            }
            if inRequestLine {
                let bytes = unwrapInboundIn(data).readableBytesView
                if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                    requestLineBytes += end - bytes.startIndex
                    inRequestLine = false
                } else {
                    requestLineBytes += bytes.count
                }
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Once refused, keep reading (and dropping) whatever the pipelining handler behind us
        // would hold back, so the peer's close is seen.
        if refused { context.read() }
        context.fireChannelReadComplete()
    }

    // MARK: Request and response boundaries, from ``PrimusHTTPRequestGuard``

    func requestHeadReceived() {
        timeline.requestHeadReceived(now: .now())
        tracked?.setIdle(since: nil)
        inRequestLine = false
        armTimer()
    }

    func requestEnded() {
        timeline.requestEnded(now: .now())
        tracked?.setIdle(since: timeline.idleSince)
        inRequestLine = true
        requestLineBytes = 0
    }

    func responseStarted() {
        responseOpen = true
    }

    func responseEnded() {
        responseOpen = false
        timeline.responseEnded(now: .now())
        tracked?.setIdle(since: timeline.idleSince)
        armTimer()
    }

    // MARK: Refusals and timeouts

    /// Answers `refusal` and ends the connection (see the type's documentation).
    func refuse(_ refusal: HTTPRequestHeadRules.Refusal) {
        guard !refused, let context else { return }
        refused = true
        timeline.finish()
        tracked?.setIdle(since: nil)
        timer?.cancel()
        timer = nil
        guard !responseOpen, context.channel.isActive else {
            // Mid-response there is no room for another answer.
            context.close(promise: nil)
            return
        }
        let written = context.writeAndFlush(wrapOutboundOut(Self.encode(refusal, allocator: context.channel.allocator)))
        written.assumeIsolated().whenComplete { _ in
            context.close(mode: .output).assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        }
        let channel = context.channel
        lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: closeTimeout) { channel.close(promise: nil) }
        context.read()
    }

    /// The bytes of an error answer.
    static func encode(_ refusal: HTTPRequestHeadRules.Refusal, allocator: ByteBufferAllocator) -> ByteBuffer {
        var text = "HTTP/1.1 \(refusal.status.code) \(refusal.status.reasonPhrase)\r\n"
        text += "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        text += "Content-Length: \(refusal.reason.utf8.count)\r\n"
        for (name, value) in refusal.headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        text += "\r\n" + refusal.reason
        return allocator.buffer(string: text)
    }

    /// Schedules the timer for the timeline's deadline, unless one already fires no later: that
    /// one re-arms itself when it fires, so requests never reschedule it.
    private func armTimer() {
        guard let context, let deadline = timeline.deadline else { return }
        if timer != nil, let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard let context else { return }
        switch timeline.expiry(now: .now()) {
        case .notYet:
            armTimer()
        case .closeIdle:
            timeline.finish()
            tracked?.setIdle(since: nil)
            context.close(promise: nil)
        case .requestTimedOut:
            refuse(.requestTimeout)
        }
    }
}

@available(*, unavailable)
extension PrimusHTTPConnectionGuard: Sendable {}

/// Sits between NIO's HTTP decoder and everything that answers requests (the upgrader, Primus,
/// the fallback): it refuses what ``HTTPRequestHeadRules`` refuses, answers `100 Continue`, caps
/// bodies, answers malformed requests, and tells the ``PrimusHTTPConnectionGuard`` where each
/// request and response begins and ends. Per request it costs the rules' pass over the head.
final class PrimusHTTPRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let rules: HTTPRequestHeadRules
    private let connection: PrimusHTTPConnectionGuard
    private var bodyBytes = 0

    init(rules: HTTPRequestHeadRules, connection: PrimusHTTPConnectionGuard) {
        self.rules = rules
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !connection.refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            connection.requestHeadReceived()
            bodyBytes = 0
            switch rules.verdict(for: head) {
            case .refuse(let refusal):
                connection.refuse(refusal)
                return
            case .proceed(sendContinue: true):
                let continueHead = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(continueHead)), promise: nil)
            case .proceed(sendContinue: false):
                break
            }
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > rules.maxBodyLength {
                connection.refuse(.payloadTooLarge)
                return
            }
        case .end:
            connection.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // NIO's decoder stops for good after a malformed request: the connection must end.
        connection.refuse(HTTPRequestHeadRules.refusal(for: parserError, inRequestLine: connection.inRequestLine || connection.requestLineTooLong))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        // 1xx answers (100 Continue) are interim: the response proper follows.
        case .head(let head) where head.status.code >= 200: connection.responseStarted()
        case .head, .body: break
        case .end: connection.responseEnded()
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension PrimusHTTPRequestGuard: Sendable {}
