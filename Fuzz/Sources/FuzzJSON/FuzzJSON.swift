import FuzzSupport
import NIOCore
import PrimusCore

/// The JSON reader (through `JSONParser`, as messages reach it) and writer.
///
/// Invariants: parsing never traps; a parsed value written and parsed again is the same value
/// (with ±Infinity, which `1e999` parses to, written as `null` as `JSON.stringify` does); the
/// written text is valid UTF-8; the `String` entry point agrees with the byte one.
@main
enum FuzzJSON {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, count)
    let parser = JSONParser()
    let message = TransportMessage.text(ByteBuffer(bytes: bytes))
    guard let value = try? parser.decode(message) else { return 0 }

    guard let written = try? parser.encode(value) else {
        fuzzCheck(false, "a parsed value could not be written")
        return 0
    }
    fuzzCheck(String(validating: written.buffer.readableBytesView, as: UTF8.self) != nil, "written JSON is not UTF-8")
    let reparsed: JSONValue
    do {
        reparsed = try parser.decode(written)
    } catch {
        fuzzCheck(false, "written JSON does not parse: \(error) in \(written.string)")
        return 0
    }
    fuzzCheck(reparsed == finite(value), "round trip changed \(value) into \(reparsed)")

    // Validation (what a spark does on arrival) accepts exactly what parsing accepts.
    let parsed = (try? parser.decode(message)) != nil
    var validated = true
    do { _ = try parser.validate(message, for: nil) } catch { validated = false }
    fuzzCheck(parsed == validated, "validate and parse disagree")
    // Key order survives the round trip.
    if case .object(let members) = value, case .object(let again) = reparsed {
        fuzzCheck(members.keys == again.keys, "key order changed")
    }

    // Valid UTF-8 input also goes through the String entry point: same value.
    if let text = String(validating: bytes, as: UTF8.self) {
        fuzzCheck((try? JSONReader.parse(text)) == value, "the String entry point disagrees")
    }
    return 0
}

/// `value` as it reads back after writing: non-finite numbers become `null`.
func finite(_ value: JSONValue) -> JSONValue {
    switch value {
    case .number(let number) where !number.isFinite: return .null
    case .array(let elements): return .array(elements.map(finite))
    case .object(let members): return .object(JSONObject(members.map { ($0.key, finite($0.value)) }))
    default: return value
    }
}
