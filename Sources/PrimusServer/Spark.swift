import Logging
public import NIOCore
public import NIOHTTP1
public import PrimusCore
import Synchronization

/// One client connection, whatever transformer carries it: Primus's *spark*.
///
/// A spark is created by a transformer when a client connects and handed to the application
/// through ``Primus/connections`` or ``Primus/onConnection(_:)``. Read its messages either as an
/// async sequence (``messages``, with backpressure) or with ``onMessage(_:)`` (called on the
/// connection's event loop, the leanest path). Messages that arrive before the application reads
/// are held and delivered in order, as Primus does while `connection` listeners run.
///
/// ```swift
/// for await spark in primus.connections {
///     group.addTask {
///         for await message in spark.messages { spark.write(message.value) }
///     }
/// }
/// ```
///
/// All mutable state lives on the connection's event loop (``eventLoop``); the public API may be
/// called from anywhere and hops there when needed.
///
/// What the server may queue for a client that reads slower than the application writes is
/// bounded by ``PrimusLimits/maxBufferedBytes``: past it, a write follows
/// ``PrimusLimits/whenOverBudget`` (end the spark, drop the message, or make ``send(_:)`` wait),
/// ``onOverBudget(_:)`` handlers hear of it, and ``bufferedAmount`` says how much is queued.
public final class Spark: PrimusParserContext {
    /// Primus's ready states, with Primus's numbers.
    public enum ReadyState: UInt8, Sendable {
        /// Never observed on the server; kept for parity with Primus.
        case opening = 1
        /// Ended: writes are ignored.
        case closed = 2
        /// Connected.
        case open = 3
    }

    /// The spark's id: unique, URL-safe, unguessable (or from ``PrimusConfiguration/idGenerator``).
    public let id: String
    /// The handshake request (method, target, headers), with at most
    /// ``PrimusLimits/maxRetainedHeaderBytes`` of its headers: a spark lives long, so it does not
    /// keep every header a client chose to send. The headers applications read (cookie,
    /// authorization, user-agent, origin, host, referer, accept-language, `x-forwarded-*`,
    /// forwarded, x-real-ip, `sec-websocket-*`) are kept first, then the others in their order
    /// while room remains; a header is kept whole or not at all. Each costs name + value + 4 bytes.
    ///
    /// The spark keeps its handshake packed in one allocation (thousands of idle sparks would
    /// otherwise each hold a head, a header array and a string per long name or value), and this
    /// builds the head from it on every read: a few allocations and a copy of the retained headers.
    /// Read it once and keep the value rather than reading it per message.
    public var request: HTTPRequestHead {
        HTTPRequestHead(version: handshakeVersion, method: HTTPMethod(rawValue: handshake.method), uri: handshake.target, headers: headers)
    }
    /// The handshake's query string, parsed on every read (from the kept target; see ``request``).
    public var query: QueryParameters { QueryParameters(requestURI: handshake.target) }
    /// The client's address, through trusted proxies.
    public let address: SparkAddress
    /// The event loop that owns this connection.
    public let eventLoop: any EventLoop
    /// The server this spark belongs to.
    public let primus: Primus
    /// Where other threads hand this spark's loop work for it, in order, broadcasts included.
    let mailbox: LoopMailbox

    /// The handshake request's headers, as retained (see ``request``: at most
    /// ``PrimusLimits/maxRetainedHeaderBytes``, the commonly read ones first). Built on every
    /// read from the packed handshake, like ``request``.
    public var headers: HTTPHeaders { HTTPHeaders(handshake.headers.map { ($0.name, $0.value) }) }

    /// The handshake's method, target and retained headers, in one allocation.
    private let handshake: PackedHandshake
    /// The namespace and auth payload of a transformer with namespaces (Socket.IO); `nil` for
    /// the others, so a spark pays one pointer for them.
    let namespaceHandshake: SparkNamespaceHandshake?
    private let handshakeVersion: HTTPVersion

    /// Whether the spark is open; readable from any thread without a lock.
    public var readyState: ReadyState {
        ReadyState(rawValue: readyStateStorage.load(ordering: .acquiring)) ?? .closed
    }

