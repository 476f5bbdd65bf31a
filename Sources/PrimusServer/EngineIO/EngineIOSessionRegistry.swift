import NIOConcurrencyHelpers
import NIOCore

/// A session as other event loops see it: its loop and the session, reachable only there.
struct EngineIOSessionHandle: Sendable {
    let sid: String
    let eventLoop: any EventLoop
    let session: NIOLoopBound<EngineIOServerSession>

    /// Runs `body` with the session on its event loop (at once when already there).
    func execute(_ body: @escaping @Sendable (EngineIOServerSession) -> Void) {
        if eventLoop.inEventLoop {
            body(session.value)
        } else {
            let session = self.session
            eventLoop.execute { body(session.value) }
        }
    }
}

/// The open sessions of one server, by sid.
///
/// Touched once per HTTP request and per session open and close, never per WebSocket message,
/// so a lock is the simplest correct choice.
final class EngineIOSessionRegistry: Sendable {
    private let sessions = NIOLockedValueBox<[String: EngineIOSessionHandle]>([:])

    /// The session `sid`, if open.
    func lookup(_ sid: String) -> EngineIOSessionHandle? {
        sessions.withLockedValue { $0[sid] }
    }

    /// Adds a session unless `limit` sessions are open or the sid is taken.
    func insert(_ handle: EngineIOSessionHandle, limit: Int) -> Bool {
        sessions.withLockedValue { sessions in
            guard sessions.count < limit, sessions[handle.sid] == nil else { return false }
            sessions[handle.sid] = handle
            return true
        }
    }

    /// Forgets a closed session.
    func remove(_ sid: String) {
        _ = sessions.withLockedValue { $0.removeValue(forKey: sid) }
    }

    /// How many sessions are open.
    var count: Int { sessions.withLockedValue { $0.count } }
}
