public import NIOCore

/// Reads the Socket.IO packets in a stream of Engine.IO messages: one per text message, except
/// that a BINARY_EVENT or BINARY_ACK is complete only once its attachments (the binary
/// messages that follow) have arrived; then its placeholders are replaced by the bytes.
///
/// Sans-I/O: feed it each Engine.IO message payload in order, act on the packets it returns.
/// Any thrown ``SocketIOProtocolError`` means the peer broke the protocol; the reference server
/// closes the connection, and the decoder forgets a half-received packet.
///
/// ```swift
/// var decoder = SocketIOPacketDecoder(version: .v5)
/// if let packet = try decoder.decode(message) { handle(packet) }
/// ```
///
/// Bounded: a packet may announce at most ``Limits/maxAttachments`` attachments, whose bytes
/// add up to at most ``Limits/maxAttachmentBytes``; JSON nesting is limited by ``JSONReader``.
public struct SocketIOPacketDecoder: Sendable {
    /// How much one packet may hold beyond its text part.
    public struct Limits: Sendable, Hashable {
        /// Attachments one binary packet may announce. The reference parser's default is 10.
        public var maxAttachments: Int
        /// Bytes the attachments of one packet may add up to. Each attachment is also one
        /// Engine.IO message, bounded by the session's own message limit.
        public var maxAttachmentBytes: Int

        /// Creates limits; negative values count as zero.
        public init(maxAttachments: Int = 10, maxAttachmentBytes: Int = 10 * 1024 * 1024) {
            self.maxAttachments = max(0, maxAttachments)
            self.maxAttachmentBytes = max(0, maxAttachmentBytes)
        }
    }

    private enum State: Sendable {
        case idle
        /// A binary packet whose text part arrived; `received` holds its attachments so far.
        case awaitingAttachments(packet: SocketIOPacket, expected: Int, received: [ByteBuffer], bytes: Int)
    }

    /// The protocol revision the peer speaks (it decides how a v4 CONNECT carries its auth).
    public let version: SocketIOProtocolVersion
    /// The bounds this decoder enforces.
    public let limits: Limits
    private var state = State.idle

    /// Creates a decoder for a connection speaking `version`.
    public init(version: SocketIOProtocolVersion, limits: Limits = Limits()) {
        self.version = version
        self.limits = limits
    }

    /// Whether a binary packet is waiting for attachments: a text message now is an error.
    public var isAwaitingAttachments: Bool {
        if case .awaitingAttachments = state { return true }
        return false
    }

    /// Reads one Engine.IO message payload; returns the packet it completes, if any.
    public mutating func decode(_ message: TransportMessage) throws(SocketIOProtocolError) -> SocketIOPacket? {
        switch message {
        case .text(let text): return try decode(text: text)
        case .binary(let bytes): return try decode(attachment: bytes)
        }
    }

    /// Reads a text message: a whole packet, or the text part of a binary one.
    public mutating func decode(text: ByteBuffer) throws(SocketIOProtocolError) -> SocketIOPacket? {
        guard case .idle = state else {
            state = .idle
            throw SocketIOProtocolError(.unexpectedText, "a text packet arrived before the attachments of the previous binary packet")
        }
        let part = try SocketIOTextPart.parse(text, version: version, maxAttachments: limits.maxAttachments)
        guard part.packet.type.isBinary else { return part.packet }
        if part.attachmentCount == 0 {
            return try complete(part.packet, with: [])
        }
        state = .awaitingAttachments(packet: part.packet, expected: part.attachmentCount, received: [], bytes: 0)
        return nil
    }

    /// Reads a binary message: the next attachment of the packet being received.
    public mutating func decode(attachment: ByteBuffer) throws(SocketIOProtocolError) -> SocketIOPacket? {
        guard case .awaitingAttachments(let packet, let expected, var received, var bytes) = state else {
            throw SocketIOProtocolError(.unexpectedBinary, "binary data arrived while no packet awaits attachments")
        }
        bytes += attachment.readableBytes
        guard bytes <= limits.maxAttachmentBytes else {
            state = .idle
            throw SocketIOProtocolError(.attachmentsTooLarge, "attachments exceed \(limits.maxAttachmentBytes) bytes")
        }
        // Drop the copy held by `state`, so appending does not copy the array.
        state = .idle
        received.append(attachment)
        guard received.count == expected else {
            state = .awaitingAttachments(packet: packet, expected: expected, received: received, bytes: bytes)
            return nil
        }
        return try complete(packet, with: received)
    }

    /// Forgets a half-received packet, for a connection that starts over.
    public mutating func reset() {
        state = .idle
    }

    private func complete(_ packet: SocketIOPacket, with attachments: [ByteBuffer]) throws(SocketIOProtocolError) -> SocketIOPacket {
        var packet = packet
        packet.type = packet.type.withoutAttachments
        if let payload = packet.payload {
            packet.payload = try SocketIOAttachments.reconstruct(payload, with: attachments)
        }
        return packet
    }
}
