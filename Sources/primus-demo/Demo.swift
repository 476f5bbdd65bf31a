import ArgumentParser
import NIOCore
import PrimusCore
import PrimusDemoChat
import PrimusRedisCluster
import PrimusServer
import ServiceLifecycle
import UnixSignals

/// `swift run primus-demo`: a chat on a Primus server, with rooms (``ChatRooms``): every message
/// a spark writes goes to everyone in its room, the sender included, so alone it is an echo;
/// `/join NAME` changes room.
@main
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "primus-demo",
        abstract: "A Primus chat server with a web page at /, or (with --client URL) a terminal chat client."
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind.") var port = 8080
    @Option(help: "Transformer: \(PrimusTransformer.all.map(\.name).joined(separator: ", ")) (default: websockets; a client asks the server).") var transformer: String?
    @Option(help: "Parser: \(PrimusParsers.names.joined(separator: ", ")) (default: json; a client asks the server).") var parser: String?
    @Option(name: .customLong("ping-interval"), help: "Milliseconds between heartbeats; 0 turns them off.") var pingInterval = 30_000
    @Option(help: "Instead of serving, chat with the server at this URL (ws://, wss://, http://, https://).") var client: String?
    @Option(help: "Join a cluster of demo servers through this Redis (redis://[user:password@]host[:port][/db], rediss:// for TLS): chats reach every node.") var redis: String?
    @Option(name: .customLong("redis-prefix"), help: "Key and channel prefix in Redis.") var redisPrefix = "primus-demo"
    @Option(name: .customLong("node-id"), help: "This node's name in the cluster (default random).") var nodeID: String?
    @Option(name: .customLong("recover-count"), help: "Messages a chat that reconnects gets back (0 turns recovery off).") var recoverCount = 1_000
    @Option(name: .customLong("recover-ms"), help: "Oldest message a chat that reconnects gets back, in milliseconds.") var recoverMilliseconds = 120_000

    func run() async throws {
        if let client {
            try await ChatClient.run(url: client, transformer: transformer, parser: parser)
            return
        }
        var configuration = try PrimusConfiguration(transformer: transformer ?? "websockets", parser: parser ?? "json")
        configuration.pingInterval = pingInterval > 0 ? .milliseconds(pingInterval) : nil
        if recoverCount > 0 { configuration.recovery = PrimusRecovery(maxMessages: recoverCount, maxAge: .milliseconds(recoverMilliseconds)) }
        if let redis {
            var cluster = try RedisClusterConfiguration(url: redis)
            cluster.keyPrefix = redisPrefix
            if let nodeID { cluster.nodeID = nodeID }
            let clusterConfiguration = cluster
            configuration.adapter = { RedisClusterAdapter(configuration: clusterConfiguration) }
        }
        let primus = Primus(configuration: configuration)
        ChatRooms.attach(to: primus)
        let page = DemoPage.html(pathname: configuration.pathname, transformer: configuration.transformer.name)
        let server = PrimusHTTPServer(
            primus: primus,
            host: host,
            port: port,
            onListening: { address in
                StandardOutput.line("listening on http://\(address.ipAddress ?? "127.0.0.1"):\(address.port ?? 0)")
            },
            fallback: { request in
                request.path == "/" || request.path == "/index.html" ? .html(page) : .notFound
            }
        )
        // Ctrl-C (or SIGTERM) shuts down gracefully; chats reconnect once the server is back.
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: primus.logger)
        try await group.run()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
