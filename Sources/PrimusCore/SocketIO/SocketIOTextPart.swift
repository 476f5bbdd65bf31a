import NIOCore

/// The text part of a packet, read as the reference `socket.io-parser` (4.2) reads it, with
/// its payload rules: what ``SocketIOPacketDecoder`` does with one text message.
///
/// Stricter than the reference in four places, each a packet the reference would hand on
/// half-formed: an empty message (the reference reads it as CONNECT to `/`), an EVENT without
/// a payload (no event name), an attachment count without digits (`5-[…]`, which JavaScript's
/// `"" == 0` lets through as 0), and an ack id beyond 2^53 - 1 (JavaScript rounds it, so the
/// answer could never match). A namespace must also be printable UTF-8.
struct SocketIOTextPart {
    /// The packet, its type still BINARY_EVENT or BINARY_ACK when attachments follow, and bytes
    /// still as placeholders.
    var packet: SocketIOPacket
    /// The `<n>` of `<n>-`: how many binary messages follow (0 for other types).
    var attachmentCount: Int

    /// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
    static let maximumAckID: UInt64 = (1 << 53) - 1

    /// Event names the reference reserves for its own use; a peer may not send them.
    static let reservedEventNames: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// Reads one text message.
    static func parse(_ buffer: ByteBuffer, version: SocketIOProtocolVersion, maxAttachments: Int) throws(SocketIOProtocolError) -> SocketIOTextPart {
        try buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(SocketIOProtocolError) in try parse(bytes, version: version, maxAttachments: maxAttachments) }
        }.get()
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, version: SocketIOProtocolVersion, maxAttachments: Int) throws(SocketIOProtocolError) -> SocketIOTextPart {
        guard let first = bytes.first else { throw SocketIOProtocolError(.emptyPacket, "a Socket.IO packet needs at least a type digit") }
        guard let type = SocketIOPacketType(digit: first) else {
            throw SocketIOProtocolError(.unknownPacketType, "unknown packet type \(printable(first))")
        }
        var index = 1

        var attachmentCount = 0
        if type.isBinary {
            let start = index
            var count = 0
            while index < bytes.count, isDigit(bytes[index]) {
                // Checked before it grows, so the count cannot overflow whatever the limit.
                let digit = Int(bytes[index] - UInt8(ascii: "0"))
                guard maxAttachments >= digit, count <= (maxAttachments - digit) / 10 else {
                    throw SocketIOProtocolError(.tooManyAttachments, "\(type) announces more than the \(maxAttachments) attachments allowed")
                }
                count = count * 10 + digit
                index += 1
            }
            guard index > start, index < bytes.count, bytes[index] == UInt8(ascii: "-") else {
                throw SocketIOProtocolError(.illegalAttachmentCount, "\(type) must start with its attachment count and '-'")
            }
            index += 1
            attachmentCount = count
        }

        var packet = SocketIOPacket(type)
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            if index < bytes.count { index += 1 }  // the comma
            guard let namespace = String(validating: raw, as: UTF8.self),
                !namespace.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else {
                throw SocketIOProtocolError(.invalidNamespace, "the namespace is not printable UTF-8")
            }
            packet.namespace = namespace
        }

        if index < bytes.count, isDigit(bytes[index]) {
            var id: UInt64 = 0
            while index < bytes.count, isDigit(bytes[index]) {
                id = id * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
                guard id <= maximumAckID else {
                    throw SocketIOProtocolError(.invalidAckID, "ack id larger than \(maximumAckID)")
                }
                index += 1
            }
            packet.ackID = id
        }

        if index < bytes.count {
            let payload: JSONValue
            do {
                payload = try JSONReader.parse(UnsafeRawBufferPointer(rebasing: bytes[index...]))
            } catch {
                throw SocketIOProtocolError(.invalidPayload, "\(type) payload is not JSON: \(error.reason) (at byte \(index + error.offset))")
            }
            try validate(payload, of: type)
            packet.payload = payload
        } else if type == .event || type == .binaryEvent {
            throw SocketIOProtocolError(.invalidPayload, "\(type) needs a payload [\"name\", …]")
        }

        if version == .v4, type == .connect, let question = packet.namespace.firstIndex(of: "?") {
            // v4 clients put their auth in the namespace: `0/admin?token=1,`. The reference
            // server hands the parsed query to the app as the auth payload; so do we.
            let query = QueryParameters(packet.namespace[packet.namespace.index(after: question)...])
            packet.namespace = String(packet.namespace[..<question])
            packet.payload = .object(legacyAuth(query))
        }
        return SocketIOTextPart(packet: packet, attachmentCount: attachmentCount)
    }

    /// The payload rules of the reference parser (`isPayloadValid`).
    private static func validate(_ payload: JSONValue, of type: SocketIOPacketType) throws(SocketIOProtocolError) {
        switch type {
        case .connect:
            guard payload.objectValue != nil else {
                throw SocketIOProtocolError(.invalidPayload, "CONNECT payload must be an object, got \(kind(payload))")
            }
        case .disconnect:
            throw SocketIOProtocolError(.invalidPayload, "DISCONNECT carries no payload")
        case .connectError:
            guard payload.objectValue != nil || payload.stringValue != nil else {
                throw SocketIOProtocolError(.invalidPayload, "CONNECT_ERROR payload must be an object or a string, got \(kind(payload))")
            }
        case .event, .binaryEvent:
            guard let elements = payload.arrayValue else {
                throw SocketIOProtocolError(.invalidPayload, "\(type) payload must be an array, got \(kind(payload))")
            }
            switch elements.first {
            case .string(let name):
                guard !reservedEventNames.contains(name) else {
                    throw SocketIOProtocolError(.invalidPayload, "\"\(name)\" is a reserved event name")
                }
            case .number:
                break  // the reference accepts numeric event names
            case .none:
                throw SocketIOProtocolError(.invalidPayload, "\(type) payload must start with the event name, got an empty array")
            case .some(let other):
                throw SocketIOProtocolError(.invalidPayload, "\(type) name must be a string, got \(kind(other))")
            }
        case .ack, .binaryAck:
            guard payload.arrayValue != nil else {
                throw SocketIOProtocolError(.invalidPayload, "\(type) payload must be an array, got \(kind(payload))")
            }
        }
    }

    /// A v4 CONNECT query as the auth object: one string per key, an array for a repeated key
    /// (as Node's `querystring.parse` gives them).
    private static func legacyAuth(_ query: QueryParameters) -> JSONObject {
        var auth = JSONObject()
        for (name, value) in query {
            switch auth[name] {
            case .none: auth[name] = .string(value)
            case .array(var values)?:
                values.append(.string(value))
                auth[name] = .array(values)
            case .some(let first): auth[name] = [first, .string(value)]
            }
        }
        return auth
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
    }

    private static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        case .binary, .date, .extension: return "a non-JSON value"
        }
    }
}
