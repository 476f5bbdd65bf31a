public import NIOCore

/// One SockJS session on the server, without sockets or a clock (protocol notes, section 3.4).
///
/// A session outlives the HTTP requests that carry it. At most one *receiving* request (a poll,
/// a stream, a WebSocket) is attached at a time; a second one is refused with
/// `c[2010,"Another connection still open"]`. Messages sent while no receiver is attached wait
/// for the next one, and nothing is lost across receivers: what an application sent before it
/// closed the session goes out before the close frame, which every later receiver gets again
/// until the session expires. A session with no receiver expires `disconnectDelay` after the
/// last one left. An attached receiver gets `h` every `heartbeatDelay`. A polling receiver is
/// finished after one frame; a streaming one after ``Configuration/responseLimit`` bytes, so
/// the client opens a fresh one (and proxies never buffer forever).
///
/// The caller performs the I/O: it writes the frames an ``Output`` names to the receiver,
/// reports the bytes with ``streamed(bytes:receiver:)``, finishes the receiver when told, and
/// calls ``tick(now:)`` at ``nextDeadline``.
public struct SockJSSessionStateMachine: Sendable {
    /// Timing and size rules.
    public struct Configuration: Sendable {
        /// How often an attached receiver gets `h` (SockJS default 25 s).
        public var heartbeatDelay: TimeAmount
        /// How long a session without a receiver lives (SockJS default 5 s).
        public var disconnectDelay: TimeAmount
        /// Bytes after which a streaming receiver is finished (SockJS default 128 KiB).
        public var responseLimit: Int

        /// The SockJS defaults, or others.
        public init(heartbeatDelay: TimeAmount = .seconds(25), disconnectDelay: TimeAmount = .seconds(5), responseLimit: Int = 128 * 1024) {
            self.heartbeatDelay = heartbeatDelay
            self.disconnectDelay = disconnectDelay
            self.responseLimit = responseLimit
        }
    }

    /// How a receiving request carries frames.
    public enum ReceiverKind: Sendable, Hashable {
        /// One frame, then the request is answered (`xhr`, `jsonp`).
        case polling
        /// Frames as they come, up to the response limit (`xhr_streaming`, `eventsource`,
        /// `htmlfile`), or without limit (`websocket`, whose session is its connection).
        case streaming(limited: Bool)
    }

    /// Identifies a receiving request; the caller chooses unique values.
    public typealias ReceiverID = UInt64

    /// What to do on the attached receiver.
    public struct Output: Sendable, Hashable {
        /// Frames to write to it, in order.
        public var frames: [SockJSFrame] = []
        /// Whether to finish it once they are written.
        public var finishReceiver = false

        /// Nothing to do.
        public init(frames: [SockJSFrame] = [], finishReceiver: Bool = false) {
            self.frames = frames
            self.finishReceiver = finishReceiver
        }
    }

    /// The answer to a receiving request.
    public enum Arrival: Sendable, Hashable {
        /// It is the session's receiver now: write `output` to it.
        case attached(Output)
        /// It is not: write this one frame to it and finish it (another receiver is attached, or
        /// the session is closed).
        case refused(SockJSFrame)
    }

    /// What a tick found.
    public struct TickResult: Sendable, Hashable {
        /// For the attached receiver.
        public var output = Output()
        /// The session has expired: forget it (and end its spark if still open).
        public var expired = false
    }

    private struct Receiver: Sendable {
        var id: ReceiverID
        var kind: ReceiverKind
        var bytes = 0
    }

    /// The rules.
    public let configuration: Configuration
    private var openSent = false
    private var closeFrame: SockJSFrame?
    private var receiver: Receiver?
    private var pending: [String] = []
    /// UTF-8 bytes of ``pending``: the session's outbound budget counts them.
    public private(set) var pendingBytes = 0
    private var heartbeatDue: NIODeadline?
    private var expiresAt: NIODeadline?

