public import NIOCore
public import struct Foundation.Date
public import struct Foundation.Data

/// A Primus message value: what a message carries once the parser has decoded it.
///
/// Primus applications exchange arbitrary JSON (objects, arrays and bare scalars such as `0` or
/// `"hello"`), plus what the binary parsers carry beyond JSON: bytes, dates and MessagePack
/// extension values. So the message type is a closed enum rather than a `Codable` model. Typed
/// access goes through the parser (`PrimusParser.decode(_:from:)`), straight from the wire.
///
/// Numbers are `Double`, as in JavaScript, so values round-trip exactly as a Primus 8 peer sees
/// them. Objects keep their keys in insertion order (``JSONObject``), and compare equal
/// whatever the order.
///
/// The JSON parser writes the non-JSON cases as JavaScript's `JSON.stringify` would write their
/// counterparts: bytes as a Node `Buffer` (`{"type":"Buffer","data":[…]}`), a date as its ISO
/// 8601 text with milliseconds; a top-level ``binary(_:)`` value is sent as a binary frame.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
    /// Bytes: a WebSocket binary frame, an Engine.IO binary packet, MessagePack `bin`, EJSON
    /// `$binary`, a BinaryPack buffer.
    case binary(ByteBuffer)
    /// A point in time: MessagePack's timestamp extension (type -1), EJSON's `$date`.
    case date(Date)
    /// A MessagePack extension value other than the timestamp: its type and its bytes.
    case `extension`(type: Int8, data: ByteBuffer)
}

extension JSONValue {
    /// The string, when this value is a JSON string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number, when this value is a JSON number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The boolean, when this value is a JSON boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, when this value is a JSON array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, when this value is a JSON object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The bytes, when this value is binary.
    public var binaryValue: ByteBuffer? {
        if case .binary(let value) = self { return value }
        return nil
    }

    /// The date, when this value is one.
    public var dateValue: Date? {
        if case .date(let value) = self { return value }
        return nil
    }

    /// Whether this is JSON `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member named `key`, when this value is an object that has it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The element at `index`, when this value is an array long enough.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }
}

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of this value, as `JSON.stringify` would write it.
    public var description: String {
        var writer = JSONWriter()
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

extension JSONValue: Codable {
    /// Decodes any JSON value, so a `JSONValue` can sit inside a `Codable` model. Object
    /// members keep the order the decoder lists them in.
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: JSONValueKey.self) {
            var object = JSONObject()
            object.reserveCapacity(container.allKeys.count)
            for key in container.allKeys {
                object[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    /// Encodes the value as the JSON it represents; bytes as `Data`, a date as `Date`, an
    /// extension value as `{"type": n, "data": bytes}`, each as the encoder writes those.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .object(let members):
            var container = encoder.container(keyedBy: JSONValueKey.self)
            for (key, value) in members {
                try container.encode(value, forKey: JSONValueKey(stringValue: key))
            }
            return
        case .extension(let type, let data):
            var container = encoder.container(keyedBy: JSONValueKey.self)
            try container.encode(type, forKey: JSONValueKey(stringValue: "type"))
            try container.encode(Data(data.readableBytesView), forKey: JSONValueKey(stringValue: "data"))
            return
        default:
            break
        }
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .binary(let value): try container.encode(Data(value.readableBytesView))
        case .date(let value): try container.encode(value)
        case .object, .extension: break
        }
    }
}

/// Any member name, for coding ``JSONValue`` objects through keyed containers.
struct JSONValueKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
