import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// Counters shared by every connection of one run. Connections add to them once per read
/// completion, not once per message, so the load generator does not contend on them.
final class LoadStats: Sendable {
    let echoes = Atomic<Int>(0)
    let mismatches = Atomic<Int>(0)
    let pingsAnswered = Atomic<Int>(0)
    let closedEarly = Atomic<Int>(0)
    /// Fan-out: subscribers that have received every message.
    let subscribersDone = Atomic<Int>(0)
    /// Fan-out: subscribers that have received a probe (so the server has them in its list).
    let subscribersReady = Atomic<Int>(0)
    /// Fan-out: subscribers that have received the fence broadcast (``StartFence``).
    let subscribersFenced = Atomic<Int>(0)
    /// Fan-out: set once every subscriber is ready; the publisher stops probing.
    let probing = Atomic<Bool>(true)
    /// Engine.IO polling: `POST` requests sent (packets per request = packets / this); SockJS
    /// XHR: `xhr_send` requests.
    let posts = Atomic<Int>(0)
    /// SockJS XHR: `xhr_streaming` responses opened (one per session, then one each time the
    /// server's response limit ends one).
    let streams = Atomic<Int>(0)
    /// Set at the end of a run: connections stop sending new messages.
    let stopping = Atomic<Bool>(false)
}

/// What a connection does once upgraded.
enum ClientMode: Sendable {
    /// Keep `inFlight` JSON messages outstanding; send a new one for every echo.
    case load(inFlight: Int)
    /// Send nothing; answer heartbeats only.
    case idle
    /// Fan-out subscriber: expect `messages` broadcasts in order; the publisher also keeps
    /// `window` of them in flight, sending the next when its own copy of one comes back. With
    /// `inRoom`, the subscriber joins the room ``EventWire/room`` on ``StartProbe`` and the
    /// publisher publishes to it through an event (server mode `events`).
    case fanout(messages: Int, window: Int, publishes: Bool, inRoom: Bool)
}

/// Sent through every pipeline to start the load at once on all connections.
struct StartLoad: Sendable {}

/// Sent to the fan-out publisher: broadcast probes until every subscriber has seen one.
struct StartProbe: Sendable {}

/// Sent to the fan-out publisher after the measured broadcasts: broadcast one fence. A subscriber
/// that has the fence has everything published before it, so a late duplicate of a measured
/// broadcast would have shown by then.
struct StartFence: Sendable {}

/// Opens WebSocket connections to `ws://127.0.0.1:<port>/primus` with NIOWebSocketClientUpgrader
/// over ClientBootstrap.
struct WebSocketLoadClient: Sendable {
    let group: any EventLoopGroup
    let port: Int
    let stats: LoadStats
    /// How messages travel: which URL, which envelope, which heartbeats to answer.
    var framing = Framing.primus
    /// Extra bytes of handshake headers (browsers send cookies, user agent, ...).
    var paddingHeaderBytes = 0
    /// Fan-out: when set, broadcasts carry their publish time (``TimedFanoutMessage``) and every
    /// subscriber records each delivery's latency here.
    var latency: FanoutLatency?
    /// Fan-out: when set, the publisher is paced by the slowest subscriber, not by its own copy.
    var pacer: FanoutPacer?

