public import NIOCore

/// One Engine.IO session on the server, as a state machine: which transport carries it, the
/// packets waiting for the next poll, the pending `GET` and parked `POST`, the upgrade to a
/// WebSocket, and the heartbeat. Every input returns what to do; time comes in as `now`, and
/// ``nextDeadline`` says when ``timerFired(now:)`` is due.
///
/// ```
///            ┌── pollReceived / postReceived / send ──┐
///  polling ──┴── webSocketRequested ──▶ upgrading ── probe `5` ──▶ websocket
///     │  ▲                                 │ probe closed, other packet,
///     │  └─────────────────────────────────┘ upgrade timeout
///     └── close() without a pending poll ──▶ closing ── next poll / timeout ──▶ closed
///  any state ── client `1`, ping timeout, transport gone, overlap, overflow, 413 ──▶ closed
/// ```
///
/// Packets waiting for a poll live in a ring buffer beside the state (never in an enum payload,
/// where each append would copy them): every queue operation is O(1) amortized, so a `POST` of
/// 10,000 packets costs linear time. They are counted in bytes against
/// ``Configuration/maxBufferedBytes`` (``isWritable``) and in packets against
/// ``Configuration/maxBufferedPackets``. Pongs do not pile up: while one waits for a poll, it
/// answers every further ping.
///
/// Requests are named by ``RequestID``s the I/O layer picks, so that a duplicate `GET` can be
/// refused while the pending one gets the close packet. Every request handed in is answered by
/// exactly one ``Action`` (``Action/answerPoll(_:_:)``, ``Action/answerPost(_:)`` or
/// ``Action/reject(_:_:)``), at the latest when the session closes.
public struct EngineIOSessionStateMachine: Sendable {
    /// Timing and limits.
    public struct Configuration: Sendable, Hashable {
        /// The protocol revision of the session.
        public var version: EngineIOProtocolVersion
        /// v4: time between server pings; v3: the client's ping period.
        public var pingInterval: TimeAmount
        /// v4: how long a ping may go unanswered; v3: the grace added to `pingInterval`.
        public var pingTimeout: TimeAmount
        /// How long a probed WebSocket may take to send `5`.
        public var upgradeTimeout: TimeAmount
        /// Packets held for a polling client that is not polling; one more closes the session.
        public var maxBufferedPackets: Int
        /// The most packets one poll answer carries; the rest wait for the next poll.
        /// python-engineio clients refuse payloads of more than 16 packets.
        public var maxPacketsPerPayload: Int
        /// The outbound budget in bytes (default 1 MiB): once more than this waits for a poll the
        /// session is not writable (``EngineIOSessionStateMachine/isWritable``) until no more
        /// than half of it does. The layer above decides what a write does meanwhile.
        public var maxBufferedBytes: Int

        /// Creates a configuration (the reference server's defaults).
        public init(
            version: EngineIOProtocolVersion,
            pingInterval: TimeAmount = .milliseconds(25_000),
            pingTimeout: TimeAmount = .milliseconds(20_000),
            upgradeTimeout: TimeAmount = .milliseconds(10_000),
            maxBufferedPackets: Int = 10_000,
            maxPacketsPerPayload: Int = 16,
            maxBufferedBytes: Int = 1 << 20
        ) {
            self.version = version
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.upgradeTimeout = upgradeTimeout
            self.maxBufferedPackets = maxBufferedPackets
            self.maxPacketsPerPayload = max(maxPacketsPerPayload, 2)
            self.maxBufferedBytes = maxBufferedBytes
        }
    }

    /// The transport the session is opened on.
    public enum Transport: Sendable, Hashable {
        case polling, websocket
    }

    /// Names one HTTP request of the session.
    public typealias RequestID = UInt64

    /// Why the session ended.
    public enum CloseReason: Sendable, Hashable {
        /// The application closed it.
        case serverClosed
        /// The client sent the close packet.
        case clientClosed
        /// v4: a ping went unanswered for `pingTimeout`; v3: no ping for `pingInterval + pingTimeout`.
        case pingTimeout
        /// The WebSocket closed, or the pending poll's connection dropped.
        case transportClosed
        /// The client broke the protocol (overlapping polls or posts, an unparsable payload, a
        /// payload over the limit).
        case transportError(String)
        /// More than `maxBufferedPackets` waited for a client that does not poll.
        case bufferOverflow
    }

