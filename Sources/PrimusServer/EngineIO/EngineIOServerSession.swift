import Logging
import NIOCore
import NIOHTTP1
import PrimusCore

/// One Engine.IO session, on its event loop: performs what ``EngineIOSessionStateMachine``
/// decides. It holds the pending HTTP requests, the WebSocket links, one timer, and the spark
/// (or the test server's echo) above it, which sees it as its ``SparkTransport``.
///
/// A session ends with its transport: when it closes (for any reason), it leaves the registry,
/// its timer is cancelled, every request it still holds is answered, its admission is released,
/// and the spark ends.
///
/// Its outbound budget (``isWritable``, ``bufferedAmount``) is the bytes waiting for a poll while
/// it polls, and its WebSocket's own budget once upgraded; either way the spark hears of a change
/// through ``WebSocketMessageSink/transportWritabilityChanged(_:)``.
final class EngineIOServerSession: SparkTransport {
    let sid: String
    let eventLoop: any EventLoop
    let version: EngineIOProtocolVersion

    private var machine: EngineIOSessionStateMachine
    private let registry: EngineIOSessionRegistry
    private let primus: Primus
    private let logger: Logger
    private let encoding: EngineIOResponses.PayloadEncoding
    private var sink: (any WebSocketMessageSink)?

    /// The requests held unanswered, with the headers to answer them with.
    private var requests = PrimusParkedRequests<HTTPHeaders>()
    /// The `POST` whose packets are being processed. Its payload was accepted, so it is answered
    /// `ok` even when one of its messages ends the session (the reference server answers after
    /// handling the data); a `400` would read as a transport error to the client.
    private var deliveringPost: EngineIOSessionStateMachine.RequestID?

    private var webSocket: EngineIOWebSocketLinkHandle?
    private var probe: EngineIOWebSocketLinkHandle?
    /// What the WebSocket links last reported of their writability.
    private var webSocketWritable = true
    private var probeWritable = true
    /// What the sink was last told.
    private var reportedWritable = true

    private var timer = PrimusSessionTimer()
    private var flushScheduled = false

    init(
        sid: String,
        eventLoop: any EventLoop,
        configuration: EngineIOSessionStateMachine.Configuration,
        transport: EngineIOSessionStateMachine.Transport,
        encoding: EngineIOResponses.PayloadEncoding,
        registry: EngineIOSessionRegistry,
        primus: Primus
    ) {
        self.sid = sid
        self.eventLoop = eventLoop
        self.version = configuration.version
        self.machine = EngineIOSessionStateMachine(configuration: configuration, transport: transport, now: .now())
        self.encoding = encoding
        self.registry = registry
        self.primus = primus
        self.logger = primus.logger
    }

    /// The handle other loops use; made on the session's loop.
    func makeHandle() -> EngineIOSessionHandle {
        EngineIOSessionHandle(self, eventLoop: eventLoop)
    }

    /// Sends the open packet and binds the layer above (a spark, or the raw echo).
    func open(handshake: EngineIOHandshake, sink: any WebSocketMessageSink) {
        self.sink = sink
        // The open packet first: attaching flushes what the spark already has to send (a
        // recovery baseline written while its connection handlers ran), which must follow it.
        handleSend(machine.send(handshake.packet), batch: false)
        sink.attach(transport: self)
        settle()
    }

    // MARK: - HTTP requests

    /// A `GET`: answered now, or held until there is something to send.
    func poll(_ exchange: PrimusHTTPExchange, headers: HTTPHeaders) {
        let id = hold(exchange, headers: headers)
        perform(machine.pollReceived(id, now: .now()))
        if requests.contains(id) { watch(id) }
        settle()
    }

    /// `POST`s of this session whose head arrived and whose body has not been handed in yet.
    private var postsArriving = 0

