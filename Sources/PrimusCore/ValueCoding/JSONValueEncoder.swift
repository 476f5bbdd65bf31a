import NIOCore
import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.URL

/// Encodes any `Encodable` value straight to a ``JSONValue``, with no JSON text in between, so
/// a parser that writes ``JSONValue``s (BinaryPack, EJSON, a custom one) gets typed messages
/// for free and keeps what JSON text would lose.
///
/// - `Date` becomes ``JSONValue/date(_:)`` and `Data` becomes ``JSONValue/binary(_:)``, so the
///   binary parsers carry them natively; `[UInt8]` stays an array of numbers, as it is an array.
/// - Numbers are `Double`, as in JavaScript. Integers beyond 2^53 lose precision there, so an
///   integer that a `Double` cannot hold exactly is an error rather than a silently different
///   number (2^60 encodes, 2^53 + 1 does not).
/// - Keyed containers keep the order their keys were encoded in (``JSONObject``).
/// - A ``JSONValue`` inside the value is taken as it is.
/// - Nesting deeper than ``PrimusParsers/maximumDepth`` (a circular class graph is infinitely
///   deep) throws ``PrimusError/encodingFailed(_:)`` instead of exhausting the stack.
public struct JSONValueEncoder: Sendable {
    /// Passed to the values' `encode(to:)` as the encoder's `userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// An encoder with no `userInfo`.
    public init() {}

    /// The ``JSONValue`` that `value` encodes to.
    public func encode<T: Encodable>(_ value: T) throws(PrimusError) -> JSONValue {
        if let value = value as? JSONValue { return value }
        let context = ValueEncodingContext(userInfo: userInfo)
        let root = EncodedNode()
        do {
            try ValueEncoder(node: root, codingPath: [], depth: 0, context: context).encodeValue(value)
            if let failure = context.failure { throw failure }
        } catch {
            throw PrimusError.encodingFailed(ValueCodingText.describe(context.failure ?? error))
        }
        guard root.kind != .empty else {
            throw PrimusError.encodingFailed("\(T.self) did not encode any value")
        }
        return root.resolved()
    }
}

/// What every encoder of one `encode` call shares: the user info, and the first failure met
/// where the `Encoder` API cannot throw (a container asked for too deep).
final class ValueEncodingContext {
    let userInfo: [CodingUserInfoKey: Any]
    var failure: (any Error)?

    init(userInfo: [CodingUserInfoKey: any Sendable]) {
        var plain: [CodingUserInfoKey: Any] = [:]
        for (key, value) in userInfo { plain[key] = value }
        self.userInfo = plain
    }

    /// Records the first failure; every later encode call throws it.
    func fail(_ error: any Error) {
        if failure == nil { failure = error }
    }

    func checkFailure() throws {
        if let failure { throw failure }
    }

    /// Whether a value or container at `depth` is within the limit; records the failure if not.
    func admits(depth: Int, codingPath: [any CodingKey]) -> Bool {
        guard failure == nil else { return false }
        guard depth > PrimusParsers.maximumDepth else { return true }
        fail(
            EncodingError.invalidValue(
                depth,
                EncodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "value nested deeper than \(PrimusParsers.maximumDepth) levels (a circular reference?)"
                )
            )
        )
        return false
    }
}

/// One value under construction: a finished value, or a container whose members may still be
/// written through nested containers and super encoders.
final class EncodedNode {
    enum Kind { case empty, leaf, array, object }
    enum Slot {
        case value(JSONValue)
        case node(EncodedNode)
    }

    private(set) var kind = Kind.empty
    private var leaf = JSONValue.null
    private var elements: [Slot] = []
    private var keys: [String] = []
    private var members: [String: Slot] = [:]

    func setLeaf(_ value: JSONValue) {
        kind = .leaf
        leaf = value
        elements = []
        keys = []
        members = [:]
    }

    /// Makes this an object, keeping the members of an earlier keyed container.
    func becomeObject() {
        guard kind != .object else { return }
        setLeaf(.null)
        kind = .object
    }

    /// Makes this an array, keeping the elements of an earlier unkeyed container.
    func becomeArray() {
        guard kind != .array else { return }
        setLeaf(.null)
        kind = .array
    }

    var count: Int { elements.count }

    func append(_ value: JSONValue) { elements.append(.value(value)) }

    func appendNode() -> EncodedNode {
        let node = EncodedNode()
        elements.append(.node(node))
        return node
    }

    /// Sets `key`; a key set again keeps its first position, as in ``JSONObject``.
    func set(_ key: String, _ value: JSONValue) { set(key, slot: .value(value)) }

