public import NIOCore
import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.URL

/// Encodes `Encodable` values straight to MessagePack bytes, for the `msgpack` parser's
/// ``MessagePackParser/encode(encodable:for:)`` and for applications that want the bytes.
///
/// Types map to the format exactly: every integer type to the smallest integer form of its
/// value (so `UInt64.max` and `Int64.min` round-trip), `Float` to float 32, `Double` to float
/// 64, `String` to str, `Data` to bin, `Date` to the timestamp extension, `URL` to its
/// absolute string, a ``JSONValue`` as ``MessagePackWriter`` writes it, keyed containers to
/// maps with string keys in the order encoded, unkeyed ones to arrays. A value that encodes
/// nothing is an empty map, as `JSONEncoder` writes `{}`.
///
/// Nesting is bounded by ``PrimusParsers/maximumDepth``: a circular object graph throws
/// `EncodingError.invalidValue` instead of exhausting the stack.
public struct MessagePackEncoder: Sendable {
    /// Values the types being encoded can read from `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Creates an encoder.
    public init() {}

    /// The MessagePack bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try encode(value, into: &buffer)
        return buffer
    }

    /// Appends the MessagePack bytes of `value` to `buffer` (nothing on error).
    public func encode<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        let root = MessagePackEncodingNode()
        let encoder = MessagePackEncoding(node: root, codingPath: [], userInfo: userInfo, depth: 0)
        try encoder.encodeValue(value)
        var out = ByteBuffer()
        try root.write(to: &out)
        buffer.writeBuffer(&out)
    }
}

/// The `Encoder` of one value in the tree ``MessagePackEncoder`` builds; also its single
/// value container.
final class MessagePackEncoding: Encoder, SingleValueEncodingContainer {
    let node: MessagePackEncodingNode
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any]
    /// How many values enclose this one.
    let depth: Int

    init(node: MessagePackEncodingNode, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any], depth: Int) {
        self.node = node
        self.codingPath = codingPath
        self.userInfo = userInfo
        self.depth = depth
    }

    /// The encoder of a value nested in this one, in `node`.
    func nested(_ node: MessagePackEncodingNode, key: (any CodingKey)?) -> MessagePackEncoding {
        MessagePackEncoding(node: node, codingPath: key.map { codingPath + [$0] } ?? codingPath, userInfo: userInfo, depth: depth + 1)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.become(.map)
        return KeyedEncodingContainer(MessagePackKeyedEncodingContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.become(.array)
        return MessagePackUnkeyedEncodingContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: Encoding one value into this encoder's node

    /// Encodes `value` as this encoder's whole value: the types the format has a form for
    /// directly, anything else through its `encode(to:)` one level deeper.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if try encodeSpecial(value) { return }
        guard depth < PrimusParsers.maximumDepth else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(codingPath: codingPath, debugDescription: "MessagePack: value nested deeper than \(PrimusParsers.maximumDepth) (a circular reference?)")
            )
        }
        try value.encode(to: self)
    }

    /// Writes the types with a MessagePack form of their own; `false` for any other type.
    private func encodeSpecial<T: Encodable>(_ value: T) throws -> Bool {
        switch value {
        case let date as Date:
            node.become(.single)
            node.bytes.clear()
            try MessagePackTimestamp.write(date, to: &node.bytes)
        case let data as Data:
            node.become(.single)
            node.bytes.clear()
            try node.bytes.writeMessagePackBinary(data)
        case let url as URL:
            node.become(.single)
            node.bytes.clear()
            try node.bytes.writeMessagePackString(url.absoluteString)
        case let json as JSONValue:
            node.become(.single)
            node.bytes.clear()
            try MessagePackWriter.write(json, depth: depth, to: &node.bytes)
        default:
            return false
        }
        return true
    }

    /// Sets this node to one scalar.
    private func single(_ write: (inout ByteBuffer) throws -> Void) rethrows {
        node.become(.single)
        node.bytes.clear()
        try write(&node.bytes)
    }

    func encodeNil() throws { single { $0.writeMessagePackNil() } }
    func encode(_ value: Bool) throws { single { $0.writeMessagePackBool(value) } }
    func encode(_ value: String) throws { try single { try $0.writeMessagePackString(value) } }
    func encode(_ value: Double) throws { single { $0.writeMessagePackDouble(value) } }
    func encode(_ value: Float) throws { single { $0.writeMessagePackFloat(value) } }
    func encode(_ value: Int) throws { single { $0.writeMessagePackSigned(Int64(value)) } }
    func encode(_ value: Int8) throws { single { $0.writeMessagePackSigned(Int64(value)) } }
    func encode(_ value: Int16) throws { single { $0.writeMessagePackSigned(Int64(value)) } }
    func encode(_ value: Int32) throws { single { $0.writeMessagePackSigned(Int64(value)) } }
    func encode(_ value: Int64) throws { single { $0.writeMessagePackSigned(value) } }
    func encode(_ value: UInt) throws { single { $0.writeMessagePackUnsigned(UInt64(value)) } }
    func encode(_ value: UInt8) throws { single { $0.writeMessagePackUnsigned(UInt64(value)) } }
    func encode(_ value: UInt16) throws { single { $0.writeMessagePackUnsigned(UInt64(value)) } }
    func encode(_ value: UInt32) throws { single { $0.writeMessagePackUnsigned(UInt64(value)) } }
    func encode(_ value: UInt64) throws { single { $0.writeMessagePackUnsigned(value) } }
    /// A value of its own (a wrapper's), one level deeper on the same node, so that a type
    /// that encodes itself here again cannot recurse without bound.
    func encode<T: Encodable>(_ value: T) throws { try nested(node, key: nil).encodeValue(value) }
}