    /// Bytes queued for the client; exact on the event loop. Elsewhere the figure taken when the
    /// spark last went over or back under its budget (0 once ended): reading the transport's
    /// count needs the loop, and a per-write atomic would tax the hot path. For an exact figure
    /// from another thread, ask the loop: `try await spark.eventLoop.submit { spark.bufferedAmount }.get()`.
    public var bufferedAmount: Int {
        guard eventLoop.inEventLoop else { return bufferedAmountSnapshot.load(ordering: .relaxed) }
        guard readyState == .open else { return 0 }
        return state.value.transport?.bufferedAmount ?? 0
    }

    private let readyStateStorage = Atomic<UInt8>(ReadyState.open.rawValue)
    private let bufferedAmountSnapshot = Atomic<Int>(0)
    let state: NIOLoopBound<State>

    /// The server's message transforms when this spark connected (`primus.transform(_:_:)`).
    let transforms: MessageTransforms
    /// Whether any transform applies, read once per message so a server without transforms
    /// pays one branch for them.
    let hasIncomingTransforms: Bool
    /// Whether ``write(_:)-(JSONValue)`` runs transforms before encoding.
    let hasOutgoingTransforms: Bool
    /// Whether the client asked for missed-message recovery (and the server offers it): its
    /// broadcasts come in envelopes, and it gets a replay when it reconnects.
    let recovers: Bool
    /// Whether the transforms of each direction all run synchronously (inline, no queue).
    let incomingTransformsAreSynchronous: Bool
    let outgoingTransformsAreSynchronous: Bool

    /// A class, so reading one field on the hot path retains one reference instead of copying
    /// every field of a struct; confined to the event loop by `NIOLoopBound`.
    final class State {
        var heartbeat = ServerHeartbeat()
        var budget: OutboundBudget
        /// Awaited sends held until the transport is writable again, oldest first.
        var waitingSends = State.noWaitingSends
        var overBudgetHandlers: [@Sendable () -> Void] = []
        var transport: (any SparkTransport)?
        /// Written before the transport was ready (a spark is announced as soon as the handshake
        /// is accepted, so a broadcast right after the client's `open` reaches it).
        var unsent: [TransportMessage] = []
        var inbox: Inbox = .pending([])
        var readingPaused = false
        var errorHandlers: [@Sendable (PrimusError) -> Void] = []
        var endHandlers: [@Sendable () -> Void] = []
        var readyStateHandlers: [@Sendable (ReadyState) -> Void] = []
        var heartbeatHandlers: [@Sendable () -> Void] = []
        /// Async `connection` handlers are running: messages stay in the inbox, and a reader
        /// that attaches waits here until they finish.
        var holding = false
        var heldConsumer: Inbox?
        /// Messages waiting for an async transform, one queue per direction.
        var incomingLane = TransformLane(queue: State.noTransformItems)
        var outgoingLane = TransformLane(queue: State.noTransformItems)
        /// Where the spark sits in its loop's broadcast list (``LoopMailbox``); -1 when not in it.
        var broadcastSlot = -1
        /// Named events and acknowledgements, made on first use (``Spark/on(_:_:)``).
        var events: SparkEventState?
        /// Missed-message recovery, for a client that asked for it (``Spark/recovers``).
        var recovery: SparkRecovery?

        // Every spark starts its queues as copies of these shared empty ones: a queue of its
        // own is allocated (copy on write) only when something is queued, so an idle spark holds
        // no queue storage. NIO's `CircularBuffer()` reserves 16 slots up front; three of them
        // were about 2.5 KiB per spark.
        private static let noWaitingSends = CircularBuffer<WaitingSend>(initialCapacity: 1)
        private static let noTransformItems = CircularBuffer<TransformItem>(initialCapacity: 1)

        init(policy: OutboundOverflowPolicy) {
            self.budget = OutboundBudget(policy: policy)
        }
    }

    /// An awaited send held for room. Its box is created off the loop by the caller, and touched
    /// on the loop only (by the send and by the caller's cancellation).
    struct WaitingSend {
        var message: TransportMessage
        var box: NIOLoopBoundBox<WaitState?>
    }

    /// Where an awaited send stands; `nil` in its box: not yet seen by the event loop.
    enum WaitState {
        case waiting(CheckedContinuation<Void, any Error>)
        case cancelled
        case done
    }

    enum Inbox {
        /// Nobody reads yet: hold messages in arrival order.
        case pending([SparkMessage])
        /// ``onMessage(_:)``: call straight from the event loop.
        case handler(@Sendable (SparkMessage) -> Void)
        /// ``messages``: feed the async sequence, honouring its backpressure.
        case stream(SparkMessages.Source)
        /// Ended.
        case finished
    }

