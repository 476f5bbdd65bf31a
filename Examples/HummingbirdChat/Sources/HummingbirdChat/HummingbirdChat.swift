import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import PrimusCore
import PrimusDemoChat
import PrimusHummingbird
import PrimusServer
import ServiceLifecycle
import UnixSignals

/// The demo chat on a Hummingbird 2 application: the page at `/`, Primus at `/primus` on the
/// application's own router and listener, its heartbeat and shutdown as a service beside it.
@main
struct HummingbirdChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "HummingbirdChat",
        abstract: "The Primus demo chat served by a Hummingbird 2 application."
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0: any free port).") var port = 0
    @Option(help: "Transformer: \(PrimusTransformer.all.map(\.name).joined(separator: ", ")).") var transformer = "websockets"
    @Option(name: .customLong("ping-interval"), help: "Milliseconds between heartbeats; 0 turns them off.") var pingInterval = 30_000
    @Option(name: .customLong("reconnect-on-shutdown"), help: "On SIGTERM, let clients reconnect (true) or end them (false).") var reconnectOnShutdown = true
    @Option(help: "Admit only requests whose query has token=T (others get 401).") var token: String?
    @Option(name: .customLong("max-length"), help: "The largest message in bytes (default Primus's, 10 MiB).") var maxLength: Int?
    @Option(name: .customLong("cors-origin"), help: "An origin Primus's CORS layer allows (repeatable; default any).") var corsOrigins: [String] = []

    func run() async throws {
        var configuration = try PrimusConfiguration(transformer: transformer, parser: "json")
        configuration.pingInterval = pingInterval > 0 ? .milliseconds(pingInterval) : nil
        if let maxLength { configuration.maxLength = maxLength }
        if !corsOrigins.isEmpty { configuration.cors.origins = corsOrigins }
        let primus = Primus(configuration: configuration)
        primus.reconnectOnShutdown = reconnectOnShutdown
        if let token {
            primus.authorize { context in
                guard context.query.values(for: "token").contains(token) else {
                    throw PrimusHTTPError.unauthorized("unauthorized", authenticate: "Bearer")
                }
            }
        }
        ChatRooms.attach(to: primus)
        let mounted = HummingbirdPrimus(primus: primus)

        // One router for plain requests and upgrades, so the application's middleware runs
        // before Primus's on both.
        let router = Router(context: BasicPrimusRequestContext.self)
        router.add(middleware: ExampleHeaderMiddleware())
        router.addPrimus(mounted)
        let page = DemoPage.html(pathname: configuration.pathname, transformer: configuration.transformer.name)
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }

        var logger = Logger(label: "HummingbirdChat")
        logger.logLevel = .notice
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .primus(mounted)),
            configuration: .init(address: .hostname(host, port: port), serverName: "HummingbirdChat"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            },
            logger: logger
        )
        // Primus after the application: a graceful shutdown reaches the last service first, so
        // Primus ends its sparks (polling clients still fetch their last packet) before
        // Hummingbird stops serving. (`app.addServices(mounted)` would run it before
        // Hummingbird's server in the application's own group, and so shut it down after.)
        let group = ServiceGroup(services: [app, mounted], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// The application's own middleware, in front of Primus: it marks every answer, so a test can
/// see it ran on plain requests and on upgrades (the header is in the `101`).
struct ExampleHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("x-example")!] = "HummingbirdChat"
        return response
    }
}
