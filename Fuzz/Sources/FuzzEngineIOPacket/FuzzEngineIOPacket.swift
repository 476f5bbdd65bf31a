import FuzzSupport
import NIOCore
import PrimusCore

/// Single Engine.IO packets, v3 and v4: WebSocket frames (text and binary) and the text form
/// polling payloads are made of, base64 included.
///
/// The first byte picks the version (bit 0) and whether the rest is a text or binary frame
/// (bit 1). Invariants: decoding never traps; a decoded packet encoded and decoded again is the
/// same packet, as a frame and in text form; the text form's UTF-16 length (what v3 payloads
/// count) matches the text's when it is valid UTF-8.
@main
enum FuzzEngineIOPacket {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let selector = input.byte()
    let version: EngineIOProtocolVersion = selector & 1 == 0 ? .v4 : .v3
    let buffer = ByteBuffer(bytes: input.rest())
    let frame: TransportMessage = selector & 2 == 0 ? .text(buffer) : .binary(buffer)

    if let packet = try? EngineIOPacketCodec.decodeFrame(frame, version: version) {
        let encoded = EngineIOPacketCodec.encodeFrame(packet, version: version)
        let again = try? EngineIOPacketCodec.decodeFrame(encoded, version: version)
        fuzzCheck(again == packet, "frame round trip (\(version)) changed \(packet) into \(String(describing: again))")
        checkTextForm(packet, version: version)
    }
    if let packet = try? EngineIOPacketCodec.decodeText(buffer, version: version) {
        checkTextForm(packet, version: version)
    }
    return 0
}

/// The text form of `packet` decodes to `packet`, and its UTF-16 length is right.
func checkTextForm(_ packet: EngineIOPacket, version: EngineIOProtocolVersion) {
    var text = ByteBuffer()
    EngineIOPacketCodec.writeText(packet, version: version, into: &text)
    let again = try? EngineIOPacketCodec.decodeText(text, version: version)
    fuzzCheck(again == packet, "text round trip (\(version)) changed \(packet) into \(String(describing: again))")
    if let string = String(validating: text.readableBytesView, as: UTF8.self) {
        let length = EngineIOPacketCodec.textLengthInUTF16(packet, version: version)
        fuzzCheck(length == string.utf16.count, "UTF-16 length \(length) of \(string.debugDescription)")
    }
}
