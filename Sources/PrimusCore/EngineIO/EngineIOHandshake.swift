public import NIOCore

/// The data of the open packet: `0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,
/// "pingTimeout":20000,"maxPayload":1000000}`.
public struct EngineIOHandshake: Sendable, Hashable {
    /// The session id, which is also the spark id.
    public var sid: String
    /// Transports the client may upgrade to: `["websocket"]` on polling, `[]` on a WebSocket.
    public var upgrades: [String]
    /// Milliseconds between heartbeats.
    public var pingInterval: Int
    /// Milliseconds a heartbeat may take to be answered.
    public var pingTimeout: Int
    /// The largest polling payload in bytes the client may send (v4 only; `nil` omits it).
    public var maxPayload: Int?

    /// Creates a handshake.
    public init(sid: String, upgrades: [String], pingInterval: Int, pingTimeout: Int, maxPayload: Int?) {
        self.sid = sid
        self.upgrades = upgrades
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
    }

    /// The JSON, keys in the reference server's order.
    public var json: ByteBuffer {
        var writer = JSONWriter(capacity: 128)
        writer.buffer.writeStaticString("{\"sid\":")
        writer.writeString(sid)
        writer.buffer.writeStaticString(",\"upgrades\":[")
        for (index, upgrade) in upgrades.enumerated() {
            if index > 0 { writer.buffer.writeInteger(UInt8(ascii: ",")) }
            writer.writeString(upgrade)
        }
        writer.buffer.writeString("],\"pingInterval\":\(pingInterval),\"pingTimeout\":\(pingTimeout)")
        if let maxPayload { writer.buffer.writeString(",\"maxPayload\":\(maxPayload)") }
        writer.buffer.writeInteger(UInt8(ascii: "}"))
        return writer.buffer
    }

    /// The open packet.
    public var packet: EngineIOPacket { EngineIOPacket(.open, data: .text(json)) }

    /// Reads the handshake from an open packet's data (a client's side).
    public init(json text: String) throws(EngineIODecodingError) {
        let value: JSONValue
        do { value = try JSONReader.parse(text) } catch { throw EngineIODecodingError("handshake is not JSON: \(error)") }
        guard let sid = value["sid"]?.stringValue,
            let pingInterval = value["pingInterval"]?.numberValue,
            let pingTimeout = value["pingTimeout"]?.numberValue
        else { throw EngineIODecodingError("handshake without sid, pingInterval or pingTimeout") }
        self.sid = sid
        self.upgrades = value["upgrades"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.pingInterval = Int(pingInterval)
        self.pingTimeout = Int(pingTimeout)
        self.maxPayload = value["maxPayload"]?.numberValue.map { Int($0) }
    }
}
