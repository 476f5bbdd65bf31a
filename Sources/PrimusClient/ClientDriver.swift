import Logging
import NIOCore
import PrimusCore
import struct Foundation.Date

/// Performs what ``ClientStateMachine`` decides: owns the transport connection, the timers and the
/// `id()` waiters. Confined to the client's event loop; it holds no reference to the public
/// ``PrimusClient``, so dropping the client frees it.
final class ClientDriver {
    private let eventLoop: any EventLoop
    private let configuration: PrimusClientConfiguration
    private let endpoint: ClientEndpoint
    private let hub: ClientEventHub
    private let emitter: ClientEmitter
    private let recovery: ClientRecovery
    /// The server's cookies, kept across reconnects (a load balancer's sticky session lives in one).
    private let cookies: ClientCookies
    private var machine: ClientStateMachine
    private var cacheBuster = CacheBuster()
    private var connection: (any PrimusTransportConnection)?
    private var timers: [ClientStateMachine.Timer: (token: UInt64, task: Scheduled<Void>)] = [:]
    private var nextTimerToken: UInt64 = 0
    private var idWaiters: [UInt64: CheckedContinuation<String, any Error>] = [:]
    private var isShutDown = false
    /// The client the parser works for.
    weak var parserContext: (any PrimusParserContext)?

    init(eventLoop: any EventLoop, configuration: PrimusClientConfiguration, endpoint: ClientEndpoint, hub: ClientEventHub, emitter: ClientEmitter, recovery: ClientRecovery) {
        self.emitter = emitter
        self.recovery = recovery
        self.cookies = ClientCookies(eventLoop: eventLoop)
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.endpoint = endpoint
        self.hub = hub
        self.machine = ClientStateMachine(settings: .init(configuration))
    }