    /// A `POST` naming this session began (its head arrived; the body may take a while). One that
    /// begins while another is arriving or held unanswered is an overlap: the session closes.
    func postBegan() {
        if postsArriving > 0 || machine.holdsPost {
            logger.debug("engine.io post overlap", metadata: ["primus.engineio.sid": "\(sid)"])
            perform(machine.postOverlapped())
            settle()
        }
        postsArriving += 1
    }

    /// A `POST` that began never delivered its body (the connection went away, or the HTTP layer
    /// refused it).
    func postAbandoned() {
        postsArriving = max(0, postsArriving - 1)
    }

    /// A `POST` carrying a payload.
    func post(_ exchange: PrimusHTTPExchange, headers: HTTPHeaders, body: ByteBuffer, binaryContent: Bool) {
        postsArriving = max(0, postsArriving - 1)
        let id = hold(exchange, headers: headers)
        let payload: Result<[EngineIOPacket], EngineIODecodingError>
        do {
            var body = body
            if encoding.jsonpIndex != nil { body = try EngineIOPayloadCodec.unwrapJSONPForm(body) }
            payload = .success(try EngineIOPayloadCodec.decode(body, version: version, binaryContent: binaryContent))
        } catch {
            payload = .failure(error)
        }
        deliveringPost = id
        perform(machine.postReceived(id, payload: payload, now: .now()))
        deliveringPost = nil
        flushIfNeeded()
        settle()
    }

    /// A `POST` whose body is over `maxPayload`: `413`, and the session closes. `exchange` is
    /// `nil` when the HTTP layer refused the body itself.
    func postTooLarge(_ exchange: PrimusHTTPExchange?, headers: HTTPHeaders) {
        logger.debug("engine.io payload too large", metadata: ["primus.engineio.sid": "\(sid)"])
        postsArriving = max(0, postsArriving - 1)
        let id = exchange.map { hold($0, headers: headers) }
        perform(machine.postTooLarge(id))
        settle()
    }

    private func hold(_ exchange: PrimusHTTPExchange, headers: HTTPHeaders) -> EngineIOSessionStateMachine.RequestID {
        requests.hold(exchange, extra: headers)
    }

    /// A parked poll whose connection closes means the client went away (the reference server
    /// closes the session then: "poll connection closed prematurely").
    private func watch(_ id: EngineIOSessionStateMachine.RequestID) {
        let handle = PrimusWeakLoopHandle(self, eventLoop: eventLoop)
        requests.watch(id) { identifier in
            handle.execute { $0.connectionClosed(identifier) }
        }
    }

    private func connectionClosed(_ identifier: ObjectIdentifier) {
        guard requests.connectionClosed(identifier) else { return }
        perform(machine.pollAborted())
        settle()
    }

    // MARK: - WebSockets

    /// A WebSocket named this session: it becomes the probe of an upgrade, or is closed.
    func webSocketArrived(_ link: EngineIOWebSocketLinkHandle) {
        switch machine.webSocketRequested(now: .now()) {
        case .probe:
            probe = link
            logger.trace("engine.io upgrade probe", metadata: ["primus.engineio.sid": "\(sid)"])
        case .refuse:
            link.execute { $0.close(code: 1000) }
        }
        settle()
    }

    /// A WebSocket opened directly (no polling before it) carries the session from the start.
    func attachWebSocket(_ link: EngineIOWebSocketLinkHandle) {
        webSocket = link
    }

    func webSocketPacket(_ packet: EngineIOPacket, from id: UInt64) {
        if let webSocket, webSocket.id == id {
            switch machine.packetReceived(packet, now: .now()) {
            case .none: break
            case .deliver(let message): sink?.receive(message)
            case .actions(let actions): perform(actions)
            }
        } else if let probe, probe.id == id {
            perform(machine.probePacketReceived(packet, now: .now()))
        } else {
            return
        }
        settle()
    }

