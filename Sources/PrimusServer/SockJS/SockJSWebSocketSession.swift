import NIOCore
import PrimusCore

/// A SockJS session on a WebSocket (`/<server>/<session>/websocket`): the session lives exactly
/// as long as its connection, so it needs no registry. It sits between the connection (whose
/// transport carries whole WebSocket messages) and the spark: each SockJS frame is one text
/// message, the client's messages arrive as a JSON array of strings (or one bare string), and
/// an `h` goes out every heartbeat delay.
///
/// Confined to the connection's event loop.
final class SockJSWebSocketSession: SparkTransportSink, SparkTransport {
    private var connection: (any SparkTransport)?
    private var sink: (any SparkTransportSink)?
    private let heartbeatDelay: TimeAmount
    private let eventLoop: any EventLoop
    private var heartbeat: Scheduled<Void>?
    private var closed = false

    /// `sink` is the spark (or the test services' echo); it is attached once the connection is.
    init(sink: any SparkTransportSink, heartbeatDelay: TimeAmount, eventLoop: any EventLoop) {
        self.sink = sink
        self.heartbeatDelay = heartbeatDelay
        self.eventLoop = eventLoop
    }

    // MARK: SparkTransportSink (the connection)

    func attach(transport: any SparkTransport) {
        connection = transport
        transport.send(.text(Self.openFrame))
        scheduleHeartbeat()
        sink?.attach(transport: self)
    }

    func receive(_ message: TransportMessage) {
        guard !closed else { return }
        let messages: [String]
        do {
            messages = try SockJSClientPayload.decodeWebSocketMessage(message.buffer)
        } catch {
            // Broken framing: the connection is dropped, as sockjs-node drops it.
            fail()
            return
        }
        for text in messages { sink?.receive(.text(text)) }
    }

    func transportPing() {
        sink?.transportPing()
    }

    func transportWritabilityChanged(_ isWritable: Bool) {
        sink?.transportWritabilityChanged(isWritable)
    }

    func transportClosed() {
        closed = true
        heartbeat?.cancel()
        heartbeat = nil
        connection = nil
        if let sink {
            self.sink = nil
            sink.transportClosed()
        }
    }

    // MARK: SparkTransport (the spark)

    func send(_ message: TransportMessage) {
        guard !closed else { return }
        guard message.isText else {
            // SockJS frames carry text only (see SockJSFrame.binaryRefused).
            let sink = self.sink
            close(frame: .binaryRefused)
            sink?.transportClosed()
            return
        }
        connection?.send(.text(Self.messagesFrame(message)))
    }

    /// A broadcast: the `a[...]` frame is built once per loop and shared by its SockJS sessions.
    func send(shared: SharedTransportMessage) {
        guard !closed else { return }
        guard shared.message.isText else { return send(shared.message) }
        connection?.send(shared: shared.derived("sockjs.messages") { .text(Self.messagesFrame($0)) })
    }

    func flush() {
        connection?.flush()
    }

    /// The spark ended: `c[1000,"Normal closure"]` (or the code it gave, with 3000 and up), then the
    /// WebSocket closes normally.
    func close(code: UInt16?) {
        close(frame: code.map { $0 >= 3000 ? .close(code: Int($0), reason: "Go away!") : .normalClosure } ?? .normalClosure)
    }

    private func close(frame: SockJSFrame) {
        guard !closed else { return }
        closed = true
        heartbeat?.cancel()
        heartbeat = nil
        sink = nil
        connection?.send(.text(frame.encoded()))
        connection?.close(code: 1000)
    }

    func pauseReading() { connection?.pauseReading() }
    func resumeReading() { connection?.resumeReading() }
    var isWritable: Bool { connection?.isWritable ?? true }
    var bufferedAmount: Int { connection?.bufferedAmount ?? 0 }

    // MARK: Helpers

    private func fail() {
        closed = true
        heartbeat?.cancel()
        heartbeat = nil
        connection?.close(code: 1002)
    }

    private func scheduleHeartbeat() {
        heartbeat = eventLoop.assumeIsolated().scheduleTask(in: heartbeatDelay) { [weak self] in
            guard let self, !self.closed else { return }
            self.connection?.send(.text(Self.heartbeatFrame))
            self.scheduleHeartbeat()
        }
    }

    private static let openFrame = ByteBuffer(string: "o")
    private static let heartbeatFrame = ByteBuffer(string: "h")

    private static func messagesFrame(_ message: TransportMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(message.buffer.readableBytes + 8)
        buffer.writeStaticString("a[")
        SockJSJSONEscaping.writeUTF8(message.buffer, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "]"))
        return buffer
    }
}

@available(*, unavailable)
extension SockJSWebSocketSession: Sendable {}
