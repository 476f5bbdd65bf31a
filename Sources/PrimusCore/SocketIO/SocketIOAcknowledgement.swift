/// The answer to an event that carried an ack id: what the receiver's callback was called
/// with, sent back to the emitter (`43456[1,"2"]`). Bytes among the arguments are
/// ``JSONValue/binary(_:)``.
public struct SocketIOAcknowledgement: Sendable, Hashable {
    /// The ack id of the event being answered.
    public var id: UInt64
    /// The callback's arguments (possibly none).
    public var arguments: [JSONValue]
    /// The namespace of the event being answered.
    public var namespace: String

    /// Creates an acknowledgement.
    public init(id: UInt64, arguments: [JSONValue] = [], namespace: String = SocketIOPacket.mainNamespace) {
        self.id = id
        self.arguments = arguments
        self.namespace = namespace
    }

    /// The acknowledgement a decoded ACK packet carries; `nil` for any other packet, or an ACK
    /// without an id (which answers nothing). An ACK without a payload has no arguments.
    public init?(_ packet: SocketIOPacket) {
        guard packet.type == .ack || packet.type == .binaryAck, let id = packet.ackID else { return nil }
        switch packet.payload {
        case .none: self.arguments = []
        case .array(let elements)?: self.arguments = elements
        case .some: return nil
        }
        self.id = id
        self.namespace = packet.namespace
    }

    /// The ACK packet that sends this answer (BINARY_ACK once encoded, if it holds bytes).
    public var packet: SocketIOPacket {
        SocketIOPacket(.ack, namespace: namespace, ackID: id, payload: .array(arguments))
    }
}
