import NIOCore
import NIOHTTP1
import NIOPosix

/// Engine.IO 4 long-polling sessions against `http://127.0.0.1:<port>/primus/`, as a browser
/// without WebSockets runs them: a handshake `GET`, then a `GET` always pending for the server's
/// packets and one `POST` at a time carrying the client's, each on its own keep-alive connection
/// (browsers use two connections for the same reason). Both connections of a session live on one
/// event loop, so the session needs no lock.
struct PollingLoadClient: Sendable {
    let group: any EventLoopGroup
    let port: Int
    let stats: LoadStats

    /// Opens one session (handshake done, first poll pending); returns its two connections.
    /// The session starts sending when its `POST` connection receives ``StartLoad``.
    func connect(inFlight: Int) async throws -> [any Channel] {
        let loop = group.next()
        let opened = loop.makePromise(of: Void.self)
        let session = try await loop.submit {
            NIOLoopBound(PollingSession(stats: stats, inFlight: inFlight, port: port, opened: opened), eventLoop: loop)
        }.get()
        let poll = try await connectExchange(on: loop, session: session, role: .poll)
        let post = try await connectExchange(on: loop, session: session, role: .post)
        try await loop.submit { session.value.start() }.get()
        do {
            try await opened.futureResult.get()
        } catch {
            poll.close(promise: nil)
            post.close(promise: nil)
            throw error
        }
        return [poll, post]
    }

    /// Opens `count` sessions, at most `window` handshakes at a time.
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
        session: NIOLoopBound<PollingSession>,
        role: HTTPExchangeHandler.Role
    ) async throws -> any Channel {
        try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler(session: session.value, role: role))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }
}

/// One Engine.IO polling session of the load generator: keeps `inFlight` messages outstanding,
/// checks every echo's `seq`, and answers Engine.IO and Primus pings through the next `POST`.
final class PollingSession {
    private let stats: LoadStats
    private let inFlight: Int
    private let host: String
    private var opened: EventLoopPromise<Void>?
    private var sid: String?
    private var poll: HTTPExchangeHandler?
    private var post: HTTPExchangeHandler?
    private var postPending = false
    /// Packets for the next `POST`, already joined with 0x1E.
    private var outgoing: ByteBuffer
    private var outgoingCount = 0
    private var nextSeq = 0
    private var expectedSeq = 0
    private var started = false

    init(stats: LoadStats, inFlight: Int, port: Int, opened: EventLoopPromise<Void>) {
        self.stats = stats
        self.inFlight = inFlight
        self.host = "127.0.0.1:\(port)"
        self.opened = opened
        self.outgoing = ByteBuffer()
    }

    func attach(_ handler: HTTPExchangeHandler, role: HTTPExchangeHandler.Role) {
        switch role {
        case .poll: poll = handler
        case .post: post = handler
        }
    }

    /// Both connections are up: send the handshake.
    func start() {
        poll?.send(.GET, uri: "/primus/?EIO=4&transport=polling", host: host, body: nil)
    }

    /// ``StartLoad`` arrived: queue the first `inFlight` messages.
    func startLoad() {
        guard !started else { return }
        started = true
        for _ in 0..<inFlight { queueMessage() }
        flushOutgoing()
    }

