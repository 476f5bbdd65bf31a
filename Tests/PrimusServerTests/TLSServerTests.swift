import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PrimusCore
@testable import PrimusServer
import Testing

/// The standalone server with ``PrimusTLS``: a throwaway certificate made by the `openssl`
/// command line, real TLS clients on loopback.
@Suite("PrimusHTTPServer over TLS", .timeLimit(.minutes(1)))
struct TLSServerTests {
    @Test("https: the spec and the library are served over TLS")
    func servesHTTPS() async throws {
        let certificate = try ThrowawayCertificate()
        let primus = Primus(configuration: PrimusConfiguration())
        try await withTLSServer(primus: primus, tls: certificate.tls()) { port in
            let client = try await TLSTestClient.connect(port: port, trusting: certificate)
            try await client.send("GET /primus/spec HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            let answer = try await client.readToEnd()
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(answer.contains("\"transformer\":\"websockets\""))
        }
        await primus.shutdown()
    }

    @Test("wss: an upgrade over TLS makes a spark that reports secure")
    func webSocketOverTLSIsSecure() async throws {
        let certificate = try ThrowawayCertificate()
        let primus = Primus(configuration: PrimusConfiguration())
        let secure = NIOLockedValueBox<Bool?>(nil)
        primus.onConnection { spark in secure.withLockedValue { $0 = spark.address.secure } }
        try await withTLSServer(primus: primus, tls: certificate.tls()) { port in
            let client = try await TLSTestClient.connect(port: port, trusting: certificate)
            try await client.send(
                "GET /primus?_primuscb=x HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            try await client.waitFor("101 Switching Protocols")
            try await eventually("the spark connects") { secure.withLockedValue { $0 } != nil }
            #expect(secure.withLockedValue { $0 } == true)
            client.close()
        }
        await primus.shutdown()
    }

    @Test("failed handshakes and plain HTTP to the TLS port close cleanly and free their connection slot")
    func failedHandshakesCloseAndFreeTheirSlot() async throws {
        let certificate = try ThrowawayCertificate()
        let primus = Primus(configuration: PrimusConfiguration())
        let tls = try certificate.tls()
        let tracker = PrimusConnectionTracker(capacity: 8)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PrimusHTTPServer.initializeConnection(
                        channel, primus: primus, fallback: { _ in .notFound }, maxBodyLength: 1 << 20, tracker: tracker, tls: tls
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)

        // Plain HTTP: not a TLS record, the server hangs up without answering in clear text.
        let plain = try await TLSTestClient.connect(port: port, trusting: nil)
        try await plain.send("GET /primus/spec HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let plainAnswer = try await plain.readToEnd()
        #expect(!plainAnswer.contains("HTTP/1.1 200"))

        // Garbage that looks like nothing at all.
        let garbage = try await TLSTestClient.connect(port: port, trusting: nil)
        try await garbage.send(String(repeating: "\u{16}\u{03}\u{01}\u{00}\u{05}hello", count: 4))
        try await garbage.readToEnd()

        // A client that does not trust the certificate aborts the handshake.
        let untrusting = try await TLSTestClient.connect(port: port, trusting: nil, verify: true)
        #expect(await untrusting.handshakeFailed())

        try await eventually("every refused connection left the tracker (now \(tracker.count))") { tracker.count == 0 }

        // The listener carries on.
        let good = try await TLSTestClient.connect(port: port, trusting: certificate)
        try await good.send("GET /primus/spec HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(try await good.readToEnd().hasPrefix("HTTP/1.1 200 OK\r\n"))
        try await eventually("the good connection left the tracker") { tracker.count == 0 }

        try await listener.close()
        await primus.shutdown()
    }

    @Test("PrimusTLS reports a key file that cannot be read")
    func missingFilesThrow() throws {
        let certificate = try ThrowawayCertificate()
        #expect(throws: (any Error).self) {
            try PrimusTLS(certificateChainFile: certificate.certificatePath, privateKeyFile: certificate.directory + "/missing.pem")
        }
    }
}

/// Runs a ``PrimusHTTPServer`` with `tls` on a free loopback port for `body`.
func withTLSServer(primus: Primus, tls: PrimusTLS, _ body: (Int) async throws -> Void) async throws {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let server = PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: 0, tls: tls, onListening: { address in
        continuation.yield(address.port ?? 0)
    })
    let task = Task { try await server.run() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw TLSTestClient.Failure(description: "the server did not listen") }
    do {
        try await body(port)
    } catch {
        task.cancel()
        _ = await task.result
        throw error
    }
    task.cancel()
    _ = await task.result
}

/// A self-signed certificate for `localhost` and 127.0.0.1, valid for a day, in a temporary
/// directory removed when the value is dropped.
final class ThrowawayCertificate: Sendable {
    let directory: String
    let certificatePath: String
    let keyPath: String

    struct Unavailable: Error {}

    init() throws {
        let openssl = try #require(
            ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        )
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("primus-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        certificatePath = directory + "/cert.pem"
        keyPath = directory + "/key.pem"
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
        guard process.terminationStatus == 0 else { throw Unavailable() }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func tls() throws -> PrimusTLS {
        try PrimusTLS(certificateChainFile: certificatePath, privateKeyFile: keyPath)
    }

    func certificates() throws -> [NIOSSLCertificate] {
        try NIOSSLCertificate.fromPEMFile(certificatePath)
    }
}

/// A TCP client that speaks TLS when given a certificate to trust (or `verify`), else plain
/// bytes; it collects what arrives and reports when the connection ends.
final class TLSTestClient: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let channel: any Channel
    private let received: NIOLockedValueBox<ByteBuffer>
    private let tlsError: NIOLockedValueBox<(any Error)?>

    private init(channel: any Channel, received: NIOLockedValueBox<ByteBuffer>, tlsError: NIOLockedValueBox<(any Error)?>) {
        self.channel = channel
        self.received = received
        self.tlsError = tlsError
    }

    /// Connects; with `trusting` a certificate, TLS that trusts it; with `verify` and no
    /// certificate, TLS that trusts only the system roots; otherwise plain TCP.
    static func connect(port: Int, trusting certificate: ThrowawayCertificate?, verify: Bool = false) async throws -> TLSTestClient {
        let context: NIOSSLContext?
        if let certificate {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try certificate.certificates())
            context = try NIOSSLContext(configuration: configuration)
        } else if verify {
            context = try NIOSSLContext(configuration: .makeClientConfiguration())
        } else {
            context = nil
        }
        let received = NIOLockedValueBox(ByteBuffer())
        let tlsError = NIOLockedValueBox<(any Error)?>(nil)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                    }
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, error: tlsError))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TLSTestClient(channel: channel, received: received, tlsError: tlsError)
    }

    var text: String { received.withLockedValue { String(buffer: $0) } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Waits for the connection to end (at most 5 s) and returns all that was received.
    @discardableResult
    func readToEnd() async throws -> String {
        let channel = self.channel
        let timedOut = NIOLockedValueBox(false)
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(10)) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        deadline.cancel()
        if timedOut.withLockedValue({ $0 }) { throw Failure(description: "the server kept the connection open; got \(text)") }
        return text
    }

    /// Waits until `fragment` arrived (at most 5 s).
    func waitFor(_ fragment: String) async throws {
        try await eventually("\"\(fragment)\" (got \(text))") { self.text.contains(fragment) }
    }

    /// Whether the TLS handshake failed (waits for the connection to end).
    func handshakeFailed() async -> Bool {
        _ = try? await readToEnd()
        return tlsError.withLockedValue { $0 } != nil
    }

    func close() { channel.close(promise: nil) }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<ByteBuffer>
        let error: NIOLockedValueBox<(any Error)?>

        init(received: NIOLockedValueBox<ByteBuffer>, error: NIOLockedValueBox<(any Error)?>) {
            self.received = received
            self.error = error
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received.withLockedValue { _ = $0.writeBuffer(&buffer) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.error.withLockedValue { if $0 == nil { $0 = error } }
            context.close(promise: nil)
        }
    }
}

/// Polls `condition` every 5 ms until it holds, or throws after 5 s.
private func eventually(_ what: String, _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TLSTestClient.Failure(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
