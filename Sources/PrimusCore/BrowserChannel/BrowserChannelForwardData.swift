public import NIOCore

/// The body of a forward-channel request (the client's messages), decoded.
///
/// Two encodings arrive:
/// - form-encoded maps, the closure-library client's: `count=2&ofs=5&req0_JSON=…&req1__S=…`,
///   where map `i` is every `req<i>_<key>=<value>` pair. A map's message is its `_S` value (a
///   raw string, what the Primus client sends), else its `JSON` value (JSON text), else the map
///   itself as a JSON object;
/// - node-browserchannel's JSON variant (`Content-Type: application/json`):
///   `{"ofs":5,"data":[…]}`, one message per element (a string as it is, anything else as JSON
///   text).
///
/// A `count` that disagrees with the maps present, a map index out of range, JSON that does
/// not parse, or a missing `ofs` is ``BrowserChannelError/badData``: the request is refused as
/// a whole, so nothing in it is delivered half-way.
public struct BrowserChannelForwardData: Sendable, Hashable {
    /// The offset of the first map: maps are numbered across the session, so retries and
    /// requests that overtake one another can be put in order.
    public var offset: Int
    /// The messages, one per map, in order.
    public var messages: [String]

    /// Data at `offset`.
    public init(offset: Int, messages: [String]) {
        self.offset = offset
        self.messages = messages
    }

    /// The most maps one request may carry (the closure client sends at most 1000).
    public static let maxMaps = 1000

    /// Decodes a forward-channel body. `isJSON` is whether its `Content-Type` is
    /// `application/json`.
    public static func decode(_ body: ByteBuffer, isJSON: Bool) throws(BrowserChannelError) -> BrowserChannelForwardData {
        isJSON ? try decodeJSON(body) : try decodeForm(String(buffer: body))
    }

    /// `count=…&ofs=…&req<i>_<key>=…`.
    public static func decodeForm(_ body: String) throws(BrowserChannelError) -> BrowserChannelForwardData {
        let fields = QueryParameters(Substring(body))
        guard let countText = fields["count"], let count = Int(countText), count >= 0, count <= maxMaps else {
            throw .badData
        }
        var maps = [[(key: String, value: String)]](repeating: [], count: count)
        for (name, value) in fields where name.hasPrefix("req") {
            let rest = name.dropFirst(3)
            guard let underscore = rest.firstIndex(of: "_"), let index = Int(rest[..<underscore]) else { throw .badData }
            // A map beyond `count`: the count lies.
            guard index >= 0, index < count else { throw .badData }
            maps[index].append((String(rest[rest.index(after: underscore)...]), value))
        }
        // No data: `ofs` may be left out.
        if count == 0 { return BrowserChannelForwardData(offset: Int(fields["ofs"] ?? "") ?? 0, messages: []) }
        guard let offsetText = fields["ofs"], let offset = Int(offsetText), offset >= 0 else { throw .badData }
        var messages: [String] = []
        messages.reserveCapacity(count)
        for map in maps {
            // A map missing: the count lies.
            guard !map.isEmpty else { throw .badData }
            messages.append(try message(of: map))
        }
        return BrowserChannelForwardData(offset: offset, messages: messages)
    }

    private static func message(of map: [(key: String, value: String)]) throws(BrowserChannelError) -> String {
        if let string = map.first(where: { $0.key == "_S" }) { return string.value }
        if let json = map.first(where: { $0.key == "JSON" }) {
            guard (try? JSONReader.parse(json.value)) != nil else { throw .badData }
            return json.value
        }
        var object = JSONObject()
        for (key, value) in map where object[key] == nil { object[key] = .string(value) }
        var writer = JSONWriter()
        writer.write(.object(object))
        return String(buffer: writer.buffer)
    }

    /// `{"ofs":N,"data":[…]}`.
    public static func decodeJSON(_ body: ByteBuffer) throws(BrowserChannelError) -> BrowserChannelForwardData {
        let value: JSONValue
        do {
            value = try body.withUnsafeReadableBytes { bytes throws(JSONReader.Failure) in try JSONReader.parse(bytes) }
        } catch {
            throw .badData
        }
        guard
            let offsetNumber = value["ofs"]?.numberValue, offsetNumber >= 0, offsetNumber == offsetNumber.rounded(),
            offsetNumber < 9e15, let data = value["data"]?.arrayValue, data.count <= maxMaps
        else { throw .badData }
        let messages = data.map { element -> String in
            if let string = element.stringValue { return string }
            var writer = JSONWriter()
            writer.write(element)
            return String(buffer: writer.buffer)
        }
        return BrowserChannelForwardData(offset: Int(offsetNumber), messages: messages)
    }
}
