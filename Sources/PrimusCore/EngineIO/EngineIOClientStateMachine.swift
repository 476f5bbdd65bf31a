public import NIOCore

/// One Engine.IO 4 session on the client, as engine.io-client runs it for Primus
/// (`transports: ['polling', 'websocket']`, `forceBase64`): a polling handshake, the long-polling
/// loop, the server's heartbeat, and the upgrade to a WebSocket. Every input returns what the
/// I/O layer does; time comes in as `now`, and ``nextDeadline`` says when ``timerFired(now:)``
/// is due.
///
/// ```
///  idle ── start ──▶ handshaking ── open packet ──▶ polling ── `3probe`, polls drained, `5` ──▶ websocket
///                        │                          │  ▲  │                                      │
///                        │                          │  └──┘ probe fails: polling goes on         │
///                        │                          └── close() ──▶ closing ── posted ──┐        │
///                        └──────── error, `1`, ping timeout, transport gone ────────────┴──▶ closed
/// ```
///
/// On polling there is at most one `GET` and one `POST` outstanding, as the server requires;
/// packets sent while a `POST` is out are batched into the next one, up to the server's
/// `maxPayload`. The server pings (`2`) every `pingInterval`; the client answers `3`, and gives
/// the connection up when no ping came for `pingInterval + pingTimeout`.
///
/// The upgrade follows the reference client: the WebSocket is opened with the `sid` while
/// polling goes on; `2probe` goes out and `3probe` must come back; then polling pauses (no new
/// `GET` or `POST`), and once the outstanding ones are answered (the server releases the `GET`
/// with a noop) `5` switches the session and the packets held meanwhile follow on the WebSocket.
/// A probe that fails or does not finish within `upgradeTimeout` is closed and polling continues.
public struct EngineIOClientStateMachine: Sendable {
    /// Client options.
    public struct Configuration: Sendable, Hashable {
        /// Whether to upgrade to a WebSocket when the server offers one (`false` is Primus's
        /// `websockets: false`: polling only).
        public var upgrade: Bool
        /// The largest incoming message in bytes; a longer one closes the session.
        public var maxMessageLength: Int
        /// How long the probe WebSocket may take, from opening to answering `3probe`.
        public var upgradeTimeout: TimeAmount
        /// How long a client close may wait for its close packet to be posted.
        public var closeTimeout: TimeAmount

        /// Creates a configuration.
        public init(
            upgrade: Bool = true,
            maxMessageLength: Int = 10 * 1024 * 1024,
            upgradeTimeout: TimeAmount = .seconds(10),
            closeTimeout: TimeAmount = .seconds(5)
        ) {
            self.upgrade = upgrade
            self.maxMessageLength = maxMessageLength
            self.upgradeTimeout = upgradeTimeout
            self.closeTimeout = closeTimeout
        }
    }

    /// What the I/O layer does, in order.
    public enum Action: Sendable, Hashable {
        /// Send the handshake: `GET <path>/?…&EIO=4&transport=polling&b64=1` without a `sid`.
        /// Its answer goes to ``pollSucceeded(_:now:)`` or ``pollFailed(_:now:)``.
        case handshake
        /// Send a long-polling `GET` with the `sid`.
        case poll(sid: String)
        /// `POST` these packets as one payload with the `sid`. The answer goes to
        /// ``postSucceeded(now:)`` or ``postFailed(_:now:)``.
        case post(sid: String, [EngineIOPacket])
        /// The session is open: tell the layer above.
        case opened(EngineIOHandshake)
        /// Hand a message to the layer above.
        case deliver(TransportMessage)
        /// Open a WebSocket (`transport=websocket&sid=<sid>`) to probe.
        case openWebSocket(sid: String)
        /// Write these packets on the WebSocket, each as one frame.
        case writeToWebSocket([EngineIOPacket])
        /// Close the WebSocket: the probe failed.
        case closeWebSocket
        /// The WebSocket now carries the session: the polling connections may be released.
        case upgraded
        /// The session is over: release every connection and timer, and report the close
        /// (`nil` for an orderly one). Always last.
        case closed(PrimusError?)
    }

    private enum Probe: Sendable, Hashable {
        /// The WebSocket is being opened.
        case connecting(deadline: NIODeadline)
        /// `2probe` is out; `3probe` is due.
        case probing(deadline: NIODeadline)
        /// `3probe` came: polling pauses until the outstanding requests are answered.
        case pausing
    }

