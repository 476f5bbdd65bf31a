public import NIOCore

/// Single Engine.IO packets: as WebSocket frames (one packet per frame) and in the text form
/// that polling payloads are made of.
///
/// | | text data | binary data |
/// |---|---|---|
/// | WebSocket, v4 | text frame `<digit><data>` | binary frame, raw bytes (always a message) |
/// | WebSocket, v3 | text frame `<digit><data>` | binary frame, type byte (`0x04`) then the bytes |
/// | polling text, v4 | `<digit><data>` | `b<base64>` (always a message) |
/// | polling text, v3 | `<digit><data>` | `b<digit><base64>` |
public enum EngineIOPacketCodec {
    // MARK: WebSocket frames

    /// `packet` as one WebSocket message.
    public static func encodeFrame(_ packet: EngineIOPacket, version: EngineIOProtocolVersion) -> TransportMessage {
        switch packet.data {
        case .text(let data):
            var buffer = ByteBuffer()
            buffer.reserveCapacity(data.readableBytes + 1)
            buffer.writeInteger(packet.type.digit)
            buffer.writeImmutableBuffer(data)
            return .text(buffer)
        case .binary(let data):
            switch version {
            case .v4:
                return .binary(data)
            case .v3:
                var buffer = ByteBuffer()
                buffer.reserveCapacity(data.readableBytes + 1)
                buffer.writeInteger(packet.type.rawValue)
                buffer.writeImmutableBuffer(data)
                return .binary(buffer)
            }
        }
    }

    /// The packet carried by one WebSocket message.
    public static func decodeFrame(_ message: TransportMessage, version: EngineIOProtocolVersion) throws(EngineIODecodingError) -> EngineIOPacket {
        switch message {
        case .text(let buffer):
            return try decodeText(buffer, version: version)
        case .binary(var buffer):
            switch version {
            case .v4:
                return .message(.binary(buffer))
            case .v3:
                guard let byte = buffer.readInteger(as: UInt8.self), let type = EngineIOPacketType(rawValue: byte) else {
                    throw EngineIODecodingError("binary frame without a packet type")
                }
                return EngineIOPacket(type, data: .binary(buffer))
            }
        }
    }

    // MARK: Text form

    /// Appends the text form of `packet` (binary data as base64).
    public static func writeText(_ packet: EngineIOPacket, version: EngineIOProtocolVersion, into buffer: inout ByteBuffer) {
        switch packet.data {
        case .text(let data):
            buffer.writeInteger(packet.type.digit)
            buffer.writeImmutableBuffer(data)
        case .binary(let data):
            buffer.writeInteger(UInt8(ascii: "b"))
            if version == .v3 { buffer.writeInteger(packet.type.digit) }
            EngineIOBase64.encode(data.readableBytesView, into: &buffer)
        }
    }

    /// The length of ``writeText(_:version:into:)``'s output in UTF-16 code units, which is how
    /// v3 payloads count (JavaScript string length: `2:4€`, and 2 units for a character outside
    /// the Basic Multilingual Plane).
    public static func textLengthInUTF16(_ packet: EngineIOPacket, version: EngineIOProtocolVersion) -> Int {
        switch packet.data {
        case .text(let data):
            return 1 + utf16Length(ofUTF8: data.readableBytesView)
        case .binary(let data):
            return (version == .v3 ? 2 : 1) + EngineIOBase64.encodedLength(of: data.readableBytes)
        }
    }

    /// Decodes the text form of one packet.
    public static func decodeText(_ buffer: ByteBuffer, version: EngineIOProtocolVersion) throws(EngineIODecodingError) -> EngineIOPacket {
        var buffer = buffer
        guard let first = buffer.readInteger(as: UInt8.self) else { throw EngineIODecodingError("empty packet") }
        if first == UInt8(ascii: "b") {
            var type = EngineIOPacketType.message
            if version == .v3 {
                guard let digit = buffer.readInteger(as: UInt8.self), let decoded = EngineIOPacketType(digit: digit) else {
                    throw EngineIODecodingError("binary packet without a type")
                }
                type = decoded
            }
            return EngineIOPacket(type, data: .binary(try EngineIOBase64.decode(buffer.readableBytesView)))
        }
        guard let type = EngineIOPacketType(digit: first) else {
            throw EngineIODecodingError("unknown packet type \(first)")
        }
        return EngineIOPacket(type, data: .text(buffer))
    }

    /// UTF-16 code units in UTF-8 `bytes` (assumed well-formed: continuation bytes count nothing,
    /// a four-byte sequence counts two).
    public static func utf16Length<Bytes: Sequence<UInt8>>(ofUTF8 bytes: Bytes) -> Int {
        var count = 0
        for byte in bytes {
            if byte & 0xC0 == 0x80 { continue }
            count += byte >= 0xF0 ? 2 : 1
        }
        return count
    }
}
