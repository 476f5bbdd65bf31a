import Foundation
import PrimusCore
@testable import PrimusServer
import Testing

/// The browser library's `authorization` flag and client plugins: what the compiler writes, and
/// what the compiled client does with them, run in Node with a stand-in WebSocket (no network).
@Suite("Browser library: authorization and client plugins", .timeLimit(.minutes(1)))
struct BrowserLibraryAuthorizationTests {
    static let node = ["/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs", "/opt/homebrew/bin/node"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static func compile(authorization: Bool, plugins: [(name: String, source: String)] = []) -> String {
        BrowserLibraryCompiler(configuration: PrimusConfiguration(), authorization: authorization, plugins: plugins).compile()
    }

    @Test("Primus compiles the server's authorization flag and its plugins' client parts")
    func compiledFromPrimus() {
        let source = Primus(configuration: PrimusConfiguration()).library()
        #expect(source.contains("authorization: \(Primus(configuration: PrimusConfiguration()).hasAuthorization)"))
        let compiled = Self.compile(authorization: true, plugins: [("emit", "function client(primus, options) { primus.$emit = true; }")])
        #expect(compiled.contains("    authorization: true\n"))
        #expect(compiled.contains("  Primus.prototype.ark[\"emit\"] = function client(primus, options) { primus.$emit = true; };\n"))
        // Inside the wrapper, before the class is handed out.
        let ark = compiled.range(of: "Primus.prototype.ark[\"emit\"]")!
        #expect(ark.lowerBound < compiled.range(of: "return Primus;")!.lowerBound)
    }

    @Test(
        "checklist 32 and 15: with authorization the strategy has no timeout, a WebSocket failing before open is final, plugins run at construction"
    )
    func compiledClientBehaviour() throws {
        let plugin = """
        function probe(primus, options) {
            primus.probed = { self: this === primus, option: options.probeOption };
          }
        """
        let library = Self.compile(authorization: true, plugins: [("probe", plugin)])
        let result = try Self.runInNode(library: library, script: """
            const events = [];
            const primus = new Primus('http://127.0.0.1:9', { timeout: false, probeOption: 42, reconnect: { min: 10 } });
            ['error', 'close', 'end', 'reconnect scheduled', 'open'].forEach((name) => primus.on(name, () => events.push(name)));
            const idle = new Primus('http://127.0.0.1:9', { manual: true });
            setTimeout(() => {
              console.log(JSON.stringify({
                events, sockets: FakeSocket.made,
                strategy: idle.options.strategy, probed: primus.probed,
                plugin: typeof idle.plugin('probe'), plugins: Object.keys(idle.plugin()),
              }));
            }, 200);
            """)
        #expect(result["strategy"] == "disconnect,online")
        #expect(result["events"] == ["error", "close", "end"])
        #expect(result["sockets"] == 1)
        #expect(result["probed"] == ["self": true, "option": 42])
        #expect(result["plugin"] == "function")
        #expect(result["plugins"] == ["probe"])
    }

    @Test("without authorization a failed first WebSocket is retried (strategy timeout)")
    func withoutAuthorizationFailuresAreRetried() throws {
        let result = try Self.runInNode(library: Self.compile(authorization: false), script: """
            const events = [];
            const primus = new Primus('http://127.0.0.1:9', { reconnect: { min: 10, retries: 1 } });
            ['error', 'end', 'reconnect scheduled', 'reconnect failed'].forEach((name) => primus.on(name, () => events.push(name)));
            setTimeout(() => console.log(JSON.stringify({ events, sockets: FakeSocket.made })), 300);
            """)
        #expect(result["events"] == ["error", "reconnect scheduled", "end", "reconnect failed"])
        #expect(result["sockets"] == 2)
    }

    /// Runs `script` after loading `library` in Node, with a global `WebSocket` whose every
    /// connection fails before it opens (`onerror`, then `onclose`); returns the JSON it printed.
    static func runInNode(library: String, script: String) throws -> JSONValue {
        let node = try #require(Self.node, "Node.js is needed to run the compiled library (CI installs Debian's nodejs)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-lib-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let libraryPath = directory.appendingPathComponent("primus.js").path
        try library.write(toFile: libraryPath, atomically: true, encoding: .utf8)
        let scriptPath = directory.appendingPathComponent("run.js").path
        try """
        'use strict';
        class FakeSocket {
          constructor(url) {
            FakeSocket.made += 1;
            this.readyState = 0;
            setTimeout(() => { this.onerror && this.onerror({ type: 'error' }); this.onclose && this.onclose({ code: 1006 }); }, 5);
          }
          send() {}
          close() {}
        }
        FakeSocket.made = 0;
        globalThis.WebSocket = FakeSocket;
        const Primus = require(\(JSONValue.string(libraryPath).description));
        \(script)
        """.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node)
        process.arguments = [scriptPath]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        try #require(process.terminationStatus == 0, "node failed: \(text)")
        return try JSONReader.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
