import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusCore

/// BrowserChannel (VER=8) sessions against `http://127.0.0.1:<port>/primus/bind`, as our browser
/// transport runs them: a creating `POST`, then a streaming back channel (`CI=0`) always open for
/// the server's arrays and one forward `POST` at a time carrying the client's maps, each on its
/// own keep-alive connection. Both connections of a session live on one event loop.
struct BrowserChannelLoadClient: Sendable {
    let group: any EventLoopGroup
    let port: Int
    let stats: LoadStats

    /// Opens one session (created, back channel open); returns its two connections. The session
    /// starts sending when its forward connection receives ``StartLoad``.
    func connect(inFlight: Int) async throws -> [any Channel] {
        let loop = group.next()
        let opened = loop.makePromise(of: Void.self)
        let session = try await loop.submit {
            NIOLoopBound(BrowserChannelLoadSession(stats: stats, inFlight: inFlight, port: port, opened: opened), eventLoop: loop)
        }.get()
        let back = try await connectExchange(on: loop, session: session, role: .back)
        let forward = try await connectExchange(on: loop, session: session, role: .forward)
        try await loop.submit { session.value.start() }.get()
        do {
            try await opened.futureResult.get()
        } catch {
            back.close(promise: nil)
            forward.close(promise: nil)
            throw error
        }
        return [back, forward]
    }

    /// Opens `count` sessions, at most `window` creations at a time.
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
        session: NIOLoopBound<BrowserChannelLoadSession>,
        role: BrowserChannelExchangeHandler.Role
    ) async throws -> any Channel {
        try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(BrowserChannelExchangeHandler(session: session.value, role: role))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }
}

/// One BrowserChannel session of the load generator: keeps `inFlight` messages outstanding,
/// checks every echo's `seq`, and answers Primus pings through the next forward request.
final class BrowserChannelLoadSession {
    private let stats: LoadStats
    private let inFlight: Int
    private let host: String
    private var opened: EventLoopPromise<Void>?
    private var sid: String?
    private var back: BrowserChannelExchangeHandler?
    private var forward: BrowserChannelExchangeHandler?
    private var reader = BrowserChannelChunkReader()
    private var forwardPending = false
    private var rid = 1000
    private var offset = 0
    private var lastArrayID = 0
    /// Messages for the next forward requests, already form-encoded.
    private var outgoing: [String] = []
    private var nextSeq = 0
    private var expectedSeq = 0
    private var started = false

    init(stats: LoadStats, inFlight: Int, port: Int, opened: EventLoopPromise<Void>) {
        self.stats = stats
        self.inFlight = inFlight
        self.host = "127.0.0.1:\(port)"
        self.opened = opened
    }

    func attach(_ handler: BrowserChannelExchangeHandler, role: BrowserChannelExchangeHandler.Role) {
        switch role {
        case .back: back = handler
        case .forward: forward = handler
        }
    }

    /// Both connections are up: create the session.
    func start() {
        forward?.send(.POST, uri: "/primus/bind?VER=8&RID=\(rid)&CVER=1&t=1", host: host, body: ByteBuffer(string: "count=0"))
        rid += 1
    }

    /// ``StartLoad`` arrived: queue the first `inFlight` messages.
    func startLoad() {
        guard !started else { return }
        started = true
        for _ in 0..<inFlight { queueMessage() }
        flushOutgoing()
    }

    /// A piece of a back-channel answer.
    func backChannelPart(_ bytes: ByteBuffer) {
        do {
            var echoes = 0
            for chunk in try reader.feed(bytes) {
                for array in chunk.arrayValue ?? [] {
                    guard let id = array[0]?.numberValue.map({ Int($0) }), id > lastArrayID else { continue }
                    lastArrayID = id
                    guard let text = array[1]?.stringValue else { continue }  // noop
                    let message = ByteBuffer(string: text)
                    if PrimusPing.isPing(message, at: 0) {
                        var pong = message
                        PrimusPing.turnIntoPong(&pong, at: 0)
                        queue(String(buffer: pong))
                        stats.pingsAnswered.add(1, ordering: .relaxed)
                        continue
                    }
                    if EchoLoadHandler.seq(in: message) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
                    expectedSeq += 1
                    echoes += 1
                    if !stats.stopping.load(ordering: .relaxed) { queueMessage() }
                }
            }
            if echoes > 0 { stats.echoes.add(echoes, ordering: .relaxed) }
            flushOutgoing()
        } catch {
            fail("a malformed back channel: \(error)")
        }
    }

