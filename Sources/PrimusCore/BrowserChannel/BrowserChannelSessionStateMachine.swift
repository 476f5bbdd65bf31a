public import NIOCore

/// One BrowserChannel session as the server sees it, without sockets or a clock: the outgoing
/// array log and its acknowledgements, the back channel, the forward channel's ordering, the
/// keep-alive and the timeouts. Each input returns what to do; the shell (the server session)
/// performs it and re-arms its one timer to ``nextDeadline``.
///
/// The back channel is a hanging `GET`: streaming (`CI=0`) it carries chunk after chunk until
/// ``Configuration/backChannelMaxBytes`` went through it, then ends so proxies see it complete;
/// with chunking off (`CI=1`, a buffering proxy is in the way) it ends after one chunk. The
/// client opens the next one at once, naming the last array it received (`AID`), and gets every
/// array it did not acknowledge.
///
/// The session ends when the client terminates it (in `RID` order), when it has had no back
/// channel for ``Configuration/sessionTimeout``, when the server closes it (after `["stop"]`
/// reached a back channel, or ``Configuration/closeGrace`` passed), when a new session evicts
/// it (`OSID`), or when the client falls more than ``Configuration/maxBufferedArrays`` behind.
public struct BrowserChannelSessionStateMachine: Sendable {
    /// Timings and bounds; the defaults are node-browserchannel's.
    public struct Configuration: Sendable {
        /// How long the back channel may stay silent before a `["noop"]` goes out (20 s).
        public var keepAliveInterval: TimeAmount = .seconds(20)
        /// How long a session lives without a back channel (30 s).
        public var sessionTimeout: TimeAmount = .seconds(30)
        /// How many UTF-16 units a streaming back channel carries before it ends (10 KiB).
        public var backChannelMaxBytes = 10 * 1024
        /// How many arrays may wait for an acknowledgement before the session is given up.
        public var maxBufferedArrays = 10_000
        /// How many message bytes the forward channel holds out of order.
        public var maxHeldBytes = 10 * 1024 * 1024
        /// How long a session the server closed waits for a back channel to carry `["stop"]`.
        public var closeGrace: TimeAmount = .seconds(5)
        /// The host prefix announced in the creation array (`null` without one).
        public var hostPrefix: String?

        /// The defaults.
        public init() {}
    }

    /// What the shell does.
    public enum Action: Sendable, Hashable {
        /// Write these arrays to the back channel as one chunk.
        case writeBackChannel([BrowserChannelArray])
        /// End the back channel (the client opens another).
        case endBackChannel
        /// Hand one message of the client to the layer above.
        case deliver(String)
        /// The session is over: forget it, answer what it holds, end the spark.
        case closed(CloseReason)
    }

    /// Why a session ended.
    public enum CloseReason: Sendable, Hashable {
        /// The client sent `TYPE=terminate`.
        case terminated
        /// No back channel for ``Configuration/sessionTimeout``.
        case timedOut
        /// The server closed it.
        case closedByServer
        /// A new session of the same client named it in `OSID`.
        case evicted
        /// The client left more than ``Configuration/maxBufferedArrays`` unacknowledged.
        case overflow
    }

    /// The answer to a forward-channel request:
    /// `[backChannelOpen 0|1, lastSentArrayId, outstandingBytes]`.
    public struct ForwardAnswer: Sendable, Hashable {
        /// Whether a back channel is open.
        public var backChannelOpen: Bool
        /// The highest array id written to a back channel (`-1` before any).
        public var lastSentArrayID: Int
        /// The UTF-16 length of the arrays not acknowledged.
        public var outstandingBytes: Int

        /// An answer (clients read one from a forward response).
        public init(backChannelOpen: Bool, lastSentArrayID: Int, outstandingBytes: Int) {
            self.backChannelOpen = backChannelOpen
            self.lastSentArrayID = lastSentArrayID
            self.outstandingBytes = outstandingBytes
        }

        /// The answer's JSON text.
        public var json: String { "[\(backChannelOpen ? 1 : 0),\(lastSentArrayID),\(outstandingBytes)]" }
    }

