import NIOConcurrencyHelpers
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The open connections of one listener, capped at ``PrimusLimits/maxConnections``.
///
/// When full, the connection idle longest (never sent a byte, or an idle keep-alive) is closed to
/// admit the new one, so idle sockets cannot lock out real clients; when none is idle the new one
/// is refused. The lock is taken once per accept and once per close; each connection reports its
/// idleness through its own atomic, without the lock.
final class PrimusConnectionTracker: Sendable {
    /// The most connections open at once.
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connections: [UInt64: TrackedConnection] = [:]
        var nextID: UInt64 = 0
    }

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// A tracker for `limits`: ``PrimusLimits/maxConnections``, or the open-file limit less 64.
    convenience init(limits: PrimusLimits) {
        self.init(capacity: limits.maxConnections ?? Self.defaultCapacity())
    }

    /// How many connections are tracked.
    var count: Int { state.withLockedValue { $0.connections.count } }

    /// Admits a new connection, evicting the longest-idle one when full; `nil` when the new
    /// connection must be refused (full, and every connection has a request in progress).
    func admit(_ channel: any Channel, now: NIODeadline = .now()) -> TrackedConnection? {
        let (admitted, evicted) = state.withLockedValue { state -> (TrackedConnection?, TrackedConnection?) in
            var evicted: TrackedConnection?
            if state.connections.count >= capacity {
                let candidates = state.connections.values.lazy.map { ($0.id, $0.idleSince) }
                guard let victim = Self.longestIdle(candidates) else { return (nil, nil) }
                evicted = state.connections.removeValue(forKey: victim)
            }
            state.nextID &+= 1
            let connection = TrackedConnection(id: state.nextID, channel: channel, idleSince: now)
            state.connections[connection.id] = connection
            return (connection, evicted)
        }
        evicted?.channel.close(promise: nil)
        if let admitted {
            let id = admitted.id
            channel.closeFuture.whenComplete { [self] _ in remove(id) }
        }
        return admitted
    }

    /// Every open connection (for draining at shutdown).
    var channels: [any Channel] { state.withLockedValue { $0.connections.values.map(\.channel) } }

    private func remove(_ id: UInt64) {
        _ = state.withLockedValue { $0.connections.removeValue(forKey: id) }
    }

    /// Of `(id, idle since)` pairs, the id idle the longest; `nil` when none is idle.
    static func longestIdle(_ candidates: some Sequence<(UInt64, NIODeadline?)>) -> UInt64? {
        var best: (id: UInt64, since: NIODeadline)?
        for (id, since) in candidates {
            guard let since else { continue }
            if best == nil || since < best!.since { best = (id, since) }
        }
        return best?.id
    }

    /// The default cap: the soft open-file limit less a reserve of 64 descriptors for the
    /// listener, logs, files the application opens and outgoing connections.
    static func defaultCapacity() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        let status = getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        // Unlimited (RLIM_INFINITY, whose spelling differs by platform) or unreadable: no
        // descriptor budget to protect, so a cap far above what one process serves.
        guard status == 0, limit.rlim_cur < rlim_t(Int32.max) else { return 1 << 20 }
        return max(Int(limit.rlim_cur) - 64, 1)
    }
}

/// One tracked connection: its channel (to evict it) and whether, and since when, it is idle.
final class TrackedConnection: Sendable {
    let id: UInt64
    let channel: any Channel
    /// Idle since this uptime in nanoseconds plus one; `0` while a request is in progress.
    private let idleSinceStorage: Synchronization.Atomic<UInt64>

    init(id: UInt64, channel: any Channel, idleSince: NIODeadline) {
        self.id = id
        self.channel = channel
        self.idleSinceStorage = Atomic(idleSince.uptimeNanoseconds &+ 1)
    }

    /// Since when the connection has been idle; `nil` while a request is in progress.
    var idleSince: NIODeadline? {
        let stored = idleSinceStorage.load(ordering: .relaxed)
        return stored == 0 ? nil : NIODeadline.uptimeNanoseconds(stored &- 1)
    }

    /// Records that the connection is idle since `since` (`nil`: busy, never to be evicted).
    func setIdle(since: NIODeadline?) {
        idleSinceStorage.store(since.map { $0.uptimeNanoseconds &+ 1 } ?? 0, ordering: .relaxed)
    }
}

/// Closes a connection the tracker refused as soon as it is active.
final class RefusedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RefusedConnectionHandler: Sendable {}