    func memberNode(_ key: String) -> EncodedNode {
        let node = EncodedNode()
        set(key, slot: .node(node))
        return node
    }

    private func set(_ key: String, slot: Slot) {
        if members.updateValue(slot, forKey: key) == nil { keys.append(key) }
    }

    /// The finished value. Recursion is bounded: nodes nest only as deep as the encoders that
    /// made them, which the depth limit bounds.
    func resolved() -> JSONValue {
        switch kind {
        case .empty: return .object([:])
        case .leaf: return leaf
        case .array: return .array(elements.map(Self.resolve))
        case .object:
            var object = JSONObject()
            object.reserveCapacity(keys.count)
            for key in keys {
                if let slot = members[key] { object[key] = Self.resolve(slot) }
            }
            return .object(object)
        }
    }

    private static func resolve(_ slot: Slot) -> JSONValue {
        switch slot {
        case .value(let value): return value
        case .node(let node): return node.resolved()
        }
    }
}

/// Values that map to one ``JSONValue`` without a container: the scalars, and the Foundation
/// types the binary parsers carry natively.
protocol ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) throws -> JSONValue
}

extension Bool: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .bool(self) }
}

extension String: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .string(self) }
}

extension Double: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .number(self) }
}

extension Float: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .number(Double(self)) }
}

extension JSONValue: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { self }
}

extension Date: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .date(self) }
}

extension Data: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .binary(ByteBuffer(bytes: self)) }
}

extension URL: ValueBoxable {
    func boxed(at codingPath: [any CodingKey]) -> JSONValue { .string(absoluteString) }
}

/// Integers become `Double`s only when the `Double` holds them exactly.
protocol ExactlyBoxableInteger: BinaryInteger, ValueBoxable {}

extension ExactlyBoxableInteger {
    func boxed(at codingPath: [any CodingKey]) throws -> JSONValue {
        guard let number = Double(exactly: self) else {
            throw EncodingError.invalidValue(
                self,
                EncodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "\(self) is beyond 2^53 and has no exact Double (JavaScript number) form"
                )
            )
        }
        return .number(number)
    }
}

extension Int: ExactlyBoxableInteger {}
extension Int8: ExactlyBoxableInteger {}
extension Int16: ExactlyBoxableInteger {}
extension Int32: ExactlyBoxableInteger {}
extension Int64: ExactlyBoxableInteger {}
extension UInt: ExactlyBoxableInteger {}
extension UInt8: ExactlyBoxableInteger {}
extension UInt16: ExactlyBoxableInteger {}
extension UInt32: ExactlyBoxableInteger {}
extension UInt64: ExactlyBoxableInteger {}

/// The `Encoder` handed to `encode(to:)`: it writes into one ``EncodedNode``.
final class ValueEncoder: Encoder {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    /// How many values enclose this one (each `encode(to:)` and nested container is a level).
    let depth: Int
    let context: ValueEncodingContext

    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    init(node: EncodedNode, codingPath: [any CodingKey], depth: Int, context: ValueEncodingContext) {
        self.node = node
        self.codingPath = codingPath
        self.depth = depth
        self.context = context
    }