    private func now() -> Duration {
        .nanoseconds(Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds))
    }

    // MARK: - From the application

    func open() {
        guard !isShutDown else { return }
        perform(machine.open())
    }

    func write(_ message: TransportMessage) {
        guard !isShutDown else { return }
        switch machine.write(message) {
        case .send(let message): connection?.send(message)
        case .buffered: break
        case .dropped: configuration.logger.trace("write dropped: not open and queueSize is 0")
        }
    }

    func end(_ data: TransportMessage?) {
        guard !isShutDown else { return }
        perform(machine.end(data: data))
    }

    func networkChanged(online: Bool) {
        guard !isShutDown else { return }
        perform(machine.networkChanged(online: online, now: now(), random: configuration.random()))
    }

    func reportError(_ error: PrimusError) {
        guard !isShutDown else { return }
        hub.emit(.error(error))
    }

    func requestID(waiter: UInt64, continuation: CheckedContinuation<String, any Error>) {
        guard !isShutDown, !machine.hasEnded else {
            continuation.resume(throwing: PrimusError(code: .sparkClosed, message: "The client has ended"))
            return
        }
        idWaiters[waiter] = continuation
        writeIDRequest()
    }

    func cancelIDRequest(waiter: UInt64) {
        idWaiters.removeValue(forKey: waiter)?.resume(throwing: CancellationError())
    }

    private func writeIDRequest() {
        guard let request = try? configuration.parser.encode(PrimusProtocolMessage.id("").value, for: parserContext) else { return }
        write(request)
    }

    /// The public client is gone: close everything, announce nothing.
    func shutdown() {
        isShutDown = true
        for (_, timer) in timers { timer.task.cancel() }
        timers = [:]
        connection?.close()
        connection = nil
        failIDWaiters(PrimusError(code: .sparkClosed, message: "The client was deallocated"))
    }

    // MARK: - From the transport

    fileprivate func transportOpened(generation: UInt64) {
        guard !isShutDown else { return }
        perform(machine.transportOpened(generation: generation, now: now()))
    }

    fileprivate func transportReceived(_ message: TransportMessage, generation: UInt64) {
        guard !isShutDown else { return }
        perform(machine.received(message, generation: generation, now: now(), context: parserContext))
    }

    fileprivate func transportClosed(generation: UInt64, error: PrimusError?) {
        guard !isShutDown else { return }
        if let error {
            configuration.logger.debug("transport closed", metadata: ["primus.connection": "\(generation)", "primus.error": "\(error)"])
        }
        perform(machine.transportClosed(generation: generation, error: error, now: now(), random: configuration.random()))
    }

    fileprivate func transportRefused(generation: UInt64, error: PrimusError) {
        guard !isShutDown else { return }
        configuration.logger.debug("connection refused", metadata: ["primus.connection": "\(generation)", "primus.error": "\(error)"])
        perform(machine.transportRefused(generation: generation, error: error))
    }

    /// A server's emitter packet: handled by the emitter (an acknowledgement the handler sends
    /// is written like any message). `false`: ordinary data.
    private func handleEventPacket(_ value: JSONValue) -> Bool {
        let eventLoop = self.eventLoop
        let parser = configuration.parser
        let box = NIOLoopBound(self, eventLoop: eventLoop)
        return emitter.handle(value) { id, args in
            eventLoop.execute {
                guard let message = try? parser.encode(PrimusEmitterPacket.ack(id: id, args: args).value, for: box.value.parserContext) else { return }
                box.value.write(message)
            }
        }
    }

    // MARK: - Performing actions

    private func perform(_ actions: [ClientStateMachine.Action]) {
        hub.readyState = machine.readyState
        for action in actions {
            switch action {
            case .emit(var event):
                if case .data(let message) = event {
                    guard let delivered = recovery.receive(message) else { continue }  // a baseline or a duplicate
                    event = .data(delivered)
                }
                configuration.logger.trace("event", metadata: ["primus.event": "\(event.name)"])
                if case .data(let message) = event, emitter.isActive, handleEventPacket(message.value) { continue }
                hub.emit(event)
                switch event {
                case .end:
                    emitter.failPending()
                    failIDWaiters(PrimusError(code: .sparkClosed, message: "The client ended before the server told its id"))
                case .close where !idWaiters.isEmpty:
                    writeIDRequest()  // asked on the lost connection: ask again on the next one
                default:
                    break
                }
            case .connect(let generation):
                connection?.close()
                startConnection(generation: generation)
            case .closeTransport:
                connection?.close()
                connection = nil
            case .send(let message):
                connection?.send(message)
            case .arm(let timer, let delay):
                arm(timer, after: delay)
            case .cancel(let timer):
                timers.removeValue(forKey: timer)?.task.cancel()
            case .resolveID(let id):
                let waiters = idWaiters
                idWaiters = [:]
                for waiter in waiters.values { waiter.resume(returning: id) }
            }
        }
    }

    private func startConnection(generation: UInt64) {
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        var target = endpoint.target(cacheBuster: cacheBuster.next(milliseconds: milliseconds), configuration: configuration)
        recovery.addQuery(to: &target)
        target.cookies = cookies
        configuration.logger.debug(
            "connecting",
            metadata: ["primus.connection": "\(generation)", "primus.url": "\(target.hostHeader)\(target.requestURI)"]
        )
        let delegate = ConnectionDelegate(driver: self, generation: generation)
        connection = configuration.transport.connect(to: target, on: eventLoop, delegate: delegate)
    }

    private func arm(_ timer: ClientStateMachine.Timer, after delay: Duration) {
        timers.removeValue(forKey: timer)?.task.cancel()
        nextTimerToken &+= 1
        let token = nextTimerToken
        let task = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { [weak self] () -> Void in
            self?.fire(timer, token: token)
        }
        timers[timer] = (token, task)
    }

    private func fire(_ timer: ClientStateMachine.Timer, token: UInt64) {
        // A timer cancelled while already due may still run: only the armed one counts.
        guard !isShutDown, timers[timer]?.token == token else { return }
        timers[timer] = nil
        perform(machine.timerFired(timer, now: now(), random: configuration.random()))
    }

    private func failIDWaiters(_ error: PrimusError) {
        let waiters = idWaiters
        idWaiters = [:]
        for waiter in waiters.values { waiter.resume(throwing: error) }
    }
}

@available(*, unavailable)
extension ClientDriver: Sendable {}

/// Routes one connection's callbacks to the driver, tagged with the connection's number, without
/// keeping the driver alive.
private final class ConnectionDelegate: PrimusTransportDelegate {
    private weak var driver: ClientDriver?
    private let generation: UInt64

    init(driver: ClientDriver, generation: UInt64) {
        self.driver = driver
        self.generation = generation
    }

    func transportDidOpen() {
        driver?.transportOpened(generation: generation)
    }

    func transportDidReceive(_ message: TransportMessage) {
        driver?.transportReceived(message, generation: generation)
    }

    func transportDidClose(error: PrimusError?) {
        driver?.transportClosed(generation: generation, error: error)
    }

    func transportWasRefused(_ error: PrimusError) {
        driver?.transportRefused(generation: generation, error: error)
    }
}