    /// What the I/O layer does, in order.
    public enum Action: Sendable, Hashable {
        /// Answer the `GET` with these packets (a polling payload).
        case answerPoll(RequestID, [EngineIOPacket])
        /// Answer the `POST` with `200 ok`.
        case answerPost(RequestID)
        /// Answer the request with an error.
        case reject(RequestID, EngineIOError)
        /// Hand a message to the application.
        case deliver(TransportMessage)
        /// Write these packets on the session's WebSocket.
        case writeToWebSocket([EngineIOPacket])
        /// Write this packet on the WebSocket being probed.
        case writeToProbe(EngineIOPacket)
        /// Close the WebSocket being probed; polling goes on.
        case closeProbe
        /// The probed WebSocket is now the session's transport.
        case promoteProbe
        /// Close the session's WebSocket.
        case closeWebSocket
        /// The session is over: forget it, stop its timer, tell the application. Always last.
        case closed(CloseReason)
    }

    /// What to do with a packet that came in on the session's transport.
    public enum PacketAction: Sendable, Hashable {
        /// Nothing.
        case none
        /// Hand the message to the application (the common case, without an array).
        case deliver(TransportMessage)
        /// Several actions.
        case actions([Action])
    }

    /// What to do with a packet the application (or the heartbeat) sends.
    public enum SendAction: Sendable, Hashable {
        /// Held for the next poll.
        case buffered
        /// Held, and a poll is waiting: call ``flush()`` once the current batch of sends is done.
        case flushNeeded
        /// Write it on the WebSocket.
        case writeToWebSocket(EngineIOPacket)
        /// The buffer overflowed: the session closes.
        case close([Action])
        /// The session is closing or closed.
        case dropped
    }

    /// Whether a WebSocket that names this session may probe it.
    public enum WebSocketDecision: Sendable, Hashable {
        /// Use it as the probe (answer `2probe`, wait for `5`).
        case probe
        /// Complete its handshake and close it (the session is upgrading, upgraded or over).
        case refuse
    }

    /// What a polling session waits for. The packets themselves are in ``outbox``.
    /// Closed while a probed upgrade was in progress: the probe stays open for the upgrade
    /// packet (see ``close(now:)``).
    private var keepsProbeWhileClosing = false

    private struct Polling: Sendable {
        var pendingPoll: RequestID?
        /// While probed, a poll that finds nothing is released with a noop after a short delay
        /// (the reference server checks every 100 ms).
        var noopDue: NIODeadline?
    }

    private struct Upgrade: Sendable {
        var probed = false
        var deadline: NIODeadline
    }

    private enum State: Sendable {
        case polling(Polling)
        case upgrading(Polling, Upgrade)
        case websocket
        /// Closed by the application: the buffered packets and the close packet wait for the next poll.
        case closing(deadline: NIODeadline)
        case closed
    }

    private enum Heartbeat: Sendable {
        /// v4: the next ping is due, no ping outstanding.
        case pingDue(NIODeadline)
        /// v4: a ping was sent; the pong must come by then.
        case awaitingPong(NIODeadline)
        /// v3: the client must ping by then.
        case clientPingDue(NIODeadline)
    }

    /// The noop delay while a probe is in progress.
    public static let upgradeNoopDelay = TimeAmount.milliseconds(100)

    /// The timing and limits the session was opened with (the handshake announces them).
    public let configuration: Configuration
    private var state: State
    /// The packets waiting for a poll (polling, upgrading and closing; empty otherwise).
    private var outbox: EngineIOOutbox
    private var heartbeat: Heartbeat
    private var parkedPost: RequestID?
    private var readingPaused = false

