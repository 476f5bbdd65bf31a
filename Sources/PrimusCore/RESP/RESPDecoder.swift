public import NIOCore

/// Reads RESP2 and RESP3 replies incrementally: feed it whatever bytes arrived, pull out every
/// complete value. It keeps partial aggregates between calls, so a large reply arriving in many
/// reads is parsed once (never re-parsed from its start), and it consumes bytes as soon as they
/// form a complete element, so the read buffer holds at most one unfinished line or bulk value.
///
/// The limits bound what a hostile or broken server can make it hold; a reply that passes one,
/// or any malformed byte, throws ``RESPError`` and the decoder stays failed (the stream has lost
/// its framing: close the connection).
public struct RESPDecoder: Sendable {
    /// The deepest nesting of aggregates (arrays, maps, sets, pushes, attributes) allowed.
    public let maxDepth: Int
    /// The longest bulk string, blob error or verbatim string, and the most bulk bytes one
    /// reply may hold in total, in bytes.
    public let maxBulkLength: Int
    /// The most values one reply may hold, all levels together (map keys and values count).
    public let maxElements: Int
    /// The longest header or simple line (simple strings, errors, numbers) in bytes.
    public let maxLineLength: Int

    private enum AggregateKind: Sendable {
        case array, map, set, push, attribute
    }

