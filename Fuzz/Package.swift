// swift-tools-version: 6.2
import PackageDescription

// libFuzzer targets for swift-primus's parsers and codecs. Build and run them with `./run.sh`
// (see README.md); they are not part of the root package, so `swift build` there never needs
// the fuzzer runtime.

// A path dependency's identity is the name of its directory (`swift-primus` in a clone, but
// anything in a worktree), so name the root package by the directory that holds this folder.
let rootIdentity = String(#filePath.split(separator: "/").dropLast(2).last ?? "swift-primus").lowercased()

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// One libFuzzer executable per parser: `Sources/<name>/`.
func fuzzer(_ name: String, _ products: [String], nio: [String] = ["NIOCore"]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: rootIdentity) }
            + nio.map { .product(name: $0, package: "swift-nio") },
        swiftSettings: upcoming
    )
}

let package = Package(
    name: "swift-primus-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // For ByteBuffer and WebSocketFrame, which the codecs take; the version the root resolves.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // libFuzzer's `LLVMFuzzerRunDriver`, declared for Swift.
        .target(name: "CLibFuzzer"),
        // The entry point every fuzzer shares, and helpers for splitting an input.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], swiftSettings: upcoming),
        fuzzer("FuzzJSON", ["PrimusCore"]),
        fuzzer("FuzzParsers", ["PrimusCore"]),
        fuzzer("FuzzEngineIOPacket", ["PrimusCore"]),
        fuzzer("FuzzEngineIOPayload", ["PrimusCore"]),
        fuzzer("FuzzSocketIO", ["PrimusCore"]),
        fuzzer("FuzzWebSocketAssembler", ["PrimusWebSocket", "PrimusCore"], nio: ["NIOCore", "NIOWebSocket"]),
        fuzzer("FuzzPerMessageDeflate", ["PrimusWebSocket", "PrimusCore"], nio: ["NIOCore", "NIOWebSocket"]),
        fuzzer("FuzzQueryParameters", ["PrimusCore"]),
        fuzzer("FuzzForwardedAddress", ["PrimusCore"]),
        fuzzer("FuzzRESP", ["PrimusCore"]),
    ],
    swiftLanguageModes: [.v6]
)
