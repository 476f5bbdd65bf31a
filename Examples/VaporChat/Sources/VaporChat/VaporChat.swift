import ArgumentParser
import Foundation
import PrimusCore
import PrimusDemoChat
import PrimusServer
import PrimusVapor
import Vapor

/// The demo chat on a Vapor 4 application: the page at `/`, Primus at `/primus`, both served by
/// Vapor's own HTTP server, behind one piece of Vapor middleware of the app's own
/// (``ExampleHeaderMiddleware``).
///
/// `swift run --package-path Examples/VaporChat VaporChat --port 8080 [--transformer engine.io]`.
/// SIGTERM or SIGINT shuts down gracefully: the chats end (or are told to reconnect) before
/// Vapor stops serving, and the process exits 0.
@main
struct VaporChat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "VaporChat",
        abstract: "The Primus demo chat, mounted on a Vapor 4 application."
    )

    @ArgumentParser.Option(help: "Address to bind.") var host = "127.0.0.1"
    @ArgumentParser.Option(help: "Port to bind (0 picks a free one).") var port = 8080
    @ArgumentParser.Option(help: "Transformer: \(PrimusTransformer.all.map(\.name).joined(separator: ", ")).") var transformer = "websockets"
    @ArgumentParser.Option(name: .customLong("ping-interval"), help: "Milliseconds between heartbeats; 0 turns them off.") var pingInterval = 30_000
    @ArgumentParser.Option(name: .customLong("reconnect-on-shutdown"), help: "On shutdown, drop clients so they reconnect (true) or tell them primus::server::close (false).")
    var reconnectOnShutdown = true
    @ArgumentParser.Option(name: .customLong("max-length"), help: "Largest message in bytes.") var maxLength = 10 * 1024 * 1024
    @ArgumentParser.Flag(help: "Accept WebSocket permessage-deflate (RFC 7692) offers.") var compression = false
    @ArgumentParser.Option(help: "If given, only requests with token=T in the query are admitted (others get 401).") var token: String?
    @ArgumentParser.Option(name: .customLong("cors-origin"), help: "An origin allowed by Primus's cors layer (repeatable; default any).") var corsOrigins: [String] = []

    func run() async throws {
        var configuration = try PrimusConfiguration(transformer: transformer)
        configuration.pingInterval = pingInterval > 0 ? .milliseconds(pingInterval) : nil
        configuration.maxLength = maxLength
        configuration.compression = compression
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

        // Vapor's own arguments are not ours: its console runs its default command (serve).
        let app = try await Application.make(Environment(name: "production", arguments: ["VaporChat"]))
        app.logger.logLevel = .notice
        app.http.server.configuration.hostname = host
        app.http.server.configuration.port = port
        // The app's own middleware runs before Primus's, on every route, upgrades included.
        app.middleware.use(ExampleHeaderMiddleware())

        let page = DemoPage.html(pathname: configuration.pathname, transformer: configuration.transformer.name)
        app.get { _ in
            Response(status: .ok, headers: ["content-type": "text/html; charset=utf-8"], body: .init(string: page))
        }
        app.mount(primus)

        do {
            try await app.startup()
            let address = app.http.server.shared.localAddress
            Self.announce("listening on http://\(address?.ipAddress ?? host):\(address?.port ?? port)")
            // Until SIGTERM or SIGINT (Vapor's serve command listens for them).
            try await app.running?.onStop.get()
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        // Primus's lifecycle handler ends the sparks here, before Vapor's server stops.
        try await app.asyncShutdown()
    }

    /// One write(2) to standard output: the line a supervisor (or a test) waits for.
    static func announce(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// The app's own middleware: it marks every answer it wraps with `x-example: VaporChat`, the
/// `101` of an upgrade and Primus's refusals included, which shows it ran around Primus.
/// A future-based `Middleware` (not `AsyncMiddleware`): no task per request.
struct ExampleHeaderMiddleware: Middleware {
    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        next.respond(to: request).map { response in
            response.headers.replaceOrAdd(name: "x-example", value: "VaporChat")
            return response
        }
    }
}