    func webSocketFailed(_ id: UInt64, _ error: EngineIODecodingError) {
        logger.debug("engine.io parse error", metadata: ["primus.engineio.sid": "\(sid)", "primus.error": "\(error)"])
        if let webSocket, webSocket.id == id {
            perform(machine.webSocketClosed())
        } else if let probe, probe.id == id {
            perform(machine.probePacketReceived(.noop, now: .now()))  // anything but 2probe or 5 ends the probe
        }
        settle()
    }

    func webSocketClosed(_ id: UInt64) {
        if let webSocket, webSocket.id == id {
            self.webSocket = nil
            perform(machine.webSocketClosed())
        } else if let probe, probe.id == id {
            self.probe = nil
            probeWritable = true
            perform(machine.probeClosed())
        }
        settle()
    }

    /// A WebSocket link's connection became writable or stopped being so.
    func webSocketWritabilityChanged(_ id: UInt64, isWritable: Bool) {
        if let webSocket, webSocket.id == id {
            webSocketWritable = isWritable
            reportWritability()
        } else if let probe, probe.id == id {
            probeWritable = isWritable
        }
    }

    // MARK: - SparkTransport (from the spark, on this loop)

    func send(_ message: TransportMessage) {
        handleSend(machine.send(.message(message)), batch: true)
        reportWritability()
    }

    /// A broadcast's message. Polling: queued for the next poll like any send (sends of one
    /// tick go out in one response). Upgraded: the packet's frame is encoded once per event loop
    /// for every session of the broadcast, written now and flushed by ``flush()`` when the
    /// WebSocket shares this loop.
    func send(shared: SharedTransportMessage) {
        switch machine.send(.message(shared.message)) {
        case .writeToWebSocket(let packet):
            let version = self.version
            let frame = shared.derived(version == .v4 ? "engine.io.4.frame" : "engine.io.3.frame") { _ in
                EngineIOPacketCodec.encodeFrame(packet, version: version)
            }
            if let link = webSocket?.localLink {
                link.write(shared: frame)
            } else {
                webSocket?.write(frame.message)
            }
        case let action:
            handleSend(action, batch: true)
        }
        reportWritability()
    }

    /// Flushes the broadcast frames written on a WebSocket of this loop.
    func flush() {
        webSocket?.localLink?.flush()
    }

    func close(code: UInt16?) {
        perform(machine.close(now: .now()))
        settle()
    }

    /// Polling: whether no more than the budget waits for a poll (with the hysteresis of
    /// ``EngineIOSessionStateMachine/isWritable``). Upgraded: the WebSocket connection's answer.
    var isWritable: Bool {
        machine.isUpgraded ? webSocketWritable : machine.isWritable
    }

    /// Polling: the bytes waiting for a poll. Upgraded: the WebSocket's, when it shares the
    /// session's loop (a session opened on it); else `0` (its writability is still relayed).
    var bufferedAmount: Int {
        guard machine.isUpgraded else { return machine.bufferedBytes }
        return webSocket?.localLink?.bufferedAmount ?? 0
    }

    func pauseReading() {
        machine.pauseReading()
        webSocket?.execute { $0.pauseReading() }
    }

    func resumeReading() {
        perform(machine.resumeReading())
        webSocket?.execute { $0.resumeReading() }
    }

    // MARK: - Performing actions

    private func handleSend(_ action: EngineIOSessionStateMachine.SendAction, batch: Bool) {
        switch action {
        case .buffered, .dropped:
            break
        case .flushNeeded:
            // Sends made in one event-loop tick (an echo of a whole POST) go out in one response.
            if batch {
                scheduleFlush()
            } else {
                perform(machine.flush())
            }
        case .writeToWebSocket(let packet):
            webSocket?.write(EngineIOPacketCodec.encodeFrame(packet, version: version))
        case .close(let actions):
            logger.debug("engine.io buffer overflow", metadata: ["primus.engineio.sid": "\(sid)"])
            perform(actions)
            settle()
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.flushIfNeeded()
            self.reportWritability()
        }
    }

