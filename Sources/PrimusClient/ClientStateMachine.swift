import NIOCore
import PrimusCore

/// The Primus client lifecycle (reference section 2.5) as a state machine without a clock, a
/// socket or a random source: each input returns the actions to perform, in order.
///
/// It owns the write buffer, the reconnect schedule (``ReconnectBackoff``) and the heartbeat
/// (``ClientHeartbeat``). Connections are numbered; an input about a connection that is no longer
/// the current one is ignored, so a late callback from a torn-down transport can never reopen
/// or close the client.
struct ClientStateMachine {
    /// The timers the driver keeps, one of each at most.
    enum Timer: Hashable, Sendable, CaseIterable {
        /// The first connection's `timeout`.
        case connect
        /// The delay before a reconnect attempt.
        case reconnectDelay
        /// A reconnect attempt's `reconnect timeout`.
        case attemptTimeout
        /// The heartbeat check.
        case heartbeat
    }

    /// What the driver must do, in order.
    enum Action: Equatable {
        /// Announce an event.
        case emit(PrimusClientEvent)
        /// Tear down any current transport, then open connection number `generation`.
        case connect(generation: UInt64)
        /// Tear down the current transport.
        case closeTransport
        /// Send a message on the current transport.
        case send(TransportMessage)
        /// (Re)arm a timer.
        case arm(Timer, after: Duration)
        /// Disarm a timer.
        case cancel(Timer)
        /// The server answered `primus::id::`.
        case resolveID(String)
    }

    /// What a write did.
    enum WriteResult: Equatable {
        /// Send it now.
        case send(TransportMessage)
        /// Held until the connection opens.
        case buffered
        /// Dropped (`queueSize` is 0).
        case dropped
    }

    struct Settings {
        var strategy: ReconnectStrategy
        var queueSize: Int
        var connectTimeout: Duration?
        var pingTimeout: Duration?
        var backoff: ReconnectBackoff.Configuration
        var parser: any PrimusParser

        init(_ configuration: PrimusClientConfiguration) {
            strategy = configuration.strategy
            queueSize = max(configuration.queueSize, 0)
            connectTimeout = configuration.timeout
            pingTimeout = configuration.pingTimeout
            backoff = configuration.reconnect
            parser = configuration.parser
        }
    }

    private enum State {
        /// Never opened, or ended: `open()` may start.
        case idle(ended: Bool)
        /// A connection is being made; `initial` when it is the first (connect timeout armed)
        /// rather than a reconnect attempt.
        case connecting(generation: UInt64, initial: Bool)
        /// Connected.
        case open(generation: UInt64)
        /// Between reconnect attempts.
        case waiting
    }

    let settings: Settings
    private var state: State = .idle(ended: false)
    private var generation: UInt64 = 0
    private var backoff: ReconnectBackoff
    private var heartbeat: ClientHeartbeat?
    private var buffer = CircularBuffer<TransportMessage>()
    private var online = true
    /// `primus::server::close` arrived: the coming close ends the client.
    private var serverClosing = false

    init(settings: Settings) {
        self.settings = settings
        self.backoff = ReconnectBackoff(configuration: settings.backoff)
    }

    /// Primus's ready state.
    var readyState: PrimusClient.ReadyState {
        switch state {
        case .connecting: return .opening
        case .open: return .open
        case .idle, .waiting: return .closed
        }
    }

    /// Whether `end()` was the last word (or every reconnect failed).
    var hasEnded: Bool {
        if case .idle(ended: true) = state { return true }
        return false
    }

    /// Whether a reconnect is in progress.
    var isReconnecting: Bool { backoff.isReconnecting }

    /// The number of the connection messages may flow on, if open.
    var openGeneration: UInt64? {
        if case .open(let generation) = state { return generation }
        return nil
    }

    /// How many writes are held.
    var bufferedCount: Int { buffer.count }

    // MARK: - Inputs from the application

    /// `open()`: only from fully closed, so there is never a second connection (Primus issue #399).
    mutating func open() -> [Action] {
        guard case .idle = state else { return [] }
        generation &+= 1
        state = .connecting(generation: generation, initial: true)
        serverClosing = false
        var actions: [Action] = []
        if let timeout = settings.connectTimeout { actions.append(.arm(.connect, after: timeout)) }
        actions.append(.emit(.readyStateChange(.opening)))
        actions.append(.connect(generation: generation))
        return actions
    }

    /// `write()`: send now when open, else buffer (bounded, oldest dropped first).
    mutating func write(_ message: TransportMessage) -> WriteResult {
        if case .open = state { return .send(message) }
        guard settings.queueSize > 0 else { return .dropped }
        if buffer.count >= settings.queueSize { buffer.removeFirst() }
        buffer.append(message)
        return .buffered
    }

