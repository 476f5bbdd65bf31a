import NIOCore
import Synchronization

/// Stops a listener from accepting while it holds as many sockets as it may.
///
/// The connection tracker keeps at most ``PrimusConnectionTracker/capacity`` connections
/// admitted, but every accept takes a descriptor before the tracker sees it, and the
/// connection it evicts or refuses is closed on its own event loop, a little later. Under a
/// flood of connections those closes fall behind and descriptors pile up. This handler sits on
/// the listening channel and counts every accepted socket until it is closed; while the count
/// is at `limit` it holds back the listener's reads, so new connections wait in the kernel's
/// backlog instead of in our descriptor table, and resumes when a close brings the count down.
final class PrimusAcceptThrottle: ChannelDuplexHandler, Sendable {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    /// The most accepted sockets open at once.
    let limit: Int
    /// How many sockets one read of the listener may accept.
    let acceptsPerRead: Int
    /// Accepted sockets not yet closed. Decremented from the children's event loops.
    private let open = Atomic<Int>(0)
    /// Whether a read was held back and must be issued when a slot frees. Set on the
    /// listener's event loop, read from the children's loops to decide whether to hop there.
    /// With `open`, sequentially consistent: a close either sees the hold, or the listener
    /// sees the close's decrement right after setting it, so a hold is never forgotten.
    private let held = Atomic<Bool>(false)

    /// - Parameters:
    ///   - limit: the most sockets open at once, admitted or on their way out.
    ///   - acceptsPerRead: the listener's `maxMessagesPerRead`; a read is held back unless
    ///     that many accepts still fit under `limit`.
    init(limit: Int, acceptsPerRead: Int) {
        self.limit = max(limit, 1)
        self.acceptsPerRead = max(acceptsPerRead, 1)
    }

    /// How many accepted sockets are open.
    var openCount: Int { open.load(ordering: .relaxed) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        open.add(1, ordering: .sequentiallyConsistent)
        let listener = context.channel
        child.closeFuture.whenComplete { [self] _ in
            let now = open.subtract(1, ordering: .sequentiallyConsistent).newValue
            if now + acceptsPerRead <= limit, held.load(ordering: .sequentiallyConsistent) {
                listener.eventLoop.execute { [self] in resume(listener) }
            }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard !fits() else { return context.read() }
        held.store(true, ordering: .sequentiallyConsistent)
        // A close may have freed a slot before it could see the hold.
        if fits(), held.exchange(false, ordering: .sequentiallyConsistent) { context.read() }
    }

    /// Issues the held-back read, on the listener's event loop, once there is room.
    private func resume(_ listener: any Channel) {
        guard fits(), held.exchange(false, ordering: .sequentiallyConsistent) else { return }
        listener.read()
    }

    /// Whether one more read's worth of accepts fits under the limit.
    private func fits() -> Bool {
        open.load(ordering: .sequentiallyConsistent) + acceptsPerRead <= limit
    }
}