    private enum State: Sendable {
        case open
        /// The server closed the session; `["stop"]` waits for a back channel until `deadline`.
        case closing(deadline: NIODeadline)
        case closed
    }

    private struct BackChannel: Sendable {
        var chunked: Bool
        var bytesWritten = 0
    }

    /// The configuration.
    public let configuration: Configuration
    private var state = State.open
    private var log = BrowserChannelOutgoingLog()
    private var ordering: BrowserChannelForwardOrdering
    private var backChannel: BackChannel?
    /// When the session last had a back channel (or was created).
    private var backChannelGoneAt: NIODeadline
    /// When the back channel last carried something.
    private var lastWriteAt: NIODeadline
    /// A terminate waiting for earlier requests.
    private var terminateRID: Int?

    /// A new session `sid`, created by a request with `RID` `rid` at `now`. Its first array is
    /// `["c", sid, hostPrefix, 8]`.
    public init(sid: String, rid: Int, configuration: Configuration = Configuration(), now: NIODeadline) {
        self.configuration = configuration
        self.ordering = BrowserChannelForwardOrdering(nextRID: rid &+ 1, maxHeldBytes: configuration.maxHeldBytes)
        self.backChannelGoneAt = now
        self.lastWriteAt = now
        log.append(BrowserChannelArray.created(sid: sid, hostPrefix: configuration.hostPrefix))
    }

    /// Whether the session is over.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Whether a back channel is open.
    public var hasBackChannel: Bool { backChannel != nil }

    /// The UTF-16 length of what the client has not acknowledged: the session's outbound budget.
    public var bufferedBytes: Int { log.bytes }

    /// The arrays for the answer to the creating request (its first chunk, after which that
    /// answer ends): the creation array and whatever the application wrote meanwhile.
    public mutating func creationAnswer(now: NIODeadline) -> [BrowserChannelArray] {
        lastWriteAt = now
        return log.takeUnwritten()
    }

    /// The creation answer went out. When the server closed the session meanwhile (the
    /// application ended the spark on connection), that answer carried `["stop"]`: the session
    /// is over.
    public mutating func creationAnswered() -> [Action] {
        guard case .closing = state, !log.hasUnwritten else { return [] }
        return finish(.closedByServer)
    }

    // MARK: - The client's requests

    /// Any request's `AID`: the client received every array up to it.
    public mutating func acknowledge(_ aid: Int?) {
        guard let aid else { return }
        log.acknowledge(through: aid)
    }

    /// A forward-channel request: its maps are put in order and the deliverable ones delivered.
    /// Throws ``BrowserChannelError/badData`` (nothing delivered) when its ordering is
    /// impossible.
    public mutating func forwardReceived(
        rid: Int,
        aid: Int?,
        data: BrowserChannelForwardData,
        now: NIODeadline
    ) throws(BrowserChannelError) -> (answer: ForwardAnswer, actions: [Action]) {
        guard case .open = state else { return (answer, []) }
        acknowledge(aid)
        let messages = try ordering.received(rid: rid, data: data)
        var actions = messages.map(Action.deliver)
        actions += terminateIfDue()
        return (answer, actions)
    }

    /// What a forward answer reports now.
    public var answer: ForwardAnswer {
        ForwardAnswer(backChannelOpen: backChannel != nil, lastSentArrayID: log.highestWrittenID, outstandingBytes: log.bytes)
    }

    /// A back channel opened (`chunked` unless `CI=1`); the shell ended the previous one, if
    /// any, before calling. It gets every array not acknowledged.
    public mutating func backChannelOpened(aid: Int?, chunked: Bool, now: NIODeadline) -> [Action] {
        if case .closed = state { return [.endBackChannel] }
        acknowledge(aid)
        log.rewind()
        backChannel = BackChannel(chunked: chunked)
        lastWriteAt = now
        return flush(now: now)
    }

    /// The back channel ended without the session asking (the client went away or dropped it).
    public mutating func backChannelClosed(now: NIODeadline) {
        guard backChannel != nil else { return }
        backChannel = nil
        backChannelGoneAt = now
    }

