import CPrimusZlib
public import NIOCore
public import PrimusCore

/// Compresses the messages one end sends under permessage-deflate (RFC 7692 section 7.2.1): raw
/// DEFLATE, flushed at the end of each message, with the `00 00 FF FF` tail removed. The frame
/// carrying the result has RSV1 set; control frames are never compressed.
///
/// The zlib stream is allocated on the first message (a connection that negotiated compression
/// but never sends holds no zlib memory) and freed with the last copy of this value. Copies share
/// the stream, so keep one per connection and use it from one thread at a time.
public struct PerMessageDeflateCompressor {
    private var stream: DeflateStream?
    private let window: WindowSettings

    /// A compressor that keeps (or, with `noContextTakeover`, resets) its LZ77 window between
    /// messages and refers at most `2^maxWindowBits` bytes back (8...15).
    public init(noContextTakeover: Bool, maxWindowBits: Int) {
        window = WindowSettings(noContextTakeover: noContextTakeover, maxWindowBits: maxWindowBits)
    }

    /// Whether the zlib stream is allocated (it is from the first message on).
    public var isAllocated: Bool { stream != nil }

    /// The payload of the frame that carries `message` compressed.
    ///
    /// - Throws: ``PrimusError/encodingFailed(_:)`` when zlib fails (out of memory); the stream is
    ///   then unusable and the connection should be closed (1011).
    public mutating func compress(_ message: ByteBuffer, allocator: ByteBufferAllocator) throws(PrimusError) -> ByteBuffer {
        guard message.readableBytes > 0 else {
            // An empty stored block once the tail is added back (RFC 7692 section 7.2.3.6). zlib
            // would emit nothing for a flush that follows a flush.
            var empty = allocator.buffer(capacity: 1)
            empty.writeInteger(UInt8(0))
            return empty
        }
        if stream == nil {
            stream = try DeflateStream.make(windowBits: window.maxWindowBits)
        }
        let stream = self.stream!
        var output = try stream.compress(message, allocator: allocator)
        // A sync flush ends with an empty stored block, 00 00 FF FF, which the receiver adds back.
        guard output.readableBytes >= 4, output.getInteger(at: output.writerIndex - 4, as: UInt32.self) == 0x0000_FFFF else {
            throw .encodingFailed("deflate did not end on a sync flush")
        }
        output.moveWriterIndex(to: output.writerIndex - 4)
        if window.noContextTakeover { stream.reset() }
        return output
    }
}

/// Inflates the messages one end receives under permessage-deflate (RFC 7692 section 7.2.2), one
/// frame at a time, never producing more than a caller's limit: a small frame that would inflate
/// past it (a "zip bomb") is stopped after `limit + 1` bytes.
///
/// The zlib stream is allocated on the first compressed message and freed with the last copy of
/// this value. Copies share the stream, so keep one per connection.
public struct PerMessageDeflateDecompressor {
    /// How one frame inflated.
    public enum Outcome: Hashable, Sendable {
        /// The frame's data was appended to the output.
        case inflated
        /// The message would exceed the limit (WebSocket close code 1009).
        case exceedsLimit
        /// The data is not valid DEFLATE, or refers past the negotiated window.
        case invalidData
    }

    private var stream: InflateStream?
    private let window: WindowSettings

    /// A decompressor for a peer that keeps (or, with `noContextTakeover`, resets) its window
    /// between messages and refers at most `2^maxWindowBits` bytes back (8...15).
    public init(noContextTakeover: Bool, maxWindowBits: Int) {
        window = WindowSettings(noContextTakeover: noContextTakeover, maxWindowBits: maxWindowBits)
    }

    /// Whether the zlib stream is allocated (it is from the first compressed message on).
    public var isAllocated: Bool { stream != nil }

    /// Inflates one frame of a compressed message, appending to `output`, which must not grow
    /// past `limit` readable bytes; `isFinal` marks the message's last frame, after which the
    /// removed `00 00 FF FF` tail is inflated too.
    ///
    /// After ``Outcome/exceedsLimit`` or ``Outcome/invalidData`` the stream's state is undefined:
    /// the connection must fail.
    public mutating func decompress(_ payload: ByteBuffer, isFinal: Bool, into output: inout ByteBuffer, limit: Int) -> Outcome {
        if stream == nil {
            guard let created = InflateStream.make(windowBits: window.maxWindowBits) else { return .invalidData }
            stream = created
        }
        let stream = self.stream!
        var outcome = payload.withUnsafeReadableBytes { stream.inflate($0, into: &output, limit: limit) }
        if outcome == .inflated, isFinal {
            outcome = withUnsafeBytes(of: UInt32(0x0000_FFFF).bigEndian) { stream.inflate($0, into: &output, limit: limit) }
            if outcome == .inflated, window.noContextTakeover { stream.reset() }
        }
        return outcome
    }
}

/// What one direction negotiated: whether the window resets after each message, and its size.
private struct WindowSettings {
    let noContextTakeover: Bool
    let maxWindowBits: Int

    init(noContextTakeover: Bool, maxWindowBits: Int) {
        precondition(PerMessageDeflateParameters.windowBits.contains(maxWindowBits), "window bits must be in 8...15")
        self.noContextTakeover = noContextTakeover
        self.maxWindowBits = maxWindowBits
    }
}

// MARK: - zlib streams

/// A `z_stream` at a fixed address (zlib keeps pointers into the struct), set up by one of
/// zlib's init functions and ended with the matching end function when its owner goes.
private final class ZStream {
    enum Kind { case deflate, inflate }

    let pointer: UnsafeMutablePointer<z_stream>
    private let kind: Kind

    private init(pointer: UnsafeMutablePointer<z_stream>, kind: Kind) {
        self.pointer = pointer
        self.kind = kind
    }

