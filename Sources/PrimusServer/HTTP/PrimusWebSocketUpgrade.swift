import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// What one connection's WebSocket upgrade decided, shared by its upgrader and its HTTP handler
/// on the connection's event loop: a refusal waits here until the HTTP handler answers the
/// request (the upgrader cannot write an answer itself), an acceptance until the pipeline
/// switches protocols.
final class PrimusUpgradeState {
    /// The answer to the upgrade request that was refused, written by ``PrimusHTTPHandler``.
    var refusal: PrimusHTTPResponse?
    /// The accepted upgrade, until the connection speaks WebSocket.
    var acceptance: PrimusWebSocketAcceptance?
    /// The permessage-deflate parameters agreed in the `101`.
    var deflate: PerMessageDeflateParameters?
    /// Gives the accepted upgrade back if the connection closes before it switches.
    var abandonment: PrimusUpgradeAbandonment?
}

@available(*, unavailable)
extension PrimusUpgradeState: Sendable {}

/// Gives back what a transformer reserved for an accepted upgrade (its spark) when the
/// connection closes before it switches to WebSocket (the `101` could not be written).
///
/// The connection's close callback holds this, not the ``PrimusUpgradeState``: a callback lives
/// as long as the connection, and this is all an upgraded connection keeps of its handshake (one
/// object, whose closure is dropped at the switch).
final class PrimusUpgradeAbandonment {
    private var abandoned: (@Sendable () -> Void)?
    private var closed = false

    init(_ abandoned: @escaping @Sendable () -> Void) {
        self.abandoned = abandoned
    }

    /// The connection switched to WebSocket: nothing to give back. `false` if it already closed
    /// (the acceptance was given back, and must not be used).
    func switched() -> Bool {
        abandoned = nil
        return !closed
    }

    /// The connection closed: gives the acceptance back unless it switched.
    func connectionClosed() {
        closed = true
        let abandoned = self.abandoned
        self.abandoned = nil
        abandoned?()
    }
}

@available(*, unavailable)
extension PrimusUpgradeAbandonment: Sendable {}

/// The standalone front-end's WebSocket upgrade: every transformer's upgrades go through it.
///
/// For a `GET` with `Upgrade: websocket` under the pathname it runs the middleware (upgrade
/// kind), then asks the transformer (``PrimusServerTransformer/webSocketHandshake(_:on:primus:)``);
/// a refusal from either is answered as plain HTTP with `Connection: close`. An accepted one
/// gets its `101` and a ``WebSocketTransportHandler`` delivering to the transformer's sink.
enum PrimusWebSocketUpgrade {
    /// The upgrader for one connection.
    static func upgrader(
        for channel: any Channel,
        primus: Primus,
        secure: Bool,
        state: NIOLoopBound<PrimusUpgradeState>
    ) -> NIOWebSocketServerUpgrader {
        let configuration = primus.configuration
        let maxFrameSize = WebSocketsTransformer.maxFrameSize(maxLength: configuration.maxLength, compression: configuration.compression)
        return NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            automaticErrorHandling: false,  // WebSocketTransportHandler answers decoder errors
            shouldUpgrade: { channel, head in
                decide(head, channel: channel, primus: primus, secure: secure, state: state)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    let state = state.value
                    let acceptance = state.acceptance
                    let switched = state.abandonment?.switched() ?? false
                    state.acceptance = nil
                    state.abandonment = nil
                    guard let acceptance, switched else {
                        throw PrimusError.protocolViolation("upgrade without an accepted handshake")
                    }
                    let sink = acceptance.connected(channel.eventLoop)
                    try install(sink: sink, on: channel, acceptance: acceptance, deflate: state.deflate, limits: configuration.limits)
                }
            }
        )
    }

    private static func decide(
        _ head: HTTPRequestHead,
        channel: any Channel,
        primus: Primus,
        secure: Bool,
        state: NIOLoopBound<PrimusUpgradeState>
    ) -> EventLoopFuture<HTTPHeaders?> {
        let request = PrimusHTTPRequest(head: head, remoteAddress: channel.remoteAddress)
        guard primus.owns(path: request.path) else { return channel.eventLoop.makeSucceededFuture(nil) }
        let eventLoop = channel.eventLoop
        let promise = eventLoop.makePromise(of: HTTPHeaders?.self)
        let context = PrimusMiddlewareContext(kind: .upgrade, request: request, secure: secure, primus: primus)
        primus.runMiddleware(context, on: eventLoop) { result in
            switch result {
            case .respond(let response):
                state.value.refusal = closing(response)
                promise.succeed(nil)
            case .proceed(let context):
                switch primus.transformer.webSocketHandshake(context, on: eventLoop, primus: primus) {
                case .refuse(let response):
                    state.value.refusal = closing(response.addingMiddlewareHeaders(context.responseHeaders))
                    promise.succeed(nil)
                case .accept(let acceptance):
                    var headers = acceptance.headers
                    if acceptance.compression, let deflate = PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"]) {
                        state.value.deflate = deflate
                        headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeaderValue)
                    }
                    state.value.acceptance = acceptance
                    let abandonment = PrimusUpgradeAbandonment(acceptance.abandoned)
                    state.value.abandonment = abandonment
                    // Accepted but never switched (the 101 could not be written): give back
                    // what the transformer reserved. On the loop (this completion runs there).
                    channel.closeFuture.assumeIsolated().whenComplete { _ in abandonment.connectionClosed() }
                    promise.succeed(headers)
                }
            }
        }
        return promise.futureResult
    }

    /// Puts the frame handler for `sink` on the channel; generic so the handler calls the sink's
    /// concrete type (a ``Spark``) directly. Framework front-ends that hand over the upgraded
    /// channel use it too (``PrimusNIOWebSocketUpgrade``).
    static func install<Sink: SparkTransportSink>(
        sink: Sink,
        on channel: any Channel,
        acceptance: PrimusWebSocketAcceptance,
        deflate: PerMessageDeflateParameters?,
        limits: PrimusLimits
    ) throws {
        let handler = WebSocketTransportHandler(sink: sink, maxMessageLength: acceptance.maxMessageLength, deflate: deflate, limits: limits)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// A refusal of an upgrade closes the connection, as Primus's raw answers do (an answer
    /// that already says so keeps its header order).
    static func closing(_ response: PrimusHTTPResponse) -> PrimusHTTPResponse {
        guard !response.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) else { return response }
        var response = response
        response.headers.replaceOrAdd(name: "connection", value: "close")
        return response
    }
}
