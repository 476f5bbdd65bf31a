import NIOCore

/// Puts received attachments back where their placeholders stand, as the reference
/// `socket.io-parser` (`reconstructPacket`) does: an object whose `_placeholder` is `true` is
/// replaced by attachment `num`, which must exist.
///
/// Stricter than the reference: `num` must be a whole number (the reference would index with
/// `0.5` and hand on `undefined`). An attachment nobody refers to is accepted, as there.
enum SocketIOAttachments {
    /// `value` with every placeholder replaced by its attachment.
    static func reconstruct(_ value: JSONValue, with attachments: [ByteBuffer]) throws(SocketIOProtocolError) -> JSONValue {
        switch value {
        case .array(let elements):
            var rebuilt: [JSONValue] = []
            rebuilt.reserveCapacity(elements.count)
            for element in elements { rebuilt.append(try reconstruct(element, with: attachments)) }
            return .array(rebuilt)
        case .object(let members):
            if members["_placeholder"] == .bool(true) {
                guard let number = members["num"]?.numberValue, number >= 0, number < Double(attachments.count),
                    number == number.rounded(.towardZero)
                else {
                    let num = members["num"].map { "\($0)" } ?? "nothing"
                    throw SocketIOProtocolError(
                        .illegalPlaceholder, "placeholder num \(num) names none of the \(attachments.count) attachment(s)")
                }
                return .binary(attachments[Int(number)])
            }
            var rebuilt = JSONObject()
            rebuilt.reserveCapacity(members.count)
            for (key, member) in members { rebuilt[key] = try reconstruct(member, with: attachments) }
            return .object(rebuilt)
        case .null, .bool, .number, .string, .binary, .date, .extension:
            return value
        }
    }
}