    /// A stream set up by `initialize`, or the zlib result that made it fail.
    static func make(_ kind: Kind, initialize: (UnsafeMutablePointer<z_stream>) -> Int32) -> Result<ZStream, ZlibResult> {
        let pointer = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        let result = initialize(pointer)
        guard result == Z_OK else {
            pointer.deinitialize(count: 1)
            pointer.deallocate()
            return .failure(ZlibResult(code: result))
        }
        return .success(ZStream(pointer: pointer, kind: kind))
    }

    deinit {
        switch kind {
        case .deflate: deflateEnd(pointer)
        case .inflate: inflateEnd(pointer)
        }
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// A zlib status code other than `Z_OK`.
private struct ZlibResult: Error {
    var code: Int32
}

/// A raw deflate stream.
private final class DeflateStream {
    private let owner: ZStream
    private var stream: UnsafeMutablePointer<z_stream> { owner.pointer }

    private init(owner: ZStream) {
        self.owner = owner
    }

    static func make(windowBits: Int) throws(PrimusError) -> DeflateStream {
        // zlib's raw deflate cannot make 256-byte windows (it asks for 9 at least). Huffman-only
        // coding never refers back, so its output honours any window the peer asked for.
        let strategy = windowBits < 9 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY
        let windowBits = max(windowBits, 9)
        // zlib's default hash table (memLevel 8, 32 Ki entries) is rehashed every time the window
        // slides: with a 512-byte window that made compressing JSON four times slower. Scaling it
        // with the window keeps the speed and saves memory (9 bits: about 16 KiB rather than 136 KiB).
        let memoryLevel = Int32(min(8, windowBits - 5))
        let made = ZStream.make(.deflate) {
            CPrimusZlib_deflateInit2($0, Z_DEFAULT_COMPRESSION, -Int32(windowBits), memoryLevel, strategy)
        }
        switch made {
        case .success(let owner): return DeflateStream(owner: owner)
        case .failure(let result): throw .encodingFailed("deflateInit2 failed (\(result.code))")
        }
    }

    func reset() {
        deflateReset(stream)
    }

    func compress(_ message: ByteBuffer, allocator: ByteBufferAllocator) throws(PrimusError) -> ByteBuffer {
        // Room for everything in one pass: the bound, plus the flush's empty stored block.
        let bound = Int(deflateBound(stream, UInt(message.readableBytes))) + 16
        var output = allocator.buffer(capacity: bound)
        var failure: Int32?
        message.withUnsafeReadableBytes { input in
            stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
            stream.pointee.avail_in = UInt32(input.count)
            // With Z_SYNC_FLUSH deflate returns once all input is consumed and flushed, unless the
            // output filled up: then it wants another call with more room.
            repeat {
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 256) { buffer in
                    stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = UInt32(clamping: buffer.count)
                    let available = Int(stream.pointee.avail_out)
                    let result = deflate(stream, Z_SYNC_FLUSH)
                    if result != Z_OK && result != Z_BUF_ERROR { failure = result }
                    return available - Int(stream.pointee.avail_out)
                }
            } while failure == nil && stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        if let failure { throw .encodingFailed("deflate failed (\(failure))") }
        return output
    }
}

/// A raw inflate stream.
private final class InflateStream {
    private let owner: ZStream
    private var stream: UnsafeMutablePointer<z_stream> { owner.pointer }

    private init(owner: ZStream) {
        self.owner = owner
    }

    static func make(windowBits: Int) -> InflateStream? {
        // A peer promising 8 bits may still produce 9 (zlib's deflate cannot do 8), so inflate
        // with at least 9; a wider window accepts everything a narrower one would.
        guard case .success(let owner) = ZStream.make(.inflate, initialize: { CPrimusZlib_inflateInit2($0, -Int32(max(windowBits, 9))) }) else {
            return nil
        }
        return InflateStream(owner: owner)
    }

    func reset() {
        inflateReset(stream)
    }

    /// Inflates all of `input`, growing `output` at most to `limit + 1` readable bytes.
    func inflate(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, limit: Int) -> PerMessageDeflateDecompressor.Outcome {
        guard let base = input.baseAddress else { return .inflated }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            let room = limit - output.readableBytes
            guard room >= 0 else { return .exceedsLimit }
            // Grow geometrically, but never ask for more than one byte past the limit: that byte
            // is how an over-long message is noticed without inflating the rest of it.
            let wanted = min(room + 1, max(4096, output.readableBytes))
            var result = Z_OK
            var outputFull = false
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { buffer in
                let available = min(buffer.count, room + 1, Int(UInt32.max))
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(available)
                result = CPrimusZlib.inflate(stream, Z_SYNC_FLUSH)
                outputFull = stream.pointee.avail_out == 0
                return available - Int(stream.pointee.avail_out)
            }
            switch result {
            case Z_OK, Z_BUF_ERROR:
                // Done once the input is used up and zlib had room to spare (nothing pending).
                if stream.pointee.avail_in == 0 && !outputFull { return .inflated }
                if result == Z_BUF_ERROR && !outputFull { return .invalidData }  // no progress possible
            case Z_STREAM_END:
                // A block with BFINAL set ends the DEFLATE stream (allowed by 7.2.3.3): what follows
                // starts a new one, without the old window.
                inflateReset(stream)
                if stream.pointee.avail_in == 0 { return output.readableBytes > limit ? .exceedsLimit : .inflated }
            default:
                return .invalidData
            }
            if output.readableBytes > limit { return .exceedsLimit }
        }
    }
}

// One zlib stream per connection, used on its event loop: copies share it, so never across threads.
@available(*, unavailable)
extension PerMessageDeflateCompressor: Sendable {}

@available(*, unavailable)
extension PerMessageDeflateDecompressor: Sendable {}
