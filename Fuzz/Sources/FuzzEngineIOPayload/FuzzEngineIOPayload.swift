import FuzzSupport
import NIOCore
import PrimusCore

/// Engine.IO polling payloads: v4 (`\u{1e}`-separated), v3 text (UTF-16 length prefixes), v3
/// binary (XHR2), binary POST bodies, and the JSONP form (`d=...`) with its newline unescaping,
/// plus the JSONP answer wrapper.
///
/// The first byte picks the case. Invariants: decoding never traps; decoded packets encoded in
/// the same format decode to the same packets; a JSONP answer's string literal is JSON that reads
/// back as the payload.
@main
enum FuzzEngineIOPayload {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let selector = input.byte()
    let body = ByteBuffer(bytes: input.rest())
    switch selector % 6 {
    case 0: roundTrip(body, version: .v4, binaryContent: false)
    case 1: roundTrip(body, version: .v4, binaryContent: true)
    case 2: roundTrip(body, version: .v3, binaryContent: false)
    case 3: roundTrip(body, version: .v3, binaryContent: true)
    case 4:
        // A JSONP POST: the form field `d` holds a v3 text payload.
        if let payload = try? EngineIOPayloadCodec.unwrapJSONPForm(body) {
            roundTrip(payload, version: .v3, binaryContent: false)
        }
    default:
        checkJSONPWrapper(body, index: String(decoding: body.readableBytesView.prefix(4), as: UTF8.self))
    }
    return 0
}

/// Decodes `body`; when it is a payload, encodes its packets in the format it came in and
/// decodes them again.
func roundTrip(_ body: ByteBuffer, version: EngineIOProtocolVersion, binaryContent: Bool) {
    guard let packets = try? EngineIOPayloadCodec.decode(body, version: version, binaryContent: binaryContent) else { return }
    fuzzCheck(!packets.isEmpty, "a payload decoded to no packets")
    let format: EngineIOPayloadCodec.Format
    switch version {
    case .v4: format = .v4
    case .v3: format = binaryContent || body.readableBytesView.first! <= 1 ? .v3Binary : .v3Text
    }
    let encoded = EngineIOPayloadCodec.encode(packets, format: format)
    let again: [EngineIOPacket]
    do {
        again = try EngineIOPayloadCodec.decode(encoded, version: version, binaryContent: format == .v3Binary)
    } catch {
        fuzzCheck(false, "re-encoded \(format) payload does not decode: \(error)")
        return
    }
    fuzzCheck(again == packets, "\(format) round trip changed \(packets) into \(again)")
    if format == .v3Text {
        // The JSONP answer carries the same text.
        checkJSONPWrapper(encoded, index: "0")
    }
}

/// `___eio[<digits>]("<payload>");`: only digits in the index, and the literal reads back as
/// the payload (decoded as UTF-8, as the wrapper does).
func checkJSONPWrapper(_ payload: ByteBuffer, index: String) {
    let wrapped = EngineIOPayloadCodec.wrapJSONP(payload, index: index)
    let bytes = Array(wrapped.readableBytesView)
    let prefix = Array("___eio[".utf8)
    fuzzCheck(bytes.starts(with: prefix), "JSONP answer does not start with ___eio[")
    guard let close = bytes[prefix.count...].firstIndex(of: UInt8(ascii: "]")) else {
        fuzzCheck(false, "JSONP answer without ]")
        return
    }
    fuzzCheck(bytes[prefix.count..<close].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }, "JSONP index is not digits")
    fuzzCheck(bytes[close...].starts(with: Array("](".utf8)) && bytes.suffix(2).elementsEqual(");".utf8), "JSONP answer is not a call")
    let literal = bytes[(close + 2)..<(bytes.count - 2)]
    let value = literal.withUnsafeBytes { try? JSONReader.parse($0) }
    fuzzCheck(value == .string(String(buffer: payload)), "JSONP literal does not read back as the payload")
}
