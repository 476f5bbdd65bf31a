public import NIOCore
public import NIOWebSocket
public import PrimusCore

/// The message layer of RFC 6455 for one connection, as a state machine: it takes decoded frames
/// (masked or not, as they came off the wire) and says what to do, without touching a channel.
///
/// It reassembles fragmented messages, enforces the message size limit (1009), validates text as
/// UTF-8 incrementally (1007), answers pings, validates close frames (1002/1007) and rejects
/// reserved bits and opcodes (1002). Server and client transports share it; as a
/// ``Role/server`` it also fails a connection whose client sends an unmasked frame (1002,
/// RFC 6455 section 5.1).
///
/// With a ``PerMessageDeflateDecompressor`` (permessage-deflate negotiated, RFC 7692) a message
/// whose first frame has RSV1 set is inflated frame by frame: the size limit and UTF-8 apply to
/// the inflated bytes, inflation stops one byte past the limit, and RSV1 on a continuation or
/// control frame is a protocol error.
public struct WebSocketMessageAssembler {
    /// What the connection must do after a frame.
    public enum Action: Equatable {
        /// Nothing yet (a fragment was buffered, or a stray pong arrived).
        case none
        /// A complete message arrived.
        case deliver(TransportMessage)
        /// A ping arrived: answer with a pong carrying `payload`. Counts as liveness.
        case sendPong(payload: ByteBuffer)
        /// A pong arrived (liveness for a client that pings).
        case receivedPong
        /// The peer started the close handshake: answer with a close frame carrying `code`
        /// (`nil`: an empty close frame) and close the connection.
        case replyToClose(code: UInt16?)
        /// The peer broke the protocol: send a close frame with `code` and close.
        case fail(code: UInt16, error: PrimusError)
        /// A close frame after ours: the handshake is complete, close the connection.
        case closeHandshakeComplete
    }

    /// The side of the connection the assembler serves, which decides the masking rule.
    public enum Role: Hashable, Sendable {
        /// A client: frames from the server arrive unmasked (a masked one is unmasked and
        /// accepted rather than delivered as garbage).
        case client
        /// A server: every client frame must be masked (RFC 6455 section 5.1); an unmasked frame
        /// fails the connection with 1002.
        case server
    }

    private enum State {
        case idle
        case assembling(opcode: WebSocketOpcode, buffer: ByteBuffer, validator: UTF8Validator, compressed: Bool)
        case closed
    }

    /// A frame as the rules see it: its payload unmasked. A plain struct, so unmasking does not
    /// build a second `WebSocketFrame` (whose storage is a class) per message.
    private struct Frame {
        var fin: Bool
        var rsv1: Bool
        var rsv2: Bool
        var rsv3: Bool
        var opcode: WebSocketOpcode
        var data: ByteBuffer
        var length: Int { data.readableBytes }
    }

    private var state: State = .idle
    private let maxMessageLength: Int
    private var decompressor: PerMessageDeflateDecompressor?
    private let requiresMaskedFrames: Bool

    /// Creates the machine.
    ///
    /// - Parameters:
    ///   - maxMessageLength: the largest message accepted, in bytes (Primus's `maxLength`); for a
    ///     compressed message, its inflated size.
    ///   - decompressor: the inflater of a negotiated permessage-deflate extension, which claims
    ///     the RSV1 bit; `nil` (the default) when none was negotiated and RSV1 is an error.
    ///   - role: the side this assembler runs on; ``Role/client`` by default, so a server must
    ///     say ``Role/server`` to have unmasked frames rejected.
    public init(maxMessageLength: Int, decompressor: PerMessageDeflateDecompressor? = nil, role: Role = .client) {
        self.maxMessageLength = maxMessageLength
        self.decompressor = decompressor
        self.requiresMaskedFrames = role == .server
    }

    /// Whether a close frame has been sent or received.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Records that this side sent a close frame; data frames are ignored from now on.
    public mutating func closeSent() {
        state = .closed
    }

    /// Handles one frame as decoded from the wire; a masked frame is unmasked here.
    public mutating func receive(_ frame: WebSocketFrame) -> Action {
        if case .closed = state {
            return frame.opcode == .connectionClose ? .closeHandshakeComplete : .none
        }
        let data: ByteBuffer
        if frame.maskKey != nil {
            data = frame.unmaskedData
        } else {
            if requiresMaskedFrames { return fail(1002, "unmasked frame from a client") }
            data = frame.data
        }
        return receive(Frame(fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3, opcode: frame.opcode, data: data))
    }