    /// Encodes `value` into this encoder's node: directly when it is a scalar or a natively
    /// carried type, else through its `encode(to:)`.
    func encodeValue<T: Encodable>(_ value: T) throws {
        try context.checkFailure()
        if let boxable = value as? any ValueBoxable {
            node.setLeaf(try boxable.boxed(at: codingPath))
            return
        }
        guard context.admits(depth: depth, codingPath: codingPath) else { try context.checkFailure(); return }
        try value.encode(to: self)
        try context.checkFailure()
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        guard context.admits(depth: depth, codingPath: codingPath) else {
            return KeyedEncodingContainer(KeyedValueEncodingContainer(node: EncodedNode(), encoder: self))
        }
        node.becomeObject()
        return KeyedEncodingContainer(KeyedValueEncodingContainer(node: node, encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        guard context.admits(depth: depth, codingPath: codingPath) else {
            return UnkeyedValueEncodingContainer(node: EncodedNode(), encoder: self)
        }
        node.becomeArray()
        return UnkeyedValueEncodingContainer(node: node, encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueEncoding(encoder: self)
    }

    /// An encoder for a value one level down, writing into `node`. Once encoding has failed,
    /// nothing more is kept: the encoder stays where it is and writes nowhere, so code that
    /// goes on nesting containers after the failure costs no more than its own loop.
    func child(_ node: EncodedNode, key: any CodingKey) -> ValueEncoder {
        guard context.failure == nil else { return ValueEncoder(node: EncodedNode(), codingPath: codingPath, depth: depth, context: context) }
        return ValueEncoder(node: node, codingPath: codingPath + [key], depth: depth + 1, context: context)
    }
}

struct SingleValueEncoding: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws {
        try encoder.context.checkFailure()
        encoder.node.setLeaf(.null)
    }

    mutating func encode(_ value: Bool) throws { try box(value) }
    mutating func encode(_ value: String) throws { try box(value) }
    mutating func encode(_ value: Double) throws { try box(value) }
    mutating func encode(_ value: Float) throws { try box(value) }
    mutating func encode(_ value: Int) throws { try box(value) }
    mutating func encode(_ value: Int8) throws { try box(value) }
    mutating func encode(_ value: Int16) throws { try box(value) }
    mutating func encode(_ value: Int32) throws { try box(value) }
    mutating func encode(_ value: Int64) throws { try box(value) }
    mutating func encode(_ value: UInt) throws { try box(value) }
    mutating func encode(_ value: UInt8) throws { try box(value) }
    mutating func encode(_ value: UInt16) throws { try box(value) }
    mutating func encode(_ value: UInt32) throws { try box(value) }
    mutating func encode(_ value: UInt64) throws { try box(value) }

    private func box(_ value: some ValueBoxable) throws {
        try encoder.context.checkFailure()
        encoder.node.setLeaf(try value.boxed(at: codingPath))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        // A wrapper's value is a level of its own, so a type that encodes itself through a
        // single-value container still meets the depth limit.
        let inner = ValueEncoder(node: encoder.node, codingPath: codingPath, depth: encoder.depth + 1, context: encoder.context)
        try inner.encodeValue(value)
    }
}

struct KeyedValueEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil(forKey key: Key) throws {
        try encoder.context.checkFailure()
        node.set(key.stringValue, .null)
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: String, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try box(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try box(value, key) }

    private func box(_ value: some ValueBoxable, _ key: Key) throws {
        try encoder.context.checkFailure()
        node.set(key.stringValue, try value.boxed(at: codingPath + [key]))
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.context.checkFailure()
        if let boxable = value as? any ValueBoxable {
            node.set(key.stringValue, try boxable.boxed(at: codingPath + [key]))
            return
        }
        try encoder.child(node.memberNode(key.stringValue), key: key).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        encoder.child(node.memberNode(key.stringValue), key: key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder.child(node.memberNode(key.stringValue), key: key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        encoder.child(node.memberNode(ValueCodingKey.super.stringValue), key: ValueCodingKey.super)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        encoder.child(node.memberNode(key.stringValue), key: key)
    }
}

struct UnkeyedValueEncodingContainer: UnkeyedEncodingContainer {
    let node: EncodedNode
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { node.count }

    private var nextKey: ValueCodingKey { ValueCodingKey(index: node.count) }

    mutating func encodeNil() throws {
        try encoder.context.checkFailure()
        node.append(.null)
    }

    mutating func encode(_ value: Bool) throws { try box(value) }
    mutating func encode(_ value: String) throws { try box(value) }
    mutating func encode(_ value: Double) throws { try box(value) }
    mutating func encode(_ value: Float) throws { try box(value) }
    mutating func encode(_ value: Int) throws { try box(value) }
    mutating func encode(_ value: Int8) throws { try box(value) }
    mutating func encode(_ value: Int16) throws { try box(value) }
    mutating func encode(_ value: Int32) throws { try box(value) }
    mutating func encode(_ value: Int64) throws { try box(value) }
    mutating func encode(_ value: UInt) throws { try box(value) }
    mutating func encode(_ value: UInt8) throws { try box(value) }
    mutating func encode(_ value: UInt16) throws { try box(value) }
    mutating func encode(_ value: UInt32) throws { try box(value) }
    mutating func encode(_ value: UInt64) throws { try box(value) }

    private func box(_ value: some ValueBoxable) throws {
        try encoder.context.checkFailure()
        node.append(try value.boxed(at: codingPath + [nextKey]))
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.context.checkFailure()
        let key = nextKey
        if let boxable = value as? any ValueBoxable {
            node.append(try boxable.boxed(at: codingPath + [key]))
            return
        }
        try encoder.child(node.appendNode(), key: key).encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let key = nextKey
        return encoder.child(node.appendNode(), key: key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let key = nextKey
        return encoder.child(node.appendNode(), key: key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let key = nextKey
        return encoder.child(node.appendNode(), key: key)
    }
}