    func received(_ status: HTTPResponseStatus, body: ByteBuffer, role: BrowserChannelExchangeHandler.Role) {
        guard status == .ok else {
            fail("\(role) answered \(status): \(String(buffer: body).prefix(100))")
            return
        }
        switch role {
        case .forward where sid == nil:
            created(body)
        case .forward:
            forwardPending = false
            flushOutgoing()
        case .back:
            // The server ended the back channel (its 10 KiB budget): open the next one.
            openBackChannel()
        }
    }

    func connectionClosed() {
        opened?.fail(BenchError("a BrowserChannel connection closed during creation"))
        opened = nil
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
    }

    private func created(_ body: ByteBuffer) {
        var reader = BrowserChannelChunkReader()
        guard let chunk = (try? reader.feed(body))?.first, let sid = chunk[0]?[1]?[1]?.stringValue else {
            return fail("unexpected creation answer: \(String(buffer: body).prefix(200))")
        }
        self.sid = sid
        openBackChannel()
        opened?.succeed()
        opened = nil
    }

    private func openBackChannel() {
        guard let sid, !stats.stopping.load(ordering: .relaxed) else { return }
        reader = BrowserChannelChunkReader()
        back?.send(.GET, uri: "/primus/bind?VER=8&RID=rpc&SID=\(sid)&CI=0&AID=\(lastArrayID)&TYPE=xmlhttp&t=1", host: host, body: nil)
    }

    private func queueMessage() {
        var message = ByteBuffer()
        EchoLoadHandler.writeMessage(seq: nextSeq, into: &message)
        nextSeq += 1
        queue(String(buffer: message))
    }

    private func queue(_ message: String) {
        outgoing.append(Self.formEncoded(message))
    }

    /// The most maps one forward request carries (the closure client's limit, and the server's).
    private static let maxMapsPerRequest = BrowserChannelForwardData.maxMaps

    /// Sends the queued maps as one forward request once there are `inFlight` of them (all
    /// echoes of the previous batch are back), so every request carries a full batch; batches
    /// over 1,000 maps go as several requests, one after another.
    private func flushOutgoing() {
        let batch = min(inFlight, Self.maxMapsPerRequest)
        guard let sid, !forwardPending, outgoing.count >= batch || (!outgoing.isEmpty && stats.stopping.load(ordering: .relaxed))
        else { return }
        forwardPending = true
        stats.posts.add(1, ordering: .relaxed)
        let count = min(outgoing.count, Self.maxMapsPerRequest)
        var text = "count=\(count)&ofs=\(offset)"
        for index in 0..<count { text += "&req\(index)__S=" + outgoing[index] }
        let body = ByteBuffer(string: text)
        offset += count
        outgoing.removeFirst(count)
        forward?.send(.POST, uri: "/primus/bind?VER=8&SID=\(sid)&RID=\(rid)&AID=\(lastArrayID)&t=1", host: host, body: body)
        rid += 1
    }

    /// Percent-encodes everything but unreserved characters.
    private static func formEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded
    }

    private func fail(_ reason: String) {
        if let opened {
            self.opened = nil
            opened.fail(BenchError(reason))
        }
        back?.close()
        forward?.close()
    }
}

/// One keep-alive HTTP/1.1 connection of a BrowserChannel session: the back channel hands each
/// piece of its streamed body to the session as it arrives; the forward connection collects its
/// answers whole and passes ``StartLoad`` on.
final class BrowserChannelExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum Role: Sendable, CustomStringConvertible {
        case back, forward
        var description: String { self == .back ? "back channel" : "forward channel" }
    }

    private let session: BrowserChannelLoadSession
    private let role: Role
    private var context: ChannelHandlerContext?
    private var status: HTTPResponseStatus = .ok
    private var body = ByteBuffer()

    init(session: BrowserChannelLoadSession, role: Role) {
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
        if body != nil { headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded") }
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
            if role == .back, status == .ok {
                session.backChannelPart(part)
            } else {
                body.writeBuffer(&part)
            }
        case .end:
            session.received(status, body: body, role: role)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is StartLoad, role == .forward {
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
