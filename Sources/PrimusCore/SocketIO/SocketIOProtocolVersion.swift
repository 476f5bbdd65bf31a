/// The Socket.IO protocol revision a connection speaks, which follows from its Engine.IO
/// revision: Socket.IO 3 and 4 clients speak v5 on `EIO=4`, Socket.IO 1 and 2 clients speak v4
/// on `EIO=3`.
///
/// The packets are the same; what differs is the handshake: v4 connects `/` implicitly, a
/// namespace CONNECT carries its auth as a query (`0/admin?token=1,`), the server's answer has
/// no payload, and CONNECT_ERROR (v4's ERROR) carries a plain string.
public enum SocketIOProtocolVersion: Int, Sendable, Hashable, CustomStringConvertible {
    /// Socket.IO 1.x and 2.x, on Engine.IO 3.
    case v4 = 4
    /// Socket.IO 3.x and 4.x, on Engine.IO 4.
    case v5 = 5

    /// The Socket.IO revision spoken over an Engine.IO session of `version`.
    public init(engineIO version: EngineIOProtocolVersion) {
        switch version {
        case .v3: self = .v4
        case .v4: self = .v5
        }
    }

    public var description: String { "Socket.IO protocol v\(rawValue)" }
}
