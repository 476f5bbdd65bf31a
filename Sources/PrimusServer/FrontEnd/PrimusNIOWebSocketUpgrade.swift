public import NIOCore
public import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusWebSocket
import Synchronization

/// Completes an accepted WebSocket upgrade (``PrimusWebSocketAcceptance``) through SwiftNIO's
/// own upgrade machinery, for frameworks that switch protocols with an
/// `HTTPServerProtocolUpgrader` (Vapor's `Upgrader`).
///
/// Such a framework hands over the upgraded channel, so the connection runs the standalone
/// server's WebSocket handler: the same RFC 6455 message rules (the message limit counted across
/// fragments, 1009 past it), permessage-deflate when Primus compresses and the client offered
/// it, the outbound budget, paused reads and close timeouts, and no cost per message beyond the
/// standalone one. A framework that only offers its own WebSocket type feeds the sink itself
/// instead (see ``PrimusFrontEnd/decideUpgrade(head:remoteAddress:secure:on:)``).
///
/// Make one as soon as the upgrade is accepted and keep it with the `101` response: the
/// acceptance is given back (``PrimusWebSocketAcceptance/abandoned``, on the loop it was decided
/// on) if the connection closes before it switches, or if this is released without having
/// switched (the framework dropped the response), so an admitted spark is never left behind.
public final class PrimusNIOWebSocketUpgrade: Sendable {
    private let acceptance: PrimusWebSocketAcceptance
    private let limits: PrimusLimits
    private let eventLoop: any EventLoop
    private let settled = Atomic<Bool>(false)

    /// - Parameters:
    ///   - acceptance: what ``PrimusFrontEnd/decideUpgrade(head:remoteAddress:secure:on:)`` accepted.
    ///   - eventLoop: the loop the upgrade was decided on, which must be the connection's.
    ///   - limits: the outbound budget and timeouts (``PrimusConfiguration/limits``).
    public init(_ acceptance: PrimusWebSocketAcceptance, on eventLoop: any EventLoop, limits: PrimusLimits) {
        self.acceptance = acceptance
        self.eventLoop = eventLoop
        self.limits = limits
    }

    /// The upgrader to give the framework's HTTP server.
    ///
    /// - Parameter extraHeaders: more headers for the `101` (the framework's own middleware's),
    ///   before the acceptance's and the permessage-deflate answer.
    public func protocolUpgrader(extraHeaders: HTTPHeaders = HTTPHeaders()) -> any HTTPServerProtocolUpgrader {
        let acceptance = self.acceptance
        let limits = self.limits
        return NIOWebSocketServerUpgrader(
            maxFrameSize: WebSocketsTransformer.maxFrameSize(maxLength: acceptance.maxMessageLength, compression: acceptance.compression),
            automaticErrorHandling: false,  // WebSocketTransportHandler answers decoder errors
            shouldUpgrade: { channel, head in
                var headers = extraHeaders
                headers.add(contentsOf: acceptance.headers)
                if acceptance.compression, let deflate = PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"]) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeaderValue)
                }
                // The 101 may still fail to go out: the acceptance is given back when the
                // connection closes without having switched.
                channel.closeFuture.whenComplete { _ in self.abandon() }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    guard self.switched() else {
                        throw PrimusError.protocolViolation("upgrade without an accepted handshake")
                    }
                    let deflate = acceptance.compression ? PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"]) : nil
                    try PrimusWebSocketUpgrade.install(sink: acceptance.connected(channel.eventLoop), on: channel, acceptance: acceptance, deflate: deflate, limits: limits)
                }
            }
        )
    }

    /// The connection speaks WebSocket now; `false` if the acceptance was already given back.
    private func switched() -> Bool {
        settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Gives the acceptance back unless it switched (on the loop it was decided on).
    private func abandon() {
        guard settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let abandoned = acceptance.abandoned
        if eventLoop.inEventLoop { abandoned() } else { eventLoop.execute(abandoned) }
    }

    deinit {
        abandon()
    }
}
