import NIOCore
import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.URL

/// Decodes any `Decodable` type straight from a ``JSONValue``, the counterpart of
/// ``JSONValueEncoder``: a parser that reads ``JSONValue``s decodes typed messages without a
/// detour through JSON text.
///
/// - `Date` reads ``JSONValue/date(_:)``, and also a number of milliseconds since 1970 (what
///   JavaScript's `getTime()` gives) or ISO 8601 text (what the json parser writes).
/// - `Data` reads ``JSONValue/binary(_:)``, an array of byte numbers, or base64 text.
/// - `[UInt8]` reads an array of numbers, and bytes too.
/// - An integer type reads a number only when it holds it exactly: `1.5` or `300` for a
///   `UInt8` is an error, not a rounded or truncated value.
/// - A ``JSONValue`` inside the type is handed over as it is.
///
/// Every failure is a ``PrimusError/decodingFailed(_:)`` whose message says what was expected,
/// what was found, and where (`missing key "name" (at user)`).
public struct JSONValueDecoder: Sendable {
    /// Passed to the types' `init(from:)` as the decoder's `userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// A decoder with no `userInfo`.
    public init() {}

    /// The `T` that `value` encodes.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(PrimusError) -> T {
        if T.self == JSONValue.self, let value = value as? T { return value }
        var plain: [CodingUserInfoKey: Any] = [:]
        for (key, value) in userInfo { plain[key] = value }
        do {
            return try ValueDecoder.unbox(type, from: value, codingPath: [], depth: 0, userInfo: plain)
        } catch {
            throw PrimusError.decodingFailed(ValueCodingText.describe(error))
        }
    }
}

/// Types read from one ``JSONValue`` without a container.
protocol ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Self
}

extension ValueUnboxable {
    static func mismatch(_ value: JSONValue, expected: String, at codingPath: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(
                Self.self,
                DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(expected) but found null")
            )
        }
        return DecodingError.typeMismatch(
            Self.self,
            DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "expected \(expected) but found \(ValueCodingText.kind(of: value))"
            )
        )
    }
}

extension Bool: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(value, expected: "a boolean", at: codingPath) }
        return bool
    }
}

extension String: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> String {
        guard case .string(let string) = value else { throw mismatch(value, expected: "a string", at: codingPath) }
        return string
    }
}

extension Double: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Double {
        guard case .number(let number) = value else { throw mismatch(value, expected: "a number", at: codingPath) }
        return number
    }
}

extension Float: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Float {
        let number = try Double.unbox(value, at: codingPath)
        let float = Float(number)
        guard float.isFinite || !number.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "\(number) does not fit a Float")
            )
        }
        return float
    }
}

/// Integers read a number only when they hold it exactly.
protocol ExactlyUnboxableInteger: BinaryInteger, ValueUnboxable {}

extension ExactlyUnboxableInteger {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Self {
        let number = try Double.unbox(value, at: codingPath)
        guard let integer = Self(exactly: number) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: codingPath,
                    debugDescription: "\(JSONWriter.format(number)) is not a whole number that \(Self.self) can hold"
                )
            )
        }
        return integer
    }
}

extension Int: ExactlyUnboxableInteger {}
extension Int8: ExactlyUnboxableInteger {}
extension Int16: ExactlyUnboxableInteger {}
extension Int32: ExactlyUnboxableInteger {}
extension Int64: ExactlyUnboxableInteger {}
extension UInt: ExactlyUnboxableInteger {}
extension UInt8: ExactlyUnboxableInteger {}
extension UInt16: ExactlyUnboxableInteger {}
extension UInt32: ExactlyUnboxableInteger {}
extension UInt64: ExactlyUnboxableInteger {}

extension JSONValue: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) -> JSONValue { value }
}

extension Date: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Date {
        switch value {
        case .date(let date):
            return date
        case .number(let milliseconds) where milliseconds.isFinite:
            return Date(timeIntervalSince1970: milliseconds / 1000)
        case .string(let text):
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return date
            }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "\"\(text)\" is not an ISO 8601 date")
            )
        default:
            throw mismatch(value, expected: "a date", at: codingPath)
        }
    }
}

extension Data: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> Data {
        switch value {
        case .binary(let bytes):
            return Data(bytes.readableBytesView)
        case .string(let text):
            guard let bytes = try? EngineIOBase64.decode(text.utf8) else {
                throw DecodingError.dataCorrupted(
                    DecodingError.Context(codingPath: codingPath, debugDescription: "expected bytes but found text that is not base64")
                )
            }
            return Data(bytes.readableBytesView)
        case .array(let elements):
            var data = Data(capacity: elements.count)
            for (index, element) in elements.enumerated() {
                data.append(try UInt8.unbox(element, at: codingPath + [ValueCodingKey(index: index)]))
            }
            return data
        default:
            throw mismatch(value, expected: "bytes", at: codingPath)
        }
    }
}

extension URL: ValueUnboxable {
    static func unbox(_ value: JSONValue, at codingPath: [any CodingKey]) throws -> URL {
        let text = try String.unbox(value, at: codingPath)
        guard let url = URL(string: text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "\"\(text)\" is not a URL")
            )
        }
        return url
    }
}

