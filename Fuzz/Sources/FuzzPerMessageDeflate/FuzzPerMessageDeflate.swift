import FuzzSupport
import NIOCore
import PrimusCore
import PrimusWebSocket

/// permessage-deflate (RFC 7692): the inflater on hostile frames, compression round trips, and
/// the `Sec-WebSocket-Extensions` offer parser.
///
/// The first byte picks the case (bits 0-1), no context takeover (bit 2) and the window bits
/// (bits 3-5); two bytes of message limit follow.
///
/// - Inflating: frames of a flag byte (bit 0: the message's last frame) and a length-prefixed
///   chunk. Inflation never traps nor grows a message past the limit.
/// - Round trip: messages as length-prefixed chunks, each compressed, split in two frames at a
///   chosen point and inflated: the message comes back, or `exceedsLimit` exactly when it is
///   longer than the limit.
/// - Negotiation: offers (one per line); an accepted offer's response header, offered again,
///   gives the same parameters.
@main
enum FuzzPerMessageDeflate {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let config = input.byte()
    let noContextTakeover = config & 4 != 0
    let windowBits = 8 + Int(config >> 3 & 7)
    let limit = Int(input.uint16())
    switch config & 3 {
    case 0, 3: inflateHostile(&input, noContextTakeover: noContextTakeover, windowBits: windowBits, limit: limit)
    case 1: roundTrip(&input, noContextTakeover: noContextTakeover, windowBits: windowBits, limit: limit)
    default: negotiate(input.rest())
    }
    return 0
}

func inflateHostile(_ input: inout FuzzInput, noContextTakeover: Bool, windowBits: Int, limit: Int) {
    var decompressor = PerMessageDeflateDecompressor(noContextTakeover: noContextTakeover, maxWindowBits: windowBits)
    var output = ByteBuffer()
    while !input.isAtEnd {
        let isFinal = input.bool()
        let frame = ByteBuffer(bytes: input.chunk())
        let outcome = decompressor.decompress(frame, isFinal: isFinal, into: &output, limit: limit)
        fuzzCheck(output.readableBytes <= limit + 1, "inflated \(output.readableBytes) bytes past the limit \(limit)")
        guard outcome == .inflated else { return }  // the connection fails here
        fuzzCheck(output.readableBytes <= limit, "inflated \(output.readableBytes) bytes over the limit \(limit)")
        if isFinal { output.clear() }
    }
}

func roundTrip(_ input: inout FuzzInput, noContextTakeover: Bool, windowBits: Int, limit: Int) {
    var compressor = PerMessageDeflateCompressor(noContextTakeover: noContextTakeover, maxWindowBits: windowBits)
    var decompressor = PerMessageDeflateDecompressor(noContextTakeover: noContextTakeover, maxWindowBits: windowBits)
    while !input.isAtEnd {
        let split = Int(input.byte())
        // A length-prefixed chunk, repeated to make long, compressible messages cheaply.
        let repeats = Int(input.byte() % 16) + 1
        let message = Array([[UInt8]](repeating: input.chunk(), count: repeats).joined())
        let payload: ByteBuffer
        do {
            payload = try compressor.compress(ByteBuffer(bytes: message), allocator: ByteBufferAllocator())
        } catch {
            fuzzCheck(false, "compression failed: \(error)")
            return
        }
        let cut = min(split, payload.readableBytes)
        let first = payload.getSlice(at: payload.readerIndex, length: cut)!
        let second = payload.getSlice(at: payload.readerIndex + cut, length: payload.readableBytes - cut)!
        var output = ByteBuffer()
        var outcome = decompressor.decompress(first, isFinal: false, into: &output, limit: limit)
        if outcome == .inflated {
            outcome = decompressor.decompress(second, isFinal: true, into: &output, limit: limit)
        }
        if message.count > limit {
            fuzzCheck(outcome == .exceedsLimit, "a \(message.count)-byte message over the limit \(limit) gave \(outcome)")
            return
        }
        fuzzCheck(outcome == .inflated, "a compressed message gave \(outcome)")
        fuzzCheck(output.readableBytesView.elementsEqual(message), "a \(message.count)-byte message did not round-trip")
    }
}

func negotiate(_ bytes: [UInt8]) {
    let offers = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let accepted = PerMessageDeflateParameters.negotiate(offers: offers) else { return }
    fuzzCheck((8...15).contains(accepted.serverMaxWindowBits) && (8...15).contains(accepted.clientMaxWindowBits), "window bits out of range")
    let again = PerMessageDeflateParameters.negotiate(offers: [accepted.responseHeaderValue])
    fuzzCheck(again == accepted, "response \(accepted.responseHeaderValue) does not read back as \(accepted)")
}
