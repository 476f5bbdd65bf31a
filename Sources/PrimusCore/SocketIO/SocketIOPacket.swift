import NIOCore

/// One Socket.IO packet, as the server and the client exchange it on one Engine.IO session.
///
/// The payload is a ``JSONValue`` in which bytes are ``JSONValue/binary(_:)`` leaves, wherever
/// they sit (`["upload", {"file": <bytes>}]`). ``SocketIOPacketEncoder`` lifts them out into
/// attachments and ``SocketIOPacketDecoder`` puts them back, so applications hand bytes in and
/// get bytes out without seeing placeholders.
///
/// A decoded packet that had attachments has type ``SocketIOPacketType/event`` or
/// ``SocketIOPacketType/ack`` (as the reference parser reports it); the encoder picks the
/// binary type again when the payload holds bytes.
public struct SocketIOPacket: Sendable, Hashable {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace, `/` by default; it is left out of the wire form when it is `/`.
    public var namespace: String
    /// The acknowledgement id of an event that wants an answer, or of the answer itself.
    /// Ids are JavaScript numbers on the other side, so a decoded id is below 2^53.
    public var ackID: UInt64?
    /// The JSON payload, `nil` when the packet has none (`41`, `40/admin,`).
    public var payload: JSONValue?

    /// Creates a packet.
    public init(_ type: SocketIOPacketType, namespace: String = "/", ackID: UInt64? = nil, payload: JSONValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        self.payload = payload
    }

    /// `/`: the namespace every client joins unless it names another.
    public static let mainNamespace = "/"
}

extension SocketIOPacket: CustomStringConvertible {
    /// The text part with bytes shown as placeholders; for logs and test failures.
    public var description: String {
        let encoded = SocketIOPacketEncoder.encode(self, version: .v5)
        let text = String(buffer: encoded.text)
        return encoded.attachments.isEmpty ? text : "\(text) + \(encoded.attachments.count) attachment(s)"
    }
}

extension JSONValue {
    /// Whether bytes sit anywhere in this value, so that it must travel with attachments.
    var containsBinary: Bool {
        switch self {
        case .binary: return true
        case .array(let elements): return elements.contains { $0.containsBinary }
        case .object(let members): return members.contains { $0.value.containsBinary }
        case .null, .bool, .number, .string, .date, .extension: return false
        }
    }
}