    /// A new session with no receiver yet (it expires like one whose receiver left).
    public init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        self.expiresAt = now + configuration.disconnectDelay
    }

    /// Whether a receiver is attached.
    public var hasReceiver: Bool { receiver != nil }

    /// Whether the session was closed (by the application, or by a receiver the network cut).
    public var isClosed: Bool { closeFrame != nil }

    /// When ``tick(now:)`` is due next, if ever.
    public var nextDeadline: NIODeadline? {
        switch (heartbeatDue, expiresAt) {
        case (let heartbeat?, let expiry?): return min(heartbeat, expiry)
        case (let heartbeat?, nil): return heartbeat
        case (nil, let expiry): return expiry
        }
    }

    /// A receiving request arrived.
    public mutating func receiverArrived(_ id: ReceiverID, kind: ReceiverKind, now: NIODeadline) -> Arrival {
        if receiver != nil { return .refused(.anotherConnectionOpen) }
        if let closeFrame, pending.isEmpty, openSent { return .refused(closeFrame) }
        receiver = Receiver(id: id, kind: kind)
        expiresAt = nil
        heartbeatDue = now + configuration.heartbeatDelay
        var output = Output()
        if !openSent {
            openSent = true
            output.frames.append(.open)
        }
        if case .polling = kind, !output.frames.isEmpty {
            output.finishReceiver = true
            return .attached(output)
        }
        output.frames += takePending()
        if case .polling = kind, !output.frames.isEmpty {
            output.finishReceiver = true
        } else if let closeFrame {
            // Closed: what was left for the client goes first, then the close frame.
            output.frames.append(closeFrame)
            output.finishReceiver = true
        }
        return .attached(output)
    }

    /// The application sends `messages`. Dropped once the session is closed.
    public mutating func send(_ messages: [String]) -> Output {
        guard closeFrame == nil, !messages.isEmpty else { return Output() }
        for message in messages {
            pending.append(message)
            pendingBytes += message.utf8.count
        }
        guard let receiver else { return Output() }
        var output = Output(frames: takePending())
        if case .polling = receiver.kind { output.finishReceiver = true }
        return output
    }

    /// The application closes the session with `frame` (`c[1000,"Normal closure"]` by default). What
    /// it sent before still reaches the client first.
    public mutating func close(_ frame: SockJSFrame = .normalClosure) -> Output {
        guard closeFrame == nil else { return Output() }
        closeFrame = frame
        guard receiver != nil else { return Output() }
        var output = Output(frames: takePending())
        output.frames.append(frame)
        output.finishReceiver = true
        return output
    }

    /// Bytes were written to a streaming receiver; `true` means it reached the response limit:
    /// finish it.
    public mutating func streamed(bytes: Int, receiver id: ReceiverID) -> Bool {
        guard var current = receiver, current.id == id, case .streaming(limited: true) = current.kind else { return false }
        current.bytes += bytes
        receiver = current
        return current.bytes >= configuration.responseLimit
    }

    /// The caller finished receiver `id` (its frame went out, or its limit was reached).
    public mutating func receiverFinished(_ id: ReceiverID, now: NIODeadline) {
        guard receiver?.id == id else { return }
        detach(now: now)
    }

    /// The network cut receiver `id` before the session was done with it. The session closes
    /// with `c[1002,"Connection interrupted"]` (unless already closed); `true` means the
    /// application should hear that it ended.
    public mutating func receiverAborted(_ id: ReceiverID, now: NIODeadline) -> Bool {
        guard receiver?.id == id else { return false }
        detach(now: now)
        guard closeFrame == nil else { return false }
        closeFrame = .interrupted
        pending = []
        pendingBytes = 0
        return true
    }

    /// Heartbeats and expiry at `now`.
    public mutating func tick(now: NIODeadline) -> TickResult {
        var result = TickResult()
        if let receiver, let due = heartbeatDue, due <= now {
            heartbeatDue = now + configuration.heartbeatDelay
            result.output.frames.append(.heartbeat)
            if case .polling = receiver.kind { result.output.finishReceiver = true }
        }
        if receiver == nil, let expiry = expiresAt, expiry <= now {
            expiresAt = nil
            result.expired = true
        }
        return result
    }

    private mutating func detach(now: NIODeadline) {
        receiver = nil
        heartbeatDue = nil
        expiresAt = now + configuration.disconnectDelay
    }

    private mutating func takePending() -> [SockJSFrame] {
        guard !pending.isEmpty else { return [] }
        defer {
            pending = []
            pendingBytes = 0
        }
        return [.messages(pending)]
    }
}
