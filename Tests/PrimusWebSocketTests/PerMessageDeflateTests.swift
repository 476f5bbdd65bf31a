import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusWebSocket
import Testing

// The examples of RFC 7692 section 7.2.3: "Hello" compressed in various ways.
private let helloCompressed: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
private let helloAgainWithSharedWindow: [UInt8] = [0xF2, 0x00, 0x11, 0x00, 0x00]
private let helloStored: [UInt8] = [0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00]
private let helloWithBFINAL: [UInt8] = [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]
private let helloInTwoBlocks: [UInt8] = [0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00]

private func negotiate(_ offers: String...) -> PerMessageDeflateParameters? {
    PerMessageDeflateParameters.negotiate(offers: offers)
}

private func compressedFrame(_ bytes: [UInt8], opcode: WebSocketOpcode = .text, fin: Bool = true, rsv1: Bool = true) -> WebSocketFrame {
    WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, data: ByteBuffer(bytes: bytes))
}

private func compress(_ text: String, with compressor: inout PerMessageDeflateCompressor) throws -> [UInt8] {
    Array(buffer: try compressor.compress(ByteBuffer(string: text), allocator: ByteBufferAllocator()))
}

/// Deterministic, poorly compressible bytes.
private func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

@Suite("permessage-deflate negotiation (RFC 7692 section 7.1)")
struct PerMessageDeflateNegotiationTests {
    @Test func acceptsThePlainOfferWithoutParameters() throws {
        let accepted = try #require(negotiate("permessage-deflate"))
        #expect(accepted == PerMessageDeflateParameters())
        #expect(accepted.responseHeaderValue == "permessage-deflate")
    }

    @Test func acceptsEveryParameterAndAnswersTheOnesThatNeedAnAnswer() throws {
        let accepted = try #require(negotiate(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
        ))
        #expect(accepted.serverNoContextTakeover && accepted.clientNoContextTakeover)
        #expect(accepted.serverMaxWindowBits == 10 && accepted.clientMaxWindowBits == 12)
        #expect(accepted.responseHeaderValue
            == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
    }

    @Test func clientMaxWindowBitsWithoutValueLeavesTheClientAtFifteen() throws {
        let accepted = try #require(negotiate("permessage-deflate; client_max_window_bits"))
        #expect(accepted.clientMaxWindowBits == 15)
        #expect(accepted.responseHeaderValue == "permessage-deflate")
    }

    @Test func acceptsAutobahnsOffers() throws {
        let first = try #require(negotiate("permessage-deflate; client_no_context_takeover; client_max_window_bits"))
        #expect(first.responseHeaderValue == "permessage-deflate; client_no_context_takeover")
        let second = try #require(negotiate("permessage-deflate; client_max_window_bits; server_max_window_bits=9; server_no_context_takeover"))
        #expect(second.responseHeaderValue == "permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
    }

    @Test func honoursAWindowOfEightBits() throws {
        let accepted = try #require(negotiate("permessage-deflate; server_max_window_bits=8"))
        #expect(accepted.serverMaxWindowBits == 8)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_max_window_bits=8")
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits",  // needs a value
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",  // no leading zeros
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",  // takes no value
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",  // twice
        "permessage-deflate; mystery_parameter",
        "permessage-deflate; ; server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=\"1 0\"",
        "x-webkit-deflate-frame",
        "",
    ])
    func declinesOffersItCannotHonour(_ offer: String) {
        #expect(negotiate(offer) == nil)
    }

    @Test func fallsBackToTheNextOfferInTheClientsOrder() throws {
        let accepted = try #require(negotiate(
            "permessage-deflate; server_max_window_bits=16, x-foo, permessage-deflate; server_no_context_takeover, permessage-deflate"
        ))
        #expect(accepted.serverNoContextTakeover)
        let acrossHeaders = try #require(negotiate("permessage-deflate; bogus", "permessage-deflate; client_max_window_bits=9"))
        #expect(acrossHeaders.clientMaxWindowBits == 9)
    }

    @Test func readsQuotedValuesCaseAndWhitespace() throws {
        let accepted = try #require(negotiate("x-other; a=\"b, c\" ,  Permessage-Deflate ;\tServer_Max_Window_Bits = \"11\""))
        #expect(accepted.serverMaxWindowBits == 11)
        #expect(accepted.responseHeaderValue == "permessage-deflate; server_max_window_bits=11")
    }

    @Test func roleSelectsWhichParametersCompressAndWhichInflate() throws {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: 10)
        var serverCompressor = parameters.compressor(for: .server)
        var clientDecompressor = parameters.decompressor(for: .client)
        for _ in 0..<3 {
            let payload = try serverCompressor.compress(ByteBuffer(string: "same text, same text"), allocator: ByteBufferAllocator())
            var output = ByteBuffer()
            #expect(clientDecompressor.decompress(payload, isFinal: true, into: &output, limit: 100) == .inflated)
            #expect(String(buffer: output) == "same text, same text")
        }
    }
}

