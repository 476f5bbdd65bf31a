import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusCore
import PrimusServer

/// Runs a real Primus server on a free loopback port for the duration of `body`.
func withPrimusServer(
    _ configure: (inout PrimusConfiguration) -> Void = { _ in },
    setup: (Primus) -> Void = { _ in },
    fallback: @escaping PrimusHTTPFallback = { _ in .notFound },
    _ body: @Sendable (_ port: Int, _ primus: Primus) async throws -> Void
) async throws {
    var configuration = PrimusConfiguration()
    configure(&configuration)
    let primus = Primus(configuration: configuration)
    setup(primus)
    let listening = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Int.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                try await PrimusHTTPServer(
                    primus: primus,
                    port: 0,
                    onListening: { listening.succeed($0.port ?? 0) },
                    fallback: fallback
                ).run()
            } catch {
                listening.fail(error)
                throw error
            }
        }
        let port = try await listening.futureResult.get()
        do {
            try await body(port, primus)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// A plain HTTP/1.1 exchange over a fresh TCP connection (`Connection: close`).
struct RawHTTPResponse {
    var status: Int
    var headers: [String: String]
    var body: String
}

func httpRequest(
    port: Int,
    method: String = "GET",
    target: String,
    body: String = "",
    headers: [(String, String)] = []
) async throws -> RawHTTPResponse {
    let collected = NIOLockedValueBox(ByteBuffer())
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ByteCollector(collected: collected)) }
        }
        .connect(host: "127.0.0.1", port: port).get()
    var request = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    if !body.isEmpty || method == "POST" { request += "Content-Length: \(body.utf8.count)\r\n" }
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    request += "\r\n" + body
    try await channel.writeAndFlush(ByteBuffer(string: request)).get()
    // Futures ignore task cancellation, so the deadline is enforced on the event loop.
    let deadline = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    try? await channel.closeFuture.get()
    deadline.cancel()
    let text = collected.withLockedValue { String(buffer: $0) }
    guard let split = text.range(of: "\r\n\r\n") else { throw TimedOut() }
    let lines = text[..<split.lowerBound].split(separator: "\r\n")
    let status = Int(lines.first?.split(separator: " ")[1] ?? "0") ?? 0
    var parsed: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return RawHTTPResponse(status: status, headers: parsed, body: String(text[split.upperBound...]))
}

private final class ByteCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let collected: NIOLockedValueBox<ByteBuffer>

    init(collected: NIOLockedValueBox<ByteBuffer>) {
        self.collected = collected
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        _ = collected.withLockedValue { $0.writeBuffer(&buffer) }
    }
}

import Foundation