    /// A session opened on `transport` at `now`. Send the open packet first with ``send(_:)``.
    public init(configuration: Configuration, transport: Transport, now: NIODeadline) {
        self.configuration = configuration
        self.state = transport == .polling ? .polling(Polling()) : .websocket
        self.outbox = EngineIOOutbox(budget: configuration.maxBufferedBytes)
        switch configuration.version {
        case .v4: heartbeat = .pingDue(now + configuration.pingInterval)
        case .v3: heartbeat = .clientPingDue(now + configuration.pingInterval + configuration.pingTimeout)
        }
    }

    // MARK: - Queries

    /// Whether the session has ended.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Whether a WebSocket carries the session now.
    public var isUpgraded: Bool {
        if case .websocket = state { return true }
        return false
    }

    /// Whether a probe WebSocket is attached.
    public var isUpgrading: Bool {
        if case .upgrading = state { return true }
        return false
    }

    /// Packets waiting for the next poll.
    public var bufferedPackets: Int { outbox.count }

    /// Bytes waiting for the next poll (each packet's data and type digit).
    public var bufferedBytes: Int { outbox.bytes }

    /// Whether the client keeps up: `false` once more than ``Configuration/maxBufferedBytes``
    /// waits for a poll, until no more than half of it does. Always `true` on a WebSocket (its
    /// channel has its own budget).
    public var isWritable: Bool { outbox.isWritable }

    /// When ``timerFired(now:)`` must next be called; `nil` once closed.
    public var nextDeadline: NIODeadline? {
        var deadline: NIODeadline
        switch heartbeat {
        case .pingDue(let due), .awaitingPong(let due), .clientPingDue(let due): deadline = due
        }
        switch state {
        case .closed:
            return nil
        case .closing(let due):
            return due
        case .upgrading(let polling, let upgrade):
            deadline = min(deadline, upgrade.deadline)
            if let noop = polling.noopDue { deadline = min(deadline, noop) }
        case .polling, .websocket:
            break
        }
        return deadline
    }

    // MARK: - Polling

    /// A `GET` arrived.
    public mutating func pollReceived(_ id: RequestID, now: NIODeadline) -> [Action] {
        switch state {
        case .polling(var polling):
            if polling.pendingPoll != nil { return overlap(id, "poll") }
            if !outbox.isEmpty { return [.answerPoll(id, takeBatch())] }
            polling.pendingPoll = id
            state = .polling(polling)
            return []
        case .upgrading(var polling, let upgrade):
            if polling.pendingPoll != nil { return overlap(id, "poll") }
            if !outbox.isEmpty { return [.answerPoll(id, takeBatch())] }
            polling.pendingPoll = id
            if upgrade.probed { polling.noopDue = now + Self.upgradeNoopDelay }
            state = .upgrading(polling, upgrade)
            return []
        case .closing:
            if outbox.count >= configuration.maxPacketsPerPayload { return [.answerPoll(id, takeBatch())] }
            state = .closed
            return [.answerPoll(id, outbox.takeAll() + [.close]), .closed(.serverClosed)]
        case .websocket:
            // The session moved to a WebSocket: polling is over (TRANSPORT_MISMATCH).
            return [.reject(id, .badRequest)]
        case .closed:
            return [.reject(id, .unknownSession)]
        }
    }

    /// The pending `GET`'s connection dropped before it was answered: the client is gone.
    public mutating func pollAborted() -> [Action] {
        switch state {
        case .polling(var polling):
            guard polling.pendingPoll != nil else { return [] }
            polling.pendingPoll = nil
            state = .polling(polling)
        case .upgrading(var polling, let upgrade):
            guard polling.pendingPoll != nil else { return [] }
            polling.pendingPoll = nil
            polling.noopDue = nil
            state = .upgrading(polling, upgrade)
        default:
            return []
        }
        return closeNow(.transportClosed, finalPoll: [])
    }