@Suite("permessage-deflate compression (RFC 7692 section 7.2)")
struct PerMessageDeflateCodecTests {
    @Test func compressesLikeTheRFCExamplesAndStripsTheTail() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        #expect(try compress("Hello", with: &compressor) == helloCompressed)
        #expect(try compress("Hello", with: &compressor) == helloAgainWithSharedWindow)
    }

    @Test func withoutContextTakeoverEveryMessageStandsAlone() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: true, maxWindowBits: 15)
        #expect(try compress("Hello", with: &compressor) == helloCompressed)
        #expect(try compress("Hello", with: &compressor) == helloCompressed)
    }

    @Test func anEmptyMessageIsOneZeroByte() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        #expect(try compress("", with: &compressor) == [0x00])
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        var output = ByteBuffer()
        #expect(decompressor.decompress(ByteBuffer(bytes: [0x00]), isFinal: true, into: &output, limit: 10) == .inflated)
        #expect(output.readableBytes == 0)
    }

    @Test func inflatesEveryRFCExample() {
        for example in [helloCompressed, helloStored, helloWithBFINAL, helloInTwoBlocks] {
            var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
            var output = ByteBuffer()
            #expect(decompressor.decompress(ByteBuffer(bytes: example), isFinal: true, into: &output, limit: 100) == .inflated)
            #expect(String(buffer: output) == "Hello")
        }
    }

    @Test func inflatesWithTheSharedWindowAcrossMessages() {
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        var first = ByteBuffer()
        #expect(decompressor.decompress(ByteBuffer(bytes: helloCompressed), isFinal: true, into: &first, limit: 100) == .inflated)
        var second = ByteBuffer()
        #expect(decompressor.decompress(ByteBuffer(bytes: helloAgainWithSharedWindow), isFinal: true, into: &second, limit: 100) == .inflated)
        #expect(String(buffer: second) == "Hello")
    }

    @Test func inflatesAMessageSplitAnywhereAcrossFrames() {
        for split in 1..<helloInTwoBlocks.count {
            var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
            var output = ByteBuffer()
            let head = ByteBuffer(bytes: helloInTwoBlocks[..<split])
            let tail = ByteBuffer(bytes: helloInTwoBlocks[split...])
            #expect(decompressor.decompress(head, isFinal: false, into: &output, limit: 100) == .inflated)
            #expect(decompressor.decompress(tail, isFinal: true, into: &output, limit: 100) == .inflated)
            #expect(String(buffer: output) == "Hello")
        }
    }

    @Test(arguments: [8, 9, 12, 15])
    func roundTripsLargeAndIncompressibleMessagesAtEveryWindow(windowBits: Int) throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: windowBits)
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: windowBits)
        let text = String(repeating: #"{"user":"ada","text":"hello, world"}"#, count: 4000)
        let messages = [Array(text.utf8), noise(200_000), [], Array("short".utf8), noise(3)]
        for message in messages {
            let payload = try compressor.compress(ByteBuffer(bytes: message), allocator: ByteBufferAllocator())
            var output = ByteBuffer()
            #expect(decompressor.decompress(payload, isFinal: true, into: &output, limit: 1 << 20) == .inflated)
            #expect(Array(buffer: output) == message)
        }
        #expect(compressor.isAllocated && decompressor.isAllocated)
    }

    @Test func huffmanOnlyOutputForAnEightBitWindowNeverRefersBack() throws {
        // Repetitive text compresses well by reference; at 8 bits it must not use references at
        // all, so it compresses only by symbol frequency (roughly 5 bits per character here).
        let text = String(repeating: "abcdefgh", count: 1000)
        var narrow = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 8)
        var wide = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 9)
        let huffman = try compress(text, with: &narrow)
        let lz77 = try compress(text, with: &wide)
        #expect(huffman.count > text.utf8.count / 4)
        #expect(lz77.count < 100)
    }

    @Test func aZipBombStopsOneBytePastTheLimit() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        let bomb = try compressor.compress(ByteBuffer(repeating: 0, count: 16 << 20), allocator: ByteBufferAllocator())
        #expect(bomb.readableBytes < 20_000)
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        var output = ByteBuffer()
        #expect(decompressor.decompress(bomb, isFinal: true, into: &output, limit: 1000) == .exceedsLimit)
        #expect(output.readableBytes == 1001)
        #expect(output.capacity < 8192)
    }

    @Test func aMessageOfExactlyTheLimitIsAccepted() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        let payload = try compressor.compress(ByteBuffer(repeating: 7, count: 5000), allocator: ByteBufferAllocator())
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        var output = ByteBuffer()
        #expect(decompressor.decompress(payload, isFinal: true, into: &output, limit: 5000) == .inflated)
        #expect(output.readableBytes == 5000)
    }

    @Test func garbageIsInvalidData() {
        var decompressor = PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        var output = ByteBuffer()
        // BTYPE 11 is reserved.
        #expect(decompressor.decompress(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]), isFinal: true, into: &output, limit: 100) == .invalidData)
    }

    @Test func zlibStreamsAreAllocatedOnlyOnFirstUse() throws {
        let parameters = try #require(negotiate("permessage-deflate"))
        var compressor = parameters.compressor(for: .server)
        let decompressor = parameters.decompressor(for: .server)
        #expect(!compressor.isAllocated && !decompressor.isAllocated)
        _ = try compress("x", with: &compressor)
        #expect(compressor.isAllocated && !decompressor.isAllocated)
    }
}

