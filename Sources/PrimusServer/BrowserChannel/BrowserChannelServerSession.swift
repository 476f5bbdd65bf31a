import Logging
import NIOCore
import NIOHTTP1
import PrimusCore

/// One BrowserChannel session, on its event loop: performs what
/// ``BrowserChannelSessionStateMachine`` decides. It holds the back channel (a streamed answer),
/// one timer, and the spark (or the test server's echo) above it, which sees it as its
/// ``SparkTransport``.
///
/// A session ends with its state machine: it leaves the registry, its timer is cancelled, its
/// back channel ends, its admission is released, and the spark ends.
///
/// Its outbound budget (``isWritable``, ``bufferedAmount``) is the arrays its client has not
/// acknowledged.
final class BrowserChannelServerSession: SparkTransport {
    typealias Machine = BrowserChannelSessionStateMachine

    /// An open back channel: the stream, how it is wrapped, and which request it is.
    private struct BackChannel {
        var stream: PrimusHTTPResponseStream
        var html: Bool
        var id: UInt64
        var wroteFirst = false
    }

    let sid: String
    let eventLoop: any EventLoop
    private var machine: Machine
    private let registry: PrimusSessionRegistry<BrowserChannelServerSession>
    private let primus: Primus
    private let logger: Logger
    private let maxBufferedBytes: Int
    private var sink: (any SparkTransportSink)?
    private var backChannel: BackChannel?
    private var nextBackChannelID: UInt64 = 0
    private var timer = PrimusSessionTimer()
    private var flushScheduled = false
    private var reportedWritable = true
    /// The creating request, answered with the first chunk one tick after the spark opened
    /// (so what the application wrote on connection goes with it).
    private var creation: PrimusHTTPExchange?

    init(
        sid: String,
        rid: Int,
        eventLoop: any EventLoop,
        configuration: Machine.Configuration,
        registry: PrimusSessionRegistry<BrowserChannelServerSession>,
        primus: Primus
    ) {
        self.sid = sid
        self.eventLoop = eventLoop
        self.machine = Machine(sid: sid, rid: rid, configuration: configuration, now: .now())
        self.registry = registry
        self.primus = primus
        self.logger = primus.logger
        self.maxBufferedBytes = primus.configuration.limits.maxBufferedBytes
    }

    /// The handle other loops use; made on the session's loop.
    func makeHandle() -> PrimusLoopHandle<BrowserChannelServerSession> {
        PrimusLoopHandle(self, eventLoop: eventLoop)
    }

    // MARK: - Requests

    /// Binds the layer above, delivers the creating request's maps, and answers it with the
    /// first chunk on the next tick. An application that ends the spark on connection has its
    /// goodbye and `["stop"]` in that chunk; a session that is already gone (evicted, given up)
    /// gets `403`.
    func open(sink: any SparkTransportSink, creation exchange: PrimusHTTPExchange, rid: Int, data: BrowserChannelForwardData) {
        self.sink = sink
        self.creation = exchange
        sink.attach(transport: self)
        forward(rid: rid, aid: nil, data: data, exchange: nil)
        eventLoop.assumeIsolated().execute {
            self.answerCreation()
        }
        settle()
    }

    private func answerCreation() {
        guard let exchange = creation else { return }
        creation = nil
        guard !machine.isClosed else {
            exchange.respond(BrowserChannelResponses.error(.forbidden))
            return
        }
        let arrays = machine.creationAnswer(now: .now())
        exchange.respond(BrowserChannelResponses.text(BrowserChannelChunk.frame(arrays)))
        perform(machine.creationAnswered())
        settle()
    }

    /// A forward-channel request (`exchange` is `nil` for the creating request, answered apart).
    func forward(rid: Int, aid: Int?, data: BrowserChannelForwardData, exchange: PrimusHTTPExchange?) {
        do {
            let (answer, actions) = try machine.forwardReceived(rid: rid, aid: aid, data: data, now: .now())
            exchange?.respond(BrowserChannelResponses.text(BrowserChannelChunk.frameForwardAnswer(answer.json)))
            perform(actions)
        } catch {
            logger.debug("browserchannel bad data", metadata: ["primus.browserchannel.sid": "\(sid)"])
            exchange?.respond(BrowserChannelResponses.error(error))
        }
        settle()
    }

    /// A forward request that was refused before its maps were read (`400 Bad data`, `413`): its
    /// `RID` is used up all the same, so the requests after it are not held waiting for it.
    func forwardRefused(rid: Int) {
        forward(rid: rid, aid: nil, data: BrowserChannelForwardData(offset: 0, messages: []), exchange: nil)
    }

