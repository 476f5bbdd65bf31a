import NIOCore
import PrimusCore

/// One WebSocket of an Engine.IO session (opened directly, or probed for an upgrade), between
/// the frame handler (``WebSocketTransportHandler``) on the connection's event loop and the
/// session on its own loop: it decodes each message into a packet and hands it over, and writes
/// what the session sends.
final class EngineIOWebSocketLink: WebSocketMessageSink {
    let id: UInt64
    private let version: EngineIOProtocolVersion
    private let session: EngineIOSessionHandle?
    private var transport: (any SparkTransport)?
    private let eventLoop: any EventLoop
    /// Frames that came with the upgrade request (a client that did not wait for `101`), held
    /// until the session has taken this link: it does so in a task queued when the link was
    /// made, so one task queued after it hands them on in order. `nil` once handed on.
    private var early: [TransportMessage]? = []

    /// `session` is `nil` when the session ended while the handshake completed: the link is closed.
    /// `eventLoop` is the connection's.
    init(id: UInt64, version: EngineIOProtocolVersion, session: EngineIOSessionHandle?, eventLoop: any EventLoop) {
        self.id = id
        self.version = version
        self.session = session
        self.eventLoop = eventLoop
    }

    // MARK: WebSocketMessageSink (the connection's loop)

    func attach(transport: any SparkTransport) {
        self.transport = transport
    }

    func receive(_ message: TransportMessage) {
        if early != nil { return hold(message) }
        let id = self.id
        do {
            let packet = try EngineIOPacketCodec.decodeFrame(message, version: version)
            // The hot path: a session opened on this WebSocket lives on its loop, so the packet
            // goes straight in, without a closure per message.
            if let local = session?.valueIfOnLoop {
                local.webSocketPacket(packet, from: id)
            } else {
                session?.execute { $0.webSocketPacket(packet, from: id) }
            }
        } catch {
            session?.execute { $0.webSocketFailed(id, error) }
        }
    }

    /// The first frames, until the session has taken the link. Bounded by what one read of the
    /// connection carries: the task that hands them on runs before the next read.
    private func hold(_ message: TransportMessage) {
        early?.append(message)
        guard early?.count == 1 else { return }
        eventLoop.assumeIsolated().execute {
            let held = self.early ?? []
            self.early = nil
            for message in held { self.receive(message) }
        }
    }

    func transportPing() {}

    /// The connection's outbound budget filled or drained: the session relays it to its spark.
    func transportWritabilityChanged(_ isWritable: Bool) {
        let id = self.id
        session?.execute { $0.webSocketWritabilityChanged(id, isWritable: isWritable) }
    }

    func transportClosed() {
        transport = nil
        let id = self.id
        session?.execute { $0.webSocketClosed(id) }
    }

    // MARK: From the session (hopped to the connection's loop by the handle)

    func write(_ messages: [TransportMessage]) {
        guard let transport else { return }
        for message in messages { transport.send(message) }
    }

    func write(_ message: TransportMessage) {
        transport?.send(message)
    }

    /// A broadcast's frame, shared by the sessions of this loop; flushed by ``flush()``.
    func write(shared: SharedTransportMessage) {
        transport?.send(shared: shared)
    }

    func flush() {
        transport?.flush()
    }

    func close(code: UInt16?) {
        transport?.close(code: code)
    }

    /// Bytes waiting on the connection (read on the link's loop).
    var bufferedAmount: Int { transport?.bufferedAmount ?? 0 }

    func pauseReading() { transport?.pauseReading() }

    func resumeReading() { transport?.resumeReading() }
}

@available(*, unavailable)
extension EngineIOWebSocketLink: Sendable {}

/// A link as the session sees it: its id, and the link on its loop.
struct EngineIOWebSocketLinkHandle: Sendable {
    let id: UInt64
    private let link: PrimusLoopHandle<EngineIOWebSocketLink>

    /// Made on the link's loop.
    init(_ link: EngineIOWebSocketLink, eventLoop: any EventLoop) {
        self.id = link.id
        self.link = PrimusLoopHandle(link, eventLoop: eventLoop)
    }

    /// Writes one frame: directly when called on the link's loop (the session of a WebSocket
    /// opened directly shares it), else hopped there.
    func write(_ frame: TransportMessage) {
        if let local = link.valueIfOnLoop {
            local.write(frame)
        } else {
            link.execute { $0.write(frame) }
        }
    }

    /// The link, when called on its loop.
    var localLink: EngineIOWebSocketLink? { link.valueIfOnLoop }

    /// Runs `body` with the link on its loop.
    func execute(_ body: @escaping @Sendable (EngineIOWebSocketLink) -> Void) {
        link.execute(body)
    }
}