    private struct Polling: Sendable {
        var sid: String
        var maxPayload: Int?
        var buffer: [EngineIOPacket] = []
        var pollOutstanding = false
        var postOutstanding = false
        var probe: Probe?
    }

    private enum State: Sendable {
        case idle
        case handshaking
        case polling(Polling)
        /// The client closes: the rest of the buffer and the close packet are being posted.
        case closing(Polling, deadline: NIODeadline)
        case websocket
        case closed
    }

    /// The options.
    public let configuration: Configuration
    private var state = State.idle
    private var handshake: EngineIOHandshake?
    /// The server must ping by then.
    private var pingDeadline: NIODeadline?

    /// A session that has not started: call ``start(now:)``.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: - Queries

    /// The server's handshake, once it came.
    public var sessionParameters: EngineIOHandshake? { handshake }

    /// Whether the WebSocket carries the session.
    public var isUpgraded: Bool {
        if case .websocket = state { return true }
        return false
    }

    /// Whether the session is over.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// When ``timerFired(now:)`` must next be called; `nil` when nothing is timed.
    public var nextDeadline: NIODeadline? {
        var deadline = pingDeadline
        func earliest(_ other: NIODeadline) { deadline = deadline.map { min($0, other) } ?? other }
        switch state {
        case .idle, .handshaking, .closed:
            return nil
        case .polling(let polling):
            switch polling.probe {
            case .connecting(let due), .probing(let due): earliest(due)
            case .pausing, nil: break
            }
        case .closing(_, let due):
            earliest(due)
        case .websocket:
            break
        }
        return deadline
    }

    // MARK: - Handshake and polling

    /// Starts the session with the handshake request.
    public mutating func start(now: NIODeadline) -> [Action] {
        guard case .idle = state else { return [] }
        state = .handshaking
        return [.handshake]
    }

    /// The outstanding `GET` (or the handshake) was answered `200` with `body`.
    public mutating func pollSucceeded(_ body: ByteBuffer, now: NIODeadline) -> [Action] {
        let packets: [EngineIOPacket]
        switch state {
        case .handshaking:
            do {
                packets = try EngineIOPayloadCodec.decode(body, version: .v4)
            } catch {
                return fail(.protocolViolation("Engine.IO handshake: \(error.reason)"))
            }
            return opened(packets, now: now)
        case .polling(var polling):
            polling.pollOutstanding = false
            state = .polling(polling)
            do {
                packets = try EngineIOPayloadCodec.decode(body, version: .v4)
            } catch {
                return fail(.protocolViolation("Engine.IO poll: \(error.reason)"))
            }
            var actions: [Action] = []
            for packet in packets {
                process(packet, now: now, into: &actions)
                if isClosed { return actions }
            }
            actions.append(contentsOf: continuePolling())
            return actions
        case .idle, .closing, .websocket, .closed:
            // A poll that outlived the switch to the WebSocket, or a closing session: nothing to read.
            return []
        }
    }

    /// The outstanding `GET` (or the handshake) failed: an error status, a dropped connection.
    public mutating func pollFailed(_ error: PrimusError, now: NIODeadline) -> [Action] {
        switch state {
        case .handshaking, .polling: return fail(error)
        case .closing: return finish(nil)
        case .idle, .websocket, .closed: return []
        }
    }

    /// The outstanding `POST` was answered `200`.
    public mutating func postSucceeded(now: NIODeadline) -> [Action] {
        switch state {
        case .polling(var polling):
            polling.postOutstanding = false
            state = .polling(polling)
            return continuePolling()
        case .closing(var polling, let deadline):
            polling.postOutstanding = false
            guard !polling.buffer.isEmpty else { return finish(nil) }
            let batch = takeBatch(&polling)
            polling.postOutstanding = true
            state = .closing(polling, deadline: deadline)
            return [.post(sid: polling.sid, batch)]
        case .idle, .handshaking, .websocket, .closed:
            return []
        }
    }

    /// The outstanding `POST` failed.
    public mutating func postFailed(_ error: PrimusError, now: NIODeadline) -> [Action] {
        switch state {
        case .polling: return fail(error)
        case .closing: return finish(nil)
        case .idle, .handshaking, .websocket, .closed: return []
        }
    }

    // MARK: - Sending and closing

    /// The layer above sends `message`.
    public mutating func send(_ message: TransportMessage) -> [Action] {
        send(.message(message))
    }

