import NIOCore
import struct Foundation.Date

/// Reads EJSON (see ``EJSONWriter`` for the forms) into a ``JSONValue``.
///
/// As Meteor reads it: an object of at most two keys, all starting with `$`, is a date, bytes,
/// a special number, an escape or a custom type when its keys say so. `{"$escape": {…}}` is the
/// object inside with its keys taken literally (its values are read as EJSON again). A custom
/// type swift-primus does not know (anything but `msgpack-ext-<n>`) stays a plain object, where
/// Meteor would throw, so data from an application with its own types still arrives.
///
/// A reserved form holding the wrong kind of value (`{"$date": "soon"}`, `{"$binary": 5}`,
/// base64 that is not) is an error; every other object is plain data.
public enum EJSONReader {
    /// Parses EJSON text.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PrimusError) -> JSONValue {
        let json: JSONValue
        do {
            json = try JSONReader.parse(bytes)
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
        return try value(ofJSON: json)
    }

    /// The value that the JSON `json` stands for in EJSON. Recursion is bounded by the depth
    /// of `json`, which ``JSONReader`` limits.
    public static func value(ofJSON json: JSONValue) throws(PrimusError) -> JSONValue {
        guard mayHoldForms(json) else { return json }
        return try revive(json)
    }

    /// Whether some object in `json` has a `$` key: plain JSON, most messages, is returned as
    /// parsed, without rebuilding it.
    private static func mayHoldForms(_ json: JSONValue) -> Bool {
        switch json {
        case .array(let elements): return elements.contains(where: mayHoldForms)
        case .object(let members):
            return members.contains { $0.key.hasPrefix("$") || mayHoldForms($0.value) }
        default: return false
        }
    }

    private static func revive(_ json: JSONValue) throws(PrimusError) -> JSONValue {
        switch json {
        case .array(let elements):
            var revived: [JSONValue] = []
            revived.reserveCapacity(elements.count)
            for element in elements { revived.append(try revive(element)) }
            return .array(revived)
        case .object(let members):
            if let special = try form(members) { return special }
            return .object(try reviveMembers(members))
        default:
            return json
        }
    }

    private static func reviveMembers(_ members: JSONObject) throws(PrimusError) -> JSONObject {
        var revived = JSONObject()
        revived.reserveCapacity(members.count)
        for (key, member) in members { revived[key] = try revive(member) }
        return revived
    }

    /// The value of a reserved form, or `nil` for a plain object.
    private static func form(_ members: JSONObject) throws(PrimusError) -> JSONValue? {
        guard (1...2).contains(members.count), members.allSatisfy({ $0.key.hasPrefix("$") }) else { return nil }
        if members.count == 2 {
            guard let type = members["$type"], let value = members["$value"] else { return nil }
            return try extensionValue(type: type, value: value)
        }
        let (key, value) = members[0]
        switch key {
        case "$date":
            guard case .number(let milliseconds) = value, milliseconds.isFinite else {
                throw malformed("$date holds \(ValueCodingText.kind(of: value)), not a number of milliseconds")
            }
            // A JavaScript Date holds whole milliseconds: `new Date(136.5)` is 136 (TimeClip
            // truncates toward zero). Keeping the fraction would not survive a round trip, since
            // the writer writes whole milliseconds as `getTime()` does.
            return .date(Date(timeIntervalSince1970: milliseconds.rounded(.towardZero) / 1000))
        case "$InfNaN":
            guard case .number(let sign) = value else {
                throw malformed("$InfNaN holds \(ValueCodingText.kind(of: value)), not a number")
            }
            return .number(sign > 0 ? .infinity : sign < 0 ? -.infinity : .nan)
        case "$binary":
            return .binary(try base64(value, "$binary"))
        case "$escape":
            guard case .object(let escaped) = value else {
                throw malformed("$escape holds \(ValueCodingText.kind(of: value)), not an object")
            }
            return .object(try reviveMembers(escaped))
        default:
            return nil
        }
    }

    /// A `msgpack-ext-<n>` custom type, or `nil` for a type this reader does not know.
    private static func extensionValue(type: JSONValue, value: JSONValue) throws(PrimusError) -> JSONValue? {
        guard case .string(let name) = type, name.hasPrefix(EJSONWriter.extensionTypePrefix),
            let number = Int8(name.dropFirst(EJSONWriter.extensionTypePrefix.count))
        else { return nil }
        return .extension(type: number, data: try base64(value, "$value of \(name)"))
    }

    private static func base64(_ value: JSONValue, _ what: String) throws(PrimusError) -> ByteBuffer {
        guard case .string(let text) = value else {
            throw malformed("\(what) holds \(ValueCodingText.kind(of: value)), not base64 text")
        }
        do {
            return try EngineIOBase64.decode(text.utf8)
        } catch {
            throw malformed("\(what) is not base64")
        }
    }

    private static func malformed(_ detail: String) -> PrimusError {
        PrimusError.decodingFailed("invalid EJSON: \(detail)")
    }
}