/// The `Decoder` handed to `init(from:)`: it reads one ``JSONValue``, and is its own
/// single-value container.
struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    /// How many values enclose this one.
    let depth: Int
    let userInfo: [CodingUserInfoKey: Any]

    /// Reads a `T` from `value`: directly for scalars and natively carried types, else through
    /// its `init(from:)`, within the depth limit.
    static func unbox<T: Decodable>(
        _ type: T.Type,
        from value: JSONValue,
        codingPath: [any CodingKey],
        depth: Int,
        userInfo: [CodingUserInfoKey: Any]
    ) throws -> T {
        if let unboxable = type as? any ValueUnboxable.Type {
            // The cast back cannot fail: `unboxable` is `T.Type`.
            if let result = try unboxable.unbox(value, at: codingPath) as? T { return result }
        }
        guard depth <= PrimusParsers.maximumDepth else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "value nested deeper than \(PrimusParsers.maximumDepth) levels")
            )
        }
        return try T(from: ValueDecoder(value: value, codingPath: codingPath, depth: depth, userInfo: userInfo))
    }

    /// Decodes a value one level down.
    func child<T: Decodable>(_ type: T.Type, _ value: JSONValue, key: any CodingKey) throws -> T {
        try Self.unbox(type, from: value, codingPath: codingPath + [key], depth: depth + 1, userInfo: userInfo)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self,
                DecodingError.Context(codingPath: codingPath, debugDescription: "expected an object but found \(ValueCodingText.kind(of: value))")
            )
        }
        return KeyedDecodingContainer(KeyedValueDecodingContainer(object: object, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return UnkeyedValueDecodingContainer(elements: elements, decoder: self)
        case .binary(let bytes):
            return UnkeyedValueDecodingContainer(elements: bytes.readableBytesView.map { .number(Double($0)) }, decoder: self)
        default:
            throw DecodingError.typeMismatch(
                [JSONValue].self,
                DecodingError.Context(codingPath: codingPath, debugDescription: "expected an array but found \(ValueCodingText.kind(of: value))")
            )
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try Bool.unbox(value, at: codingPath) }
    func decode(_ type: String.Type) throws -> String { try String.unbox(value, at: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Double.unbox(value, at: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try Float.unbox(value, at: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Int.unbox(value, at: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Int8.unbox(value, at: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Int16.unbox(value, at: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Int32.unbox(value, at: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Int64.unbox(value, at: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try UInt.unbox(value, at: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try UInt8.unbox(value, at: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try UInt16.unbox(value, at: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try UInt32.unbox(value, at: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try UInt64.unbox(value, at: codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // A wrapper's value is a level of its own (see JSONValueEncoder).
        try Self.unbox(type, from: value, codingPath: codingPath, depth: depth + 1, userInfo: userInfo)
    }
}

struct KeyedValueDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let decoder: ValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(codingPath: codingPath, debugDescription: "missing key \"\(key.stringValue)\"")
            )
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Bool.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try String.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Double.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try Float.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Int.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Int8.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Int16.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Int32.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Int64.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try UInt.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try UInt8.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try UInt16.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try UInt32.unbox(value(key), at: codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try UInt64.unbox(value(key), at: codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.child(type, value(key), key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try nested(value(key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try nested(value(key), key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        try nested(object[ValueCodingKey.super.stringValue] ?? .null, key: ValueCodingKey.super)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try nested(object[key.stringValue] ?? .null, key: key)
    }

    private func nested(_ value: JSONValue, key: any CodingKey) throws -> ValueDecoder {
        try ValueDecoder.nested(value, key: key, in: decoder)
    }
}

extension ValueDecoder {
    /// A decoder one level down, for nested containers and super decoders.
    static func nested(_ value: JSONValue, key: any CodingKey, in parent: ValueDecoder) throws -> ValueDecoder {
        let path = parent.codingPath + [key]
        guard parent.depth < PrimusParsers.maximumDepth else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path, debugDescription: "value nested deeper than \(PrimusParsers.maximumDepth) levels")
            )
        }
        return ValueDecoder(value: value, codingPath: path, depth: parent.depth + 1, userInfo: parent.userInfo)
    }
}

struct UnkeyedValueDecodingContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let decoder: ValueDecoder
    private(set) var currentIndex = 0

    init(elements: [JSONValue], decoder: ValueDecoder) {
        self.elements = elements
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var key: ValueCodingKey { ValueCodingKey(index: currentIndex) }

    private func current<T>(_ type: T.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: codingPath + [key],
                    debugDescription: "expected \(T.self) but the array has only \(elements.count) elements"
                )
            )
        }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard try current(JSONValue.self).isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) }

    private mutating func next<T: ValueUnboxable>(_ type: T.Type) throws -> T {
        let value = try T.unbox(current(type), at: codingPath + [key])
        currentIndex += 1
        return value
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try decoder.child(type, current(type), key: key)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let container = try ValueDecoder.nested(current(JSONObject.self), key: key, in: decoder).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try ValueDecoder.nested(current([JSONValue].self), key: key, in: decoder).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = try ValueDecoder.nested(current(JSONValue.self), key: key, in: decoder)
        currentIndex += 1
        return decoder
    }
}
