// swift-tools-version: 6.2
import PackageDescription

// The demo chat on a Vapor 4 application: Vapor's own server and middleware, Primus mounted at
// /primus by PrimusVapor. `swift run --package-path Examples/VaporChat VaporChat --port 8080`.
let package = Package(
    name: "VaporChat",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-primus", path: "../..", traits: ["Vapor"]),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "VaporChat",
            dependencies: [
                .product(name: "PrimusVapor", package: "swift-primus"),
                .product(name: "PrimusServer", package: "swift-primus"),
                .product(name: "PrimusCore", package: "swift-primus"),
                .product(name: "PrimusDemoChat", package: "swift-primus"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
