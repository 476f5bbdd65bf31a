import NIOCore

/// What `GET <pathname>/spec` answers: the facts a client needs to talk to this server.
public struct PrimusSpec: Sendable, Hashable {
    /// The Primus wire version this implementation speaks.
    public static let protocolVersion = "8.0.9"

    /// Milliseconds between server pings, or `nil` when heartbeats are off (`false` on the wire).
    public var pingInterval: Int?
    /// Where Primus is mounted, with a leading `/`.
    public var pathname: String
    /// The Primus version (``protocolVersion``).
    public var version: String
    /// The parser name, lower-cased (`"json"`).
    public var parser: String
    /// The transformer name, lower-cased (`"websockets"`).
    public var transformer: String

    /// Creates a spec.
    public init(pingInterval: Int?, pathname: String, version: String = PrimusSpec.protocolVersion, parser: String, transformer: String) {
        self.pingInterval = pingInterval
        self.pathname = pathname
        self.version = version
        self.parser = parser
        self.transformer = transformer
    }

    /// The spec as JSON, with the members in Primus's order.
    public var json: String {
        var writer = JSONWriter()
        writer.buffer.writeStaticString("{\"pingInterval\":")
        if let pingInterval { writer.writeNumber(Double(pingInterval)) } else { writer.buffer.writeStaticString("false") }
        writer.buffer.writeStaticString(",\"pathname\":")
        writer.writeString(pathname)
        writer.buffer.writeStaticString(",\"version\":")
        writer.writeString(version)
        writer.buffer.writeStaticString(",\"parser\":")
        writer.writeString(parser)
        writer.buffer.writeStaticString(",\"transformer\":")
        writer.writeString(transformer)
        writer.buffer.writeStaticString("}")
        return String(buffer: writer.buffer)
    }

    /// Reads a spec from its JSON (as a client does when it discovers a server).
    public init(json value: JSONValue) throws(PrimusError) {
        guard let pathname = value["pathname"]?.stringValue, let parser = value["parser"]?.stringValue,
            let transformer = value["transformer"]?.stringValue
        else { throw PrimusError.decodingFailed("spec lacks pathname, parser or transformer") }
        self.pathname = pathname
        self.parser = parser
        self.transformer = transformer
        self.version = value["version"]?.stringValue ?? PrimusSpec.protocolVersion
        if let number = value["pingInterval"]?.numberValue, number > 0 { self.pingInterval = Int(number) } else { self.pingInterval = nil }
    }
}
