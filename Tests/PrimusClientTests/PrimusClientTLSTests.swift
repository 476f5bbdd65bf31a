import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PrimusClient
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// `wss://` end to end: our server behind NIOSSL with a throwaway certificate made by the
/// `openssl` command line (the test is skipped where it is missing).
@Suite("PrimusClient over TLS", .timeLimit(.minutes(1)))
struct PrimusClientTLSTests {
    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Over plain WebSockets, and over Engine.IO (polling over `https:`, then the upgrade to `wss:`).
    @Test(.enabled(if: openssl != nil), arguments: ["websockets", "engine.io"])
    func wssConnectsVerifiesTheCertificateAndCarriesMessages(transformer: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let certificatePath = directory.appendingPathComponent("cert.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.openssl!)
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
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        let serverContext = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) },
            privateKey: .privateKey(key)
        ))
        let primus = Primus(configuration: try PrimusConfiguration(transformer: transformer))
        let received = ReceivedValues()
        primus.onConnection { spark in
            spark.onMessage { message in
                received.append(message.value)
                spark.write(message.value)
            }
        }
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverContext))
                    try PrimusHTTPServer.configure(channel: channel, primus: primus)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)

        var configuration = fastConfiguration()
        configuration.transport = try PrimusClientTransports.named(transformer)
        configuration.tlsConfiguration.trustRoots = .certificates(certificates)
        let client = try PrimusClient("wss://localhost:\(port)/?secure=yes", configuration: configuration)
        let recorder = EventRecorder(client)
        client.write("over TLS")
        try await recorder.waitFor("data")
        #expect(received.values == ["over TLS"])
        #expect(primus.sparks.first?.query["secure"] == "yes")
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

        try await listener.close()
        await primus.shutdown()
    }
}

private final class ReceivedValues: Sendable {
    private let state = Mutex<[JSONValue]>([])
    func append(_ value: JSONValue) { state.withLock { $0.append(value) } }
    var values: [JSONValue] { state.withLock { $0 } }
}
