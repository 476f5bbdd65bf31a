import FuzzSupport
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// The RFC 6455 message layer: a sequence of frames, each built from the input, fed to one
/// `WebSocketMessageAssembler`, with or without a permessage-deflate inflater.
///
/// Input: one configuration byte (bits 0-1 the message limit, bit 2 compression, bits 3-5 the
/// window bits, bit 6 no context takeover), then frames: a header byte (FIN, RSV1-3, opcode as on
/// the wire), a length byte (255: two more bytes of length) and the payload.
///
/// Invariants: no trap; a delivered message fits the limit, is valid UTF-8 when text, and is the
/// frames' payloads joined when uncompressed; a pong echoes its ping; failures use 1002, 1007 or
/// 1009; once closed, the machine only reports the peer's close.
@main
enum FuzzWebSocketAssembler {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let config = input.byte()
    let limit = [16, 125, 1000, 65536][Int(config & 3)]
    let decompressor = config & 4 == 0
        ? nil
        : PerMessageDeflateDecompressor(noContextTakeover: config & 64 != 0, maxWindowBits: 8 + Int(config >> 3 & 7))
    var assembler = WebSocketMessageAssembler(maxMessageLength: limit, decompressor: decompressor)

    // The uncompressed message being assembled, as the frames carried it.
    var joined: [UInt8] = []
    var compressed = false
    var closed = false
    while !input.isAtEnd {
        let header = input.byte()
        var length = Int(input.byte())
        if length == 255 { length = Int(input.uint16()) }
        let payload = input.take(length)
        let opcode = WebSocketOpcode(encodedWebSocketOpcode: header & 0x0F)!
        let frame = WebSocketFrame(
            fin: header & 0x80 != 0, rsv1: header & 0x40 != 0, rsv2: header & 0x20 != 0, rsv3: header & 0x10 != 0,
            opcode: opcode, data: ByteBuffer(bytes: payload)
        )
        if opcode == .text || opcode == .binary {
            joined = payload
            compressed = frame.rsv1
        } else if opcode == .continuation {
            joined += payload
        }

        let action = assembler.receive(frame)
        if closed {
            fuzzCheck(action == .none || action == .closeHandshakeComplete, "closed machine answered \(action)")
            fuzzCheck(action == .none || opcode == .connectionClose, "handshake completed by a \(opcode) frame")
            continue
        }
        switch action {
        case .none, .receivedPong:
            break
        case .deliver(let message):
            let bytes = message.buffer.readableBytesView
            fuzzCheck(bytes.count <= limit, "delivered \(bytes.count) bytes over the limit \(limit)")
            if message.isText {
                fuzzCheck(String(validating: bytes, as: UTF8.self) != nil, "delivered text is not UTF-8")
            }
            if !compressed {
                fuzzCheck(bytes.elementsEqual(joined), "delivered message differs from its frames")
            }
        case .sendPong(let pong):
            fuzzCheck(opcode == .ping && pong.readableBytesView.elementsEqual(payload), "pong does not echo the ping")
        case .replyToClose:
            fuzzCheck(opcode == .connectionClose, "close reply to a \(opcode) frame")
            closed = true
        case .fail(let code, _):
            fuzzCheck([1002, 1007, 1009].contains(code), "failed with close code \(code)")
            closed = true
        case .closeHandshakeComplete:
            fuzzCheck(false, "handshake completed before any close")
        }
        fuzzCheck(assembler.isClosed == closed, "isClosed is \(assembler.isClosed) after \(action)")
    }
    return 0
}
