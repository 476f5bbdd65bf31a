import NIOCore

/// Primus's `msgpack` parser (the primus-msgpack module): every message, user data and
/// `primus::` protocol strings alike, is one MessagePack value in one binary frame.
///
/// Values map as ``MessagePackReader`` and ``MessagePackWriter`` describe: numbers in their
/// smallest integer form when integral, bytes as bin, dates as the timestamp extension, other
/// extension values kept as they are. `Codable` values go through ``MessagePackEncoder`` and
/// ``MessagePackDecoder`` with no ``JSONValue`` in between, so integers of every width are
/// exact. A text message (some transports have no binary frames) is decoded from its bytes
/// all the same.
public struct MessagePackParser: PrimusParser {
    /// Creates the parser; it has no state.
    public init() {}

    /// `"msgpack"`.
    public var name: String { "msgpack" }

    /// Writes `value` as one MessagePack value in a binary message.
    public func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        var writer = MessagePackWriter()
        try writer.write(value)
        return .binary(writer.buffer)
    }

    /// Reads the one MessagePack value the message's bytes hold.
    public func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        try MessagePackReader.read(message.buffer)
    }

    /// Checks the bytes in place without building the value (no strings, arrays, maps or
    /// slices made), accepting exactly what ``decode(_:for:)`` accepts; bytes that are not a
    /// value are read once more to name the fault.
    public func validate(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue? {
        if MessagePackInPlaceReader.validate(message.buffer) { return nil }
        return try MessagePackReader.readScanning(message.buffer)
    }

    /// Encodes with ``MessagePackEncoder``.
    public func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        if let value = value as? JSONValue { return try encode(value, for: context) }
        do {
            return .binary(try MessagePackEncoder().encode(value))
        } catch let error as PrimusError {
            throw error
        } catch {
            throw PrimusError.encodingFailed("\(error)")
        }
    }

    /// Decodes with ``MessagePackDecoder``.
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        if type == JSONValue.self, let value = try decode(message, for: context) as? T { return value }
        do {
            return try MessagePackDecoder().decode(type, from: message.buffer)
        } catch DecodingError.dataCorrupted(let context) where context.underlyingError is PrimusError {
            throw context.underlyingError as! PrimusError
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    /// Only a message that starts with a str header whose bytes begin `primus::` is decoded:
    /// the check costs a few byte comparisons for every data message.
    public func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String? {
        let buffer = message.buffer
        guard let header = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), MessagePackFormat.isStringHeader(header) else {
            return nil
        }
        let headerSize: Int
        switch header {
        case MessagePackFormat.str8: headerSize = 2
        case MessagePackFormat.str16: headerSize = 3
        case MessagePackFormat.str32: headerSize = 5
        default: headerSize = 1
        }
        let prefix: StaticString = "primus::"
        guard buffer.readableBytes >= headerSize + prefix.utf8CodeUnitCount,
            let start = buffer.getBytes(at: buffer.readerIndex + headerSize, length: prefix.utf8CodeUnitCount),
            prefix.withUTF8Buffer({ start.elementsEqual($0) }),
            case .string(let text)? = try? decode(message, for: context)
        else { return nil }
        return text
    }
}
