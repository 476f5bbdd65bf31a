// swift-tools-version: 6.2
import PackageDescription

// Benchmarks for swift-primus, kept out of the main package so that its dependencies and build
// time stay where they are. Run from the repository root:
//
//     swift run -c release --package-path Benchmarks primus-bench [throughput|memory|smoke|all]
//
// See Benchmarks/README.md for the method and the latest figures.
//
// The raw Hummingbird 2 WebSocket peer sits behind the `HummingbirdPeer` trait (on by default):
// Hummingbird and its dependencies add minutes to a cold release build, so CI's smoke build
// passes `--disable-default-traits` and reports that column as "not built".
let package = Package(
    name: "swift-primus-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "primus-bench", targets: ["PrimusBench"]),
    ],
    traits: [
        .trait(name: "HummingbirdPeer", description: "Build the raw Hummingbird 2 WebSocket peer server."),
        .default(enabledTraits: ["HummingbirdPeer"]),
    ],
    dependencies: [
        .package(name: "swift-primus", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // No Hummingbird traits: swift-configuration support is not needed here.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "PrimusBench",
            dependencies: [
                .product(name: "PrimusServer", package: "swift-primus"),
                .product(name: "PrimusCore", package: "swift-primus"),
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