    /// A `POST` arrived with `payload` decoded (or not).
    ///
    /// A `POST` while another is unanswered (held by ``pauseReading()``) is an overlap: it gets
    /// `400` and the session closes, as the reference server does.
    public mutating func postReceived(
        _ id: RequestID,
        payload: Result<[EngineIOPacket], EngineIODecodingError>,
        now: NIODeadline
    ) -> [Action] {
        if let refused = refusePost(id) { return refused }
        if parkedPost != nil { return overlap(id, "post") }
        let packets: [EngineIOPacket]
        switch payload {
        case .success(let decoded): packets = decoded
        case .failure(let error):
            return [.reject(id, .badRequest)] + closeNow(.transportError(error.reason), finalPoll: [.close])
        }
        var actions: [Action] = []
        actions.reserveCapacity(packets.count + 1)
        for packet in packets {
            process(packet, now: now, into: &actions)
            if isClosed {
                // The client closed: answer its POST before the session ends (`closed` is last).
                actions.insert(.answerPost(id), at: actions.count - 1)
                return actions
            }
        }
        if readingPaused {
            parkedPost = id
        } else {
            actions.append(.answerPost(id))
        }
        return actions
    }

    /// A second `POST` began arriving while another `POST` of the session was still being received
    /// or unanswered: an overlap, as the reference server treats it (it tracks the request from
    /// its head). The session closes; the `POST`s are answered when they reach it (the session is
    /// gone by then).
    public mutating func postOverlapped() -> [Action] {
        switch state {
        case .polling, .upgrading: return closeNow(.transportError("post overlap"), finalPoll: [.close])
        case .websocket, .closing, .closed: return []
        }
    }

    /// Whether a `POST` is held unanswered (``pauseReading()``).
    public var holdsPost: Bool { parkedPost != nil }

    /// A `POST` whose body is longer than the session's `maxPayload`: it gets `413` and the
    /// session closes, as the reference server does (`id` is `nil` when the HTTP layer already
    /// answered it).
    public mutating func postTooLarge(_ id: RequestID?) -> [Action] {
        if let id, let refused = refusePost(id) { return refused }
        let rejection: [Action] = id.map { [.reject($0, .payloadTooLarge)] } ?? []
        return rejection + closeNow(.transportError("payload too large"), finalPoll: [.close])
    }

    /// The answer to a `POST` the session cannot take in its state, if any.
    private func refusePost(_ id: RequestID) -> [Action]? {
        switch state {
        case .polling, .upgrading: return nil
        case .websocket: return [.reject(id, .badRequest)]
        case .closing, .closed: return [.reject(id, .unknownSession)]
        }
    }

    // MARK: - Packets from the active transport

    /// A packet from the session's own transport (a `POST` body is handed in by
    /// ``postReceived(_:payload:now:)``; this is for the session's WebSocket).
    public mutating func packetReceived(_ packet: EngineIOPacket, now: NIODeadline) -> PacketAction {
        if packet.type == .message {
            guard !isClosed else { return .none }
            return .deliver(packet.data)
        }
        var actions: [Action] = []
        process(packet, now: now, into: &actions)
        return actions.isEmpty ? .none : .actions(actions)
    }

    private mutating func process(_ packet: EngineIOPacket, now: NIODeadline, into actions: inout [Action]) {
        switch packet.type {
        case .message:
            actions.append(.deliver(packet.data))
        case .ping:
            // v3 heartbeats come from the client. A v4 client should never ping; answering is
            // harmless and kinder than closing.
            if case .clientPingDue = heartbeat {
                heartbeat = .clientPingDue(now + configuration.pingInterval + configuration.pingTimeout)
            }
            // A pong already waiting for the poll answers this ping too: a POST of 10,000 pings
            // queues one pong, not 10,000.
            guard outbox.pongs == 0 else { return }
            sendControl(EngineIOPacket(.pong, data: packet.data), into: &actions)
        case .pong:
            if configuration.version == .v4 {
                heartbeat = .pingDue(now + configuration.pingInterval)
            }
        case .close:
            actions.append(contentsOf: closeNow(.clientClosed, finalPoll: [.noop]))
        case .open, .upgrade, .noop:
            break
        }
    }

    // MARK: - WebSocket upgrade

    /// A WebSocket handshake named this session.
    public mutating func webSocketRequested(now: NIODeadline) -> WebSocketDecision {
        guard case .polling(let polling) = state else { return .refuse }
        state = .upgrading(polling, Upgrade(deadline: now + configuration.upgradeTimeout))
        return .probe
    }