    /// The layer above closes the session: what it sent goes first, then the close packet.
    public mutating func close(now: NIODeadline) -> [Action] {
        switch state {
        case .idle, .handshaking:
            return finish(nil)
        case .polling(var polling):
            var actions: [Action] = []
            if polling.probe != nil {
                polling.probe = nil
                actions.append(.closeWebSocket)
            }
            polling.buffer.append(.close)
            if !polling.postOutstanding {
                polling.postOutstanding = true
                actions.append(.post(sid: polling.sid, takeBatch(&polling)))
            }
            state = .closing(polling, deadline: now + configuration.closeTimeout)
            return actions
        case .websocket:
            return [.writeToWebSocket([.close])] + finish(nil)
        case .closing, .closed:
            return []
        }
    }

    // MARK: - WebSocket

    /// The WebSocket asked for by ``Action/openWebSocket(sid:)`` is open.
    public mutating func webSocketOpened(now: NIODeadline) -> [Action] {
        guard case .polling(var polling) = state, case .connecting(let deadline) = polling.probe else { return [] }
        polling.probe = .probing(deadline: deadline)
        state = .polling(polling)
        return [.writeToWebSocket([.pingProbe])]
    }

    /// A message arrived on the WebSocket (the probe, or the session's transport).
    public mutating func webSocketReceived(_ message: TransportMessage, now: NIODeadline) -> [Action] {
        switch state {
        case .websocket:
            let packet: EngineIOPacket
            do {
                packet = try EngineIOPacketCodec.decodeFrame(message, version: .v4)
            } catch {
                return fail(.protocolViolation("Engine.IO WebSocket frame: \(error.reason)"))
            }
            var actions: [Action] = []
            process(packet, now: now, into: &actions)
            return actions
        case .polling(var polling):
            guard case .probing = polling.probe else { return [] }
            let packet = try? EngineIOPacketCodec.decodeFrame(message, version: .v4)
            guard let packet, packet.type == .pong, packet.data.isText, packet.text == "probe" else {
                return probeFailed()
            }
            polling.probe = .pausing
            state = .polling(polling)
            return continuePolling()
        case .idle, .handshaking, .closing, .closed:
            return []
        }
    }

    /// The WebSocket closed or could not be opened (`error` is `nil` for an orderly close).
    public mutating func webSocketClosed(_ error: PrimusError?, now: NIODeadline) -> [Action] {
        switch state {
        case .websocket:
            return finish(error)
        case .polling(let polling) where polling.probe != nil:
            return probeFailed()
        default:
            return []
        }
    }

    // MARK: - Time

