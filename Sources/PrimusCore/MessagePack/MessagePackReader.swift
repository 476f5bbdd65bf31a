public import NIOCore

/// Reads one MessagePack value into a ``JSONValue``: the whole of the msgpack spec.
///
/// Integers of every width and floats become numbers (`Double`, as a JavaScript peer sees
/// them: integers beyond 2^53 lose their low digits), str becomes a string, bin becomes
/// ``JSONValue/binary(_:)``, the timestamp extension (type -1, any of its three forms) becomes
/// ``JSONValue/date(_:)`` and any other extension ``JSONValue/extension(type:data:)``. Maps
/// keep their pairs in order (``JSONObject``).
///
/// Map keys: JSON objects have string keys, so a str key is used as it is and a nil, bool or
/// number key becomes its JavaScript text (`1` → `"1"`, `-1.5` → `"-1.5"`, `true` → `"true"`),
/// as a JavaScript decoder does when it sets the key on an object; a bin, array, map or
/// extension key is an error. A key repeated keeps its first position and its last value.
///
/// Input comes from the network: truncation, a length beyond the bytes present, the reserved
/// byte 0xc1, a timestamp of a size the spec does not define, invalid UTF-8, bytes after the
/// value and nesting deeper than ``PrimusParsers/maximumDepth`` are each a thrown
/// ``PrimusError/decodingFailed(_:)`` naming the byte offset.
public enum MessagePackReader {
    /// The value `buffer`'s readable bytes hold, which must be exactly one value.
    public static func read(_ buffer: ByteBuffer) throws(PrimusError) -> JSONValue {
        if let value = MessagePackInPlaceReader.read(buffer) { return value }
        return try readScanning(buffer)
    }

    /// Reads with the scanner, one header at a time: slower than in place, but it names what
    /// is wrong and where, so it is what runs when the bytes were rejected.
    static func readScanning(_ buffer: ByteBuffer) throws(PrimusError) -> JSONValue {
        var scanner = MessagePackScanner(buffer)
        do throws(MessagePackFailure) {
            let value = try read(&scanner, depth: 0)
            guard scanner.remaining == 0 else {
                throw scanner.failure("\(scanner.remaining) bytes after the value")
            }
            return value
        } catch {
            throw error.primusError
        }
    }

    /// Reads the value at the scanner's position; `depth` counts the containers around it.
    static func read(_ scanner: inout MessagePackScanner, depth: Int) throws(MessagePackFailure) -> JSONValue {
        let start = scanner.index
        switch try scanner.next() {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .unsigned(let value): return .number(Double(value))
        case .signed(let value): return .number(Double(value))
        case .float32(let value): return .number(Double(value))
        case .float64(let value): return .number(value)
        case .string(let offset, let count): return .string(try scanner.string(at: offset, count: count))
        case .binary(let offset, let count): return .binary(scanner.buffer.getSlice(at: offset, length: count)!)
        case .extension(let type, let offset, let count):
            if type == MessagePackFormat.timestampType {
                return .date(try MessagePackTimestamp.read(scanner.buffer, at: offset, count: count))
            }
            return .extension(type: type, data: scanner.buffer.getSlice(at: offset, length: count)!)
        case .array(let count):
            guard depth < PrimusParsers.maximumDepth else { throw scanner.failure("nesting deeper than \(PrimusParsers.maximumDepth)", at: start) }
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try read(&scanner, depth: depth + 1)) }
            return .array(elements)
        case .map(let count):
            guard depth < PrimusParsers.maximumDepth else { throw scanner.failure("nesting deeper than \(PrimusParsers.maximumDepth)", at: start) }
            var members = JSONObject()
            members.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readKey(&scanner)
                members[key] = try read(&scanner, depth: depth + 1)
            }
            return .object(members)
        }
    }

    /// Reads a map key as the string a JavaScript object would use for it.
    static func readKey(_ scanner: inout MessagePackScanner) throws(MessagePackFailure) -> String {
        let start = scanner.index
        let token = try scanner.next()
        switch token {
        case .string(let offset, let count): return try scanner.string(at: offset, count: count)
        case .unsigned(let value): return String(value)
        case .signed(let value): return String(value)
        case .float32(let value): return javaScriptText(Double(value))
        case .float64(let value): return javaScriptText(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .binary, .array, .map, .extension:
            throw scanner.failure("map key is a \(token.kind); keys must be strings (or nil, bool, numbers)", at: start)
        }
    }

    /// `String(number)` in JavaScript.
    static func javaScriptText(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return JSONWriter.format(number)
    }
}
