/// A session as other event loops see it: its loop and the session, reachable only there.
typealias EngineIOSessionHandle = PrimusLoopHandle<EngineIOServerSession>

/// The open Engine.IO sessions of one server, by sid.
typealias EngineIOSessionRegistry = PrimusSessionRegistry<EngineIOServerSession>
