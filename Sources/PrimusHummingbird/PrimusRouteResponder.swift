#if Hummingbird
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOHTTP1
import PrimusServer

/// The route every request under Primus's pathname reaches (after the router's middleware):
/// a plain request is served by ``PrimusServer/PrimusFrontEnd/serve(head:body:remoteAddress:secure:on:)``,
/// an upgrade request (only the WebSocket router sees those) is decided by
/// ``PrimusServer/PrimusFrontEnd/decideUpgrade(head:remoteAddress:secure:on:)``.
struct PrimusRouteResponder<Context: PrimusRequestContext>: HTTPResponder {
    /// How an accepted upgrade is handed to Hummingbird's WebSocket (needs a
    /// `WebSocketRequestContext`, so it is made where the context is known to be one).
    struct Upgrade: Sendable {
        let accept: @Sendable (Request, Context, PrimusWebSocketAcceptance, PrimusAcceptanceClaim) async throws -> Response
    }

    let mount: HummingbirdPrimus
    let secure: Bool
    let upgrade: Upgrade?

    private var frontEnd: PrimusFrontEnd { mount.frontEnd }

    func respond(to request: Request, context: Context) async throws -> Response {
        let head = PrimusHTTPTypesConversion.head(of: request.head)
        let channel = context.channel
        // Hummingbird answers an upgrade request on a plain connection itself (a redirect), so
        // one with `Upgrade: websocket` here comes from the WebSocket router.
        if let upgrade, request.headers[.upgrade]?.lowercased() == "websocket" {
            return try await decide(head: head, request: request, context: context, channel: channel, upgrade: upgrade)
        }
        let activity = mount.activity
        activity.began()
        let answer = await frontEnd.serve(
            head: head,
            body: request.body,
            remoteAddress: context.remoteAddress,
            secure: secure,
            on: channel.eventLoop
        )
        return Self.response(for: answer, activity: activity, closing: answer.closesConnection ? channel : nil)
    }

    private func decide(head: HTTPRequestHead, request: Request, context: Context, channel: any Channel, upgrade: Upgrade) async throws -> Response {
        let decision = try await frontEnd.decideUpgrade(head: head, remoteAddress: context.remoteAddress, secure: secure, on: channel.eventLoop).get()
        switch decision {
        case .refuse(let refusal):
            await PrimusUpgradeRefusalWriter.install(refusal, on: channel)
            return PrimusHTTPTypesConversion.response(of: refusal)
        case .accept(let acceptance):
            // If Hummingbird never switches the connection (it closes first), the spark the
            // transformer admitted is given back.
            let claim = PrimusAcceptanceClaim()
            channel.closeFuture.whenComplete { _ in
                if claim.claim() { acceptance.abandoned() }
            }
            return try await upgrade.accept(request, context, acceptance, claim)
        }
    }

    /// Primus's answer as a Hummingbird response; a streamed body is written part by part, each
    /// as it comes (Hummingbird flushes every write). The request counts as served (`activity`)
    /// once its body is written.
    ///
    /// An answer that closes the connection (`413` for a body over the limit) closes `closing`
    /// once written: Hummingbird closes only when the request asked, and would otherwise read
    /// the rest of a refused body. The close is queued on the connection's loop after the
    /// answer's last write, so the answer goes out first.
    static func response(for answer: PrimusFrontEndAnswer, activity: PrimusRequestActivity, closing: (any Channel)? = nil) -> Response {
        let status = PrimusHTTPTypesConversion.status(of: answer.status)
        let headers = PrimusHTTPTypesConversion.fields(of: answer.headers)
        switch answer.body {
        case .bytes(let bytes):
            return Response(
                status: status,
                headers: headers,
                body: ResponseBody(contentLength: bytes.readableBytes) { writer in
                    defer { activity.ended() }
                    try await writer.write(bytes)
                    try await writer.finish(nil)
                    closing?.close(promise: nil)
                }
            )
        case .stream(let stream):
            return Response(
                status: status,
                headers: headers,
                body: ResponseBody { writer in
                    defer { activity.ended() }
                    do {
                        for await part in stream {
                            try await writer.write(part)
                        }
                        try await writer.finish(nil)
                        closing?.close(promise: nil)
                    } catch {
                        stream.peerGone()
                        throw error
                    }
                }
            )
        }
    }
}
#endif