    private mutating func receive(_ frame: Frame) -> Action {
        if frame.rsv2 || frame.rsv3 || (frame.rsv1 && decompressor == nil) {
            return fail(1002, "reserved bits set without a negotiated extension")
        }
        if frame.rsv1, frame.opcode != .text, frame.opcode != .binary {
            // RFC 7692 section 6: only a message's first frame says it is compressed; control
            // frames never are.
            return fail(1002, "RSV1 set on a \(frame.opcode) frame")
        }
        switch frame.opcode {
        case .text, .binary:
            guard case .idle = state else { return fail(1002, "new message started inside a fragmented message") }
            return startMessage(frame)
        case .continuation:
            return continueMessage(frame)
        case .ping:
            guard frame.fin, frame.length <= 125 else { return fail(1002, "invalid ping frame") }
            return .sendPong(payload: frame.data)
        case .pong:
            guard frame.fin, frame.length <= 125 else { return fail(1002, "invalid pong frame") }
            return .receivedPong
        case .connectionClose:
            guard frame.fin, frame.length <= 125 else { return fail(1002, "invalid close frame") }
            return receiveClose(frame.data)
        default:
            return fail(1002, "reserved opcode \(frame.opcode)")
        }
    }

    private mutating func startMessage(_ frame: Frame) -> Action {
        if frame.rsv1 {
            let buffer = ByteBufferAllocator().buffer(capacity: min(maxMessageLength, max(frame.length * 2, 256)))
            return inflate(frame, opcode: frame.opcode, buffer: buffer, validator: UTF8Validator())
        }
        guard frame.length <= maxMessageLength else {
            return failTooLarge()
        }
        var validator = UTF8Validator()
        if frame.opcode == .text {
            let valid = frame.data.withUnsafeReadableBytes { validator.feed($0) }
            guard valid else { return failUTF8() }
        }
        if frame.fin {
            if frame.opcode == .text, !validator.isAtBoundary { return failUTF8() }
            return .deliver(frame.opcode == .text ? .text(frame.data) : .binary(frame.data))
        }
        state = .assembling(opcode: frame.opcode, buffer: frame.data, validator: validator, compressed: false)
        return .none
    }

    private mutating func continueMessage(_ frame: Frame) -> Action {
        guard case .assembling(let opcode, var buffer, var validator, let compressed) = state else {
            return fail(1002, "continuation frame without a message to continue")
        }
        state = .idle  // drop our reference so `buffer` is uniquely owned while we append
        if compressed { return inflate(frame, opcode: opcode, buffer: buffer, validator: validator) }
        guard buffer.readableBytes + frame.length <= maxMessageLength else { return failTooLarge() }
        if opcode == .text {
            let valid = frame.data.withUnsafeReadableBytes { validator.feed($0) }
            guard valid else { return failUTF8() }
        }
        var data = frame.data
        buffer.writeBuffer(&data)
        if frame.fin {
            if opcode == .text, !validator.isAtBoundary { return failUTF8() }
            return .deliver(opcode == .text ? .text(buffer) : .binary(buffer))
        }
        state = .assembling(opcode: opcode, buffer: buffer, validator: validator, compressed: false)
        return .none
    }

    /// One frame of a compressed message: inflated onto `buffer` (bounded by the limit), the new
    /// bytes validated as UTF-8 for text.
    private mutating func inflate(_ frame: Frame, opcode: WebSocketOpcode, buffer: ByteBuffer, validator: UTF8Validator) -> Action {
        var buffer = buffer
        var validator = validator
        let start = buffer.readableBytes
        let outcome = decompressor!.decompress(frame.data, isFinal: frame.fin, into: &buffer, limit: maxMessageLength)
        switch outcome {
        case .inflated: break
        case .exceedsLimit: return failTooLarge()
        case .invalidData: return fail(1007, "invalid compressed data", error: .decodingFailed("invalid permessage-deflate data"))
        }
        if opcode == .text {
            let valid = buffer.withUnsafeReadableBytes { validator.feed(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            guard valid else { return failUTF8() }
        }
        if frame.fin {
            if opcode == .text, !validator.isAtBoundary { return failUTF8() }
            return .deliver(opcode == .text ? .text(buffer) : .binary(buffer))
        }
        state = .assembling(opcode: opcode, buffer: buffer, validator: validator, compressed: true)
        return .none
    }

    private mutating func receiveClose(_ payload: ByteBuffer) -> Action {
        var payload = payload
        switch payload.readableBytes {
        case 0:
            state = .closed
            return .replyToClose(code: nil)
        case 1:
            return fail(1002, "close frame with a one-byte payload")
        default:
            let code = payload.readInteger(as: UInt16.self)!
            guard Self.isValidReceivedCloseCode(code) else { return fail(1002, "invalid close code \(code)") }
            var validator = UTF8Validator()
            let valid = payload.withUnsafeReadableBytes { validator.feed($0) }
            guard valid, validator.isAtBoundary else { return failUTF8() }
            state = .closed
            return .replyToClose(code: code)
        }
    }

    /// Close codes a peer may send (RFC 6455 section 7.4 and the IANA registry as of RFC 6455).
    public static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }

    private mutating func fail(_ code: UInt16, _ reason: String, error: PrimusError? = nil) -> Action {
        state = .closed
        return .fail(code: code, error: error ?? .protocolViolation(reason))
    }

    private mutating func failUTF8() -> Action {
        state = .closed
        return .fail(code: 1007, error: .invalidUTF8)
    }

    private mutating func failTooLarge() -> Action {
        state = .closed
        return .fail(code: 1009, error: .messageTooLarge(limit: maxMessageLength))
    }
}
