import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PrimusCore

/// `GET <pathname>/spec`: what the server says about itself (transformer, parser, pingInterval).
enum SpecFetcher {
    static func fetch(target: PrimusConnectionTarget, eventLoop: any EventLoop, timeout: Duration) async throws -> PrimusSpec {
        let tls = target.secure ? try NIOSSLContext(configuration: target.tlsConfiguration) : nil
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.hostIsIPAddress ? nil : target.host))
                    }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(SpecResponseHandler(target: target, promise: promise))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            promise.fail(error)
            throw PrimusError(code: .connectionFailed, message: "Could not fetch \(target.path)/spec: \(error)")
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(PrimusError(code: .timeout, message: "No answer from \(target.path)/spec in time"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        let body = try await promise.futureResult.get()
        return try PrimusSpec(json: JSONParser().decode(.text(body)))
    }
}

/// Sends the request and collects a 200 response's body.
private final class SpecResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let target: PrimusConnectionTarget
    private let promise: EventLoopPromise<ByteBuffer>
    private var body = ByteBuffer()
    private var status: HTTPResponseStatus?
    private var done = false

    init(target: PrimusConnectionTarget, promise: EventLoopPromise<ByteBuffer>) {
        self.target = target
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = target.headers
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        headers.replaceOrAdd(name: "accept", value: "application/json")
        headers.replaceOrAdd(name: "connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path + "/spec", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes <= 1 << 16 { body.writeBuffer(&chunk) }
        case .end:
            if status == .ok {
                complete(.success(body))
            } else {
                complete(.failure(PrimusError(code: .connectionFailed, message: "\(target.path)/spec answered \(status?.code ?? 0)")))
            }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(PrimusError(code: .connectionFailed, message: "The server closed before answering \(target.path)/spec")))
        context.fireChannelInactive()
    }

    private func complete(_ result: Result<ByteBuffer, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }
}

@available(*, unavailable)
extension SpecResponseHandler: Sendable {}
