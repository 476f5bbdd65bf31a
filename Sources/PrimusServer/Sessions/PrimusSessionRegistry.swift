import NIOConcurrencyHelpers
import NIOCore

/// The open sessions of one transformer, by id, for transformers whose clients name their
/// session in each HTTP request (Engine.IO's `sid`, SockJS's session path, BrowserChannel's
/// `SID`).
///
/// Touched once per HTTP request and per session open and close, never per WebSocket message,
/// so a lock is the simplest correct choice.
public final class PrimusSessionRegistry<Session: AnyObject>: Sendable {
    private let sessions = NIOLockedValueBox<[String: PrimusLoopHandle<Session>]>([:])

    /// An empty registry.
    public init() {}

    /// The session `id`, if open.
    public func lookup(_ id: String) -> PrimusLoopHandle<Session>? {
        sessions.withLockedValue { $0[id] }
    }

    /// Adds a session unless `limit` sessions are open or the id is taken; `false` means it was
    /// not added (answer `503`, or try another id).
    public func insert(_ handle: PrimusLoopHandle<Session>, id: String, limit: Int = .max) -> Bool {
        sessions.withLockedValue { sessions in
            guard sessions.count < limit, sessions[id] == nil else { return false }
            sessions[id] = handle
            return true
        }
    }

    /// Forgets a closed session.
    public func remove(_ id: String) {
        _ = sessions.withLockedValue { $0.removeValue(forKey: id) }
    }

    /// How many sessions are open.
    public var count: Int { sessions.withLockedValue { $0.count } }
}
