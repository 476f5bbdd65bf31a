import NIOCore
import NIOHTTP1

/// Builds the HTTP/1 server pipeline with Primus's defenses, for ``PrimusHTTPServer`` and the
/// raw echo server alike:
///
/// ```
/// connection guard → response encoder → request decoder → pipelining → header validation
///     → request guard → upgrade → application
/// ```
///
/// NIO's `configureHTTPServerPipeline` cannot place a handler between its decoder and its
/// upgrader, nor remove one on upgrade, so the pipeline is assembled here. The guards replace
/// NIO's `HTTPServerProtocolErrorHandler`, which answers a malformed request but never closes.
enum PrimusHTTPPipeline {
    /// Installs the HTTP handlers, then `application` (named `name`) behind them.
    ///
    /// - Parameters:
    ///   - limits: head limits and timeouts.
    ///   - maxBodyLength: the longest body accepted (`413` and close beyond it).
    ///   - upgraders: protocol upgraders (for the first request, and each later one a kept-alive connection sends).
    ///   - tracked: the connection's entry in the listener's tracker, if it has one.
    ///   - upgradeCompleted: called once the connection has switched protocols.
    ///
    /// Returns what puts the upgrade handler back for the next request of a kept-alive
    /// connection (`nil` without upgraders). NIO's upgrade handler looks at one request and
    /// leaves; clients such as aiohttp (python-socketio's `AsyncClient`) send the Engine.IO
    /// upgrade on the connection of the polling handshake, which Node's server accepts. Call it on
    /// the loop before a response ends (the pipelining handler may hand on the next request as
    /// the end is written); it does nothing while an upgrade handler is in place.
    @discardableResult
    static func install(
        on channel: any Channel,
        limits: PrimusLimits,
        maxBodyLength: Int,
        upgraders: [any HTTPServerProtocolUpgrader],
        tracked: TrackedConnection?,
        application: any RemovableChannelHandler,
        name: String,
        upgradeCompleted: @escaping (ChannelHandlerContext) -> Void
    ) throws -> ((ChannelHandlerContext) -> Void)? {
        let rules = HTTPRequestHeadRules(limits: limits, maxBodyLength: maxBodyLength)
        let connectionGuard = PrimusHTTPConnectionGuard(limits: limits, tracked: tracked)
        let encoder = HTTPResponseEncoder()
        let decoder = ByteToMessageHandler(
            HTTPRequestDecoder(leftOverBytesStrategy: upgraders.isEmpty ? .dropBytes : .forwardBytes, limitConfiguration: rules.decoderLimits)
        )
        let pipelining = HTTPServerPipelineHandler()
        let validator = NIOHTTPResponseHeadersValidator()
        let requestGuard = PrimusHTTPRequestGuard(rules: rules, connection: connectionGuard)
        var handlers: [any ChannelHandler] = [connectionGuard, encoder, decoder, pipelining, validator, requestGuard]
        let makeUpgradeHandler = {
            HTTPServerUpgradeHandler(
                upgraders: upgraders,
                httpEncoder: encoder,
                // Removed in this order: the guards before the decoder, which hands the
                // bytes after the handshake on as raw bytes when it leaves.
                extraHTTPHandlers: [connectionGuard, requestGuard, decoder, pipelining, validator],
                upgradeCompletionHandler: upgradeCompleted
            )
        }
        if !upgraders.isEmpty { handlers.append(makeUpgradeHandler()) }
        let sync = channel.pipeline.syncOperations
        try sync.addHandlers(handlers)
        try sync.addHandler(application, name: name)
        guard !upgraders.isEmpty else { return nil }
        return { context in
            let pipeline = context.pipeline.syncOperations
            guard (try? pipeline.handler(type: HTTPServerUpgradeHandler.self)) == nil else { return }
            try? pipeline.addHandler(makeUpgradeHandler(), position: .before(context.handler))
        }
    }
}