    /// Connects and upgrades one connection; returns once frames can flow.
    func connect(mode: ClientMode) async throws -> any Channel {
        let loop = group.next()
        let upgraded = loop.makePromise(of: Void.self)
        let port = self.port
        let stats = self.stats
        let padding = self.paddingHeaderBytes
        let framing = self.framing
        let latency = self.latency
        let pacer = self.pacer
        // Socket.IO: the namespace CONNECT comes after the upgrade (see SocketIOConnector).
        let connected = loop.makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                // Close with a reset: 10,000 connections closed by the client would otherwise sit
                // in TIME_WAIT on the client's ephemeral ports while the next server is measured.
                _ = (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                return channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        maxFrameSize: maxFrameSize,
                        automaticErrorHandling: false,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                if framing.isSocketIO {
                                    try channel.pipeline.syncOperations.addHandler(SocketIOConnector(connected: connected))
                                } else {
                                    connected.succeed()
                                }
                                switch mode {
                                case .load(let inFlight):
                                    try channel.pipeline.syncOperations.addHandler(EchoLoadHandler(stats: stats, inFlight: inFlight, framing: framing))
                                case .idle:
                                    try channel.pipeline.syncOperations.addHandler(IdleHandler(stats: stats, framing: framing))
                                case .fanout(let messages, let window, let publishes, let inRoom):
                                    try channel.pipeline.syncOperations.addHandler(
                                        FanoutHandler(
                                            stats: stats, messages: messages, window: window, publishes: publishes, inRoom: inRoom,
                                            framing: framing, latency: latency, pacer: pacer
                                        )
                                    )
                                }
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        // Frames the server sends right after its 101 (Engine.IO's open packet)
                        // may come in the same read: keep them for the WebSocket decoder.
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.syncOperations.removeHandler(name: "bench.upgrade", promise: nil)
                                upgraded.succeed()
                            }
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequester(port: port, uri: framing.uri, padding: padding, upgraded: upgraded),
                        name: "bench.upgrade"
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .flatMapErrorThrowing { error -> any Channel in
                // No pipeline ever completes them: a promise left pending is a leak NIO reports.
                upgraded.fail(error)
                connected.fail(error)
                throw error
            }
            .get()
        do {
            try await upgraded.futureResult.get()
            try await connected.futureResult.get()
        } catch {
            connected.fail(error)
            channel.close(promise: Optional<EventLoopPromise<Void>>.none)
            throw error
        }
        return channel
    }

    /// Opens `count` connections, at most `window` handshakes at a time.
    func connectMany(_ count: Int, mode: ClientMode, window: Int) async throws -> [any Channel] {
        try await withThrowingTaskGroup(of: (any Channel).self) { group in
            var channels: [any Channel] = []
            channels.reserveCapacity(count)
            var started = 0
            while started < min(window, count) {
                group.addTask { try await connect(mode: mode) }
                started += 1
            }
            while let channel = try await group.next() {
                channels.append(channel)
                if started < count {
                    group.addTask { try await connect(mode: mode) }
                    started += 1
                }
            }
            return channels
        }
    }
}

