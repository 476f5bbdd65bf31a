import NIOCore
import struct Foundation.Data

// The containers of JSONTextEncoder: each writes to its frame through the shared state,
// which first closes whatever was opened after the frame.

struct JSONTextKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// The encoder that made this container: its path and depth.
    let encoder: JSONTextEncoder
    /// The object written.
    let frame: JSONTextEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var state: JSONTextEncodingState { encoder.state }

    private func begin(_ key: Key) throws {
        try state.beginMember(frame, key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try state.check()
        try begin(key)
        state.writer.buffer.writeStaticString("null")
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try state.check()
        try begin(key)
        state.writer.buffer.writeStaticString(value ? "true" : "false")
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        try state.check()
        try begin(key)
        state.writer.writeString(value)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        try state.check()
        try begin(key)
        state.writer.writeNumber(value)
    }

    mutating func encode(_ value: Float, forKey key: Key) throws {
        try state.check()
        try begin(key)
        state.writer.writeNumber(Double(value))
    }

    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }

    private func integer(_ value: some BinaryInteger, _ key: Key) throws {
        try state.check()
        try state.writeInteger(value, codingPath: { codingPath + [key] }, begin: { try begin(key) })
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try state.check()
        if try state.writeScalar(value, codingPath: { codingPath + [key] }, begin: { try begin(key) }) { return }
        try begin(key)
        let child = encoder.child(.key(key))
        // Its text ends with its `encode(to:)`, thrown out of or not (a caught error keeps
        // what was written, as the tree keeps the node).
        defer { state.closeThrough(child) }
        try child.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        child(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        child(ValueCodingKey.super.stringValue, step: .key(ValueCodingKey.super))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        child(key)
    }

    private func child(_ key: Key) -> JSONTextEncoder {
        child(key.stringValue, step: .key(key))
    }

    /// A new member encoder left open on the stack: it is closed by the next write to this
    /// container (or anything enclosing it), and writing to it after that gives up.
    private func child(_ name: String, step: JSONTextEncoder.Step) -> JSONTextEncoder {
        guard (try? state.check()) != nil, (try? state.beginMember(frame, name)) != nil else {
            return JSONTextEncoder.closed(state, like: encoder)
        }
        return encoder.child(step)
    }
}

struct JSONTextUnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: JSONTextEncoder
    /// The array written.
    let frame: JSONTextEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { frame.count }
    private var state: JSONTextEncodingState { encoder.state }

    /// The path of the next element, for errors.
    private func nextPath() -> [any CodingKey] { codingPath + [ValueCodingKey(index: frame.count)] }

    private func begin() throws {
        try state.beginElement(frame)
    }

    mutating func encodeNil() throws {
        try state.check()
        try begin()
        state.writer.buffer.writeStaticString("null")
    }

    mutating func encode(_ value: Bool) throws {
        try state.check()
        try begin()
        state.writer.buffer.writeStaticString(value ? "true" : "false")
    }

    mutating func encode(_ value: String) throws {
        try state.check()
        try begin()
        state.writer.writeString(value)
    }

    mutating func encode(_ value: Double) throws {
        try state.check()
        try begin()
        state.writer.writeNumber(value)
    }

    mutating func encode(_ value: Float) throws {
        try state.check()
        try begin()
        state.writer.writeNumber(Double(value))
    }

    mutating func encode(_ value: Int) throws { try integer(value) }
    mutating func encode(_ value: Int8) throws { try integer(value) }
    mutating func encode(_ value: Int16) throws { try integer(value) }
    mutating func encode(_ value: Int32) throws { try integer(value) }
    mutating func encode(_ value: Int64) throws { try integer(value) }
    mutating func encode(_ value: UInt) throws { try integer(value) }
    mutating func encode(_ value: UInt8) throws { try integer(value) }
    mutating func encode(_ value: UInt16) throws { try integer(value) }
    mutating func encode(_ value: UInt32) throws { try integer(value) }
    mutating func encode(_ value: UInt64) throws { try integer(value) }

    private func integer(_ value: some BinaryInteger) throws {
        try state.check()
        try state.writeInteger(value, codingPath: nextPath, begin: begin)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.check()
        if try state.writeScalar(value, codingPath: nextPath, begin: begin) { return }
        let index = frame.count
        try begin()
        let child = encoder.child(.index(index))
        defer { state.closeThrough(child) }
        try child.encodeValue(value)
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

    private func child() -> JSONTextEncoder {
        let index = frame.count
        guard (try? state.check()) != nil, (try? begin()) != nil else {
            return JSONTextEncoder.closed(state, like: encoder)
        }
        return encoder.child(.index(index))
    }
}

struct JSONTextSingleValueContainer: SingleValueEncodingContainer {
    let encoder: JSONTextEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var state: JSONTextEncodingState { encoder.state }

    private func begin() throws {
        try state.beginLeaf(encoder.frame)
    }

    mutating func encodeNil() throws {
        try state.check()
        try begin()
        state.writer.buffer.writeStaticString("null")
    }

    mutating func encode(_ value: Bool) throws { try scalar(value) }
    mutating func encode(_ value: String) throws { try scalar(value) }
    mutating func encode(_ value: Double) throws { try scalar(value) }
    mutating func encode(_ value: Float) throws { try scalar(value) }
    mutating func encode(_ value: Int) throws { try scalar(value) }
    mutating func encode(_ value: Int8) throws { try scalar(value) }
    mutating func encode(_ value: Int16) throws { try scalar(value) }
    mutating func encode(_ value: Int32) throws { try scalar(value) }
    mutating func encode(_ value: Int64) throws { try scalar(value) }
    mutating func encode(_ value: UInt) throws { try scalar(value) }
    mutating func encode(_ value: UInt8) throws { try scalar(value) }
    mutating func encode(_ value: UInt16) throws { try scalar(value) }
    mutating func encode(_ value: UInt32) throws { try scalar(value) }
    mutating func encode(_ value: UInt64) throws { try scalar(value) }

    private func scalar<T: Encodable>(_ value: T) throws {
        try state.check()
        _ = try state.writeScalar(value, codingPath: { codingPath }, begin: begin)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.check()
        // The top-level value's bytes or a binary ``JSONValue`` would be a binary message,
        // which only the tree's final value decides.
        if encoder.frame.below == nil, T.self == Data.self || T.self == JSONValue.self { throw state.fallBack() }
        if try state.writeScalar(value, codingPath: { codingPath }, begin: begin) { return }
        // A wrapper's value is a level of its own, so a type that encodes itself through a
        // single-value container still meets the depth limit.
        try encoder.inner().encodeValue(value)
    }
}