    /// Made by transformers, on `eventLoop`.
    init(
        id: String,
        request: HTTPRequestHead,
        address: SparkAddress,
        eventLoop: any EventLoop,
        primus: Primus,
        namespaceHandshake: SparkNamespaceHandshake? = nil
    ) {
        self.id = id
        self.namespaceHandshake = namespaceHandshake
        self.handshake = Self.packedHandshake(of: request, budget: primus.configuration.limits.maxRetainedHeaderBytes)
        self.handshakeVersion = request.version
        self.address = address
        self.eventLoop = eventLoop
        self.primus = primus
        self.mailbox = primus.mailbox(for: eventLoop)
        self.state = NIOLoopBound(State(policy: primus.configuration.limits.whenOverBudget), eventLoop: eventLoop)
        let transforms = primus.messageTransforms
        self.transforms = transforms
        self.hasIncomingTransforms = !transforms.incoming.isEmpty
        self.hasOutgoingTransforms = !transforms.outgoing.isEmpty
        self.incomingTransformsAreSynchronous = transforms.isSynchronous(.incoming)
        self.outgoingTransformsAreSynchronous = transforms.isSynchronous(.outgoing)
        let recovery = Self.recoveryRequest(target: request.uri, primus: primus, hasOutgoingTransforms: !transforms.outgoing.isEmpty)
        self.recovers = recovery != nil
        if let recovery { state.value.recovery = recovery }
    }

    /// `request`'s method, target and the headers ``RetainedHeaders`` keeps within `budget`
    /// (all of them when they fit), packed.
    static func packedHandshake(of request: HTTPRequestHead, budget: Int) -> PackedHandshake {
        let method = request.method.rawValue
        guard let kept = RetainedHeaders.select(request.headers, budget: budget) else {
            return PackedHandshake(method: method, target: request.uri, headers: request.headers)
        }
        let headers = Array(request.headers)
        return PackedHandshake(method: method, target: request.uri, headers: kept.lazy.map { headers[$0] })
    }

    // MARK: - Writing

    /// Sends `value` to the client. Ignored once the spark is closed (as in Primus). Over the
    /// outbound budget it follows ``PrimusLimits/whenOverBudget``: the spark ends (`.end`) or the
    /// message is dropped (`.dropNewest`, and `.wait`, since a plain write cannot wait; use
    /// ``send(_:)`` to wait).
    public func write(_ value: JSONValue) {
        if hasOutgoingTransforms { return writeTransforming(value) }
        encodeAndSend(value, onLoop: false)
    }

    /// Encodes `value` with the server's parser and sends it; a value that cannot be encoded is
    /// reported to ``onError(_:)`` handlers and not sent. `onLoop`: the caller is on the loop.
    func encodeAndSend(_ value: JSONValue, onLoop: Bool) {
        let message: TransportMessage
        do {
            message = try primus.configuration.parser.encode(value, for: self)
        } catch {
            reportError(error)
            return
        }
        if onLoop { sendOnLoop(message) } else { send(message) }
    }

    /// Sends any `Encodable` value to the client, encoded by the server's parser. A value that
    /// cannot be encoded is not sent and is reported to ``onError(_:)`` handlers, as Primus does.
    public func write<T: Encodable>(_ value: T) {
        do {
            let message = try primus.configuration.parser.encode(encodable: value, for: self)
            // Transforms work on values: decode what was encoded (only when there are any).
            if hasOutgoingTransforms { return writeTransforming(try primus.configuration.parser.decode(message, for: self)) }
            send(message)
        } catch {
            reportError(error)
        }
    }

    /// Sends an already encoded message (broadcast encodes once and sends the same bytes to all).
    /// Outgoing transforms do not see it: with transforms, callers use ``write(_:)-(JSONValue)``.
    func send(_ message: TransportMessage) {
        if eventLoop.inEventLoop {
            sendOnLoop(message)
        } else {
            mailbox.enqueue(.send(self, message))
        }
    }

    /// Broadcast messages, on the loop: written without a flush each, then flushed once.
    /// Sparks with outgoing transforms write each value through them instead.
    func deliver(_ batch: BroadcastBatch) {
        guard readyState == .open else { return }
        if recovers { return deliverRecovering(batch) }
        if hasOutgoingTransforms {
            for index in batch.messages.indices {
                if let value = batch.value(at: index, for: self) { writeTransforming(value) }
            }
            return
        }
        guard let transport = state.value.transport else {
            state.value.unsent.append(contentsOf: batch.messages.lazy.map(\.message))
            return
        }
        for shared in batch.messages {
            if transport.isWritable {
                transport.send(shared: shared)
            } else {
                refuse(shared.message)
                guard readyState == .open else { return }
            }
        }
        transport.flush()
    }

