public import NIOCore

/// Polling payloads: the packets one HTTP body carries.
///
/// - v4: packets in text form joined by the record separator `\u{1e}` (`4hello\u{1e}bAQID`).
/// - v3 text: each packet prefixed by its length in UTF-16 code units and `:` (`6:4hello2:4€`).
/// - v3 binary (XHR2): per packet `0x00` (text) or `0x01` (binary), the length as one byte per
///   decimal digit, `0xFF`, then the packet (`00 06 ff 34 68 65 6c 6c 6f 01 05 ff 04 01 02 03 04`).
///   Text lengths count UTF-8 bytes here; binary packets start with their raw type byte.
/// - v3 JSONP: the text payload as a JavaScript string literal inside `___eio[n]("…");`, and
///   posted back form-encoded as `d=<payload>`.
public enum EngineIOPayloadCodec {
    /// `\u{1e}`, the v4 packet separator.
    public static let recordSeparator: UInt8 = 0x1E

    /// How a payload is framed on the wire.
    public enum Format: Sendable, Hashable {
        /// v4, always text (`text/plain; charset=UTF-8`).
        case v4
        /// v3 length-prefixed text (`text/plain; charset=UTF-8`).
        case v3Text
        /// v3 binary payload (`application/octet-stream`).
        case v3Binary
    }

    /// The format a response takes: v3 uses the binary format only when the client can read it
    /// (`supportsBinary`: no `b64=1`, no JSONP) and the payload holds a binary packet, as the
    /// reference server does.
    public static func responseFormat(
        for packets: [EngineIOPacket],
        version: EngineIOProtocolVersion,
        supportsBinary: Bool
    ) -> Format {
        switch version {
        case .v4: return .v4
        case .v3:
            guard supportsBinary, packets.contains(where: { !$0.data.isText }) else { return .v3Text }
            return .v3Binary
        }
    }

    // MARK: Encoding

    /// Encodes `packets` in `format`.
    public static func encode(_ packets: [EngineIOPacket], format: Format) -> ByteBuffer {
        var buffer = ByteBuffer()
        switch format {
        case .v4:
            for (index, packet) in packets.enumerated() {
                if index > 0 { buffer.writeInteger(recordSeparator) }
                EngineIOPacketCodec.writeText(packet, version: .v4, into: &buffer)
            }
        case .v3Text:
            for packet in packets {
                buffer.writeString(String(EngineIOPacketCodec.textLengthInUTF16(packet, version: .v3)))
                buffer.writeInteger(UInt8(ascii: ":"))
                EngineIOPacketCodec.writeText(packet, version: .v3, into: &buffer)
            }
        case .v3Binary:
            for packet in packets {
                switch packet.data {
                case .text(let data):
                    buffer.writeInteger(UInt8(0))
                    writeDigits(data.readableBytes + 1, into: &buffer)
                    buffer.writeInteger(packet.type.digit)
                    buffer.writeImmutableBuffer(data)
                case .binary(let data):
                    buffer.writeInteger(UInt8(1))
                    writeDigits(data.readableBytes + 1, into: &buffer)
                    buffer.writeInteger(packet.type.rawValue)
                    buffer.writeImmutableBuffer(data)
                }
            }
        }
        return buffer
    }

    /// The length as one byte per decimal digit (values 0-9), then `0xFF`.
    private static func writeDigits(_ length: Int, into buffer: inout ByteBuffer) {
        for character in String(length).utf8 { buffer.writeInteger(character - UInt8(ascii: "0")) }
        buffer.writeInteger(UInt8(0xFF))
    }