    /// Time passed: the server's heartbeat, the probe's deadline, the close's deadline.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        if case .closing(_, let deadline) = state {
            return deadline <= now ? finish(nil) : []
        }
        guard !isClosed else { return [] }
        if let pingDeadline, pingDeadline <= now {
            let window = (handshake?.pingInterval ?? 0) + (handshake?.pingTimeout ?? 0)
            return fail(PrimusError(code: .timeout, message: "Engine.IO: no ping from the server within \(window) ms"))
        }
        if case .polling(let polling) = state {
            switch polling.probe {
            case .connecting(let due) where due <= now, .probing(let due) where due <= now:
                return probeFailed()
            default:
                break
            }
        }
        return []
    }

    // MARK: - Private

    private mutating func opened(_ packets: [EngineIOPacket], now: NIODeadline) -> [Action] {
        guard let first = packets.first, first.type == .open, first.data.isText else {
            let got = packets.first.map { "packet type \($0.type.rawValue)" } ?? "nothing"
            return fail(.protocolViolation("Engine.IO handshake: expected an open packet, got \(got)"))
        }
        let parameters: EngineIOHandshake
        do {
            parameters = try EngineIOHandshake(json: first.text)
        } catch {
            return fail(.protocolViolation("Engine.IO handshake: \(error.reason)"))
        }
        guard !parameters.sid.isEmpty, parameters.pingInterval > 0, parameters.pingTimeout >= 0 else {
            return fail(.protocolViolation("Engine.IO handshake: empty sid or invalid ping times"))
        }
        handshake = parameters
        resetPingDeadline(now: now)
        var polling = Polling(sid: parameters.sid, maxPayload: parameters.maxPayload.flatMap { $0 > 0 ? $0 : nil })
        var actions: [Action] = [.opened(parameters)]
        if configuration.upgrade, parameters.upgrades.contains("websocket") {
            polling.probe = .connecting(deadline: now + configuration.upgradeTimeout)
            actions.append(.openWebSocket(sid: parameters.sid))
        }
        state = .polling(polling)
        for packet in packets.dropFirst() {
            process(packet, now: now, into: &actions)
            if isClosed { return actions }
        }
        actions.append(contentsOf: continuePolling())
        return actions
    }

    /// A packet from the server, on whichever transport carries the session.
    private mutating func process(_ packet: EngineIOPacket, now: NIODeadline, into actions: inout [Action]) {
        switch packet.type {
        case .message:
            let length = packet.data.buffer.readableBytes
            guard length <= configuration.maxMessageLength else {
                actions.append(contentsOf: fail(.messageTooLarge(limit: configuration.maxMessageLength)))
                return
            }
            actions.append(.deliver(packet.data))
        case .ping:
            resetPingDeadline(now: now)
            actions.append(contentsOf: send(EngineIOPacket(.pong, data: packet.data)))
        case .close:
            actions.append(contentsOf: finish(nil))
        case .open:
            actions.append(contentsOf: fail(.protocolViolation("Engine.IO: a second open packet")))
        case .pong, .upgrade, .noop:
            break
        }
    }

    private mutating func send(_ packet: EngineIOPacket) -> [Action] {
        switch state {
        case .polling(var polling):
            polling.buffer.append(packet)
            state = .polling(polling)
            return continuePolling()
        case .websocket:
            return [.writeToWebSocket([packet])]
        case .idle, .handshaking, .closing, .closed:
            return []
        }
    }

    /// The next requests on polling: a `GET` when none is out, a `POST` when packets wait and none
    /// is out; while pausing for the upgrade, neither, and `5` once both are answered.
    private mutating func continuePolling() -> [Action] {
        guard case .polling(var polling) = state else { return [] }
        if polling.probe == .pausing {
            guard !polling.pollOutstanding, !polling.postOutstanding else { return [] }
            state = .websocket
            var actions: [Action] = [.writeToWebSocket([.upgrade]), .upgraded]
            if !polling.buffer.isEmpty { actions.append(.writeToWebSocket(polling.buffer)) }
            return actions
        }
        var actions: [Action] = []
        if !polling.pollOutstanding {
            polling.pollOutstanding = true
            actions.append(.poll(sid: polling.sid))
        }
        if !polling.postOutstanding, !polling.buffer.isEmpty {
            polling.postOutstanding = true
            actions.append(.post(sid: polling.sid, takeBatch(&polling)))
        }
        state = .polling(polling)
        return actions
    }

    /// The probe is given up: close it and go on polling (no second attempt, as the reference
    /// client does).
    private mutating func probeFailed() -> [Action] {
        guard case .polling(var polling) = state, polling.probe != nil else { return [] }
        polling.probe = nil
        state = .polling(polling)
        return [.closeWebSocket] + continuePolling()
    }

    /// The packets of the next `POST`: as many as fit in `maxPayload` (counting the separators),
    /// and at least one.
    private func takeBatch(_ polling: inout Polling) -> [EngineIOPacket] {
        guard let limit = polling.maxPayload else {
            defer { polling.buffer = [] }
            return polling.buffer
        }
        var size = 0
        var count = 0
        for packet in polling.buffer {
            let length = Self.encodedLength(packet) + (count > 0 ? 1 : 0)
            if count > 0, size + length > limit { break }
            size += length
            count += 1
        }
        let batch = Array(polling.buffer.prefix(count))
        polling.buffer.removeFirst(count)
        return batch
    }

    /// Bytes of a packet in a v4 payload.
    private static func encodedLength(_ packet: EngineIOPacket) -> Int {
        switch packet.data {
        case .text(let data): return 1 + data.readableBytes
        case .binary(let data): return 1 + EngineIOBase64.encodedLength(of: data.readableBytes)
        }
    }

    private mutating func resetPingDeadline(now: NIODeadline) {
        guard let handshake else { return }
        pingDeadline = now + .milliseconds(Int64(handshake.pingInterval) + Int64(handshake.pingTimeout))
    }

    private mutating func fail(_ error: PrimusError) -> [Action] {
        finish(error)
    }

    private mutating func finish(_ error: PrimusError?) -> [Action] {
        guard !isClosed else { return [] }
        state = .closed
        pingDeadline = nil
        return [.closed(error)]
    }
}