    /// `end()`: close without reconnecting. Repeated calls announce `end` once.
    mutating func end(data: TransportMessage? = nil) -> [Action] {
        switch state {
        case .idle:
            return []
        case .waiting:
            backoff.reset()
            state = .idle(ended: true)
            return [.cancel(.reconnectDelay), .cancel(.attemptTimeout), .emit(.end)]
        case .connecting, .open:
            var actions: [Action] = []
            if let data, case .open = state { actions.append(.send(data)) }
            actions.append(.closeTransport)
            actions += Timer.allCases.map { .cancel($0) }
            backoff.reset()
            heartbeat = nil
            state = .idle(ended: true)
            actions += [.emit(.readyStateChange(.closed)), .emit(.close), .emit(.end)]
            return actions
        }
    }

    /// The network went away or came back (Primus's browser `offline`/`online` events).
    mutating func networkChanged(online isOnline: Bool, now: Duration, random: Double) -> [Action] {
        if isOnline {
            guard !online else { return [] }
            online = true
            var actions: [Action] = [.emit(.online)]
            // Only a client that had been running comes back (not a manual one never opened: #708).
            if settings.strategy.contains(.online), case .idle(ended: true) = state, wasOfflineEnded {
                wasOfflineEnded = false
                actions += reconnect(now: now, random: random)
            }
            return actions
        }
        guard online else { return [] }
        online = false
        let running: Bool
        switch state {
        case .idle: running = false
        case .connecting, .open, .waiting: running = true
        }
        var actions: [Action] = [.emit(.offline)]
        actions += end()
        backoff.reset()
        wasOfflineEnded = running
        return actions
    }

    private var wasOfflineEnded = false

    // MARK: - Inputs from the transport

    /// Connection `generation` opened.
    mutating func transportOpened(generation: UInt64, now: Duration) -> [Action] {
        guard case .connecting(let current, let initial) = state, current == generation else { return [] }
        var actions: [Action] = [.cancel(initial ? .connect : .attemptTimeout)]
        if case .reconnected(let attempt) = backoff.attemptSucceeded(now: now) {
            actions.append(.emit(.reconnected(attempt)))
        }
        if !online {
            online = true
            actions.append(.emit(.online))
        }
        state = .open(generation: generation)
        actions.append(.emit(.readyStateChange(.open)))
        if let timeout = settings.pingTimeout {
            var heartbeat = ClientHeartbeat(timeout: timeout)
            actions.append(.arm(.heartbeat, after: heartbeat.start(now: now)))
            self.heartbeat = heartbeat
        }
        // Flushed in order before `open` is announced, as Primus does.
        while let message = buffer.popFirst() { actions.append(.send(message)) }
        actions.append(.emit(.open))
        return actions
    }

    /// A message arrived on connection `generation`.
    /// `context`: the client the parser works for.
    mutating func received(_ raw: TransportMessage, generation: UInt64, now: Duration, context: (any PrimusParserContext)? = nil) -> [Action] {
        guard case .open(let current) = state, current == generation else { return [] }
        let value: JSONValue
        do {
            value = try settings.parser.decode(raw, for: context)
        } catch {
            return [.emit(.error(error))]
        }
        switch PrimusProtocolMessage.parseOnClient(value) {
        case .message(.ping(let timestamp)):
            online = true
            heartbeat?.receivedPing(now: now)
            guard let pong = try? settings.parser.encode(PrimusProtocolMessage.pong(timestamp).value, for: context) else { return [] }
            return [.send(pong)]
        case .message(.serverClose):
            serverClosing = true
            return []
        case .message(.id(let id)):
            return [.resolveID(id)]
        case .message(.pong), .ignored:
            return []
        case nil:
            return [.emit(.data(PrimusClientMessage(value: value, raw: raw, parser: settings.parser, context: context)))]
        }
    }

    /// Connection `generation` is gone; `error` is `nil` for an orderly close.
    mutating func transportClosed(generation: UInt64, error: PrimusError?, now: Duration, random: Double) -> [Action] {
        switch state {
        case .connecting(let current, let initial) where current == generation:
            if initial {
                state = .idle(ended: false)
                var actions: [Action] = [.cancel(.connect), .emit(.readyStateChange(.closed))]
                if let error { actions.append(.emit(.error(error))) }
                return actions + initialConnectionFailed(now: now, random: random)
            }
            state = .waiting
            return [.cancel(.attemptTimeout), .emit(.readyStateChange(.closed))] + nextAttempt(backoff.attemptFailed(now: now, random: random))
        case .open(let current) where current == generation:
            if serverClosing {
                // `primus::server::close`: the server does not want us back.
                serverClosing = false
                return end()
            }
            var actions: [Action] = []
            if let error { actions.append(.emit(.error(error))) }
            return actions + connectionLost(now: now, random: random)
        default:
            return []
        }
    }