    /// Wraps a text payload for a JSONP client: `___eio[<index>]("<payload>");`. `index` is reduced
    /// to its digits, as the reference server does, so it cannot inject script.
    public static func wrapJSONP(_ payload: ByteBuffer, index: String) -> ByteBuffer {
        var writer = JSONWriter(capacity: payload.readableBytes + 16)
        writer.buffer.writeString("___eio[")
        writer.buffer.writeString(String(index.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init)))
        writer.buffer.writeString("](")
        writer.writeString(String(buffer: payload))
        writer.buffer.writeString(");")
        return writer.buffer
    }

    // MARK: Decoding

    /// Decodes a posted payload. v3 bodies in the binary format are recognised by
    /// `binaryContent` (`Content-Type: application/octet-stream`) or by their first byte.
    public static func decode(
        _ body: ByteBuffer,
        version: EngineIOProtocolVersion,
        binaryContent: Bool = false
    ) throws(EngineIODecodingError) -> [EngineIOPacket] {
        guard body.readableBytes > 0 else { throw EngineIODecodingError("empty payload") }
        switch version {
        case .v4:
            if binaryContent { return [.message(.binary(body))] }
            return try decodeV4(body)
        case .v3:
            let first = body.readableBytesView.first ?? 0
            if binaryContent || first <= 1 { return try decodeV3Binary(body) }
            return try decodeV3Text(body)
        }
    }

    private static func decodeV4(_ body: ByteBuffer) throws(EngineIODecodingError) -> [EngineIOPacket] {
        var packets: [EngineIOPacket] = []
        var remaining = body
        while true {
            let view = remaining.readableBytesView
            if let separator = view.firstIndex(of: recordSeparator) {
                let length = separator - view.startIndex
                let part = remaining.readSlice(length: length)!
                remaining.moveReaderIndex(forwardBy: 1)
                packets.append(try EngineIOPacketCodec.decodeText(part, version: .v4))
            } else {
                packets.append(try EngineIOPacketCodec.decodeText(remaining, version: .v4))
                return packets
            }
        }
    }

    private static func decodeV3Text(_ body: ByteBuffer) throws(EngineIODecodingError) -> [EngineIOPacket] {
        var packets: [EngineIOPacket] = []
        var remaining = body
        while remaining.readableBytes > 0 {
            var units = 0
            var digits = 0
            while true {
                guard let byte = remaining.readInteger(as: UInt8.self) else { throw EngineIODecodingError("missing ':' after a length") }
                if byte == UInt8(ascii: ":") { break }
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), digits < 12 else {
                    throw EngineIODecodingError("invalid length")
                }
                units = units * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            }
            guard digits > 0 else { throw EngineIODecodingError("empty length") }
            // Walk UTF-8 sequences until `units` UTF-16 code units are covered.
            let view = remaining.readableBytesView
            var index = view.startIndex
            var counted = 0
            while counted < units {
                guard index < view.endIndex else { throw EngineIODecodingError("payload shorter than its length") }
                let lead = view[index]
                let width: Int
                switch lead {
                case 0x00..<0x80: width = 1
                case 0xC2..<0xE0: width = 2
                case 0xE0..<0xF0: width = 3
                case 0xF0..<0xF5: width = 4
                default: throw EngineIODecodingError("invalid UTF-8")
                }
                guard view.endIndex - index >= width else { throw EngineIODecodingError("invalid UTF-8") }
                for offset in 1..<width where view[index + offset] & 0xC0 != 0x80 {
                    throw EngineIODecodingError("invalid UTF-8")
                }
                counted += width == 4 ? 2 : 1
                index += width
            }
            guard counted == units else { throw EngineIODecodingError("length splits a character") }
            let packet = remaining.readSlice(length: index - view.startIndex)!
            packets.append(try EngineIOPacketCodec.decodeText(packet, version: .v3))
        }
        return packets
    }

    private static func decodeV3Binary(_ body: ByteBuffer) throws(EngineIODecodingError) -> [EngineIOPacket] {
        var packets: [EngineIOPacket] = []
        var remaining = body
        while let flag = remaining.readInteger(as: UInt8.self) {
            guard flag <= 1 else { throw EngineIODecodingError("invalid binary payload flag") }
            var length = 0
            var digits = 0
            while true {
                guard let byte = remaining.readInteger(as: UInt8.self) else { throw EngineIODecodingError("truncated length") }
                if byte == 0xFF { break }
                guard byte <= 9, digits < 12 else { throw EngineIODecodingError("invalid length") }
                length = length * 10 + Int(byte)
                digits += 1
            }
            guard digits > 0, length > 0, var packet = remaining.readSlice(length: length) else {
                throw EngineIODecodingError("payload shorter than its length")
            }
            if flag == 0 {
                packets.append(try EngineIOPacketCodec.decodeText(packet, version: .v3))
            } else {
                let byte = packet.readInteger(as: UInt8.self)!
                guard let type = EngineIOPacketType(rawValue: byte) else { throw EngineIODecodingError("unknown packet type \(byte)") }
                packets.append(EngineIOPacket(type, data: .binary(packet)))
            }
        }
        return packets
    }

    /// The payload of a JSONP POST: the form field `d`, with the client's newline escaping undone
    /// (`\n` written as backslash-n becomes a newline, an escaped backslash-n stays backslash-n).
    public static func unwrapJSONPForm(_ body: ByteBuffer) throws(EngineIODecodingError) -> ByteBuffer {
        let form = QueryParameters(Substring(String(buffer: body)))
        guard let data = form["d"] else { throw EngineIODecodingError("JSONP body without d=") }
        let bytes = Array(data.utf8)
        var output = ByteBuffer()
        output.reserveCapacity(bytes.count)
        var index = 0
        let backslash = UInt8(ascii: "\\"), letterN = UInt8(ascii: "n")
        while index < bytes.count {
            if bytes[index] == backslash, index + 2 < bytes.count, bytes[index + 1] == backslash, bytes[index + 2] == letterN {
                output.writeBytes([backslash, letterN])
                index += 3
            } else if bytes[index] == backslash, index + 1 < bytes.count, bytes[index + 1] == letterN {
                output.writeInteger(UInt8(ascii: "\n"))
                index += 2
            } else {
                output.writeInteger(bytes[index])
                index += 1
            }
        }
        return output
    }
}
