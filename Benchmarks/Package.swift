// swift-tools-version: 6.2
import PackageDescription

// Benchmarks for swift-primus, kept out of the main package so that its dependencies and build
// time stay where they are. Run from the repository root:
//
//     swift run -c release --package-path Benchmarks primus-bench [throughput|memory|all]
//
// See Benchmarks/README.md for the method and the latest figures.
let package = Package(
    name: "swift-primus-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "primus-bench", targets: ["PrimusBench"]),
    ],
    dependencies: [
        .package(name: "swift-primus", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
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
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
