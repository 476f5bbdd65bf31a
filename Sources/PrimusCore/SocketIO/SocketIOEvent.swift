/// A named event with its arguments: what `socket.emit("name", args…)` sends and what an
/// application's handler receives. Bytes among the arguments are ``JSONValue/binary(_:)``.
public struct SocketIOEvent: Sendable, Hashable {
    /// The namespace the event was sent on.
    public var namespace: String
    /// The event name. A numeric name (which the reference accepts) is given as JavaScript
    /// spells the number, since JavaScript's event emitters key listeners by string.
    public var name: String
    /// The arguments after the name.
    public var arguments: [JSONValue]
    /// Set when the sender waits for an acknowledgement, which must carry this id.
    public var ackID: UInt64?

    /// Creates an event.
    public init(_ name: String, arguments: [JSONValue] = [], namespace: String = SocketIOPacket.mainNamespace, ackID: UInt64? = nil) {
        self.namespace = namespace
        self.name = name
        self.arguments = arguments
        self.ackID = ackID
    }

    /// The event a decoded EVENT packet carries; `nil` for any other packet.
    public init?(_ packet: SocketIOPacket) {
        guard packet.type == .event || packet.type == .binaryEvent, let elements = packet.payload?.arrayValue else { return nil }
        switch elements.first {
        case .string(let name): self.name = name
        case .number(let number): self.name = JSONWriter.format(number)
        default: return nil
        }
        self.namespace = packet.namespace
        self.arguments = Array(elements.dropFirst())
        self.ackID = packet.ackID
    }

    /// The EVENT packet that sends this event (BINARY_EVENT once encoded, if it holds bytes).
    public var packet: SocketIOPacket {
        SocketIOPacket(.event, namespace: namespace, ackID: ackID, payload: .array([.string(name)] + arguments))
    }

    /// The answer to this event, carrying `arguments`; `nil` when no answer was asked for.
    public func acknowledgement(_ arguments: [JSONValue]) -> SocketIOAcknowledgement? {
        ackID.map { SocketIOAcknowledgement(id: $0, arguments: arguments, namespace: namespace) }
    }
}

extension SocketIOPacket {
    /// An EVENT packet: `name` and `arguments`, and `ackID` if the sender wants an answer.
    public static func event(_ name: String, _ arguments: [JSONValue] = [], namespace: String = mainNamespace, ackID: UInt64? = nil) -> SocketIOPacket {
        SocketIOEvent(name, arguments: arguments, namespace: namespace, ackID: ackID).packet
    }

    /// An ACK packet answering the event that carried `id`.
    public static func ack(_ id: UInt64, _ arguments: [JSONValue] = [], namespace: String = mainNamespace) -> SocketIOPacket {
        SocketIOAcknowledgement(id: id, arguments: arguments, namespace: namespace).packet
    }
}