/// Sends the upgrade request (HTTPClientUpgradeHandler adds the WebSocket headers) and reports
/// a refused or failed upgrade.
private final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let port: Int
    let uri: String
    let padding: Int
    let upgraded: EventLoopPromise<Void>

    init(port: Int, uri: String, padding: Int, upgraded: EventLoopPromise<Void>) {
        self.port = port
        self.uri = uri
        self.padding = padding
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1:\(port)")
        headers.add(name: "Content-Length", value: "0")
        if padding > 0 { headers.add(name: "X-Bench-Padding", value: String(repeating: "x", count: padding)) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // An HTTP response reaching us means the server did not upgrade.
        if case .head(let head) = unwrapInboundIn(data) {
            upgraded.fail(BenchError("upgrade refused: \(head.status)"))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(BenchError("connection closed during the upgrade"))
        context.fireChannelInactive()
    }
}

/// A cheap PRNG for masking keys (the client must mask; SystemRandomNumberGenerator would cost
/// a getrandom syscall per frame on the load generator).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// How messages travel in WebSocket frames.
enum Framing: Sendable {
    /// One Primus message per frame (`websockets` transformer).
    case primus
    /// One Engine.IO 4 packet per frame; Primus messages are message packets `4<json>`.
    case engineIO
    /// One Primus message per binary frame, MessagePack-encoded (`msgpack` parser).
    case msgpack
    /// SockJS frames (`sockjs` transformer): the client sends `["<message>"]`, the server
    /// answers `a["<message>"]`, each message a JSON string of the parser's text.
    case sockJS
    /// Primus emitter packets (`websockets` transformer): the echo is the event
    /// `{"type":0,"data":["echo",<message>]}`.
    case primusEvents
    /// Socket.IO over Engine.IO 4 (`socket.io` transformer): the echo is the event
    /// `42["echo",<message>]`.
    case socketIOEvents
    /// Socket.IO `message` events, data to Primus: `42["message",<message>]`.
    case socketIOData

    /// Whether messages travel in Engine.IO packets (whose pings `2` are answered `3`).
    var isEngineIO: Bool {
        self == .engineIO || isSocketIO
    }

    /// Whether messages are Socket.IO packets inside Engine.IO message packets.
    var isSocketIO: Bool {
        self == .socketIOEvents || self == .socketIOData
    }

    /// Echo: the head of the event array that carries each message (`"echo",`), or nil when
    /// messages travel on their own.
    var echoHead: StaticString? {
        switch self {
        case .primusEvents, .socketIOEvents: EventWire.echoHead
        case .socketIOData: EventWire.dataHead
        default: nil
        }
    }

    /// Room fan-out: the head of the event array each delivery arrives in (`"tick",` for the
    /// event framings, `"message",` for Socket.IO data), or nil for plain Primus data.
    var deliveryHead: StaticString? {
        switch self {
        case .primusEvents, .socketIOEvents: EventWire.tickHead
        case .socketIOData: EventWire.dataHead
        default: nil
        }
    }

    /// Room fan-out: what the publisher emits, the room and then its message: `publish` makes
    /// the server emit `tick`, `publish-data` write the message as data.
    var publishHead: StaticString {
        self == .primusEvents || self == .socketIOEvents ? EventWire.publishHead : EventWire.publishDataHead
    }

    /// The upgrade request's target: for SockJS a session of its own for every connection (the
    /// `<server>` part is a load balancer's hint, ignored by the server).
    var uri: String {
        switch self {
        case .primus, .msgpack: "/primus"
        case .primusEvents: "/primus"
        case .engineIO, .socketIOEvents, .socketIOData: "/primus/?EIO=4&transport=websocket"
        case .sockJS: "/primus/bench/\(String(UInt64.random(in: .min ... .max), radix: 36))/websocket"
        }
    }

    /// Bytes in front of every Primus message: the Engine.IO packet type, SockJS's `a["\`.
    var prefixLength: Int {
        switch self {
        case .primus, .msgpack, .primusEvents: 0
        case .engineIO, .socketIOEvents, .socketIOData: 1
        case .sockJS: 4
        }
    }
}

/// Answers Primus heartbeats: `"primus::ping::<ms>"` → `"primus::pong::<ms>"` (inside a message
/// packet with Engine.IO framing, a one-message `a[...]` frame with SockJS's), Engine.IO pings `2` with `3`, and WebSocket ping frames with
/// pongs. Returns whether `frame` was one of those.
private func answerHeartbeat(
    _ frame: WebSocketFrame,
    framing: Framing,
    context: ChannelHandlerContext,
    rng: inout SplitMix64,
    stats: LoadStats
) -> Bool {
    switch frame.opcode {
    case .ping:
        let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(using: &rng), data: frame.data)
        context.write(NIOAny(pong), promise: nil)
        return true
    case .binary where framing == .msgpack:
        // A MessagePack fixstr "primus::ping::<ms>": the header byte, then the text.
        guard let header = frame.data.getInteger(at: frame.data.readerIndex, as: UInt8.self), header & 0xE0 == 0xA0,
            PrimusPing.isPing(frame.data, at: 0, prefix: "\u{0}primus::ping::", skippingFirst: true)
        else { return false }
        var payload = frame.data
        PrimusPing.turnIntoPong(&payload, at: 0)
        let pong = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(using: &rng), data: payload)
        context.write(NIOAny(pong), promise: nil)
        stats.pingsAnswered.add(1, ordering: .relaxed)
        return true
    case .text:
        if framing.isEngineIO, frame.data.readableBytes == 1, frame.data.getInteger(at: frame.data.readerIndex, as: UInt8.self) == UInt8(ascii: "2") {
            var payload = context.channel.allocator.buffer(capacity: 1)
            payload.writeStaticString("3")
            context.write(NIOAny(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: payload)), promise: nil)
            stats.pingsAnswered.add(1, ordering: .relaxed)
            return true
        }
        let offset = framing.prefixLength
        if framing == .sockJS, !frame.data.readableBytesView.starts(with: "a[\"\\".utf8) { return false }
        guard PrimusPing.isPing(frame.data, at: offset) else { return false }
        var payload = frame.data
        PrimusPing.turnIntoPong(&payload, at: offset)
        // SockJS: `a["\"primus::pong::<ms>\""]` without its `a` is the client's payload.
        if framing == .sockJS { payload.moveReaderIndex(forwardBy: 1) }
        let pong = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: payload)
        context.write(NIOAny(pong), promise: nil)
        stats.pingsAnswered.add(1, ordering: .relaxed)
        return true
    default:
        return false
    }
}