    func sendOnLoop(_ message: TransportMessage) {
        guard readyState == .open else { return }
        mailbox.deliverCollected()  // broadcasts made on this loop before this write go first
        guard let transport = state.value.transport else {
            state.value.unsent.append(message)
            return
        }
        guard transport.isWritable else { return refuse(message) }
        transport.send(message)
    }

    /// A plain write found the transport over its budget: apply the policy. Kept out of line so
    /// the write path stays small.
    @inline(never)
    func refuse(_ message: TransportMessage) {
        let (decision, passed) = state.value.budget.write(.immediate, writable: false)
        if passed { overBudget() }
        switch decision {
        case .send:
            state.value.transport?.send(message)
        case .drop, .wait:  // an immediate write cannot wait
            primus.logger.trace("message dropped: over the outbound budget", metadata: ["primus.spark.id": "\(id)"])
        case .end:
            primus.logger.debug("ended: over the outbound budget", metadata: ["primus.spark.id": "\(id)"])
            endOnLoop(nil, reconnect: true)
        }
    }

    // MARK: - Waiting for room

    /// Sends `value` to the client once there is room for it, and returns when it is handed to
    /// the transport. Over the outbound budget (``PrimusLimits/maxBufferedBytes``) it follows
    /// ``PrimusLimits/whenOverBudget``: with `.wait` it waits until the client has read enough
    /// (at most ``PrimusLimits/writeStallTimeout``, after which the spark ends); with `.dropNewest`
    /// the message is dropped and the call returns; with `.end` the spark ends and the call throws.
    ///
    /// - Throws: ``PrimusError/sparkClosed`` (code `.sparkClosed`) if the spark is or becomes
    ///   closed before the message goes out, ``PrimusError/outboundBudgetExceeded(limit:)`` if
    ///   this send ended it, an encoding error, or `CancellationError` if the task is cancelled
    ///   while waiting.
    public func send(_ value: JSONValue) async throws {
        if hasOutgoingTransforms {
            guard let transformed = try await transformedForAwaitedSend(value) else { return }
            return try await sendAwaited(primus.configuration.parser.encode(transformed, for: self))
        }
        try await sendAwaited(primus.configuration.parser.encode(value, for: self))
    }

    /// Sends any `Encodable` value, encoded by the server's parser, once there is room for it;
    /// otherwise as the `JSONValue` overload.
    public func send<T: Encodable>(_ value: T) async throws {
        let message = try primus.configuration.parser.encode(encodable: value, for: self)
        if hasOutgoingTransforms { return try await send(primus.configuration.parser.decode(message, for: self)) }
        try await sendAwaited(message)
    }

