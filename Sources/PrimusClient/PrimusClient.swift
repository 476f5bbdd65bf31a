public import NIOCore
public import PrimusCore
import Synchronization

/// A Primus client: one logical connection to a Primus server that survives outages. Writes made
/// while disconnected are buffered and sent, in order, as soon as the connection is back; lost
/// connections are reconnected with Primus's randomized exponential backoff; a server that stops
/// pinging is detected and reconnected.
///
/// ```swift
/// let client = try PrimusClient("ws://localhost:8080/?token=abc")
/// client.write(["hello": "world"])               // buffered until open
/// for await event in client.events {
///     switch event {
///     case .open: print("connected")
///     case .data(let message): print(message.value)
///     case .end: return
///     default: break
///     }
/// }
/// ```
///
/// The client is `Sendable`: call it from any task or thread. Its state lives on one NIO event
/// loop, and state changes happen there in call order. Dropping the last reference closes the
/// connection and finishes ``events``.
public final class PrimusClient: PrimusParserContext {
    /// Primus's ready states, with Primus's numbers.
    public enum ReadyState: UInt8, Sendable, Hashable {
        /// A connection is being made.
        case opening = 1
        /// Not connected (never opened, between reconnect attempts, or ended).
        case closed = 2
        /// Connected.
        case open = 3
    }

    /// The URL the client connects to, as given.
    public let url: String
    /// The configuration the client was made with.
    public let configuration: PrimusClientConfiguration
    /// The event loop that owns the client's state and connections.
    public let eventLoop: any EventLoop

    private let hub: ClientEventHub
    /// Named events and acknowledgements (`PrimusClient+Events.swift`).
    let emitter: ClientEmitter
    /// Missed-message recovery (`ClientRecovery.swift`).
    let recovery: ClientRecovery
    private let driver: NIOLoopBoundBox<ClientDriver?>
    private let nextWaiter = Atomic<UInt64>(0)

    /// Creates a client for `url` (`ws:`, `wss:`, `http:` or `https:`; the query string reaches
    /// the server's `spark.query`). Unless ``PrimusClientConfiguration/manual``, it connects at once.
    ///
    /// - Throws: ``PrimusError`` with code `invalidConfiguration` when the URL is not usable.
    public init(_ url: String, configuration: PrimusClientConfiguration = PrimusClientConfiguration()) throws(PrimusError) {
        let endpoint = try ClientEndpoint(url: url, pathname: configuration.pathname, headers: configuration.headers)
        let eventLoop = configuration.eventLoopGroup.next()
        let hub = ClientEventHub(limit: configuration.eventBufferSize)
        let emitter = ClientEmitter()
        let recovery = ClientRecovery(isEnabled: configuration.recover)
        self.emitter = emitter
        self.recovery = recovery
        self.url = url
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.hub = hub
        self.driver = NIOLoopBoundBox.makeBoxSendingValue(
            ClientDriver(eventLoop: eventLoop, configuration: configuration, endpoint: endpoint, hub: hub, emitter: emitter, recovery: recovery),
            eventLoop: eventLoop
        )
        // Parsers work for this client (Primus runs them with `this` set to it); weakly, as
        // the client owns the driver.
        onLoop { [weak self] driver in driver.parserContext = self }
        if !configuration.manual { open() }
    }

    deinit {
        hub.finish()
        let driver = self.driver
        eventLoop.execute {
            driver.value?.shutdown()
            driver.value = nil
        }
    }

    /// Reads a server's `<pathname>/spec` and returns `configuration` with its transformer,
    /// parser, pathname and a `pingTimeout` of 1.5 × its `pingInterval`.
    ///
    /// ```swift
    /// let configuration = try await PrimusClient.discover("http://localhost:8080")
    /// let client = try PrimusClient("http://localhost:8080", configuration: configuration)
    /// ```
    public static func discover(
        _ url: String,
        configuration: PrimusClientConfiguration = PrimusClientConfiguration()
    ) async throws -> PrimusClientConfiguration {
        let endpoint = try ClientEndpoint(url: url, pathname: configuration.pathname, headers: configuration.headers)
        let spec = try await SpecFetcher.fetch(
            target: endpoint.target(cacheBuster: "", configuration: configuration),
            eventLoop: configuration.eventLoopGroup.next(),
            timeout: configuration.timeout ?? .seconds(30)
        )
        var configuration = configuration
        try configuration.apply(spec)
        return configuration
    }

    // MARK: - State

    /// The current ready state, readable from anywhere without waiting.
    public var readyState: ReadyState { hub.readyState }

