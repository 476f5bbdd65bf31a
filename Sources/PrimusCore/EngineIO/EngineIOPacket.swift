public import NIOCore

/// The Engine.IO protocol revision a peer speaks (`EIO=` in the query).
public enum EngineIOProtocolVersion: Int, Sendable, Hashable, CustomStringConvertible {
    /// Engine.IO 3 (Socket.IO 2): the client pings, length-prefixed polling payloads.
    case v3 = 3
    /// Engine.IO 4 (Socket.IO 3 and 4): the server pings, `\u{1e}`-separated polling payloads.
    case v4 = 4

    /// The version named by an `EIO` query value, `nil` for anything else.
    public init?(queryValue: String?) {
        switch queryValue {
        case "4": self = .v4
        case "3": self = .v3
        default: return nil
        }
    }

    public var description: String { "EIO=\(rawValue)" }
}

/// The kind of an Engine.IO packet: the single ASCII digit that starts it.
public enum EngineIOPacketType: UInt8, Sendable, Hashable, CaseIterable {
    /// `0`: the handshake, carrying the session parameters as JSON.
    case open = 0
    /// `1`: the session ends.
    case close = 1
    /// `2`: heartbeat request (`2probe` during an upgrade).
    case ping = 2
    /// `3`: heartbeat answer (`3probe` during an upgrade).
    case pong = 3
    /// `4`: application data.
    case message = 4
    /// `5`: the client switches to the probed WebSocket.
    case upgrade = 5
    /// `6`: nothing; releases a pending long-poll.
    case noop = 6

    /// The ASCII digit on the wire.
    public var digit: UInt8 { UInt8(ascii: "0") + rawValue }

    /// The type whose digit is `byte`, if any.
    public init?(digit byte: UInt8) {
        guard byte >= UInt8(ascii: "0") else { return nil }
        self.init(rawValue: byte - UInt8(ascii: "0"))
    }
}

/// One Engine.IO packet: a type and its data.
///
/// The data is text for every type; only message packets (and, in v3, any packet) may carry
/// binary data. Message data is a ``TransportMessage`` so that it reaches the Primus parser
/// without being copied.
public struct EngineIOPacket: Sendable, Hashable {
    /// The packet type.
    public var type: EngineIOPacketType
    /// The data after the type digit (empty text when the packet has none).
    public var data: TransportMessage

    /// Creates a packet.
    public init(_ type: EngineIOPacketType, data: TransportMessage = .text(ByteBuffer())) {
        self.type = type
        self.data = data
    }

    /// A message packet carrying `data`.
    public static func message(_ data: TransportMessage) -> EngineIOPacket {
        EngineIOPacket(.message, data: data)
    }

    /// A text message packet.
    public static func message(_ text: String) -> EngineIOPacket {
        EngineIOPacket(.message, data: .text(text))
    }

    /// `1`.
    public static let close = EngineIOPacket(.close)
    /// `2`.
    public static let ping = EngineIOPacket(.ping)
    /// `3`.
    public static let pong = EngineIOPacket(.pong)
    /// `5`.
    public static let upgrade = EngineIOPacket(.upgrade)
    /// `6`.
    public static let noop = EngineIOPacket(.noop)
    /// `2probe`: the client's first packet on a WebSocket it wants to upgrade to.
    public static let pingProbe = EngineIOPacket(.ping, data: .text("probe"))
    /// `3probe`: the server's answer to `2probe`.
    public static let pongProbe = EngineIOPacket(.pong, data: .text("probe"))

    /// The data as text (lossy for binary data).
    public var text: String { data.string }

    /// Whether this is `2probe`.
    public var isProbePing: Bool { type == .ping && data.isText && data.buffer.readableBytesView.elementsEqual("probe".utf8) }
}

/// Why Engine.IO input could not be decoded. The session that received it is closed.
public struct EngineIODecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String

    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { "Engine.IO parse error: \(reason)" }
}