    private func flushIfNeeded() {
        perform(machine.flush())
    }

    /// Answers decided while actions are performed, given once they all are: a request is
    /// answered after the session reached the state the answer reports (a refused `POST` that
    /// closes the session is answered once the session is gone from the registry).
    private var answers: [(PrimusHTTPExchange, PrimusHTTPResponse)] = []

    private func perform(_ actions: [EngineIOSessionStateMachine.Action]) {
        for action in actions { perform(action) }
        guard !answers.isEmpty else { return }
        let ready = answers
        answers.removeAll(keepingCapacity: true)
        for (exchange, response) in ready { exchange.respond(response) }
    }

    private func answer(_ exchange: PrimusHTTPExchange, _ response: PrimusHTTPResponse) {
        answers.append((exchange, response))
    }

    private func perform(_ action: EngineIOSessionStateMachine.Action) {
        switch action {
        case .answerPoll(let id, let packets):
            guard let request = requests.take(id) else { return }
            answer(request.exchange, EngineIOResponses.payload(packets, encoding: encoding, headers: request.extra))
        case .answerPost(let id):
            guard let request = requests.take(id) else { return }
            answer(request.exchange, EngineIOResponses.ok(headers: request.extra))
        case .reject(let id, let error):
            guard let request = requests.take(id) else { return }
            answer(request.exchange, EngineIOResponses.error(error, headers: request.extra))
        case .deliver(let message):
            sink?.receive(message)
        case .writeToWebSocket(let packets):
            let version = self.version
            let frames = packets.map { EngineIOPacketCodec.encodeFrame($0, version: version) }
            webSocket?.execute { $0.write(frames) }
        case .writeToProbe(let packet):
            let frame = EngineIOPacketCodec.encodeFrame(packet, version: version)
            probe?.execute { $0.write([frame]) }
        case .closeProbe:
            probe?.execute { $0.close(code: 1000) }
            probe = nil
        case .promoteProbe:
            webSocket = probe
            webSocketWritable = probeWritable
            probe = nil
            logger.trace("engine.io upgraded", metadata: ["primus.engineio.sid": "\(sid)"])
        case .closeWebSocket:
            webSocket?.execute { $0.close(code: 1000) }
            webSocket = nil
        case .closed(let reason):
            finish(reason)
        }
    }

    private func finish(_ reason: EngineIOSessionStateMachine.CloseReason) {
        logger.debug("engine.io session closed", metadata: ["primus.engineio.sid": "\(sid)", "primus.engineio.reason": "\(reason)"])
        registry.remove(sid)
        primus.releaseAdmission(sid)
        timer.cancel()
        for (id, request) in requests.takeAll() {
            let accepted = id == deliveringPost
            request.exchange.respond(accepted ? EngineIOResponses.ok(headers: request.extra) : EngineIOResponses.error(.unknownSession, headers: request.extra))
        }
        probe?.execute { $0.close(code: 1000) }
        probe = nil
        webSocket?.execute { $0.close(code: 1000) }
        webSocket = nil
        let sink = self.sink
        self.sink = nil
        sink?.transportClosed()
    }

    // MARK: - After each input

    /// Re-arms the timer and tells the sink if writability changed.
    private func settle() {
        rescheduleTimer()
        reportWritability()
    }

    private func reportWritability() {
        guard sink != nil else { return }
        let writable = isWritable
        guard writable != reportedWritable else { return }
        reportedWritable = writable
        sink?.transportWritabilityChanged(writable)
    }

    // MARK: - Time

    private func rescheduleTimer() {
        timer.arm(at: machine.nextDeadline, on: eventLoop) {
            self.timer.fired()
            self.perform(self.machine.timerFired(now: .now()))
            self.settle()
        }
    }
}

@available(*, unavailable)
extension EngineIOServerSession: Sendable {}
