import NIOCore

/// One array of the server's outgoing log: its id and its JSON text `[id,data]`, encoded once
/// when queued and re-sent as is on every new back channel until the client acknowledges it.
public struct BrowserChannelArray: Sendable, Hashable {
    /// The array id; ids count up from 0 within a session.
    public let id: Int
    /// `[id,data]` as JSON text.
    public let json: String

    /// The array `[id, data]`.
    public init(id: Int, data: JSONValue) {
        self.id = id
        var writer = JSONWriter(capacity: 32)
        writer.write(.array([.number(Double(id)), data]))
        self.json = String(buffer: writer.buffer)
    }

    /// Its cost in the outstanding bytes a forward answer reports (UTF-16 units, as the client
    /// measures).
    public var length: Int { BrowserChannelChunk.utf16Length(json) }

    /// The data of session creation: `["c", SID, hostPrefix, 8]`.
    public static func created(sid: String, hostPrefix: String?) -> JSONValue {
        .array(["c", .string(sid), hostPrefix.map(JSONValue.string) ?? .null, 8])
    }

    /// Keep-alive: the client ignores it, but it keeps proxies from timing the back channel out.
    public static let noop: JSONValue = .array(["noop"])

    /// The server ended the session: the client must not reconnect it.
    public static let stop: JSONValue = .array(["stop"])
}
