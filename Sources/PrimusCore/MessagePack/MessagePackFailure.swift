/// Why bytes are not MessagePack, and where: thrown by the scanner, then reported as
/// ``PrimusError/decodingFailed(_:)`` by the reader and the parser, or as
/// `DecodingError.dataCorrupted` by ``MessagePackDecoder``.
struct MessagePackFailure: Error, CustomStringConvertible {
    /// What was wrong.
    var reason: String
    /// The byte offset, from the start of the message, at which it was found.
    var offset: Int

    init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    var description: String { "MessagePack: \(reason) at byte \(offset)" }

    /// The error a parser reports for it.
    var primusError: PrimusError { PrimusError.decodingFailed(description) }
}
