#if Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusServer

/// One accepted WebSocket, from Hummingbird's upgrade to its close.
///
/// Hummingbird reads a WebSocket's frames through its async layer (`NIOAsyncChannel` and a
/// handler task), which costs more per message than all of Primus. So the session hands the
/// connection to Primus's own WebSocket handler (``PrimusServer/PrimusAdoptedWebSocket``), in
/// front of that layer: messages then go from the socket to the spark on the event loop, as on
/// the standalone server. This task only passes on the frames Hummingbird had already read (up
/// to the adoption's marker), then waits for the connection to end.
enum PrimusWebSocketSession {
    /// Runs the session until the WebSocket closes.
    static func run(
        acceptance: PrimusWebSocketAcceptance,
        claim: PrimusAcceptanceClaim,
        channel: any Channel,
        limits: PrimusLimits,
        inbound: WebSocketInboundStream
    ) async throws {
        // The connection closed before this ran: the acceptance was given back already.
        guard claim.claim() else { return }
        let loop = channel.eventLoop
        let (marker, adopted) = try await loop.submit {
            let adopted = try PrimusAdoptedWebSocket.adopt(acceptance, channel: channel, limits: limits)
            return (adopted.marker, NIOLoopBound(adopted, eventLoop: loop))
        }.get()
        // Runs on the connection's loop (the frames were read there, the spark lives there).
        try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            for try await frame in inbound {
                if frame.opcode == .binary, frame.fin, frame.data == marker {
                    adopted.value.release()
                    break
                }
                let opcode: WebSocketOpcode = switch frame.opcode {
                case .text: .text
                case .binary: .binary
                case .continuation: .continuation
                }
                adopted.value.deliverEarly(fin: frame.fin, opcode: opcode, data: frame.data)
            }
        }
        // Primus's handler has the connection now, its close handshake included.
        try? await channel.closeFuture.get()
    }
}
#endif
