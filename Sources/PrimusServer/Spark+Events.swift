import NIOCore
import PrimusCore

extension Spark {
    /// Calls `handler` on the event loop when ``readyState`` changes (Primus's
    /// `readyStateChange`): a spark starts ``ReadyState/open`` and changes once, to
    /// ``ReadyState/closed``, just before its ``onEnd(_:)`` handlers and the server's
    /// ``Primus/onDisconnection(_:)`` handlers run. Nothing is called for a spark already closed.
    public func onReadyStateChange(_ handler: @escaping @Sendable (ReadyState) -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return }
            spark.state.value.readyStateHandlers.append(handler)
        }
    }

    /// Calls `handler` on the event loop each time the client proves it is alive (Primus's
    /// `heartbeat` event): a `primus::pong::` answering the server's ping, or on WebSockets a
    /// protocol ping frame from a client that is reading. For presence and "last seen" tracking.
    public func onHeartbeat(_ handler: @escaping @Sendable () -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return }
            spark.state.value.heartbeatHandlers.append(handler)
        }
    }

    /// Out of line: only sparks with heartbeat handlers get here.
    @inline(never)
    func heartbeatReceived() {
        for handler in state.value.heartbeatHandlers { handler() }
    }

    // MARK: - Async connection handlers

    /// Async `connection` handlers are about to run: hold the messages (in the inbox, which
    /// already keeps them while nobody reads) and any reader that attaches. On the event loop,
    /// before the transport delivers anything.
    func holdMessages() {
        state.value.holding = true
    }

    /// The connection handlers finished: a reader that attached meanwhile gets the held messages
    /// in order, then the live ones. On the event loop.
    func releaseMessages() {
        state.value.holding = false
        guard let consumer = state.value.heldConsumer else { return }
        state.value.heldConsumer = nil
        attach(consumer)
    }

    /// A connection handler threw: report it and end the spark (Primus's `next(err)`: the spark
    /// emits `error` and ends with `primus::server::close`). On the event loop.
    func failConnection(_ error: PrimusError) {
        reportError(error)
        endOnLoop(nil, reconnect: false)
    }
}