@Suite("RFC 6455 message rules with permessage-deflate")
struct CompressedMessageAssemblerTests {
    private func machine(limit: Int = 100) -> WebSocketMessageAssembler {
        WebSocketMessageAssembler(
            maxMessageLength: limit,
            decompressor: PerMessageDeflateDecompressor(noContextTakeover: false, maxWindowBits: 15)
        )
    }

    @Test func deliversACompressedTextMessageInflated() {
        var machine = machine()
        #expect(machine.receive(compressedFrame(helloCompressed)) == .deliver(.text("Hello")))
        #expect(machine.receive(compressedFrame(helloAgainWithSharedWindow)) == .deliver(.text("Hello")))
    }

    @Test func reassemblesTheRFCsFragmentedCompressedMessage() {
        var machine = machine()
        #expect(machine.receive(compressedFrame([0xF2, 0x48, 0xCD], fin: false)) == .none)
        #expect(machine.receive(compressedFrame([0xC9, 0xC9, 0x07, 0x00], opcode: .continuation, rsv1: false)) == .deliver(.text("Hello")))
    }

    @Test func uncompressedMessagesStillPassBetweenCompressedOnes() {
        var machine = machine()
        #expect(machine.receive(compressedFrame(Array("plain".utf8), rsv1: false)) == .deliver(.text("plain")))
        #expect(machine.receive(compressedFrame(helloCompressed, opcode: .binary)) == .deliver(.binary(ByteBuffer(string: "Hello"))))
    }

