import NIOCore
import NIOHTTP1
import NIOPosix

/// SockJS XHR sessions against `http://127.0.0.1:<port>/primus/bench/<session>/`, as
/// sockjs-client runs them without WebSockets: a `POST .../xhr_streaming` whose response streams
/// the server's frames, one per line (opened again on the same connection each time the server
/// ends it at its response limit), and one `POST .../xhr_send` at a time carrying every message
/// queued while the previous one was out, each on its own keep-alive connection. Both
/// connections of a session live on one event loop, so the session needs no lock.
struct SockJSXHRLoadClient: Sendable {
    let group: any EventLoopGroup
    let port: Int
    let stats: LoadStats

    /// Opens one session (its stream has brought the open frame `o`); returns its two
    /// connections. The session starts sending when its `xhr_send` connection receives
    /// ``StartLoad``.
    func connect(inFlight: Int) async throws -> [any Channel] {
        let loop = group.next()
        let opened = loop.makePromise(of: Void.self)
        let session = try await loop.submit {
            NIOLoopBound(SockJSXHRSession(stats: stats, inFlight: inFlight, port: port, opened: opened), eventLoop: loop)
        }.get()
        let stream = try await connectExchange(on: loop, session: session, role: .stream)
        let send = try await connectExchange(on: loop, session: session, role: .send)
        try await loop.submit { session.value.start() }.get()
        do {
            try await opened.futureResult.get()
        } catch {
            stream.close(promise: nil)
            send.close(promise: nil)
            throw error
        }
        return [stream, send]
    }

    /// Opens `count` sessions, at most `window` at a time.
    func connectMany(_ count: Int, inFlight: Int, window: Int) async throws -> [any Channel] {
        try await withThrowingTaskGroup(of: [any Channel].self) { group in
            var channels: [any Channel] = []
            var started = 0
            while started < min(window, count) {
                group.addTask { try await connect(inFlight: inFlight) }
                started += 1
            }
            while let pair = try await group.next() {
                channels += pair
                if started < count {
                    group.addTask { try await connect(inFlight: inFlight) }
                    started += 1
                }
            }
            return channels
        }
    }

    private func connectExchange(
        on loop: any EventLoop,
        session: NIOLoopBound<SockJSXHRSession>,
        role: SockJSXHRExchangeHandler.Role
    ) async throws -> any Channel {
        try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(SockJSXHRExchangeHandler(session: session.value, role: role))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }
}

/// One SockJS XHR session of the load generator: keeps `inFlight` messages outstanding, checks
/// every echo's `seq`, answers Primus pings through the next `xhr_send`, and counts each
/// `xhr_send` in ``LoadStats/posts``.
final class SockJSXHRSession {
    private let stats: LoadStats
    private let inFlight: Int
    private let host: String
    private let path: String
    private var opened: EventLoopPromise<Void>?
    private var stream: SockJSXHRExchangeHandler?
    private var sender: SockJSXHRExchangeHandler?
    /// The open frame has arrived: `xhr_send` finds the session.
    private var isOpen = false
    private var sendPending = false
    /// The next `xhr_send` body, `["m1","m2"` so far (the `]` is added when it goes).
    private var outgoing = ByteBuffer()
    private var outgoingCount = 0
    private var nextSeq = 0
    private var expectedSeq = 0
    private var started = false
    /// Stream bytes after the last complete line.
    private var partialLine = ByteBuffer()
    /// Each message of an `a[...]` frame, unescaped.
    private var scratch = ByteBuffer()

    init(stats: LoadStats, inFlight: Int, port: Int, opened: EventLoopPromise<Void>) {
        self.stats = stats
        self.inFlight = inFlight
        self.host = "127.0.0.1:\(port)"
        self.path = "/primus/bench/\(String(UInt64.random(in: .min ... .max), radix: 36))"
        self.opened = opened
    }

    func attach(_ handler: SockJSXHRExchangeHandler, role: SockJSXHRExchangeHandler.Role) {
        switch role {
        case .stream: stream = handler
        case .send: sender = handler
        }
    }

    /// Both connections are up: open the session with its first stream.
    func start() {
        openStream()
    }

    /// ``StartLoad`` arrived: queue the first `inFlight` messages.
    func startLoad() {
        guard !started else { return }
        started = true
        for _ in 0..<inFlight { queueMessage() }
        flushOutgoing()
    }

    func receivedHead(_ status: HTTPResponseStatus, role: SockJSXHRExchangeHandler.Role) {
        switch (role, status) {
        case (.stream, .ok), (.send, .noContent): break
        default: fail("\(role) answered \(status)")
        }
    }

