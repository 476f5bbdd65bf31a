public import NIOCore
import struct Foundation.Date

/// Writes a ``JSONValue`` as EJSON text, Meteor's extended JSON, the format of Primus's `ejson`
/// parser: plain JSON for JSON's values, and objects of one reserved `$` key for the rest.
///
/// | value | EJSON |
/// |---|---|
/// | ``JSONValue/date(_:)`` | `{"$date": <milliseconds since 1970>}` |
/// | ``JSONValue/binary(_:)`` | `{"$binary": "<base64>"}` |
/// | NaN, Infinity, -Infinity | `{"$InfNaN": 0}`, `{"$InfNaN": 1}`, `{"$InfNaN": -1}` |
/// | ``JSONValue/extension(type:data:)`` | `{"$type": "msgpack-ext-<type>", "$value": "<base64>"}` |
/// | an object that reads as one of these | `{"$escape": {…}}` |
///
/// An object is escaped as Meteor escapes it: when it has one or two keys and would otherwise
/// read back as a date, bytes, a special number, an escape, a custom type (`$type` with
/// `$value`) or a Meteor regular expression (`$regexp` with `$flags`). Escaping makes the keys
/// of that one object literal; the values inside are EJSON again.
///
/// Extension values have no EJSON form, so they use EJSON's custom-type form with a type name
/// of swift-primus's own (`msgpack-ext-5`), which ``EJSONReader`` reads back; a Meteor peer
/// without that type sees a plain object. Dates are written to the millisecond, as JavaScript
/// dates hold them. Keys keep their order; U+2028 and U+2029 are escaped as the json parser
/// escapes them.
public struct EJSONWriter {
    /// The JSON writer that holds the text.
    public var json: JSONWriter

    /// Creates a writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        json = JSONWriter(capacity: capacity)
    }

    /// The text written so far.
    public var buffer: ByteBuffer { json.buffer }

    /// Appends the EJSON text of `value`; a value whose EJSON nests deeper than
    /// ``PrimusParsers/maximumDepth`` (so that no EJSON reader would take it) throws
    /// ``PrimusError/encodingFailed(_:)``.
    public mutating func write(_ value: JSONValue) throws(PrimusError) {
        try write(value, depth: 0)
    }

    /// `depth` counts the arrays and objects around `value` in the output.
    private mutating func write(_ value: JSONValue, depth: Int) throws(PrimusError) {
        switch value {
        case .null, .bool, .string:
            json.write(value)
        case .number(let number):
            if number.isFinite {
                json.writeNumber(number)
            } else {
                try open(depth)
                json.buffer.writeStaticString(#"{"$InfNaN":"#)
                json.buffer.writeStaticString(number.isNaN ? "0}" : number > 0 ? "1}" : "-1}")
            }
        case .date(let date):
            try open(depth)
            json.buffer.writeStaticString(#"{"$date":"#)
            json.writeNumber(EJSONWriter.milliseconds(date))
            json.buffer.writeStaticString("}")
        case .binary(let bytes):
            try open(depth)
            json.buffer.writeStaticString(#"{"$binary":""#)
            EngineIOBase64.encode(bytes.readableBytesView, into: &json.buffer)
            json.buffer.writeStaticString(#""}"#)
        case .extension(let type, let bytes):
            try open(depth)
            json.buffer.writeStaticString(#"{"$type":"#)
            json.writeString(EJSONWriter.extensionTypeName(type))
            json.buffer.writeStaticString(#","$value":""#)
            EngineIOBase64.encode(bytes.readableBytesView, into: &json.buffer)
            json.buffer.writeStaticString(#""}"#)
        case .array(let elements):
            try open(depth)
            json.buffer.writeInteger(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { json.buffer.writeInteger(UInt8(ascii: ",")) }
                try write(element, depth: depth + 1)
            }
            json.buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            try open(depth)
            if EJSONWriter.needsEscape(members) {
                try open(depth + 1)
                json.buffer.writeStaticString(#"{"$escape":"#)
                try writeMembers(members, depth: depth + 2)
                json.buffer.writeStaticString("}")
            } else {
                try writeMembers(members, depth: depth + 1)
            }
        }
    }

    private mutating func writeMembers(_ members: JSONObject, depth: Int) throws(PrimusError) {
        json.buffer.writeInteger(UInt8(ascii: "{"))
        for (index, (key, member)) in members.enumerated() {
            if index > 0 { json.buffer.writeInteger(UInt8(ascii: ",")) }
            json.writeString(key)
            json.buffer.writeInteger(UInt8(ascii: ":"))
            try write(member, depth: depth)
        }
        json.buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Checks that one more array or object fits within the depth a reader accepts.
    private func open(_ depth: Int) throws(PrimusError) {
        guard depth < PrimusParsers.maximumDepth else {
            throw PrimusError.encodingFailed(
                "value nested deeper than \(PrimusParsers.maximumDepth) levels as EJSON (a circular reference?)"
            )
        }
    }

    /// Milliseconds since 1970, whole, as JavaScript's `getTime()` gives them.
    static func milliseconds(_ date: Date) -> Double {
        (date.timeIntervalSince1970 * 1000).rounded()
    }

    /// The custom type name that carries a MessagePack extension value.
    static func extensionTypeName(_ type: Int8) -> String { "\(extensionTypePrefix)\(type)" }

    static let extensionTypePrefix = "msgpack-ext-"

    /// Whether `members` would read back as something other than a plain object.
    static func needsEscape(_ members: JSONObject) -> Bool {
        switch members.count {
        case 1:
            switch members[0].key {
            case "$date", "$InfNaN", "$binary", "$escape": return true
            default: return false
            }
        case 2:
            let keys = (members[0].key, members[1].key)
            switch keys {
            case ("$type", "$value"), ("$value", "$type"), ("$regexp", "$flags"), ("$flags", "$regexp"): return true
            default: return false
            }
        default:
            return false
        }
    }
}