    @Test func rsv1OnAContinuationFrameIsAProtocolError() {
        var machine = machine()
        #expect(machine.receive(compressedFrame([0xF2, 0x48, 0xCD], fin: false)) == .none)
        guard case .fail(1002, _) = machine.receive(compressedFrame([0xC9, 0xC9, 0x07, 0x00], opcode: .continuation)) else {
            Issue.record("expected 1002")
            return
        }
    }

    @Test func rsv1OnAControlFrameIsAProtocolError() {
        var machine = machine()
        guard case .fail(1002, _) = machine.receive(compressedFrame([], opcode: .ping)) else {
            Issue.record("expected 1002")
            return
        }
    }

    @Test func rsv1WithoutNegotiationIsAProtocolError() {
        var machine = WebSocketMessageAssembler(maxMessageLength: 100)
        guard case .fail(1002, _) = machine.receive(compressedFrame(helloCompressed)) else {
            Issue.record("expected 1002")
            return
        }
    }

    @Test func theLimitAppliesToTheInflatedSize() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        let payload = try compressor.compress(ByteBuffer(repeating: UInt8(ascii: "a"), count: 101), allocator: ByteBufferAllocator())
        #expect(payload.readableBytes < 100)
        var machine = machine()
        #expect(machine.receive(WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: payload)) == .fail(code: 1009, error: .messageTooLarge(limit: 100)))
    }

    @Test func theLimitAppliesAcrossFragments() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        let payload = try compressor.compress(ByteBuffer(repeating: UInt8(ascii: "a"), count: 150), allocator: ByteBufferAllocator())
        let bytes = Array(buffer: payload)
        var machine = machine()
        let split = bytes.count / 2
        let first = machine.receive(compressedFrame(Array(bytes[..<split]), fin: false))
        let second = machine.receive(compressedFrame(Array(bytes[split...]), opcode: .continuation, rsv1: false))
        #expect([first, second].contains(.fail(code: 1009, error: .messageTooLarge(limit: 100))))
    }

    @Test func invalidUTF8IsFoundAfterInflation() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        let payload = try compressor.compress(ByteBuffer(bytes: [0x68, 0x69, 0xC0, 0xAF]), allocator: ByteBufferAllocator())
        var machine = machine()
        #expect(machine.receive(WebSocketFrame(fin: true, rsv1: true, opcode: .text, data: payload)) == .fail(code: 1007, error: .invalidUTF8))
    }

    @Test func aCharacterSplitAcrossCompressedFramesIsValid() throws {
        var compressor = PerMessageDeflateCompressor(noContextTakeover: false, maxWindowBits: 15)
        // Two sync-flushed pieces: the euro sign's bytes straddle the frames once inflated.
        let euro = Array("€".utf8)
        let first = try compressor.compress(ByteBuffer(bytes: [0x61] + euro[..<1]), allocator: ByteBufferAllocator())
        let second = try compressor.compress(ByteBuffer(bytes: Array(euro[1...])), allocator: ByteBufferAllocator())
        var machine = machine()
        var firstBytes = Array(buffer: first)
        firstBytes += [0x00, 0x00, 0xFF, 0xFF]  // the sync flush's tail, kept inside the message
        #expect(machine.receive(compressedFrame(firstBytes, fin: false)) == .none)
        #expect(machine.receive(compressedFrame(Array(buffer: second), opcode: .continuation, rsv1: false)) == .deliver(.text("a€")))
    }

    @Test func corruptCompressedDataFailsWith1007() {
        var machine = machine()
        guard case .fail(1007, _) = machine.receive(compressedFrame([0xFF, 0xFF, 0xFF])) else {
            Issue.record("expected 1007")
            return
        }
    }
}
