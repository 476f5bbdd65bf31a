import NIOCore

/// A keyed container of ``MessagePackEncoder``: a map whose keys are the keys' string values,
/// in the order encoded.
struct MessagePackKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: MessagePackEncoding
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var node: MessagePackEncodingNode { encoder.node }

    init(encoder: MessagePackEncoding) {
        self.encoder = encoder
    }

    private func writeKey(_ key: some CodingKey) throws {
        try node.bytes.writeMessagePackString(key.stringValue)
    }

    /// Writes a key and its scalar value.
    private func pair(_ key: Key, _ write: (inout ByteBuffer) throws -> Void) throws {
        try writeKey(key)
        try write(&node.bytes)
        node.count += 1
    }

    /// The encoder of the value of `key`, for the non-throwing requirements (an error writing
    /// the key is thrown when the value is written).
    private func child(for key: some CodingKey) -> MessagePackEncoding {
        do {
            try writeKey(key)
        } catch {
            node.deferredError = error
        }
        return encoder.nested(node.appendChild(), key: key)
    }

    mutating func encodeNil(forKey key: Key) throws { try pair(key) { $0.writeMessagePackNil() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try pair(key) { $0.writeMessagePackBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { try pair(key) { try $0.writeMessagePackString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try pair(key) { $0.writeMessagePackDouble(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try pair(key) { $0.writeMessagePackFloat(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { try pair(key) { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try pair(key) { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try pair(key) { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try pair(key) { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try pair(key) { $0.writeMessagePackSigned(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try pair(key) { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try pair(key) { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try pair(key) { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try pair(key) { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try pair(key) { $0.writeMessagePackUnsigned(value) } }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try child(for: key).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        child(for: key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        child(for: key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        child(for: ValueCodingKey.super)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        child(for: key)
    }
}

/// An unkeyed container of ``MessagePackEncoder``: an array.
struct MessagePackUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let encoder: MessagePackEncoding
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { node.count }
    private var node: MessagePackEncodingNode { encoder.node }

    init(encoder: MessagePackEncoding) {
        self.encoder = encoder
    }

    private func element(_ write: (inout ByteBuffer) throws -> Void) throws {
        try write(&node.bytes)
        node.count += 1
    }

    private func child() -> MessagePackEncoding {
        let key = ValueCodingKey(index: node.count)
        return encoder.nested(node.appendChild(), key: key)
    }

    mutating func encodeNil() throws { try element { $0.writeMessagePackNil() } }
    mutating func encode(_ value: Bool) throws { try element { $0.writeMessagePackBool(value) } }
    mutating func encode(_ value: String) throws { try element { try $0.writeMessagePackString(value) } }
    mutating func encode(_ value: Double) throws { try element { $0.writeMessagePackDouble(value) } }
    mutating func encode(_ value: Float) throws { try element { $0.writeMessagePackFloat(value) } }
    mutating func encode(_ value: Int) throws { try element { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int8) throws { try element { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int16) throws { try element { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int32) throws { try element { $0.writeMessagePackSigned(Int64(value)) } }
    mutating func encode(_ value: Int64) throws { try element { $0.writeMessagePackSigned(value) } }
    mutating func encode(_ value: UInt) throws { try element { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt8) throws { try element { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt16) throws { try element { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt32) throws { try element { $0.writeMessagePackUnsigned(UInt64(value)) } }
    mutating func encode(_ value: UInt64) throws { try element { $0.writeMessagePackUnsigned(value) } }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try child().encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        child().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        child().unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        child()
    }
}