    func received(_ status: HTTPResponseStatus, body: ByteBuffer, role: HTTPExchangeHandler.Role) {
        guard status == .ok else {
            fail("\(role) answered \(status)")
            return
        }
        switch role {
        case .post:
            postPending = false
            flushOutgoing()
        case .poll:
            guard sid != nil else { return handshake(body) }
            var echoes = 0
            var closed = false
            for packet in body.readableBytesView.split(separator: 0x1E, omittingEmptySubsequences: true) {
                switch packet.first {
                case UInt8(ascii: "4"):
                    let message = ByteBuffer(bytes: packet.dropFirst())
                    if PrimusPing.isPing(message, at: 0) {
                        var pong = message
                        PrimusPing.turnIntoPong(&pong, at: 0)
                        queuePacket(type: "4", pong)
                        stats.pingsAnswered.add(1, ordering: .relaxed)
                        continue
                    }
                    if EchoLoadHandler.seq(in: message) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
                    expectedSeq += 1
                    echoes += 1
                    if !stats.stopping.load(ordering: .relaxed) { queueMessage() }
                case UInt8(ascii: "2"):
                    queuePacket(type: "3", ByteBuffer())
                    stats.pingsAnswered.add(1, ordering: .relaxed)
                case UInt8(ascii: "1"):
                    closed = true
                default:
                    break  // noop `6`
                }
            }
            if echoes > 0 { stats.echoes.add(echoes, ordering: .relaxed) }
            if closed {
                fail("the server closed the session")
                return
            }
            sendPoll()
            flushOutgoing()
        }
    }

    func connectionClosed() {
        opened?.fail(BenchError("a polling connection closed during the handshake"))
        opened = nil
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
    }

    private func handshake(_ body: ByteBuffer) {
        // `0{"sid":"<sid>",...}`
        let text = String(buffer: body)
        guard text.first == "0", let start = text.range(of: "\"sid\":\""),
            let end = text[start.upperBound...].firstIndex(of: "\"")
        else {
            return fail("unexpected handshake: \(text.prefix(200))")
        }
        sid = String(text[start.upperBound..<end])
        sendPoll()
        opened?.succeed()
        opened = nil
    }

    private var sessionURI: String { "/primus/?EIO=4&transport=polling&sid=\(sid ?? "")" }

    private func sendPoll() {
        guard !stats.stopping.load(ordering: .relaxed) else { return }
        poll?.send(.GET, uri: sessionURI, host: host, body: nil)
    }

    private func queueMessage() {
        if outgoingCount > 0 { outgoing.writeInteger(UInt8(0x1E)) }
        outgoing.writeStaticString("4")
        EchoLoadHandler.writeMessage(seq: nextSeq, into: &outgoing)
        outgoingCount += 1
        nextSeq += 1
    }

    private func queuePacket(type: StaticString, _ data: ByteBuffer) {
        if outgoingCount > 0 { outgoing.writeInteger(UInt8(0x1E)) }
        outgoing.writeStaticString(type)
        outgoing.writeImmutableBuffer(data)
        outgoingCount += 1
    }

    /// Sends the queued packets as one `POST` once there are `inFlight` of them (all echoes of
    /// the previous batch are back), so every `POST` carries a full batch of N packets.
    private func flushOutgoing() {
        guard !postPending, outgoingCount >= inFlight || (outgoingCount > 0 && stats.stopping.load(ordering: .relaxed)), sid != nil
        else { return }
        postPending = true
        stats.posts.add(1, ordering: .relaxed)
        let body = outgoing
        outgoing = ByteBuffer()
        outgoingCount = 0
        post?.send(.POST, uri: sessionURI, host: host, body: body)
    }

    private func fail(_ reason: String) {
        if let opened {
            self.opened = nil
            opened.fail(BenchError(reason))
        }
        poll?.close()
        post?.close()
    }
}

/// One keep-alive HTTP/1.1 connection of a polling session: sends a request, collects the
/// response body, hands both to the session, and passes ``StartLoad`` on (`POST` connection).
final class HTTPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Role: Sendable, CustomStringConvertible {
        case poll, post
        var description: String { self == .poll ? "GET" : "POST" }
    }

    private let session: PollingSession
    private let role: Role
    private var context: ChannelHandlerContext?
    private var status: HTTPResponseStatus = .ok
    private var body = ByteBuffer()

    init(session: PollingSession, role: Role) {
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

    func send(_ method: HTTPMethod, uri: String, host: String, body: ByteBuffer?) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        if body != nil { headers.add(name: "Content-Type", value: "text/plain;charset=UTF-8") }
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func close() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            session.received(status, body: body, role: role)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is StartLoad, role == .post {
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
