public import NIOCore

/// Serialises a ``JSONValue`` to compact JSON text the way JavaScript's `JSON.stringify` does,
/// straight into a `ByteBuffer` so the outgoing frame needs no further copy.
///
/// Two rules come from Primus rather than JSON: U+2028 and U+2029 are written as `\u2028` and
/// `\u2029` (Primus escapes them so the text is also valid JavaScript), and non-finite numbers
/// become `null`, as `JSON.stringify` writes them.
public struct JSONWriter {
    /// The text written so far.
    public var buffer: ByteBuffer

    /// Creates a writer that appends to `buffer`.
    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Creates a writer with room for `capacity` bytes, so typical messages are written without
    /// the buffer growing (and reallocating) several times.
    public init(capacity: Int = 64) {
        self.buffer = ByteBuffer()
        self.buffer.reserveCapacity(capacity)
    }

    /// The bytes written so far, as an array.
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// Appends the JSON text of `value`.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: buffer.writeStaticString("null")
        case .bool(true): buffer.writeStaticString("true")
        case .bool(false): buffer.writeStaticString("false")
        case .number(let number): writeNumber(number)
        case .string(let string): writeString(string)
        case .array(let elements):
            buffer.writeInteger(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
                write(element)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
                writeString(key)
                buffer.writeInteger(UInt8(ascii: ":"))
                write(member)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        case .binary(let bytes):
            writeNodeBuffer(type: nil, bytes)
        case .date(let date):
            writeString(JSONDateText.iso8601(date))
        case .extension(let type, let bytes):
            writeNodeBuffer(type: type, bytes)
        }
    }

    /// Bytes as Node's `Buffer.toJSON()` writes them, `{"type":"Buffer","data":[1,2]}`; an
    /// extension value adds its type: `{"type":"Buffer","ext":5,"data":[…]}`.
    private mutating func writeNodeBuffer(type: Int8?, _ bytes: ByteBuffer) {
        writeNodeBuffer(type: type, bytes: bytes.readableBytesView)
    }

    /// Bytes of any collection (a `Data` met by the streaming encoder) as a Node `Buffer`.
    mutating func writeNodeBuffer(type: Int8? = nil, bytes: some Sequence<UInt8>) {
        buffer.writeStaticString(#"{"type":"Buffer","#)
        if let type {
            buffer.writeStaticString(#""ext":"#)
            writeDecimal(Int64(type))
            buffer.writeInteger(UInt8(ascii: ","))
        }
        buffer.writeStaticString(#""data":["#)
        var first = true
        for byte in bytes {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            writeDecimal(Int64(byte))
        }
        buffer.writeStaticString("]}")
    }

    /// Appends the decimal digits of `value`, as `String(value)` spells them, without making
    /// the `String`: the form ``format(_:)`` gives an integral number below 9e18.
    mutating func writeDecimal(_ value: Int64) {
        let negative = value < 0
        let magnitude = value.magnitude
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        let total = digits + (negative ? 1 : 0)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            var position = total
            var rest = magnitude
            repeat {
                position -= 1
                out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            if negative { out[0] = UInt8(ascii: "-") }
            return total
        }
    }

    /// Appends `string` as a quoted JSON string.
    public mutating func writeString(_ string: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            var index = 0
            let count = utf8.count
            while index < count {
                let byte = utf8[index]
                var escape: StaticString?
                var width = 1
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0x08: escape = "\\b"
                case 0x0C: escape = "\\f"
                case 0x00..<0x20: escape = nil; width = 0
                case 0xE2 where index + 2 < count && utf8[index + 1] == 0x80
                    && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                    // U+2028 / U+2029 (E2 80 A8 / E2 80 A9)
                    escape = utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    width = 3
                default:
                    index += 1
                    continue
                }
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<index])))
                if let escape {
                    buffer.writeStaticString(escape)
                } else {
                    // Other control characters: \u00XX.
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Self.hexDigit(byte >> 4))
                    buffer.writeInteger(Self.hexDigit(byte & 0x0F))
                    width = 1
                }
                index += width
                runStart = index
            }
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<count])))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Appends `number` formatted as JavaScript's `Number.prototype.toString` does.
    public mutating func writeNumber(_ number: Double) {
        // Integral and below 9e18 (zero and -0 included): the digits ``format(_:)`` would
        // give, written without making a `String`.
        if number == number.rounded(.towardZero), number.magnitude < 9.0e18 {
            writeDecimal(Int64(number))
            return
        }
        buffer.writeString(JSONWriter.format(number))
    }

    /// Formats `number` as JavaScript does: integers without a fraction up to 1e21, the shortest
    /// round-tripping digits otherwise, exponents without leading zeros, `null` for NaN/±Infinity.
    public static func format(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == 0 { return "0" }  // also -0, which JSON.stringify writes as 0
        if number == number.rounded(.towardZero), abs(number) < 1e21 {
            if abs(number) < 9.0e18 { return String(Int64(number)) }
            return expandExponent(number.description)
        }
        let text = number.description
        guard let e = text.firstIndex(of: "e") else { return text }
        // Swift writes "1e-07"; JavaScript writes "1e-7".
        let mantissa = text[..<e]
        var exponent = text[text.index(after: e)...]
        var sign = "+"
        if let first = exponent.first, first == "-" || first == "+" {
            sign = String(first)
            exponent = exponent.dropFirst()
        }
        while exponent.count > 1, exponent.first == "0" { exponent = exponent.dropFirst() }
        return "\(mantissa)e\(sign)\(exponent)"
    }

    /// Turns an integral value in exponent form ("1.5e+20") into plain digits.
    private static func expandExponent(_ text: String) -> String {
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...].filter { $0 != "+" })
        else { return text }
        var mantissa = String(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        var digits = mantissa
        var fractionCount = 0
        if let dot = mantissa.firstIndex(of: ".") {
            fractionCount = mantissa.distance(from: dot, to: mantissa.endIndex) - 1
            digits.remove(at: dot)
        }
        let zeros = exponent - fractionCount
        if zeros > 0 { digits += String(repeating: "0", count: zeros) }
        return (negative ? "-" : "") + digits
    }
}
