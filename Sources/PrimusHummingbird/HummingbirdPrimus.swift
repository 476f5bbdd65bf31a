#if Hummingbird
import NIOCore
public import PrimusServer
public import ServiceLifecycle

/// A ``PrimusServer/Primus`` mounted on a Hummingbird 2 application: what its routes serve
/// (``Hummingbird/RouterMethods/addPrimus(_:secure:)``), and the service that runs its heartbeat
/// and its graceful shutdown beside the application.
///
/// Run it in the same `ServiceGroup` as the application, listed after it:
/// ```swift
/// let primus = HummingbirdPrimus(primus: Primus(configuration: configuration))
/// router.addPrimus(primus)
/// let app = Application(router: router, server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .primus(primus)))
/// try await ServiceGroup(services: [app, primus], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
/// A graceful shutdown reaches the last service first: Primus ends every spark its way
/// (``PrimusServer/Primus/reconnectOnShutdown``), polling clients fetch their last packets
/// while Hummingbird still serves, and only then does Hummingbird stop. (Given to the
/// application with `addServices`, it would run before Hummingbird's own server in the
/// application's group, and so be shut down after it, when no client can hear of it.)
public struct HummingbirdPrimus: Service, Sendable {
    /// The Primus served, through the framework seam.
    public let frontEnd: PrimusFrontEnd
    /// How long, at most, Hummingbird keeps serving after the sparks ended, while polling
    /// clients come back for their last packets.
    public let drainTimeout: Duration
    let activity = PrimusRequestActivity()

    /// The Primus served.
    public var primus: Primus { frontEnd.primus }

    /// Mounts `primus`.
    ///
    /// - Parameters:
    ///   - maxRequestBodyLength: the longest body Primus accepts (see ``PrimusServer/PrimusFrontEnd``).
    ///   - drainTimeout: the longest wait after the sparks ended for polling clients to fetch
    ///     their last packets (1 second, as Primus's own listener waits).
    public init(primus: Primus, maxRequestBodyLength: Int = 1 << 20, drainTimeout: Duration = .seconds(1)) {
        self.frontEnd = PrimusFrontEnd(primus: primus, maxRequestBodyLength: maxRequestBodyLength)
        self.drainTimeout = drainTimeout
    }

    /// Runs Primus's heartbeat until a graceful shutdown, then ends every spark and waits until
    /// Primus's requests have been quiet for a moment (at most ``drainTimeout``).
    public func run() async throws {
        try await primus.run()
        await activity.waitUntilQuiet(timeout: drainTimeout)
    }
}
#endif
