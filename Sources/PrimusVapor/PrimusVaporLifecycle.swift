#if Vapor
import NIOCore
import PrimusServer
import Synchronization
import Vapor

/// Primus's part of a Vapor application's life: the heartbeat from boot, and a graceful end.
///
/// Vapor stops its HTTP server after the lifecycle handlers' shutdown (the server lives in the
/// application's storage, cleared after them), so the sparks end here while Vapor still
/// serves: a WebSocket client gets its close, and a polling client, which may be between two
/// polls, comes back for its last packet while this waits for Primus's requests to go quiet.
final class PrimusVaporLifecycle: LifecycleHandler {
    private let primus: Primus
    private let activity: PrimusRequestActivity
    /// The task running ``Primus/run()`` (the heartbeat), from boot to shutdown.
    private let heartbeat = Mutex<Task<Void, Never>?>(nil)

    init(primus: Primus, activity: PrimusRequestActivity) {
        self.primus = primus
        self.activity = activity
    }

    func didBoot(_ application: Application) throws {
        let primus = self.primus
        heartbeat.withLock { task in
            guard task == nil else { return }
            task = Task { try? await primus.run() }
        }
    }

    /// Ends every spark the configured way (``Primus/reconnectOnShutdown``), waiting for them
    /// to close, lets polling clients fetch their last packets (requests quiet for 250 ms, at
    /// most a second, as the standalone server's drain), then stops the heartbeat.
    func shutdownAsync(_ application: Application) async {
        await primus.shutdown(reconnect: primus.reconnectOnShutdown)
        await activity.waitUntilQuiet(timeout: .seconds(1))
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