    /// Connection `generation` was refused by the server (`401`/`403`): announce `error`, then
    /// end without reconnecting, whether it was the first connection, a reconnect attempt or an
    /// open session whose later request was refused. Like Primus's client built with
    /// `authorization: true`, which never retries a connection its server declined.
    mutating func transportRefused(generation: UInt64, error: PrimusError) -> [Action] {
        // `close` is announced when an open connection goes, and after a failed first connect (as
        // `end()` does then); a reconnect attempt's connection was never announced open.
        let announceClose: Bool
        switch state {
        case .connecting(let current, let initial) where current == generation:
            announceClose = initial
        case .open(let current) where current == generation:
            announceClose = true
        default:
            return []
        }
        backoff.reset()
        heartbeat = nil
        serverClosing = false
        state = .idle(ended: true)
        var actions: [Action] = Timer.allCases.map { .cancel($0) }
        actions += [.closeTransport, .emit(.readyStateChange(.closed)), .emit(.error(error))]
        if announceClose { actions.append(.emit(.close)) }
        actions.append(.emit(.end))
        return actions
    }

    // MARK: - Timers

    /// A timer fired.
    mutating func timerFired(_ timer: Timer, now: Duration, random: Double) -> [Action] {
        switch timer {
        case .connect:
            guard case .connecting(_, initial: true) = state else { return [] }
            state = .idle(ended: false)
            return [.emit(.timeout), .closeTransport, .emit(.readyStateChange(.closed))]
                + initialConnectionFailed(now: now, random: random)
        case .reconnectDelay:
            guard case .waiting = state, case .connect(let attempt) = backoff.delayElapsed(now: now) else { return [] }
            generation &+= 1
            state = .connecting(generation: generation, initial: false)
            serverClosing = false
            return [
                .emit(.reconnect(attempt)),
                .arm(.attemptTimeout, after: settings.backoff.attemptTimeout),
                .emit(.readyStateChange(.opening)),
                .connect(generation: generation),
            ]
        case .attemptTimeout:
            guard case .connecting(_, initial: false) = state, let attempt = backoff.currentAttempt else { return [] }
            state = .waiting
            return [.closeTransport, .emit(.reconnectTimeout(attempt)), .emit(.readyStateChange(.closed))]
                + nextAttempt(backoff.attemptTimedOut(now: now, random: random))
        case .heartbeat:
            guard case .open = state, var heartbeat else { return [] }
            let action = heartbeat.check(now: now)
            self.heartbeat = heartbeat
            switch action {
            case .none:
                return []
            case .checkAgain(let after):
                return [.arm(.heartbeat, after: after)]
            case .timeout:
                guard online else { return [] }
                online = false
                return [.emit(.offline), .closeTransport] + connectionLost(now: now, random: random)
            }
        }
    }

    // MARK: - Shared transitions

    /// An open connection is gone (not by `primus::server::close`).
    private mutating func connectionLost(now: Duration, random: Double) -> [Action] {
        heartbeat = nil
        state = .idle(ended: false)
        var actions: [Action] = [.cancel(.heartbeat), .emit(.readyStateChange(.closed)), .emit(.close)]
        if settings.strategy.contains(.disconnect) {
            actions += reconnect(now: now, random: random)
        } else {
            state = .idle(ended: true)
            actions.append(.emit(.end))
        }
        return actions
    }

    /// The first connection failed or timed out: reconnect (strategy `timeout`) or end.
    private mutating func initialConnectionFailed(now: Duration, random: Double) -> [Action] {
        if settings.strategy.contains(.timeout) {
            return reconnect(now: now, random: random)
        }
        state = .idle(ended: true)
        return [.emit(.close), .emit(.end)]
    }

    private mutating func reconnect(now: Duration, random: Double) -> [Action] {
        state = .waiting
        return nextAttempt(backoff.reconnect(now: now, random: random))
    }

    private mutating func nextAttempt(_ action: ReconnectBackoff.Action) -> [Action] {
        switch action {
        case .schedule(let attempt):
            state = .waiting
            return [.emit(.reconnectScheduled(attempt)), .arm(.reconnectDelay, after: attempt.delay)]
        case .giveUp(let attempt):
            state = .idle(ended: true)
            return [.emit(.end), .emit(.reconnectFailed(attempt))]
        case .none, .connect, .reconnected:
            return []
        }
    }
}
