/// The kind of a Socket.IO packet: the ASCII digit that starts its text part.
public enum SocketIOPacketType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `0`: joins a namespace (client), or accepts the join (server).
    case connect = 0
    /// `1`: leaves a namespace; the Engine.IO session and its other namespaces stay.
    case disconnect = 1
    /// `2`: a named event with its arguments, `["name", arg…]`.
    case event = 2
    /// `3`: the answer to an event that carried an ack id, `[arg…]`.
    case ack = 3
    /// `4`: the server refuses a namespace join (v4 calls it ERROR).
    case connectError = 4
    /// `5`: an event whose arguments hold bytes, sent as attachments after the text part.
    case binaryEvent = 5
    /// `6`: an acknowledgement whose arguments hold bytes.
    case binaryAck = 6

    /// The ASCII digit on the wire.
    public var digit: UInt8 { UInt8(ascii: "0") + rawValue }

    /// The type whose digit is `byte`, if any.
    public init?(digit byte: UInt8) {
        guard byte >= UInt8(ascii: "0") else { return nil }
        self.init(rawValue: byte - UInt8(ascii: "0"))
    }

    /// Whether attachments follow the text part (the count is written as `<n>-`).
    public var isBinary: Bool { self == .binaryEvent || self == .binaryAck }

    /// The type once the attachments are back in place: an event or an acknowledgement.
    var withoutAttachments: SocketIOPacketType {
        switch self {
        case .binaryEvent: return .event
        case .binaryAck: return .ack
        default: return self
        }
    }

    /// The type that carries `self`'s payload when it holds bytes.
    var withAttachments: SocketIOPacketType {
        switch self {
        case .event: return .binaryEvent
        case .ack: return .binaryAck
        default: return self
        }
    }

    public var description: String {
        switch self {
        case .connect: return "CONNECT"
        case .disconnect: return "DISCONNECT"
        case .event: return "EVENT"
        case .ack: return "ACK"
        case .connectError: return "CONNECT_ERROR"
        case .binaryEvent: return "BINARY_EVENT"
        case .binaryAck: return "BINARY_ACK"
        }
    }
}