    /// A packet from the WebSocket being probed.
    public mutating func probePacketReceived(_ packet: EngineIOPacket, now: NIODeadline) -> [Action] {
        if case .closing = state, keepsProbeWhileClosing, packet.type == .upgrade {
            // Closed while this client finished its upgrade: what waited goes over the
            // WebSocket it upgraded to, then it closes.
            keepsProbeWhileClosing = false
            state = .websocket
            var actions: [Action] = [.promoteProbe]
            if !outbox.isEmpty { actions.append(.writeToWebSocket(outbox.takeAll())) }
            return actions + closeNow(.serverClosed, finalPoll: [])
        }
        guard case .upgrading(var polling, var upgrade) = state else { return [.closeProbe] }
        if packet.isProbePing {
            upgrade.probed = true
            var actions: [Action] = [.writeToProbe(.pongProbe)]
            // Release the pending poll so the client can pause polling.
            if let pending = polling.pendingPoll {
                actions.append(.answerPoll(pending, [.noop]))
                polling.pendingPoll = nil
                polling.noopDue = nil
            }
            state = .upgrading(polling, upgrade)
            return actions
        }
        if packet.type == .upgrade {
            state = .websocket
            var actions: [Action] = [.promoteProbe]
            if let pending = polling.pendingPoll { actions.append(.answerPoll(pending, [.noop])) }
            if !outbox.isEmpty { actions.append(.writeToWebSocket(outbox.takeAll())) }
            return actions
        }
        polling.noopDue = nil
        state = .polling(polling)
        return [.closeProbe]
    }

    /// The WebSocket being probed closed before the upgrade completed.
    public mutating func probeClosed() -> [Action] {
        guard case .upgrading(var polling, _) = state else { return [] }
        polling.noopDue = nil
        state = .polling(polling)
        return []
    }

    /// The session's WebSocket closed.
    public mutating func webSocketClosed() -> [Action] {
        guard case .websocket = state else { return [] }
        return closeNow(.transportClosed, finalPoll: []).filter { $0 != .closeWebSocket }
    }

    // MARK: - Sending

    /// The application or the server sends `packet`.
    public mutating func send(_ packet: EngineIOPacket) -> SendAction {
        switch state {
        case .polling(let polling), .upgrading(let polling, _):
            guard outbox.count < configuration.maxBufferedPackets else { return .close(closeNow(.bufferOverflow, finalPoll: [.close])) }
            outbox.append(packet)
            return polling.pendingPoll != nil ? .flushNeeded : .buffered
        case .websocket:
            return .writeToWebSocket(packet)
        case .closing, .closed:
            return .dropped
        }
    }

    /// Answers the pending poll with everything buffered, if both exist.
    public mutating func flush() -> [Action] {
        switch state {
        case .polling(var polling):
            guard let pending = polling.pendingPoll, !outbox.isEmpty else { return [] }
            polling.pendingPoll = nil
            state = .polling(polling)
            return [.answerPoll(pending, takeBatch())]
        case .upgrading(var polling, let upgrade):
            guard let pending = polling.pendingPoll, !outbox.isEmpty else { return [] }
            polling.pendingPoll = nil
            polling.noopDue = nil
            state = .upgrading(polling, upgrade)
            return [.answerPoll(pending, takeBatch())]
        default:
            return []
        }
    }

    /// A control packet goes out at once (no batching), ahead of buffered messages: a heartbeat
    /// stuck behind a backlog of several poll answers would look like a dead client. It counts
    /// against the same limits as messages.
    private mutating func sendControl(_ packet: EngineIOPacket, into actions: inout [Action]) {
        switch state {
        case .polling, .upgrading:
            guard outbox.count < configuration.maxBufferedPackets else {
                actions.append(contentsOf: closeNow(.bufferOverflow, finalPoll: [.close]))
                return
            }
            outbox.prepend(packet)
            actions.append(contentsOf: flush())
        case .websocket:
            actions.append(.writeToWebSocket([packet]))
        case .closing, .closed:
            break
        }
    }

    // MARK: - Flow control

    /// The application is not keeping up: hold the answer to the next `POST` (a polling client
    /// sends nothing more until its `POST` is answered).
    public mutating func pauseReading() {
        readingPaused = true
    }

