import NIOCore
import NIOHTTP1
import PrimusCore

/// One SockJS session carried by HTTP requests (every transport but `websocket`), on its event
/// loop: the spark's transport. ``SockJSSessionStateMachine`` decides; this class answers the
/// requests, writes the frames and keeps the one timer.
///
/// The receiving request (a poll or a stream) is held in ``PrimusParkedRequests`` with its
/// connection watched: a client that goes away mid-poll or mid-stream closes the session with
/// `c[1002,"Connection interrupted"]`, and its spark ends. Messages the spark sends while no
/// request is held wait in the machine and count against the spark's outbound budget.
final class SockJSServerSession: SparkTransport {
    /// The held receiving request: how to write frames to it.
    private struct Receiver {
        var id: SockJSSessionStateMachine.ReceiverID
        var parked: PrimusParkedRequests<Void>.ID
        var wrapping: SockJSFrameWrapping
        var headers: HTTPHeaders
        /// The open response of a streaming receiver; `nil` for a poll, answered with one frame.
        var stream: PrimusHTTPResponseStream?
    }

    /// The client's session id (the URL's), the registry key.
    let sessionID: String
    let eventLoop: any EventLoop
    private let registry: PrimusSessionRegistry<SockJSServerSession>
    private var machine: SockJSSessionStateMachine
    private var timer = PrimusSessionTimer()
    private var parked = PrimusParkedRequests<Void>()
    private var receiver: Receiver?
    private var nextReceiverID: SockJSSessionStateMachine.ReceiverID = 0
    private var sink: (any SparkTransportSink)?
    private let maxBufferedBytes: Int
    private var reportedWritable = true
    /// Messages sent during this turn of the loop, written as one frame at its end (an
    /// `xhr_send` of ten messages echoed ten times is one `a[...]` chunk and one flush, not ten).
    private var queued: [String] = []
    private var queuedBytes = 0
    private var flushScheduled = false
    private var expired = false

    init(sessionID: String, eventLoop: any EventLoop, configuration: SockJSSessionStateMachine.Configuration, maxBufferedBytes: Int, registry: PrimusSessionRegistry<SockJSServerSession>) {
        self.sessionID = sessionID
        self.eventLoop = eventLoop
        self.registry = registry
        self.maxBufferedBytes = maxBufferedBytes
        self.machine = SockJSSessionStateMachine(configuration: configuration, now: .now())
    }

    /// Puts the spark (or the test services' echo) on top; its queued messages follow the
    /// open frame.
    func open(sink: any SparkTransportSink) {
        self.sink = sink
        sink.attach(transport: self)
        armTimer()
    }

    // MARK: Requests

    /// A receiving request (`xhr`, `xhr_streaming`, `eventsource`, `htmlfile`, `jsonp`).
    func receive(_ exchange: PrimusHTTPExchange, kind: SockJSSessionStateMachine.ReceiverKind, wrapping: SockJSFrameWrapping, prelude: ByteBuffer?, headers: HTTPHeaders) {
        guard !expired else { return exchange.respond(SockJSResponses.notFound()) }
        nextReceiverID &+= 1
        let id = nextReceiverID
        switch machine.receiverArrived(id, kind: kind, now: .now()) {
        case .refused(let frame):
            // Written as the transport writes any frame, then finished.
            var body = prelude ?? ByteBuffer()
            wrapping.write(frame, to: &body)
            exchange.respond(PrimusHTTPResponse(status: .ok, headers: headers, body: body))
        case .attached(let output):
            let parkedID = parked.hold(exchange, extra: ())
            let handle = PrimusWeakLoopHandle(self, eventLoop: eventLoop)
            parked.watch(parkedID) { connection in handle.execute { $0.connectionClosed(connection) } }
            var stream: PrimusHTTPResponseStream?
            if case .streaming = kind {
                stream = exchange.startStream(status: .ok, headers: headers)
                if let prelude { stream?.write(prelude) }
            }
            receiver = Receiver(id: id, parked: parkedID, wrapping: wrapping, headers: headers, stream: stream)
            perform(output)
        }
        armTimer()
    }

    /// A sending request (`xhr_send`, `jsonp_send`): the client's messages, already decoded.
    func deliver(_ messages: [String], exchange: PrimusHTTPExchange, answer: PrimusHTTPResponse) {
        guard !expired else { return exchange.respond(SockJSResponses.notFound()) }
        if !machine.isClosed, let sink {
            for message in messages { sink.receive(.text(message)) }
        }
        exchange.respond(answer)
    }

