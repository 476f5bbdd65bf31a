import NIOConcurrencyHelpers
import Foundation
import NIOCore
import NIOSSL
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// `wss://` and `https://` end to end: ``PrimusHTTPServer`` with ``PrimusTLS`` and a throwaway
/// certificate made by the `openssl` command line (the test fails, saying so, where it is missing: CI installs it).
@Suite("PrimusClient over TLS", .timeLimit(.minutes(1)))
struct PrimusClientTLSTests {
    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Over plain WebSockets, and over Engine.IO (polling over `https:`, then the upgrade to `wss:`).
    @Test(arguments: ["websockets", "engine.io"])
    func wssConnectsVerifiesTheCertificateAndCarriesMessages(transformer: String) async throws {
        let openssl = try #require(Self.openssl, "the openssl command line is needed to make a test certificate")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let certificatePath = directory.appendingPathComponent("cert.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath,
            "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)

        let certificates = try NIOSSLCertificate.fromPEMFile(certificatePath)
        let tls = try PrimusTLS(certificateChainFile: certificatePath, privateKeyFile: keyPath)
        let primus = Primus(configuration: try PrimusConfiguration(transformer: transformer))
        let received = ReceivedValues()
        primus.onConnection { spark in
            spark.onMessage { message in
                received.append(message.value)
                spark.write(message.value)
            }
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 0, tls: tls, onListening: { address in
            continuation.yield(address.port ?? 0)
        })
        let serverTask = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        var configuration = fastConfiguration()
        configuration.transport = try PrimusClientTransports.named(transformer)
        configuration.tlsConfiguration.trustRoots = .certificates(certificates)
        let client = try PrimusClient("wss://localhost:\(port)/?secure=yes", configuration: configuration)
        let recorder = EventRecorder(client)
        client.write("over TLS")
        try await recorder.waitFor("data")
        #expect(received.values == ["over TLS"])
        #expect(primus.sparks.first?.query["secure"] == "yes")
        #expect(primus.sparks.first?.address.secure == true)
        client.end()

        // A client that does not trust the certificate never opens.
        let transport = try PrimusClientTransports.named(transformer)
        let untrustingConfiguration = fastConfiguration {
            $0.strategy = .none
            $0.transport = transport
        }
        let untrusting = try PrimusClient("wss://localhost:\(port)", configuration: untrustingConfiguration)
        let refused = EventRecorder(untrusting)
        try await refused.waitFor("end")
        #expect(refused.lifecycle == ["error", "close", "end"])

        serverTask.cancel()
        _ = await serverTask.result
    }
}

private final class ReceivedValues: Sendable {
    private let state = NIOLockedValueBox<[JSONValue]>([])
    func append(_ value: JSONValue) { state.withLockedValue { $0.append(value) } }
    var values: [JSONValue] { state.withLockedValue { $0 } }
}