    /// The client's events, from now on, in order. The first subscriber also receives the events
    /// announced before it subscribed, so nothing between `init` and the first `for await` is lost.
    /// Each access makes an independent subscription; it finishes when the client is deallocated.
    /// An ended client can be opened again, so stop iterating on ``PrimusClientEvent/end`` if
    /// that is what you wait for.
    public var events: AsyncStream<PrimusClientEvent> { hub.subscribe() }

    // MARK: - Lifecycle

    /// Connects, when the client is closed and not reconnecting (otherwise does nothing, so there
    /// is never a second connection). Needed only with ``PrimusClientConfiguration/manual`` or after `end`.
    public func open() {
        onLoop { $0.open() }
    }

    /// Closes the connection for good: no reconnect. Announces `close` (if it was connecting or
    /// open) and `end`; repeated calls announce `end` once. `data`, when given, is written first.
    public func end(_ data: JSONValue? = nil) {
        let message: TransportMessage?
        if let data {
            do {
                message = try configuration.parser.encode(data, for: self)
            } catch {
                onLoop { $0.reportError(error) }
                message = nil
            }
        } else {
            message = nil
        }
        onLoop { $0.end(message) }
    }

    /// Tells the client the device went offline or came back (Primus's browser network events):
    /// offline ends the connection; online reconnects when the strategy includes `.online` and the
    /// client had been running before it went offline.
    public func networkChanged(online: Bool) {
        onLoop { $0.networkChanged(online: online) }
    }

    // MARK: - Writing

    /// Sends `value` to the server, or buffers it until the connection opens (see
    /// ``PrimusClientConfiguration/queueSize``). Writes are sent in call order.
    public func write(_ value: JSONValue) {
        do {
            let message = try configuration.parser.encode(value, for: self)
            onLoop { $0.write(message) }
        } catch {
            onLoop { $0.reportError(error) }
        }
    }

    /// Sends any `Encodable` value, encoded by the client's parser, or buffers it.
    ///
    /// - Throws: ``PrimusError`` with code `encodingFailed` when the value cannot be encoded;
    ///   nothing is sent.
    ///
    /// Literals (`write("hi")`, `write(0)`) take the non-throwing `JSONValue` overload instead.
    @_disfavoredOverload
    public func write<T: Encodable>(_ value: T) throws(PrimusError) {
        let message = try configuration.parser.encode(encodable: value, for: self)
        onLoop { $0.write(message) }
    }

    /// Asks the server for this connection's spark id (`primus::id::`). Waits for the connection
    /// if it is not open yet; a connection lost meanwhile is asked again after the reconnect.
    ///
    /// - Throws: ``PrimusError`` with code `sparkClosed` when the client ends first;
    ///   `CancellationError` when the task is cancelled.
    public func id() async throws -> String {
        let waiter = nextWaiter.add(1, ordering: .relaxed).newValue
        let driver = self.driver
        let eventLoop = self.eventLoop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
                eventLoop.execute {
                    guard let client = driver.value else {
                        continuation.resume(throwing: PrimusError.sparkClosed)
                        return
                    }
                    client.requestID(waiter: waiter, continuation: continuation)
                }
            }
        } onCancel: {
            eventLoop.execute { driver.value?.cancelIDRequest(waiter: waiter) }
        }
    }

    // MARK: - Event-style sugar

    /// Calls `handler` for every event from now on, on the client's event loop. Sugar over
    /// ``events``; capture the client weakly in `handler`, or it keeps itself alive.
    public func on(_ handler: @escaping @Sendable (PrimusClientEvent) -> Void) {
        hub.addHandler(handler)
    }

    /// Calls `handler` on every `open`.
    public func onOpen(_ handler: @escaping @Sendable () -> Void) {
        on { if case .open = $0 { handler() } }
    }

    /// Calls `handler` for every message from the server.
    public func onData(_ handler: @escaping @Sendable (PrimusClientMessage) -> Void) {
        on { if case .data(let message) = $0 { handler(message) } }
    }

    /// Calls `handler` for every `error`.
    public func onError(_ handler: @escaping @Sendable (PrimusError) -> Void) {
        on { if case .error(let error) = $0 { handler(error) } }
    }

    /// Calls `handler` on every `end`.
    public func onEnd(_ handler: @escaping @Sendable () -> Void) {
        on { if case .end = $0 { handler() } }
    }

    /// Hops to the event loop, always asynchronously: a handler that calls the client while an
    /// event is being announced acts after the transition in progress, never in the middle of it.
    private func onLoop(_ body: @escaping @Sendable (ClientDriver) -> Void) {
        let driver = self.driver
        eventLoop.execute {
            if let client = driver.value { body(client) }
        }
    }
}