    private func sendAwaited(_ message: TransportMessage) async throws {
        try Task.checkCancellation()
        let box = NIOLoopBoundBox.makeEmptyBox(valueType: WaitState.self, eventLoop: eventLoop)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                onLoop { $0.enqueueAwaited(message, continuation: continuation, box: box) }
            }
        } onCancel: {
            eventLoop.execute { self.cancelAwaited(box) }
        }
    }

    private func enqueueAwaited(
        _ message: TransportMessage,
        continuation: CheckedContinuation<Void, any Error>,
        box: NIOLoopBoundBox<WaitState?>
    ) {
        if case .cancelled = box.value { return continuation.resume(throwing: CancellationError()) }
        guard readyState == .open else { return continuation.resume(throwing: PrimusError.sparkClosed) }
        mailbox.deliverCollected()
        guard let transport = state.value.transport else {
            state.value.unsent.append(message)
            return continuation.resume()
        }
        let writable = transport.isWritable && state.value.waitingSends.isEmpty
        let (decision, passed) = state.value.budget.write(.awaited, writable: writable)
        if passed { overBudget() }
        switch decision {
        case .send:
            transport.send(message)
            continuation.resume()
        case .drop:
            primus.logger.trace("message dropped: over the outbound budget", metadata: ["primus.spark.id": "\(id)"])
            continuation.resume()
        case .end:
            primus.logger.debug("ended: over the outbound budget", metadata: ["primus.spark.id": "\(id)"])
            endOnLoop(nil, reconnect: true)
            continuation.resume(throwing: PrimusError.outboundBudgetExceeded(limit: primus.configuration.limits.maxBufferedBytes))
        case .wait:
            box.value = .waiting(continuation)
            state.value.waitingSends.append(WaitingSend(message: message, box: box))
        }
    }

    private func cancelAwaited(_ box: NIOLoopBoundBox<WaitState?>) {
        switch box.value {
        case .waiting(let continuation):
            box.value = .cancelled  // skipped (and dropped from the queue) when room comes
            continuation.resume(throwing: CancellationError())
        case nil:
            box.value = .cancelled  // not queued yet: the send sees it and throws
        case .cancelled, .done:
            break
        }
    }

    /// Room came: send the held messages in order while it lasts.
    private func sendWaiting() {
        while readyState == .open, let transport = state.value.transport, transport.isWritable,
            let waiting = state.value.waitingSends.popFirst()
        {
            guard case .waiting(let continuation) = waiting.box.value else { continue }
            waiting.box.value = .done
            transport.send(waiting.message)
            continuation.resume()
        }
    }

    // MARK: - Outbound budget

    /// Calls `handler` on the event loop each time the spark passes its outbound budget
    /// (``PrimusLimits/maxBufferedBytes``): once per crossing, not per dropped message. The
    /// client is not reading as fast as the application writes; ``bufferedAmount`` says how far
    /// behind it is. Whatever the policy, a client that stays behind for
    /// ``PrimusLimits/writeStallTimeout`` is ended.
    public func onOverBudget(_ handler: @escaping @Sendable () -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return }
            spark.state.value.overBudgetHandlers.append(handler)
        }
    }

    /// The transport went over its budget or came back under it (``SparkTransport/isWritable``).
    public func transportWritabilityChanged(_ isWritable: Bool) {
        guard readyState == .open else { return }
        bufferedAmountSnapshot.store(state.value.transport?.bufferedAmount ?? 0, ordering: .relaxed)
        if state.value.budget.writabilityChanged(isWritable) { overBudget() }
        if isWritable { sendWaiting() }
    }

    private func overBudget() {
        primus.logger.debug("over the outbound budget", metadata: ["primus.spark.id": "\(id)"])
        for handler in state.value.overBudgetHandlers { handler() }
    }

    private func sendProtocol(_ message: PrimusProtocolMessage) {
        guard let encoded = try? primus.configuration.parser.encode(message.value, for: self) else { return }
        sendOnLoop(encoded)
    }

    // MARK: - Ending

    /// Ends the connection. Unless `reconnect` is true the client is first told
    /// `primus::server::close`, so it does not reconnect; with `reconnect: true` the connection just
    /// drops and the client reconnects. `data`, when given, is written first. Idempotent.
    public func end(_ data: JSONValue? = nil, reconnect: Bool = false) {
        if eventLoop.inEventLoop {
            endOnLoop(data, reconnect: reconnect)
        } else {
            mailbox.enqueue(.run { self.endOnLoop(data, reconnect: reconnect) })
        }
    }

    func endOnLoop(_ data: JSONValue?, reconnect: Bool) {
        guard readyState == .open else { return }
        mailbox.deliverCollected()
        if let data { write(data) }
        if !reconnect { sendProtocol(.serverClose) }
        let transport = state.value.transport
        finish()
        // Without a transport yet, `attach(transport:)` sends what was queued and closes.
        // No status code, as Primus's server (`ws`'s `close()`) sends: clients see 1005.
        transport?.close(code: nil)
    }

    /// The transport is gone (peer closed, network error, protocol violation).
    public func transportClosed() {
        finish()
    }

    private func finish() {
        guard readyStateStorage.exchange(ReadyState.closed.rawValue, ordering: .acquiringAndReleasing) == ReadyState.open.rawValue
        else { return }
        state.value.transport = nil
        bufferedAmountSnapshot.store(0, ordering: .relaxed)
        let waiting = state.value.waitingSends
        state.value.waitingSends = []
        state.value.overBudgetHandlers = []
        let inbox = state.value.inbox
        state.value.inbox = .finished
        if case .stream(let source) = inbox { source.finish() }
        let handlers = state.value.endHandlers
        state.value.endHandlers = []
        let events = state.value.events
        state.value.events = nil
        state.value.errorHandlers = []
        state.value.heartbeatHandlers = []
        if case .stream(let source)? = state.value.heldConsumer {
            // Its handlers still run, but nothing more will come: do not leave the reader hanging.
            state.value.heldConsumer = nil
            source.finish()
        }
        let readyStateHandlers = state.value.readyStateHandlers
        state.value.readyStateHandlers = []
        for handler in readyStateHandlers { handler(.closed) }
        mailbox.remove(self)
        primus.sparkEnded(self)
        events?.finish()
        // After the server forgot the spark, so a failed send sees it gone.
        for held in waiting {
            guard case .waiting(let continuation) = held.box.value else { continue }
            held.box.value = .done
            continuation.resume(throwing: PrimusError.sparkClosed)
        }
        for handler in handlers { handler() }
    }

    // MARK: - Reading

    /// Calls `handler` on the connection's event loop for every message, in order, starting with
    /// any held while nobody was reading. Several handlers may be added (as Primus's `data`
    /// listeners); each gets every message from the moment it was added, in the order they were
    /// added. Use this or ``messages``, not both.
    public func onMessage(_ handler: @escaping @Sendable (SparkMessage) -> Void) {
        onLoop { $0.attach(.handler(handler)) }
    }

    /// The client's messages as an async sequence, in order, starting with any held while nobody
    /// was reading. When the consumer falls ``PrimusConfiguration/maxBufferedMessages`` behind,
    /// the server stops reading from this client until it catches up. Finishes when the spark ends.
    /// Use this or ``onMessage(_:)``, once per spark: a second reader of either kind next to it
    /// gets a sequence that is already finished.
    public var messages: SparkMessages {
        let limit = max(primus.configuration.maxBufferedMessages, 2)
        let (source, sequence) = SparkMessages.make(highWatermark: limit, delegate: SparkReadDelegate(spark: self))
        onLoop { $0.attach(.stream(source)) }
        return sequence
    }

    /// Calls `handler` when a message cannot be decoded (the message is dropped, the connection
    /// stays) or cannot be encoded.
    public func onError(_ handler: @escaping @Sendable (PrimusError) -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return }
            spark.state.value.errorHandlers.append(handler)
        }
    }

    /// Calls `handler` once when the spark ends, for whatever reason; at once if it already has.
    public func onEnd(_ handler: @escaping @Sendable () -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return handler() }
            spark.state.value.endHandlers.append(handler)
        }
    }

    func onLoop(_ body: @escaping @Sendable (Spark) -> Void) {
        if eventLoop.inEventLoop { body(self) } else { mailbox.enqueue(.run { body(self) }) }
    }

    func attach(_ consumer: Inbox) {
        if state.value.holding, readyState == .open {
            // Delivery starts when the connection handlers finish.
            if let held = state.value.heldConsumer {
                if let both = Self.joined(held, consumer) { state.value.heldConsumer = both } else { Self.refuse(consumer) }
            } else {
                state.value.heldConsumer = consumer
            }
            return
        }
        if let both = Self.joined(state.value.inbox, consumer) {
            // Another `onMessage` handler: both are called, in the order they were added.
            state.value.inbox = both
            return
        }
        guard case .pending(let held) = state.value.inbox else {
            // Finished, or an async sequence next to another reader: the newcomer gets nothing.
            Self.refuse(consumer)
            return
        }
        state.value.inbox = consumer
        for message in held { deliver(message) }
        if case .stream(let source) = consumer, readyState != .open { source.finish() }
        if case .handler = consumer { resumeReadingIfPaused() }
    }

    /// Two `onMessage` handlers as one (the first called first), or `nil` when either reader is
    /// not a handler. Composed once when added, so a message still costs one call per handler.
    private static func joined(_ existing: Inbox, _ added: Inbox) -> Inbox? {
        guard case .handler(let first) = existing, case .handler(let second) = added else { return nil }
        return .handler { message in
            first(message)
            second(message)
        }
    }

    /// A reader that cannot be attached: an async sequence finishes at once.
    private static func refuse(_ consumer: Inbox) {
        if case .stream(let source) = consumer { source.finish() }
    }

    /// A message from the transport, on the event loop.
    ///
    /// Protocol messages (`primus::pong`, `primus::id`) are recognised without decoding other
    /// messages; the rest are checked by the parser and handed over undecoded (the application
    /// decodes them, once, when it reads them), unless incoming transforms need the value.
    public func receive(_ message: TransportMessage) {
        let parser = primus.configuration.parser
        if let text = parser.protocolText(in: message, for: self),
            let control = PrimusProtocolMessage.parseOnServer(.string(text))
        {
            switch control {
            case .pong:
                state.value.heartbeat.receivedPong()
                if !state.value.heartbeatHandlers.isEmpty { heartbeatReceived() }
                return
            case .id:
                sendProtocol(.id(id))
                return
            default:
                break
            }
        }
        if state.value.events != nil { return receiveCheckingForEvents(message) }
        var value: JSONValue?
        do {
            value = try parser.validate(message, for: self)
            if hasIncomingTransforms {
                let decoded: JSONValue
                if let value { decoded = value } else { decoded = try parser.decode(message, for: self) }
                return receiveTransforming(decoded, raw: message)
            }
        } catch {
            reportError(error)
            return
        }
        deliver(SparkMessage(raw: message, value: value, parser: parser, context: self))
    }

    /// ``receive(_:)`` for a spark that uses events: the message is decoded once, handled when
    /// it is an emitter packet, else delivered (or transformed) with its value.
    private func receiveCheckingForEvents(_ message: TransportMessage) {
        let parser = primus.configuration.parser
        let value: JSONValue
        do {
            value = try parser.decode(message, for: self)
        } catch {
            reportError(error)
            return
        }
        if handleEventPacket(value) { return }
        if hasIncomingTransforms { return receiveTransforming(value, raw: message) }
        deliver(SparkMessage(raw: message, value: value, parser: parser, context: self))
    }

    func deliver(_ message: SparkMessage) {
        switch state.value.inbox {
        case .pending(var held):
            state.value.inbox = .finished  // release the array so the append does not copy it
            held.append(message)
            let full = held.count >= primus.configuration.maxBufferedMessages
            state.value.inbox = .pending(held)
            if full { pauseReading() }
        case .handler(let handler):
            handler(message)
        case .stream(let source):
            if case .stopProducing = source.yield(message) { pauseReading() }
        case .finished:
            break
        }
    }

    func pauseReading() {
        guard !state.value.readingPaused else { return }
        state.value.readingPaused = true
        state.value.transport?.pauseReading()
    }

    func resumeReadingIfPaused() {
        guard state.value.readingPaused else { return }
        state.value.readingPaused = false
        state.value.transport?.resumeReading()
    }

    func reportError(_ error: PrimusError) {
        primus.logger.debug("spark error", metadata: ["primus.spark.id": "\(id)", "primus.error": "\(error)"])
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.reportError(error) }
            return
        }
        for handler in state.value.errorHandlers { handler(error) }
    }

    // MARK: - Transport and heartbeat

    /// Binds the transport; on the event loop, before any message arrives. Messages written
    /// since the spark was announced go out first, in order; a spark ended meanwhile closes.
    public func attach(transport: any SparkTransport) {
        let unsent = state.value.unsent
        state.value.unsent = []
        for message in unsent { transport.send(message) }
        guard readyState == .open else {
            transport.close(code: nil)
            return
        }
        state.value.transport = transport
    }

    /// A transport-level liveness signal (a WebSocket ping frame from the client). It counts as a
    /// pong only while the transport is writable: a client that pings but does not read is not
    /// alive in any useful sense, and only a `primus::pong::` will keep it.
    public func transportPing() {
        let peerIsReading = state.value.transport?.isWritable ?? false
        state.value.heartbeat.receivedTransportPing(peerIsReading: peerIsReading)
        // Counted as a pong, it is a heartbeat, as Primus's `incoming::pong` is.
        if peerIsReading, !state.value.heartbeatHandlers.isEmpty { heartbeatReceived() }
    }

    /// The server's periodic heartbeat, on the event loop.
    func heartbeatTick(now: Int64) {
        guard readyState == .open else { return }
        switch state.value.heartbeat.tick(now: now) {
        case .sendPing(let timestamp):
            sendProtocol(.ping(String(timestamp)))
        case .timeout:
            primus.logger.debug("heartbeat timeout", metadata: ["primus.spark.id": "\(id)"])
            endOnLoop(nil, reconnect: true)
        }
    }
}

/// Wakes the spark's reader when the async consumer wants more.
struct SparkReadDelegate: NIOAsyncSequenceProducerDelegate {
    let spark: Spark

    func produceMore() {
        spark.eventLoop.execute { spark.resumeReadingIfPaused() }
    }

    func didTerminate() {}
}