    /// `TYPE=terminate` with `RID` `rid`: the session ends once every earlier request was taken.
    public mutating func terminate(rid: Int?, now: NIODeadline) -> [Action] {
        guard !isClosed else { return [] }
        terminateRID = rid ?? ordering.nextRID
        return terminateIfDue()
    }

    private mutating func terminateIfDue() -> [Action] {
        guard let terminateRID, ordering.nextRID >= terminateRID else { return [] }
        return finish(.terminated)
    }

    /// `OSID`/`OAID`: the client replaced this session with a new one, having received the
    /// arrays up to `aid`.
    public mutating func evicted(aid: Int?) -> [Action] {
        guard !isClosed else { return [] }
        acknowledge(aid)
        return finish(.evicted)
    }

    // MARK: - The server's side

    /// Whether a send was taken, or gave the session up.
    public enum SendResult: Sendable, Hashable {
        /// Queued: call ``flush(now:)`` (once for a batch of sends).
        case queued
        /// Not taken: the session is closing or closed.
        case dropped
        /// Over ``Configuration/maxBufferedArrays``: the session ends with these actions.
        case overflow([Action])
    }

    /// Queues one array of data for the client.
    public mutating func send(_ data: JSONValue) -> SendResult {
        guard case .open = state else { return .dropped }
        guard log.count < configuration.maxBufferedArrays else { return .overflow(finish(.overflow)) }
        log.append(data)
        return .queued
    }

    /// Writes what waits to the back channel, if one is open, and ends it when its chunk budget
    /// is spent (or after each chunk with `CI=1`).
    public mutating func flush(now: NIODeadline) -> [Action] {
        guard var channel = backChannel, log.hasUnwritten else { return [] }
        let arrays = log.takeUnwritten()
        channel.bytesWritten += arrays.reduce(0) { $0 + $1.length }
        lastWriteAt = now
        var actions: [Action] = [.writeBackChannel(arrays)]
        if !channel.chunked || channel.bytesWritten >= configuration.backChannelMaxBytes {
            actions.append(.endBackChannel)
            backChannel = nil
            backChannelGoneAt = now
        } else {
            backChannel = channel
        }
        if case .closing = state {
            // `["stop"]` went out: the session is over.
            if backChannel != nil {
                actions.append(.endBackChannel)
                backChannel = nil
            }
            actions += finish(.closedByServer)
        }
        return actions
    }

    /// The server closes the session: `["stop"]` tells the client not to reconnect it, and the
    /// session ends once a back channel carried it (or after ``Configuration/closeGrace``).
    public mutating func close(now: NIODeadline) -> [Action] {
        guard case .open = state else { return [] }
        log.append(BrowserChannelArray.stop)
        state = .closing(deadline: now + configuration.closeGrace)
        return flush(now: now)
    }

    private mutating func finish(_ reason: CloseReason) -> [Action] {
        if case .closed = state { return [] }
        state = .closed
        var actions: [Action] = []
        if backChannel != nil {
            backChannel = nil
            actions.append(.endBackChannel)
        }
        actions.append(.closed(reason))
        return actions
    }

    // MARK: - Time

    /// When ``timerFired(now:)`` must be called next, or `nil`.
    public var nextDeadline: NIODeadline? {
        switch state {
        case .closed:
            return nil
        case .closing(let deadline):
            return deadline
        case .open:
            if backChannel != nil { return lastWriteAt + configuration.keepAliveInterval }
            return backChannelGoneAt + configuration.sessionTimeout
        }
    }

    /// Time passed: a keep-alive goes out, or the session times out.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        switch state {
        case .closed:
            return []
        case .closing(let deadline):
            return now >= deadline ? finish(.closedByServer) : []
        case .open:
            if backChannel != nil {
                guard now >= lastWriteAt + configuration.keepAliveInterval else { return [] }
                switch send(BrowserChannelArray.noop) {
                case .queued: return flush(now: now)
                case .dropped: return []
                case .overflow(let actions): return actions
                }
            }
            return now >= backChannelGoneAt + configuration.sessionTimeout ? finish(.timedOut) : []
        }
    }
}