    /// A back channel (`GET`, `RID=rpc`): it replaces the one open, if any.
    func openBackChannel(_ exchange: PrimusHTTPExchange, aid: Int?, chunked: Bool, html: Bool, domain: String?) {
        if machine.isClosed {
            exchange.respond(BrowserChannelResponses.error(.unknownSID))
            return
        }
        endBackChannel()
        let headers = BrowserChannelResponses.headers(contentType: html ? "text/html" : "text/plain")
        guard let stream = exchange.startStream(headers: headers) else { return }
        nextBackChannelID &+= 1
        let id = nextBackChannelID
        backChannel = BackChannel(stream: stream, html: html, id: id)
        if html {
            let preamble = BrowserChannelResponses.htmlPreamble(domain: domain)
            if !preamble.isEmpty { stream.write(ByteBuffer(string: preamble)) }
        }
        let handle = PrimusWeakLoopHandle(self, eventLoop: eventLoop)
        exchange.onPeerGone { handle.execute { $0.backChannelGone(id) } }
        perform(machine.backChannelOpened(aid: aid, chunked: chunked, now: .now()))
        settle()
    }

    private func backChannelGone(_ id: UInt64) {
        guard let backChannel, backChannel.id == id else { return }
        self.backChannel = nil
        machine.backChannelClosed(now: .now())
        settle()
    }

    /// `TYPE=terminate`.
    func terminate(rid: Int?, aid: Int?, exchange: PrimusHTTPExchange) {
        machine.acknowledge(aid)
        exchange.respond(BrowserChannelResponses.text(""))
        perform(machine.terminate(rid: rid, now: .now()))
        settle()
    }

    /// A new session of the same client named this one in `OSID`.
    func evict(aid: Int?) {
        perform(machine.evicted(aid: aid))
        settle()
    }

    // MARK: - SparkTransport

    func send(_ message: TransportMessage) {
        switch message {
        case .text:
            queue(.string(message.string))
        case .binary:
            // BrowserChannel carries JSON text only: a binary parser cannot run over it.
            logger.debug("browserchannel binary message dropped", metadata: ["primus.browserchannel.sid": "\(sid)"])
        }
    }

    private func queue(_ data: JSONValue) {
        switch machine.send(data) {
        case .queued:
            scheduleFlush()
        case .dropped:
            break
        case .overflow(let actions):
            logger.debug("browserchannel client too far behind", metadata: ["primus.browserchannel.sid": "\(sid)"])
            perform(actions)
        }
        settle()
    }

    func close(code: UInt16?) {
        perform(machine.close(now: .now()))
        settle()
    }

    var isWritable: Bool { machine.bufferedBytes <= maxBufferedBytes }

    var bufferedAmount: Int { machine.bufferedBytes }

    /// Forward requests are bounded by ``PrimusConfiguration/maxLength`` each and answered at
    /// once, as the protocol expects; there is no read to pause.
    func pauseReading() {}

    func resumeReading() {}

    // MARK: - Performing actions

    /// Sends of one event-loop tick (an echo of a whole forward request) go out in one chunk.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.perform(self.machine.flush(now: .now()))
            self.settle()
        }
    }

    private func perform(_ actions: [Machine.Action]) {
        for action in actions {
            switch action {
            case .writeBackChannel(let arrays):
                write(BrowserChannelChunk.frame(arrays))
            case .endBackChannel:
                endBackChannel()
            case .deliver(let message):
                sink?.receive(.text(message))
            case .closed(let reason):
                finish(reason)
            }
        }
    }

    private func write(_ chunk: String) {
        guard var channel = backChannel else { return }
        if channel.html {
            var text = BrowserChannelResponses.htmlScript(chunk)
            if !channel.wroteFirst { text += BrowserChannelResponses.htmlPadding }
            channel.wroteFirst = true
            backChannel = channel
            channel.stream.write(ByteBuffer(string: text))
        } else {
            channel.stream.write(ByteBuffer(string: chunk))
        }
    }

    private func endBackChannel() {
        guard let channel = backChannel else { return }
        backChannel = nil
        if channel.html { channel.stream.write(ByteBuffer(string: BrowserChannelResponses.htmlDone)) }
        channel.stream.finish()
    }

    private func finish(_ reason: Machine.CloseReason) {
        logger.debug("browserchannel session closed", metadata: ["primus.browserchannel.sid": "\(sid)", "primus.browserchannel.reason": "\(reason)"])
        registry.remove(sid)
        primus.release(sid: sid)
        timer.cancel()
        endBackChannel()
        let sink = self.sink
        self.sink = nil
        sink?.transportClosed()
    }

    // MARK: - After each input

    private func settle() {
        timer.arm(at: machine.nextDeadline, on: eventLoop) {
            self.timer.fired()
            self.perform(self.machine.timerFired(now: .now()))
            self.settle()
        }
        guard sink != nil else { return }
        let writable = isWritable
        guard writable != reportedWritable else { return }
        reportedWritable = writable
        sink?.transportWritabilityChanged(writable)
    }
}

@available(*, unavailable)
extension BrowserChannelServerSession: Sendable {}

extension Primus {
    /// Releases the admission of a session that ended (a no-op for one whose spark already
    /// released it).
    fileprivate func release(sid: String) {
        releaseAdmission(sid)
    }
}
