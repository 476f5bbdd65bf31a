/// Why Socket.IO input was refused. The reference server closes the whole Engine.IO
/// connection on any of these, and so do we: a peer that breaks the framing cannot be trusted
/// with the next packet.
///
/// ``code`` is for code that reacts to the kind of fault (tests, metrics); ``detail`` says
/// exactly what was wrong, for logs.
public struct SocketIOProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of fault. Open for new members, so switch over it with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyPacket = "empty packet"
            case unknownPacketType = "unknown packet type"
            case illegalAttachmentCount = "illegal attachment count"
            case tooManyAttachments = "too many attachments"
            case attachmentsTooLarge = "attachments too large"
            case invalidNamespace = "invalid namespace"
            case invalidAckID = "invalid ack id"
            case invalidPayload = "invalid payload"
            case illegalPlaceholder = "illegal attachment placeholder"
            case unexpectedText = "text while attachments are awaited"
            case unexpectedBinary = "binary data when no attachment is awaited"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A message with no text at all.
        public static let emptyPacket = Code(.emptyPacket)
        /// The first character is not a packet type digit `0`…`6`.
        public static let unknownPacketType = Code(.unknownPacketType)
        /// A binary packet whose `<n>-` attachment count is missing or not a number.
        public static let illegalAttachmentCount = Code(.illegalAttachmentCount)
        /// More attachments announced than ``SocketIOPacketDecoder/Limits/maxAttachments``.
        public static let tooManyAttachments = Code(.tooManyAttachments)
        /// Attachments adding up to more than ``SocketIOPacketDecoder/Limits/maxAttachmentBytes``.
        public static let attachmentsTooLarge = Code(.attachmentsTooLarge)
        /// A namespace that is not printable UTF-8.
        public static let invalidNamespace = Code(.invalidNamespace)
        /// An ack id too large for a JavaScript number to hold exactly.
        public static let invalidAckID = Code(.invalidAckID)
        /// A payload that is not JSON, or not the JSON its packet type requires.
        public static let invalidPayload = Code(.invalidPayload)
        /// A placeholder whose `num` names no attachment of its packet.
        public static let illegalPlaceholder = Code(.illegalPlaceholder)
        /// A text packet arrived before the attachments of the previous one.
        public static let unexpectedText = Code(.unexpectedText)
        /// A binary message arrived while no packet was waiting for attachments.
        public static let unexpectedBinary = Code(.unexpectedBinary)

        public var description: String { base.rawValue }
    }

    /// The kind of fault.
    public let code: Code
    /// What exactly was wrong.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "Socket.IO protocol error (\(code)): \(detail)" }
}
