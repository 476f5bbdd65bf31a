// swift-tools-version: 6.2
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-primus",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11)],
    products: [
        .library(name: "PrimusCore", targets: ["PrimusCore"]),
        .library(name: "PrimusWebSocket", targets: ["PrimusWebSocket"]),
        .library(name: "PrimusServer", targets: ["PrimusServer"]),
        .library(name: "PrimusClient", targets: ["PrimusClient"]),
        // A small Redis client (RESP3 codec, pipelining, pub/sub, reconnect) for scale-out.
        .library(name: "PrimusRedis", targets: ["PrimusRedis"]),
        .library(name: "PrimusRedisCluster", targets: ["PrimusRedisCluster"]),
        // Mount Primus on a web framework's own server. Each needs its trait (below), so that the
        // core products never build Hummingbird or Vapor.
        .library(name: "PrimusHummingbird", targets: ["PrimusHummingbird"]),
        .library(name: "PrimusVapor", targets: ["PrimusVapor"]),
        // The demo chat (page and rooms), shared by primus-demo and the framework examples.
        .library(name: "PrimusDemoChat", targets: ["PrimusDemoChat"]),
        .executable(name: "primus-demo", targets: ["primus-demo"]),
        .executable(name: "primus-testserver", targets: ["primus-testserver"]),
    ],
    traits: [
        .trait(name: "Hummingbird", description: "Build PrimusHummingbird: Primus mounted on a Hummingbird 2 application."),
        .trait(name: "Vapor", description: "Build PrimusVapor: Primus mounted on a Vapor 4 application."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Only with the Hummingbird and Vapor traits (see PrimusHummingbird and PrimusVapor).
        // No Hummingbird traits: swift-configuration support is not needed here.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    ],
    targets: [
        // Sans-I/O protocol layer shared by the server and the clients: Primus messages,
        // parsers, heartbeat rules, query strings, WebSocket message rules. No sockets, no clock.
        .target(
            name: "PrimusCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // Primus across several processes: the cluster adapter on the Redis client (broadcasts,
        // rooms, spark registry, recovery backlog, metrics).
        .target(
            name: "PrimusRedisCluster",
            dependencies: [
                "PrimusCore",
                "PrimusServer",
                "PrimusRedis",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Lua scripts, embedded by the EmbedJavaScript plugin (not resources).
            exclude: ["Scripts"],
            swiftSettings: upcoming,
            plugins: ["EmbedJavaScript"]
        ),
        // The system zlib, for permessage-deflate (RFC 7692) in PrimusWebSocket.
        .systemLibrary(name: "CPrimusZlib"),
        // RFC 6455 message rules (fragments, UTF-8, close codes) as a state machine, shared by the
        // server's websockets transformer and the clients.
        .target(
            name: "PrimusWebSocket",
            dependencies: [
                "PrimusCore",
                "CPrimusZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // The server: the Spark, transformers on SwiftNIO, the standalone HTTP listener.
        .target(
            name: "PrimusServer",
            dependencies: [
                "PrimusCore",
                "PrimusWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The browser client's .js files, embedded by the EmbedJavaScript plugin (not resources).
            exclude: ["BrowserClient/JavaScript"],
            swiftSettings: upcoming,
            plugins: ["EmbedJavaScript"]
        ),
        // Build-time tool and plugin: the browser client's JavaScript files as Swift string
        // literals in PrimusServer (BrowserClientSources), so the binary is self-contained.
        .executableTarget(name: "EmbedJavaScriptTool", swiftSettings: upcoming),
        .plugin(name: "EmbedJavaScript", capability: .buildTool(), dependencies: ["EmbedJavaScriptTool"]),
        // The Swift client: offline buffering, reconnect with randomized exponential backoff,
        // heartbeats, on SwiftNIO (Linux and Apple platforms), over the same codecs as the server.
        .target(
            name: "PrimusClient",
            dependencies: [
                "PrimusCore",
                "PrimusWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // A small Redis client on SwiftNIO: a sans-I/O RESP3/RESP2 codec, a pipelining command
        // connection and a pub/sub connection, both reconnecting.
        .target(
            name: "PrimusRedis",
            dependencies: [
                "PrimusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Primus on a Hummingbird 2 router: plain requests through the router (after the app's
        // middleware), upgrades through `.http1WebSocketUpgrade`, Primus as a Service. Empty
        // unless the `Hummingbird` trait is on.
        .target(
            name: "PrimusHummingbird",
            dependencies: [
                "PrimusServer",
                "PrimusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket", condition: .when(traits: ["Hummingbird"])),
            ],
            swiftSettings: upcoming
        ),
        // Primus on a Vapor 4 application: routes, WebSocket upgrade, and a lifecycle handler
        // for graceful shutdown. Empty unless the `Vapor` trait is on.
        .target(
            name: "PrimusVapor",
            dependencies: [
                "PrimusServer",
                "PrimusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
            ],
            swiftSettings: upcoming
        ),
        // The demo chat: its page (HTML, script and style, embedded by the EmbedJavaScript
        // plugin) and its rooms (`/join NAME`), for primus-demo and the Examples packages.
        .target(
            name: "PrimusDemoChat",
            dependencies: ["PrimusServer", "PrimusCore"],
            exclude: ["Page"],
            swiftSettings: upcoming,
            plugins: ["EmbedJavaScript"]
        ),
        .executableTarget(
            name: "primus-demo",
            dependencies: [
                "PrimusServer",
                "PrimusRedisCluster",
                "PrimusClient",
                "PrimusDemoChat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "primus-testserver",
            dependencies: [
                "PrimusServer",
                "PrimusRedisCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PrimusCoreTests",
            dependencies: ["PrimusCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PrimusWebSocketTests",
            dependencies: [
                "PrimusWebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PrimusClientTests",
            dependencies: [
                "PrimusClient",
                "PrimusServer",
                "PrimusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PrimusRedisTests",
            dependencies: [
                "PrimusRedis",
                "PrimusRedisCluster",
                "PrimusServer",
                "PrimusClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PrimusServerTests",
            dependencies: [
                "PrimusServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)
