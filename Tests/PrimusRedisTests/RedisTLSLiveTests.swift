import PrimusCore
import Foundation
import NIOCore
import NIOSSL
import PrimusRedis
import Testing

/// `rediss://` against a redis-server listening with TLS only, with a certificate made by the
/// `openssl` command line for this test (the test fails, saying so, if openssl is missing).
@Suite("Redis live TLS", .serialized)
struct RedisTLSLiveTests {
    static let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("commands and pub/sub over rediss://, with the server's certificate verified")
    func tls() async throws {
        let openssl = try #require(Self.openssl, "the openssl command line is needed to make a test certificate")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-redis-tls-\(UUID().uuidString)")
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

        let server = try await RedisServerProcess(password: "tls-pw", tls: (certificatePath, keyPath))
        var configuration = try testConfiguration("rediss://:tls-pw@localhost:\(server.port)/1")
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificatePath))
        configuration.tlsConfiguration = tls

        let client = RedisClient(configuration: configuration)
        client.start()
        try await eventually("the TLS client connects") { client.isConnected }
        _ = try await client.send(["SET", "secure", "yes"])
        #expect(try await client.send(["GET", "secure"]).string == "yes")
        #expect(try await client.send(["CLIENT", "INFO"]).string?.contains(" db=1 ") == true)

        let subscriber = RedisSubscriber(configuration: configuration)
        let messages = MessageRecorder()
        let states = StateRecorder()
        subscriber.onMessage(messages.callback)
        subscriber.onStateChange(states.callback)
        subscriber.subscribe(["secure"])
        subscriber.start()
        try await eventually("the TLS subscriber is ready") { states.connectedCount == 1 }
        #expect(try await client.send(["PUBLISH", "secure", "over tls"]) == .integer(1))
        try await eventually("the message arrives") { messages.messages.count == 1 }
        #expect(messages.messages.first?.1 == "over tls")
        await subscriber.shutdown()
        await client.shutdown()

        // Without trusting the certificate the handshake fails and is reported; nothing crashes.
        var untrusted = try testConfiguration("rediss://:tls-pw@localhost:\(server.port)")
        untrusted.tlsConfiguration = .makeClientConfiguration()
        let refused = RedisClient(configuration: untrusted)
        let refusedStates = StateRecorder()
        refused.onStateChange(refusedStates.callback)
        refused.start()
        try await eventually("the failed verification is reported") { !refusedStates.states.isEmpty }
        #expect(!refused.isConnected)
        #expect(refusedStates.connectedCount == 0)
        await refused.shutdown()
        server.kill()
    }
}
