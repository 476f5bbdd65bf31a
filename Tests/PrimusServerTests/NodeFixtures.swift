import Foundation
import PrimusCore
import Testing

/// The Node scripts under Tests/JavaScript/fixtures, run against a compiled browser library: the
/// library is written to a temporary file and the script gets its path as its only argument and
/// prints one JSON value, which is returned.
enum NodeFixtures {
    static let node = ["/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs", "/opt/homebrew/bin/node"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Tests/JavaScript/fixtures, found from this file's path.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("JavaScript")
        .appendingPathComponent("fixtures")

    /// The text of a fixture (a plugin's or a codec's source).
    static func source(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    /// Runs `fixture` with `library` loaded; the JSON it printed.
    ///
    /// Node runs and is waited for on a Dispatch thread, not on the Swift concurrency pool:
    /// blocking one of that pool's two threads for a Node start-up starved the live loopback
    /// tests running beside it (their clients missed 2-second server timeouts).
    static func run(_ fixture: String, library: String) async throws -> JSONValue {
        let node = try #require(Self.node, "Node.js is needed to run the compiled library (CI installs Debian's nodejs)")
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("primus-lib-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        let libraryPath = temporary.appendingPathComponent("primus.js").path
        try library.write(toFile: libraryPath, atomically: true, encoding: .utf8)
        let script = directory.appendingPathComponent(fixture).path
        let (status, text) = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, String), any Error>) in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: node)
                process.arguments = [script, libraryPath]
                let output = Pipe()
                process.standardOutput = output
                process.standardError = output
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
        try #require(status == 0, "node \(fixture) failed: \(text)")
        return try JSONReader.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
