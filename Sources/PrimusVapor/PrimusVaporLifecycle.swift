#if Vapor
import NIOCore
import PrimusServer
import Synchronization
import Vapor

/// Primus's part of a Vapor application's life: the heartbeat from boot, and a graceful end.
///
/// Vapor stops its HTTP server after the lifecycle handlers' shutdown (the server lives in the
/// application's storage, cleared after them), so the sparks end here while Vapor still
/// serves: a WebSocket client gets its close, a polling client can fetch its last packet.
final class PrimusVaporLifecycle: LifecycleHandler {
    private let primus: Primus
    /// The task running ``Primus/run()`` (the heartbeat), from boot to shutdown.
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)

    init(primus: Primus) {
        self.primus = primus
    }

    func didBoot(_ application: Application) throws {
        let primus = self.primus
        heartbeat.withLock { task in
            guard task == nil else { return }
            task = Task { try? await primus.run() }
        }
    }

    /// Ends every spark the configured way (``Primus/reconnectOnShutdown``), waiting for them
    /// to close, then stops the heartbeat.
    func shutdownAsync(_ application: Application) async {
        await primus.shutdown(reconnect: primus.reconnectOnShutdown)
        let task = heartbeat.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    /// For applications shut down from synchronous code (`app.shutdown()`): the same, waited
    /// for unless this runs on an event loop (which must not block; the sparks then end in the
    /// background).
    func shutdown(_ application: Application) {
        let promise = application.eventLoopGroup.any().makePromise(of: Void.self)
        promise.completeWithTask { await self.shutdownAsync(application) }
        guard !application.eventLoopGroup.makeIterator().contains(where: { $0.inEventLoop }) else { return }
        try? promise.futureResult.wait()
    }
}
#endif