/// Primus's heartbeat text, `"primus::ping::<ms>"` (a JSON string), found in place.
enum PrimusPing {
    private static let prefix: StaticString = "\"primus::ping::"

    /// Whether the bytes from `offset` on start with `"primus::ping::` (with `skippingFirst`,
    /// whatever the first byte is: a MessagePack str header in place of the quote).
    static func isPing(_ buffer: ByteBuffer, at offset: Int, prefix: StaticString = prefix, skippingFirst: Bool = false) -> Bool {
        let skip = skippingFirst ? 1 : 0
        return buffer.withUnsafeReadableBytes { bytes in
            bytes.count > offset + prefix.utf8CodeUnitCount
                && memcmp(bytes.baseAddress! + offset + skip, prefix.utf8Start + skip, prefix.utf8CodeUnitCount - skip) == 0
        }
    }

    /// Rewrites the ping at `offset` into the matching pong: "ping" is bytes 9..<13 after the
    /// opening quote and `primus::`.
    static func turnIntoPong(_ buffer: inout ByteBuffer, at offset: Int) {
        buffer.setString("pong", at: buffer.readerIndex + offset + 9)
    }
}

/// Keeps `inFlight` messages `{"seq":N,"payload":"hello"}` outstanding and checks that every
/// echo carries the next expected `seq` (echoes on one connection come back in order; Primus
/// may reorder the object's keys, so the check finds `"seq":` rather than comparing bytes).
final class EchoLoadHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let stats: LoadStats
    private let inFlight: Int
    private let framing: Framing
    private var nextSeq = 0
    private var expectedSeq = 0
    private var unreported = 0
    private var needsFlush = false
    private var started = false
    private var rng: SplitMix64
    /// SockJS: each message of an `a[...]` frame, unescaped.
    private var scratch = ByteBuffer()

    init(stats: LoadStats, inFlight: Int, framing: Framing) {
        self.stats = stats
        self.inFlight = inFlight
        self.framing = framing
        self.rng = SplitMix64(state: UInt64.random(in: .min ... .max))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is StartLoad, !started else { return context.fireUserInboundEventTriggered(event) }
        started = true
        for _ in 0..<inFlight { send(context: context) }
        context.flush()
    }

    private func send(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 48)
        if framing == .engineIO { buffer.writeStaticString("4") }
        if let head = framing.echoHead {
            EventWire.writeEvent(head, seq: nextSeq, socketIO: framing.isSocketIO, into: &buffer)
        } else if framing == .msgpack {
            Self.writeMessagePack(seq: nextSeq, into: &buffer)
        } else if framing == .sockJS {
            SockJSWire.writeMessageArray(seq: nextSeq, into: &buffer)
        } else {
            Self.writeMessage(seq: nextSeq, into: &buffer)
        }
        nextSeq += 1
        let opcode: WebSocketOpcode = framing == .msgpack ? .binary : .text
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(using: &rng), data: buffer)), promise: nil)
        needsFlush = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if answerHeartbeat(frame, framing: framing, context: context, rng: &rng, stats: stats) {
            needsFlush = true
            return
        }
        switch frame.opcode {
        case .binary where framing == .msgpack:
            if Self.messagePackSeq(in: frame.data) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
            expectedSeq += 1
            unreported += 1
            if !stats.stopping.load(ordering: .relaxed) { send(context: context) }
        case .text where framing == .sockJS:
            switch frame.data.getInteger(at: frame.data.readerIndex, as: UInt8.self) {
            case UInt8(ascii: "a"):
                let parsed = SockJSWire.forEachMessage(in: frame.data, scratch: &scratch) { message in
                    if Self.seq(in: message) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
                    expectedSeq += 1
                    unreported += 1
                    if !stats.stopping.load(ordering: .relaxed) { send(context: context) }
                }
                if !parsed { stats.mismatches.add(1, ordering: .relaxed) }
            case UInt8(ascii: "o"), UInt8(ascii: "h"):
                break  // the open frame, heartbeats
            default:
                // `c[code,"reason"]`: the server ended the session; anything else is broken.
                stats.mismatches.add(1, ordering: .relaxed)
            }
        case .text where framing.echoHead != nil:
            // Anything but the echo event (heartbeats were answered above) is an error.
            let message = EventWire.message(in: frame.data, head: framing.echoHead!, socketIO: framing.isSocketIO)
            if message.map(Self.seq(in:)) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
            expectedSeq += 1
            unreported += 1
            if !stats.stopping.load(ordering: .relaxed) { send(context: context) }
        case .text:
            var data = frame.data
            if framing == .engineIO {
                // Only message packets carry echoes (the open packet `0{...}` comes first).
                guard data.readInteger(as: UInt8.self) == UInt8(ascii: "4") else { return }
            }
            if Self.seq(in: data) != expectedSeq { stats.mismatches.add(1, ordering: .relaxed) }
            expectedSeq += 1
            unreported += 1
            if !stats.stopping.load(ordering: .relaxed) { send(context: context) }
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unreported > 0 {
            stats.echoes.add(unreported, ordering: .relaxed)
            unreported = 0
        }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes the benchmark's message, `{"seq":<seq>,"payload":"hello"}`.
    static func writeMessage(seq: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"seq\":")
        buffer.writeString(String(seq))
        buffer.writeStaticString(",\"payload\":\"hello\"}")
    }

    /// Writes the benchmark's message in MessagePack: `{"seq": <uint32>, "payload": "hello"}`.
    static func writeMessagePack(seq: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0x82))
        buffer.writeInteger(UInt8(0xA3))
        buffer.writeStaticString("seq")
        buffer.writeInteger(UInt8(0xCE))
        buffer.writeInteger(UInt32(truncatingIfNeeded: seq))
        buffer.writeInteger(UInt8(0xA7))
        buffer.writeStaticString("payload")
        buffer.writeInteger(UInt8(0xA5))
        buffer.writeStaticString("hello")
    }

    /// The `seq` of an echoed MessagePack message (the server writes it in its smallest integer
    /// form), or -1 when the echo is not `{"seq": n, "payload": "hello"}`.
    static func messagePackSeq(in buffer: ByteBuffer) -> Int {
        var buffer = buffer
        guard buffer.readInteger(as: UInt8.self) == 0x82, buffer.readInteger(as: UInt8.self) == 0xA3,
            buffer.readString(length: 3) == "seq", let tag = buffer.readInteger(as: UInt8.self)
        else { return -1 }
        let value: Int?
        switch tag {
        case 0x00...0x7F: value = Int(tag)
        case 0xCC: value = buffer.readInteger(as: UInt8.self).map(Int.init)
        case 0xCD: value = buffer.readInteger(as: UInt16.self).map(Int.init)
        case 0xCE: value = buffer.readInteger(as: UInt32.self).map(Int.init)
        default: value = nil
        }
        guard let value, buffer.readInteger(as: UInt8.self) == 0xA7, buffer.readString(length: 7) == "payload",
            buffer.readInteger(as: UInt8.self) == 0xA5, buffer.readString(length: 5) == "hello", buffer.readableBytes == 0
        else { return -1 }
        return value
    }

    /// The integer after `"seq":`, or -1; the echo must also be exactly as long as what was sent
    /// (`{"seq":` + digits + `,"payload":"hello"}`).
    static func seq(in buffer: ByteBuffer) -> Int {
        buffer.withUnsafeReadableBytes { bytes -> Int in
            let key: StaticString = "\"seq\":"
            let keyLength = key.utf8CodeUnitCount
            let count = bytes.count
            var index = 0
            while index + keyLength <= count {
                if bytes[index] == UInt8(ascii: "\""), memcmp(bytes.baseAddress! + index, key.utf8Start, keyLength) == 0 { break }
                index += 1
            }
            index += keyLength
            guard index < count else { return -1 }
            var value = 0
            var digits = 0
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
                digits += 1
            }
            return digits > 0 && count == 26 + digits ? value : -1
        }
    }
}

