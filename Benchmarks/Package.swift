// swift-tools-version: 6.2
import PackageDescription

// Benchmarks for swift-primus, kept out of the main package so that its dependencies and build
// time stay where they are. Run from the repository root:
//
//     swift run -c release --package-path Benchmarks primus-bench [throughput|memory|smoke|all]
//
// See Benchmarks/README.md for the method and the latest figures.
//
// The raw Hummingbird 2 WebSocket peer and Primus mounted on Hummingbird (PrimusHummingbird) sit
// behind the `HummingbirdPeer` trait, Primus mounted on Vapor (PrimusVapor) behind `VaporPeer`
// (both on by default): the frameworks and their dependencies add minutes to a cold release
// build, so CI's smoke build passes `--disable-default-traits` and reports those columns as
// "not built".
let package = Package(
    name: "swift-primus-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "primus-bench", targets: ["PrimusBench"]),
    ],
    traits: [
        .trait(name: "HummingbirdPeer", description: "Build the raw Hummingbird 2 WebSocket peer and Primus on Hummingbird."),
        .trait(name: "VaporPeer", description: "Build Primus on Vapor 4."),
        .default(enabledTraits: ["HummingbirdPeer", "VaporPeer"]),
    ],
    dependencies: [
        .package(
            name: "swift-primus",
            path: "..",
            traits: [
                .trait(name: "Hummingbird", condition: .when(traits: ["HummingbirdPeer"])),
                .trait(name: "Vapor", condition: .when(traits: ["VaporPeer"])),
            ]
        ),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // No Hummingbird traits: swift-configuration support is not needed here.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    ],
    targets: [
        .executableTarget(
            name: "PrimusBench",
            dependencies: [
                .product(name: "PrimusServer", package: "swift-primus"),
                .product(name: "PrimusCore", package: "swift-primus"),
                .product(name: "PrimusRedis", package: "swift-primus"),
                .product(name: "PrimusRedisCluster", package: "swift-primus"),
                .product(name: "PrimusHummingbird", package: "swift-primus", condition: .when(traits: ["HummingbirdPeer"])),
                .product(name: "PrimusVapor", package: "swift-primus", condition: .when(traits: ["VaporPeer"])),
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["VaporPeer"])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdPeer"])),
                .product(
                    name: "HummingbirdWebSocket",
                    package: "hummingbird-websocket",
                    condition: .when(traits: ["HummingbirdPeer"])
                ),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