    /// A piece of the stream: every complete line is a frame (the prelude of `h`s is one too).
    func receivedStream(_ part: inout ByteBuffer) {
        partialLine.writeBuffer(&part)
        var echoes = 0
        while let newline = partialLine.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            guard let frame = partialLine.readSlice(length: newline - partialLine.readerIndex) else { break }
            partialLine.moveReaderIndex(forwardBy: 1)
            echoes += handleFrame(frame)
        }
        partialLine.discardReadBytes()
        if echoes > 0 { stats.echoes.add(echoes, ordering: .relaxed) }
        flushOutgoing()
    }

    func receivedEnd(role: SockJSXHRExchangeHandler.Role) {
        switch role {
        case .stream:
            // The response limit ended this stream: the next one continues the session.
            if partialLine.readableBytes > 0 {
                return fail("the stream ended inside a frame")
            }
            if !stats.stopping.load(ordering: .relaxed) { openStream() }
        case .send:
            sendPending = false
            flushOutgoing()
        }
    }

    func connectionClosed() {
        opened?.fail(BenchError("a SockJS XHR connection closed while the session was opening"))
        opened = nil
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
    }

    /// One frame of the stream; returns how many echoes it carried.
    private func handleFrame(_ frame: ByteBuffer) -> Int {
        switch frame.getInteger(at: frame.readerIndex, as: UInt8.self) {
        case UInt8(ascii: "h"):
            return 0  // the prelude (2048 `h`) or a heartbeat
        case UInt8(ascii: "o"):
            isOpen = true
            opened?.succeed()
            opened = nil
            return 0
        case UInt8(ascii: "a"):
            var echoes = 0
            let parsed = SockJSWire.forEachMessage(in: frame, scratch: &scratch) { message in
                if PrimusPing.isPing(message, at: 0) {
                    var pong = message
                    PrimusPing.turnIntoPong(&pong, at: 0)
                    queue(pong)
                    stats.pingsAnswered.add(1, ordering: .relaxed)
                    return
                }
                if EchoLoadHandler.seq(in: message) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
                expectedSeq += 1
                echoes += 1
                if !stats.stopping.load(ordering: .relaxed) { queueMessage() }
            }
            if !parsed { stats.mismatches.add(1, ordering: .relaxed) }
            return echoes
        default:
            // `c[code,"reason"]`: the server ended the session.
            fail("the server sent \(String(buffer: frame).prefix(200))")
            return 0
        }
    }

    private func openStream() {
        stats.streams.add(1, ordering: .relaxed)
        stream?.send(uri: path + "/xhr_streaming", host: host, body: nil)
    }

    private func queueMessage() {
        outgoing.writeInteger(outgoingCount == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
        SockJSWire.writeEscapedMessage(seq: nextSeq, into: &outgoing)
        outgoingCount += 1
        nextSeq += 1
    }

    private func queue(_ message: ByteBuffer) {
        outgoing.writeInteger(outgoingCount == 0 ? UInt8(ascii: "[") : UInt8(ascii: ","))
        SockJSWire.writeString(message, into: &outgoing)
        outgoingCount += 1
    }

    /// Sends everything queued as one `xhr_send`, unless one is still out.
    private func flushOutgoing() {
        guard isOpen, !sendPending, outgoingCount > 0 else { return }
        sendPending = true
        stats.posts.add(1, ordering: .relaxed)
        outgoing.writeInteger(UInt8(ascii: "]"))
        let body = outgoing
        outgoing = ByteBuffer()
        outgoingCount = 0
        sender?.send(uri: path + "/xhr_send", host: host, body: body)
    }

    private func fail(_ reason: String) {
        if let opened {
            self.opened = nil
            opened.fail(BenchError(reason))
        }
        stream?.close()
        sender?.close()
    }
}

/// One keep-alive HTTP/1.1 connection of a SockJS XHR session: sends `POST`s and hands the
/// responses to the session as they come (the stream piece by piece); passes ``StartLoad`` on
/// (`xhr_send` connection).
final class SockJSXHRExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Role: Sendable, CustomStringConvertible {
        case stream, send
        var description: String { self == .stream ? "xhr_streaming" : "xhr_send" }
    }

    private let session: SockJSXHRSession
    private let role: Role
    private var context: ChannelHandlerContext?

    init(session: SockJSXHRSession, role: Role) {
        self.session = session
        self.role = role
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        session.attach(self, role: role)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func send(uri: String, host: String, body: ByteBuffer?) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        if body != nil { headers.add(name: "Content-Type", value: "text/plain;charset=UTF-8") }
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: headers))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func close() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            session.receivedHead(head.status, role: role)
        case .body(var part):
            if role == .stream { session.receivedStream(&part) }
        case .end:
            session.receivedEnd(role: role)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is StartLoad, role == .send {
            session.startLoad()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
