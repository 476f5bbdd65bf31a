import FuzzSupport
import NIOCore
import PrimusCore

/// The binary and extended parsers (msgpack, binary, ejson) on hostile messages, as a spark gets
/// them: the first byte picks the parser, the rest is the message.
///
/// Invariants: decoding never traps and never allocates beyond what the input describes (lengths
/// are checked against the bytes present; ASan and libFuzzer's memory limit catch the rest);
/// `protocolText` never traps and agrees with a full decode; a decoded value that encodes again
/// decodes to the same value (NaN compared as NaN).
@main
enum FuzzParsers {
    static func main() { FuzzDriver.run(testOneInput) }
}

let parsers: [any PrimusParser] = [MessagePackParser(), BinaryPackParser(), EJSONParser()]

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, count)
    guard let selector = bytes.first else { return 0 }
    let parser = parsers[Int(selector) % parsers.count]
    let body = ByteBuffer(bytes: bytes.dropFirst())
    let message: TransportMessage = parser.name == "ejson" ? .text(body) : .binary(body)

    let decoded = try? parser.decode(message)
    if let text = parser.protocolText(in: message, for: nil) {
        fuzzCheck(decoded == .string(text), "\(parser.name): protocolText found \(text) but decode gave \(String(describing: decoded))")
    }
    guard let value = decoded else { return 0 }
    // Deep values may not encode again (an encoder's own wrappers count towards the limit).
    guard let encoded = try? parser.encode(value) else { return 0 }
    do {
        let again = try parser.decode(encoded)
        fuzzCheck(comparable(again) == comparable(value), "\(parser.name): round trip changed \(value) into \(again)")
    } catch {
        fuzzCheck(false, "\(parser.name): what it wrote does not decode: \(error)")
    }
    return 0
}

/// `value` with NaN replaced by a marker string, so that equal values compare equal.
func comparable(_ value: JSONValue) -> JSONValue {
    switch value {
    case .number(let number) where number.isNaN: return .string("\u{0}NaN")
    case .array(let elements): return .array(elements.map(comparable))
    case .object(let members): return .object(JSONObject(members.map { ($0.key, comparable($0.value)) }))
    default: return value
    }
}
