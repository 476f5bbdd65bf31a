import NIOCore

/// Writes Socket.IO packets as `<type>[<n>-][<nsp>,][<id>][<json>]` plus attachments, as the
/// reference `socket.io-parser` does.
///
/// An EVENT or ACK whose payload holds bytes goes out as BINARY_EVENT or BINARY_ACK: each
/// ``JSONValue/binary(_:)`` leaf becomes `{"_placeholder":true,"num":i}` and its bytes the
/// i-th attachment, depth first, in array and member order.
///
/// ```swift
/// let out = SocketIOPacketEncoder.encode(.event("upload", ["a.png", .binary(bytes)]), version: .v5)
/// // out.text: 451-["upload","a.png",{"_placeholder":true,"num":0}]; out.attachments: [bytes]
/// ```
///
/// In protocol v4 a CONNECT carries its auth as a query after the namespace
/// (`0/admin?token=1,`), since v4 CONNECT has no payload; every other packet is written the
/// same in both versions (the helpers that build v4 answers leave their payloads out).
public enum SocketIOPacketEncoder {
    /// `packet` as a text part and its attachments.
    public static func encode(_ packet: SocketIOPacket, version: SocketIOProtocolVersion) -> SocketIOEncodedPacket {
        var type = packet.type
        var payload = packet.payload
        var attachments: [ByteBuffer] = []
        if let value = payload, type == .event || type == .ack || type.isBinary, value.containsBinary {
            payload = liftAttachments(out: value, into: &attachments)
            type = type.withAttachments
        }

        var text = ByteBuffer()
        text.reserveCapacity(16 + packet.namespace.utf8.count)
        text.writeInteger(type.digit)
        if type.isBinary {
            text.writeString(String(attachments.count))
            text.writeInteger(UInt8(ascii: "-"))
        }
        var namespace = packet.namespace
        if version == .v4, type == .connect {
            // v4 CONNECT has no payload: a v4 server would not read one.
            if let auth = payload?.objectValue, !auth.isEmpty { namespace += "?" + legacyQuery(auth) }
            payload = nil
        }
        if namespace != SocketIOPacket.mainNamespace {
            text.writeString(namespace)
            text.writeInteger(UInt8(ascii: ","))
        }
        if let id = packet.ackID {
            text.writeString(String(id))
        }
        if let payload {
            var writer = JSONWriter(buffer: text)
            writer.write(payload)
            text = writer.buffer
        }
        return SocketIOEncodedPacket(text: text, attachments: attachments)
    }

    /// `value` with its bytes replaced by placeholders, the bytes appended to `attachments`.
    private static func liftAttachments(out value: JSONValue, into attachments: inout [ByteBuffer]) -> JSONValue {
        switch value {
        case .binary(let bytes):
            let placeholder: JSONValue = ["_placeholder": true, "num": .number(Double(attachments.count))]
            attachments.append(bytes)
            return placeholder
        case .array(let elements):
            return .array(elements.map { liftAttachments(out: $0, into: &attachments) })
        case .object(let members):
            var lifted = JSONObject()
            lifted.reserveCapacity(members.count)
            for (key, member) in members { lifted[key] = liftAttachments(out: member, into: &attachments) }
            return .object(lifted)
        case .null, .bool, .number, .string, .date, .extension:
            return value
        }
    }

    /// An auth object as the query string a v4 client appends to its namespace, as Node's
    /// `querystring.stringify` writes it: arrays repeat their key, other non-scalars are empty.
    static func legacyQuery(_ auth: JSONObject) -> String {
        var pairs: [String] = []
        for (key, value) in auth {
            let values: [JSONValue] = value.arrayValue ?? [value]
            for element in values {
                let text: String
                switch element {
                case .string(let string): text = string
                case .number(let number): text = JSONWriter.format(number)
                case .bool(let flag): text = flag ? "true" : "false"
                default: text = ""
                }
                pairs.append(percentEncoded(key) + "=" + percentEncoded(text))
            }
        }
        return pairs.joined(separator: "&")
    }

    /// `text` as JavaScript's `encodeURIComponent` escapes it.
    private static func percentEncoded(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "~"),
                UInt8(ascii: "*"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }
}