/// A fan-out subscriber: checks that broadcasts arrive once each, in the order they were
/// published (`seq` 0, 1, 2, ...), and reports when it has all of them. The publisher (one of the
/// subscribers) sends `window` messages at the start, then one more each time its own copy of a
/// broadcast comes back, so at most `window` broadcasts are in the server at once.
final class FanoutHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let stats: LoadStats
    private let messages: Int
    private let window: Int
    private let publishes: Bool
    private let inRoom: Bool
    private let framing: Framing
    private var nextSeq = 0
    private var expectedSeq = 0
    private var unreported = 0
    private var needsFlush = false
    private var started = false
    private var sawProbe = false
    private var rng: SplitMix64
    /// Timed broadcasts: where this subscriber's latency samples go, and the samples not yet
    /// handed over (microseconds).
    private let latency: FanoutLatency?
    private var latencySamples: [UInt32] = []
    /// When set, every subscriber reports each broadcast to it and the publisher sends the next
    /// when it hears that one has reached everyone (instead of when its own copy comes back).
    private let pacer: FanoutPacer?

    init(
        stats: LoadStats, messages: Int, window: Int, publishes: Bool, inRoom: Bool, framing: Framing,
        latency: FanoutLatency? = nil, pacer: FanoutPacer? = nil
    ) {
        self.stats = stats
        self.messages = messages
        self.window = window
        self.publishes = publishes
        self.inRoom = inRoom
        self.framing = framing
        self.latency = latency
        self.pacer = pacer
        self.rng = SplitMix64(state: UInt64.random(in: .min ... .max))
        if latency != nil { latencySamples.reserveCapacity(messages) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is StartProbe, inRoom {
            joinRoom(context: context)
            context.flush()
            return
        }
        if event is StartProbe, publishes {
            probe(context: context)
            context.flush()
            return
        }
        if event is BroadcastDelivered, publishes {
            if nextSeq < messages {
                publish(context: context)
                context.flush()
            }
            return
        }
        if event is StartFence, publishes {
            var buffer = context.channel.allocator.buffer(capacity: 16)
            buffer.writeStaticString("{\"fence\":1}")
            context.writeAndFlush(
                wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: buffer)),
                promise: nil
            )
            return
        }
        guard event is StartLoad, !started else { return context.fireUserInboundEventTriggered(event) }
        started = true
        guard publishes else { return }
        for _ in 0..<min(window, messages) { publish(context: context) }
        context.flush()
    }

    /// A server registers a connection a little after its upgrade completes, so before the
    /// measured broadcasts the publisher sends probes (not counted), one after the other, until
    /// every subscriber has seen one: then every subscriber is in the server's list.
    private func probe(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 16)
        buffer.writeStaticString("{\"probe\":1}")
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: buffer)), promise: nil)
        needsFlush = true
    }

    /// In a room, readiness is the server's acknowledgement of the join: once it comes back the
    /// spark is in the room.
    private func joinRoom(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 48)
        EventWire.writeJoin(socketIO: framing.isSocketIO, into: &buffer)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: buffer)), promise: nil)
        needsFlush = true
    }

    private static func isProbe(_ buffer: ByteBuffer) -> Bool {
        buffer.readableBytesView.starts(with: "{\"probe\"".utf8)
    }

    private func publish(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        if inRoom {
            EventWire.writeEvent(framing.publishHead, seq: nextSeq, socketIO: framing.isSocketIO, into: &buffer)
        } else if latency != nil {
            TimedFanoutMessage.write(seq: nextSeq, sentAt: FanoutLatency.now(), into: &buffer)
        } else {
            EchoLoadHandler.writeMessage(seq: nextSeq, into: &buffer)
        }
        nextSeq += 1
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: buffer)), promise: nil)
        needsFlush = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if answerHeartbeat(frame, framing: framing, context: context, rng: &rng, stats: stats) {
            needsFlush = true
            return
        }
        switch frame.opcode {
        case .text where inRoom && EventWire.isJoinAcknowledgement(frame.data, socketIO: framing.isSocketIO):
            if !sawProbe {
                sawProbe = true
                stats.subscribersReady.add(1, ordering: .relaxed)
            }
        case .text where frame.data.readableBytesView.starts(with: "{\"fence\"".utf8):
            stats.subscribersFenced.add(1, ordering: .relaxed)
        case .text where Self.isProbe(frame.data):
            if !sawProbe {
                sawProbe = true
                stats.subscribersReady.add(1, ordering: .relaxed)
            }
            if publishes, stats.probing.load(ordering: .relaxed) { probe(context: context) }
        case .text:
            // Every broadcast once, in order, and no more than were published.
            let message: ByteBuffer? =
                if let head = framing.deliveryHead {
                    EventWire.message(in: frame.data, head: head, socketIO: framing.isSocketIO)
                } else {
                    frame.data
                }
            let seq: Int?
            if latency != nil, let timed = message.flatMap(TimedFanoutMessage.parse) {
                seq = timed.seq
                let now = FanoutLatency.now()
                latencySamples.append(UInt32(clamping: now >= timed.sentAt ? (now - timed.sentAt) / 1000 : 0))
            } else {
                seq = latency != nil ? nil : message.map(EchoLoadHandler.seq(in:))
            }
            if expectedSeq >= messages || seq != expectedSeq {
                stats.mismatches.add(1, ordering: .relaxed)
            } else {
                pacer?.delivered(expectedSeq)
            }
            expectedSeq += 1
            unreported += 1
            if expectedSeq == messages {
                // Counted before the subscriber reports done: the clock stops when the last one
                // is done, and its deliveries must be in the count by then (not at read complete).
                stats.echoes.add(unreported, ordering: .relaxed)
                unreported = 0
                handOverLatencies()
                stats.subscribersDone.add(1, ordering: .relaxed)
            }
            if publishes, pacer == nil, nextSeq < messages { publish(context: context) }
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unreported > 0 {
            stats.echoes.add(unreported, ordering: .relaxed)
            unreported = 0
        }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
        // A subscriber that never got every message still counts what it got.
        handOverLatencies()
        context.fireChannelInactive()
    }

    /// Gives this subscriber's latency samples to the run's ``FanoutLatency`` (once per batch).
    private func handOverLatencies() {
        guard let latency, !latencySamples.isEmpty else { return }
        latency.add(latencySamples)
        latencySamples.removeAll()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// An idle connection: sends nothing, answers heartbeats, counts unexpected closes.
final class IdleHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let stats: LoadStats
    private let framing: Framing
    private var rng: SplitMix64
    private var needsFlush = false

    init(stats: LoadStats, framing: Framing) {
        self.stats = stats
        self.framing = framing
        self.rng = SplitMix64(state: UInt64.random(in: .min ... .max))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if answerHeartbeat(frame, framing: framing, context: context, rng: &rng, stats: stats) { needsFlush = true }
        if frame.opcode == .connectionClose { context.close(promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !stats.stopping.load(ordering: .relaxed) { stats.closedEarly.add(1, ordering: .relaxed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
