import NIOCore
import PrimusServer

#if HummingbirdPeer
import Hummingbird
import HummingbirdWebSocket
import Logging
import PrimusHummingbird
import ServiceLifecycle
#endif

#if VaporPeer
import PrimusVapor
import Vapor
#endif

/// Primus mounted on a web framework's own server, as the README's "Mounting" section shows it:
/// the same `Primus` as the standalone column, on the framework's listener with the framework's
/// defaults (NIO's shared event loop group for Hummingbird, Vapor's own group for Vapor), no
/// middleware of the application's. `primus-bench mounting` compares them with the standalone
/// `PrimusHTTPServer`.
enum MountedPrimusServers {
    #if HummingbirdPeer
    /// `router.addPrimus(_:)` on a Hummingbird 2 router that is also the WebSocket router, with
    /// Primus running as a service beside the application.
    static func hummingbird(_ primus: Primus, onListening: @escaping @Sendable (SocketAddress) -> Void) async throws {
        let mounted = HummingbirdPrimus(primus: primus)
        let router = Router(context: BasicPrimusRequestContext.self)
        router.addPrimus(mounted)
        var logger = Logger(label: "primus-bench.primus-hummingbird")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .primus(mounted)),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 1024, reuseAddress: true),
            onServerRunning: { channel in
                if let address = channel.localAddress { onListening(address) }
            },
            logger: logger
        )
        try await ServiceGroup(services: [app, mounted], logger: logger).run()
    }
    #endif

    #if VaporPeer
    /// `app.mount(_:)` on a Vapor 4 application.
    static func vapor(_ primus: Primus, onListening: @escaping @Sendable (SocketAddress) -> Void) async throws {
        let app = try await Application.make(Environment(name: "production", arguments: ["primus-bench"]))
        app.logger.logLevel = .warning
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = 0
        app.http.server.configuration.backlog = 1024
        app.mount(primus)
        try await app.startup()
        if let address = app.http.server.shared.localAddress { onListening(address) }
        // Until the benchmark closes our standard input (runServer exits the process then).
        try await app.running?.onStop.get()
        try await app.asyncShutdown()
    }
    #endif
}