    // MARK: Frames

    /// Writes `output` to the held receiver, and finishes it when the machine says so.
    private func perform(_ output: SockJSSessionStateMachine.Output) {
        guard let receiver else { return }
        if !output.frames.isEmpty {
            var body = ByteBuffer()
            for frame in output.frames { receiver.wrapping.write(frame, to: &body) }
            if let stream = receiver.stream {
                let bytes = body.readableBytes
                stream.write(body)
                if machine.streamed(bytes: bytes, receiver: receiver.id) {
                    return finishReceiver()
                }
            } else {
                parked.take(receiver.parked)?.exchange.respond(PrimusHTTPResponse(status: .ok, headers: receiver.headers, body: body))
                self.receiver = nil
                machine.receiverFinished(receiver.id, now: .now())
                return
            }
        }
        if output.finishReceiver { finishReceiver() }
    }

    private func finishReceiver() {
        guard let receiver else { return }
        self.receiver = nil
        let exchange = parked.take(receiver.parked)?.exchange
        if let stream = receiver.stream {
            stream.finish()
        } else {
            exchange?.respond(PrimusHTTPResponse(status: .ok, headers: receiver.headers))
        }
        machine.receiverFinished(receiver.id, now: .now())
    }

    /// A watched connection closed: if it carried the receiver, the client went away.
    private func connectionClosed(_ connection: ObjectIdentifier) {
        guard parked.connectionClosed(connection), let receiver else { return }
        self.receiver = nil
        _ = parked.take(receiver.parked)
        receiver.stream?.finish()
        if machine.receiverAborted(receiver.id, now: .now()) {
            sink?.transportClosed()
            sink = nil
        }
        armTimer()
    }

    private func armTimer() {
        timer.arm(at: machine.nextDeadline, on: eventLoop) { [weak self] in self?.tick() }
    }

    private func tick() {
        timer.fired()
        let result = machine.tick(now: .now())
        perform(result.output)
        if result.expired {
            expire()
            return
        }
        armTimer()
    }

    /// No receiver came back within the disconnect delay: the session is gone.
    private func expire() {
        guard !expired else { return }
        expired = true
        timer.cancel()
        registry.remove(sessionID)
        for held in parked.takeAll() { held.entry.exchange.respond(SockJSResponses.notFound()) }
        receiver = nil
        if let sink {
            self.sink = nil
            sink.transportClosed()
        }
    }

    /// Ends the session now (the server is shedding it), as the network cutting it would.
    func shed() {
        _ = machine.close(.normalClosure)
        finishReceiver()
        expire()
    }

    private func updateWritability() {
        let writable = isWritable
        guard writable != reportedWritable else { return }
        reportedWritable = writable
        sink?.transportWritabilityChanged(writable)
    }

    // MARK: SparkTransport

    func send(_ message: TransportMessage) {
        guard message.isText else {
            flushQueued()
            // SockJS frames carry text only: a binary parser's bytes cannot go, and must not go
            // corrupted. The session closes with a reason that names the fix.
            perform(machine.close(SockJSFrame.binaryRefused))
            armTimer()
            if let sink {
                self.sink = nil
                sink.transportClosed()
            }
            return
        }
        let text = message.string
        queued.append(text)
        queuedBytes += text.utf8.count
        if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().execute { self.flushQueued() }
        }
        updateWritability()
    }

    /// Hands what this turn sent to the machine, as one frame.
    private func flushQueued() {
        flushScheduled = false
        guard !queued.isEmpty else { return }
        let messages = queued
        queued = []
        queuedBytes = 0
        perform(machine.send(messages))
        armTimer()
        updateWritability()
    }

    func close(code: UInt16?) {
        flushQueued()
        let frame: SockJSFrame = code.map { $0 >= 3000 ? .close(code: Int($0), reason: "Go away!") : .normalClosure } ?? .normalClosure
        perform(machine.close(frame))
        armTimer()
        sink = nil
    }

    func pauseReading() {}
    func resumeReading() {}

    var isWritable: Bool { bufferedAmount <= maxBufferedBytes }

    var bufferedAmount: Int { machine.pendingBytes + queuedBytes }
}

@available(*, unavailable)
extension SockJSServerSession: Sendable {}