    /// Reads again: answers a held `POST`.
    public mutating func resumeReading() -> [Action] {
        readingPaused = false
        guard let post = parkedPost else { return [] }
        parkedPost = nil
        return [.answerPost(post)]
    }

    // MARK: - Closing and time

    /// The application closes the session. Buffered packets are still delivered: on a polling
    /// session without a pending poll they wait for the next one (at most `pingTimeout`). A
    /// client whose probe was answered may have stopped polling to finish its upgrade: its probe
    /// stays open, and an upgrade packet on it takes the packets over the WebSocket.
    public mutating func close(now: NIODeadline) -> [Action] {
        switch state {
        case .polling(let polling), .upgrading(let polling, _):
            var probed = false
            if case .upgrading(_, let upgrade) = state { probed = upgrade.probed }
            if polling.pendingPoll != nil, outbox.count < configuration.maxPacketsPerPayload {
                return closeNow(.serverClosed, finalPoll: outbox.takeAll() + [.close])
            }
            keepsProbeWhileClosing = probed
            var actions: [Action] = isUpgrading && !probed ? [.closeProbe] : []
            if let pending = polling.pendingPoll {
                // More than one answer's worth: this poll takes a batch, the next ones the rest.
                actions.append(.answerPoll(pending, takeBatch()))
            }
            state = .closing(deadline: now + configuration.pingTimeout)
            if let post = parkedPost {
                parkedPost = nil
                actions.append(.answerPost(post))
            }
            return actions
        case .websocket:
            return closeNow(.serverClosed, finalPoll: [])
        case .closing, .closed:
            return []
        }
    }

    /// Time passed: heartbeats, upgrade timeouts, the noop during a probe.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        if case .closing(let deadline) = state {
            guard deadline <= now else { return [] }
            state = .closed
            outbox.removeAll()
            return [.closed(.serverClosed)]
        }
        guard !isClosed else { return [] }
        var actions: [Action] = []
        switch heartbeat {
        case .awaitingPong(let due) where due <= now, .clientPingDue(let due) where due <= now:
            return closeNow(.pingTimeout, finalPoll: [.close])
        case .pingDue(let due) where due <= now:
            heartbeat = .awaitingPong(now + configuration.pingTimeout)
            sendControl(.ping, into: &actions)
            if isClosed { return actions }
        default:
            break
        }
        if case .upgrading(var polling, let upgrade) = state {
            if upgrade.deadline <= now {
                polling.noopDue = nil
                state = .polling(polling)
                actions.append(.closeProbe)
            } else if let due = polling.noopDue, due <= now, let pending = polling.pendingPoll {
                polling.noopDue = nil
                polling.pendingPoll = nil
                state = .upgrading(polling, upgrade)
                actions.append(.answerPoll(pending, [.noop]))
            }
        }
        return actions
    }

    // MARK: - Private

    /// Takes the next poll answer's packets from the front of the outbox.
    private mutating func takeBatch() -> [EngineIOPacket] {
        outbox.take(upTo: configuration.maxPacketsPerPayload)
    }

    /// A second `GET` (or `POST`) while one is pending: refuse it and close the session; the
    /// pending poll gets the close packet.
    private mutating func overlap(_ id: RequestID, _ what: String) -> [Action] {
        [.reject(id, .badRequest)] + closeNow(.transportError("\(what) overlap"), finalPoll: [.close])
    }

    private mutating func closeNow(_ reason: CloseReason, finalPoll: [EngineIOPacket]) -> [Action] {
        var actions: [Action] = []
        switch state {
        case .polling(let polling):
            if let pending = polling.pendingPoll { actions.append(.answerPoll(pending, finalPoll)) }
        case .upgrading(let polling, _):
            actions.append(.closeProbe)
            if let pending = polling.pendingPoll { actions.append(.answerPoll(pending, finalPoll)) }
        case .closing:
            break
        case .websocket:
            actions.append(.closeWebSocket)
        case .closed:
            return []
        }
        if let post = parkedPost {
            parkedPost = nil
            actions.append(.answerPost(post))
        }
        state = .closed
        outbox.removeAll()
        actions.append(.closed(reason))
        return actions
    }
}