    private struct Aggregate: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue]
    }

    /// Aggregates being filled, outermost first.
    private var stack: [Aggregate] = []
    /// Values opened so far in the reply being read.
    private var elementsInReply = 0
    /// Bulk bytes read so far in the reply being read.
    private var bulkBytesInReply = 0
    /// Set once the stream has failed, so every later call reports the same fault.
    private var failure: RESPError?

    /// Creates a decoder with the given limits (defaults: Redis's own proto-max-bulk-len of
    /// 512 MiB, a million values, 32 levels, 64 KiB lines).
    public init(maxDepth: Int = 32, maxBulkLength: Int = 512 * 1024 * 1024, maxElements: Int = 1 << 20, maxLineLength: Int = 64 * 1024) {
        self.maxDepth = maxDepth
        self.maxBulkLength = maxBulkLength
        self.maxElements = maxElements
        self.maxLineLength = maxLineLength
    }

    /// Whether a reply has started but is not complete yet.
    public var isInsideReply: Bool { !stack.isEmpty }

    /// Reads the next complete value from `buffer`, consuming its bytes; `nil` means more
    /// bytes are needed (whatever could be consumed already was). Call it again until `nil`,
    /// since one read may hold several pipelined replies.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        if let failure { throw failure }
        do {
            return try decodeValue(&buffer)
        } catch {
            failure = error
            stack.removeAll()
            throw error
        }
    }

    private enum Step {
        case value(RESPValue)
        case open(AggregateKind, count: Int)
    }

    private mutating func decodeValue(_ buffer: inout ByteBuffer) throws(RESPError) -> RESPValue? {
        while true {
            guard let step = try readStep(&buffer) else { return nil }
            var completed: RESPValue?
            switch step {
            case .value(let value):
                completed = value
            case .open(let kind, let count):
                // An empty aggregate counts as a level too, so the limit means the same for all.
                guard stack.count < maxDepth else {
                    throw RESPError(.limitExceeded, "nesting deeper than \(maxDepth) levels")
                }
                if count == 0 {
                    completed = Self.build(kind, [])
                } else {
                    let slots = (kind == .map || kind == .attribute) ? count * 2 : count
                    stack.append(Aggregate(kind: kind, remaining: slots, elements: []))
                    stack[stack.count - 1].elements.reserveCapacity(Swift.min(slots, 1024))
                }
            }
            // Hand the finished value to its aggregate; a filled aggregate is itself finished.
            while let value = completed {
                guard !stack.isEmpty else {
                    elementsInReply = 0
                    bulkBytesInReply = 0
                    return value
                }
                let top = stack.count - 1
                stack[top].elements.append(value)
                stack[top].remaining -= 1
                if stack[top].remaining > 0 {
                    completed = nil
                } else {
                    let finished = stack.removeLast()
                    // A finished attribute vanishes: the value it annotates comes next.
                    completed = Self.build(finished.kind, finished.elements)
                }
            }
        }
    }

    private static func build(_ kind: AggregateKind, _ elements: [RESPValue]) -> RESPValue? {
        switch kind {
        case .array: return .array(elements)
        case .set: return .set(elements)
        case .push: return .push(elements)
        case .attribute: return nil
        case .map:
            var map: [RESPValue: RESPValue] = [:]
            map.reserveCapacity(elements.count / 2)
            var index = 0
            while index + 1 < elements.count {
                map[elements[index]] = elements[index + 1]
                index += 2
            }
            return .map(map)
        }
    }

    /// Reads one scalar value or one aggregate header, consuming it only when it is complete.
    private mutating func readStep(_ buffer: inout ByteBuffer) throws(RESPError) -> Step? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        // Checked before the line arrives, so garbage fails at once instead of waiting for CRLF.
        guard Self.knownTypes.contains(type) else {
            throw RESPError(.unknownType, "unknown type byte \(Self.printable(type))")
        }
        guard let lineEnd = try findLineEnd(buffer) else { return nil }
        let lineStart = buffer.readerIndex + 1
        let lineLength = lineEnd - lineStart
        let afterLine = lineEnd + 2

        elementsInReply += 1
        if elementsInReply > maxElements {
            throw RESPError(.limitExceeded, "a reply with more than \(maxElements) values")
        }

        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let text = buffer.getString(at: lineStart, length: lineLength) ?? ""
            buffer.moveReaderIndex(to: afterLine)
            return .value(type == UInt8(ascii: "+") ? .simpleString(text) : .error(text))
        case UInt8(ascii: ":"):
            let value = try Self.integer(buffer, at: lineStart, length: lineLength, what: "integer", kind: .badValue)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.integer(value))
        case UInt8(ascii: "_"):
            guard lineLength == 0 else { throw RESPError(.badValue, "a null (_) with content") }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.null)
        case UInt8(ascii: "#"):
            let flag = lineLength == 1 ? buffer.getInteger(at: lineStart, as: UInt8.self) : nil
            guard flag == UInt8(ascii: "t") || flag == UInt8(ascii: "f") else {
                throw RESPError(.badValue, "a boolean that is not #t or #f")
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.boolean(flag == UInt8(ascii: "t")))
        case UInt8(ascii: ","):
            let text = buffer.getString(at: lineStart, length: lineLength) ?? ""
            guard let value = Self.double(text) else {
                throw RESPError(.badValue, "a double that is not a number: \(Self.excerpt(text))")
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.double(value))
        case UInt8(ascii: "("):
            let text = buffer.getString(at: lineStart, length: lineLength) ?? ""
            guard Self.isBigNumber(text) else {
                throw RESPError(.badValue, "a big number that is not an integer: \(Self.excerpt(text))")
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.bigNumber(text))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = try Self.integer(buffer, at: lineStart, length: lineLength, what: "bulk length", kind: .badLength)
            if length == -1 && type == UInt8(ascii: "$") {
                buffer.moveReaderIndex(to: afterLine)
                return .value(.null)
            }
            guard length >= 0 else { throw RESPError(.badLength, "a negative bulk length \(length)") }
            guard length <= maxBulkLength, Int(length) <= maxBulkLength - bulkBytesInReply else {
                throw RESPError(.limitExceeded, "a bulk value of \(length) bytes (limit \(maxBulkLength))")
            }
            let count = Int(length)
            guard buffer.writerIndex - afterLine >= count + 2 else {
                elementsInReply -= 1
                return nil
            }
            guard buffer.getInteger(at: afterLine + count, as: UInt16.self) == 0x0D0A else {
                throw RESPError(.badLength, "a bulk value of \(count) bytes not followed by CRLF")
            }
            bulkBytesInReply += count
            buffer.moveReaderIndex(to: afterLine)
            let bytes = buffer.readSlice(length: count)!
            buffer.moveReaderIndex(forwardBy: 2)
            switch type {
            case UInt8(ascii: "$"):
                return .value(.bulkString(bytes))
            case UInt8(ascii: "!"):
                return .value(.blobError(String(buffer: bytes)))
            default:
                guard count >= 4, bytes.getInteger(at: bytes.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                    throw RESPError(.badValue, "a verbatim string without its 'fmt:' prefix")
                }
                return .value(.verbatimString(
                    format: bytes.getString(at: bytes.readerIndex, length: 3) ?? "",
                    text: bytes.getString(at: bytes.readerIndex + 4, length: count - 4) ?? ""
                ))
            }
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            let count = try Self.integer(buffer, at: lineStart, length: lineLength, what: "element count", kind: .badLength)
            if count == -1 && type == UInt8(ascii: "*") {
                buffer.moveReaderIndex(to: afterLine)
                return .value(.null)
            }
            guard count >= 0 else { throw RESPError(.badLength, "a negative element count \(count)") }
            let pairs = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
            guard count <= maxElements, !pairs || count <= maxElements / 2 else {
                throw RESPError(.limitExceeded, "an aggregate of \(count)\(pairs ? " pairs" : " elements") (limit \(maxElements) values)")
            }
            buffer.moveReaderIndex(to: afterLine)
            if type == UInt8(ascii: "|") { elementsInReply -= 1 }
            let kind: AggregateKind
            switch type {
            case UInt8(ascii: "*"): kind = .array
            case UInt8(ascii: "%"): kind = .map
            case UInt8(ascii: "~"): kind = .set
            case UInt8(ascii: ">"): kind = .push
            default: kind = .attribute
            }
            return .open(kind, count: Int(count))
        default:
            throw RESPError(.unknownType, "unknown type byte \(Self.printable(type))")
        }
    }

    private static let knownTypes: Set<UInt8> = Set("+-:_#,($!=*%~>|".utf8)

    /// The index of the CR of the first line's CRLF, or `nil` if it has not arrived.
    private func findLineEnd(_ buffer: ByteBuffer) throws(RESPError) -> Int? {
        let view = buffer.readableBytesView
        let searchEnd = Swift.min(view.endIndex, view.startIndex + 1 + maxLineLength + 1)
        let lineBreak = view[(view.startIndex + 1)..<searchEnd].firstIndex { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        guard let cr = lineBreak else {
            if view.count > 1 + maxLineLength {
                throw RESPError(.limitExceeded, "a line longer than \(maxLineLength) bytes")
            }
            return nil
        }
        guard view[cr] == UInt8(ascii: "\r") else { throw RESPError(.badLine, "a line ending in LF without CR") }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == UInt8(ascii: "\n") else {
            throw RESPError(.badLine, "a CR not followed by LF")
        }
        return cr
    }

    /// A strict decimal Int64: an optional `-`, then 1 to 19 digits, no overflow.
    private static func integer(_ buffer: ByteBuffer, at start: Int, length: Int, what: String, kind: RESPError.Kind) throws(RESPError) -> Int64 {
        var index = start
        let end = start + length
        var negative = false
        if index < end, buffer.getInteger(at: index, as: UInt8.self) == UInt8(ascii: "-") {
            negative = true
            index += 1
        } else if index < end, buffer.getInteger(at: index, as: UInt8.self) == UInt8(ascii: "+") {
            index += 1
        }
        guard index < end else { throw RESPError(kind, "an empty \(what)") }
        var magnitude: UInt64 = 0
        while index < end {
            let byte = buffer.getInteger(at: index, as: UInt8.self)!
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RESPError(kind, "a \(what) with a non-digit \(printable(byte))")
            }
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2, sum <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                throw RESPError(kind, "a \(what) out of the 64-bit range")
            }
            magnitude = sum
            index += 1
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    /// RESP3 doubles: decimal or exponent notation, or `inf`, `-inf`, `nan`.
    private static func double(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ byte in
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }) else { return nil }
        return Double(text)
    }

    private static func isBigNumber(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private static func excerpt(_ text: String) -> String {
        text.count > 40 ? "\"\(text.prefix(40))…\"" : "\"\(text)\""
    }
}
