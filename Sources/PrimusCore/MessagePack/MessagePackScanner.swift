import NIOCore

/// Reads MessagePack one header at a time, checking every length against the bytes present
/// before anything is read or allocated, so truncated or lying input is an error, never a trap
/// or a huge allocation.
///
/// Strings, binaries and extension values come back as the position of their bytes, which the
/// caller reads or skips; arrays and maps come back as their element count, the elements
/// following. Offsets are absolute positions in the buffer.
struct MessagePackScanner {
    /// One header and, for scalars, its value.
    enum Token {
        case null
        case bool(Bool)
        /// A positive fixint or uint 8/16/32/64.
        case unsigned(UInt64)
        /// A negative fixint or int 8/16/32/64.
        case signed(Int64)
        case float32(Float)
        case float64(Double)
        /// UTF-8 bytes (not yet validated) at `offset`.
        case string(offset: Int, count: Int)
        case binary(offset: Int, count: Int)
        /// The header of an array of `count` elements.
        case array(count: Int)
        /// The header of a map of `count` key-value pairs.
        case map(count: Int)
        case `extension`(type: Int8, offset: Int, count: Int)

        /// The kind's name, for error messages.
        var kind: String {
            switch self {
            case .null: "nil"
            case .bool: "bool"
            case .unsigned, .signed: "int"
            case .float32, .float64: "float"
            case .string: "str"
            case .binary: "bin"
            case .array: "array"
            case .map: "map"
            case .extension(let type, _, _): type == MessagePackFormat.timestampType ? "timestamp" : "ext"
            }
        }
    }

    let buffer: ByteBuffer
    /// The position of the next header.
    var index: Int
    /// The position just past the last byte.
    let end: Int

    /// Scans the readable bytes of `buffer`.
    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
        self.index = buffer.readerIndex
        self.end = buffer.writerIndex
    }

    /// Bytes left after ``index``.
    var remaining: Int { end - index }

    /// The offset of ``index`` from the start of the message, for error messages.
    var offset: Int { index - buffer.readerIndex }

    func failure(_ reason: String, at position: Int? = nil) -> MessagePackFailure {
        MessagePackFailure(reason, at: (position ?? index) - buffer.readerIndex)
    }

    /// Reads the next header (and a scalar's value); a string, binary or extension's bytes are
    /// checked present and skipped.
    mutating func next() throws(MessagePackFailure) -> Token {
        guard index < end else { throw failure("unexpected end of data") }
        let start = index
        let byte = buffer.getInteger(at: index, as: UInt8.self)!
        index += 1
        let token = try header(byte, start: start)
        try checkCount(token, start: start)
        return token
    }

    /// The token of header `byte`, its length and value read.
    private mutating func header(_ byte: UInt8, start: Int) throws(MessagePackFailure) -> Token {
        switch byte {
        case 0x00...0x7F: return .unsigned(UInt64(byte))
        case 0x80...0x8F: return .map(count: Int(byte & 0x0F))
        case 0x90...0x9F: return .array(count: Int(byte & 0x0F))
        case 0xA0...0xBF: return try payload(Int(byte & 0x1F), start: start, "fixstr") { .string(offset: $0, count: $1) }
        case 0xE0...0xFF: return .signed(Int64(Int8(bitPattern: byte)))
        case MessagePackFormat.null: return .null
        case MessagePackFormat.reserved: throw failure("reserved byte 0xc1", at: start)
        case MessagePackFormat.false: return .bool(false)
        case MessagePackFormat.true: return .bool(true)
        case MessagePackFormat.bin8: return try payload(Int(read(UInt8.self, start, "bin 8")), start: start, "bin 8") { .binary(offset: $0, count: $1) }
        case MessagePackFormat.bin16: return try payload(Int(read(UInt16.self, start, "bin 16")), start: start, "bin 16") { .binary(offset: $0, count: $1) }
        case MessagePackFormat.bin32: return try payload(Int(read(UInt32.self, start, "bin 32")), start: start, "bin 32") { .binary(offset: $0, count: $1) }
        case MessagePackFormat.ext8: return try extensionValue(Int(read(UInt8.self, start, "ext 8")), start: start, "ext 8")
        case MessagePackFormat.ext16: return try extensionValue(Int(read(UInt16.self, start, "ext 16")), start: start, "ext 16")
        case MessagePackFormat.ext32: return try extensionValue(Int(read(UInt32.self, start, "ext 32")), start: start, "ext 32")
        case MessagePackFormat.float32: return .float32(Float(bitPattern: try read(UInt32.self, start, "float 32")))
        case MessagePackFormat.float64: return .float64(Double(bitPattern: try read(UInt64.self, start, "float 64")))
        case MessagePackFormat.uint8: return .unsigned(UInt64(try read(UInt8.self, start, "uint 8")))
        case MessagePackFormat.uint16: return .unsigned(UInt64(try read(UInt16.self, start, "uint 16")))
        case MessagePackFormat.uint32: return .unsigned(UInt64(try read(UInt32.self, start, "uint 32")))
        case MessagePackFormat.uint64: return .unsigned(try read(UInt64.self, start, "uint 64"))
        case MessagePackFormat.int8: return .signed(Int64(try read(Int8.self, start, "int 8")))
        case MessagePackFormat.int16: return .signed(Int64(try read(Int16.self, start, "int 16")))
        case MessagePackFormat.int32: return .signed(Int64(try read(Int32.self, start, "int 32")))
        case MessagePackFormat.int64: return .signed(try read(Int64.self, start, "int 64"))
        case MessagePackFormat.fixext1: return try extensionValue(1, start: start, "fixext 1")
        case MessagePackFormat.fixext2: return try extensionValue(2, start: start, "fixext 2")
        case MessagePackFormat.fixext4: return try extensionValue(4, start: start, "fixext 4")
        case MessagePackFormat.fixext8: return try extensionValue(8, start: start, "fixext 8")
        case MessagePackFormat.fixext16: return try extensionValue(16, start: start, "fixext 16")
        case MessagePackFormat.str8: return try payload(Int(read(UInt8.self, start, "str 8")), start: start, "str 8") { .string(offset: $0, count: $1) }
        case MessagePackFormat.str16: return try payload(Int(read(UInt16.self, start, "str 16")), start: start, "str 16") { .string(offset: $0, count: $1) }
        case MessagePackFormat.str32: return try payload(Int(read(UInt32.self, start, "str 32")), start: start, "str 32") { .string(offset: $0, count: $1) }
        case MessagePackFormat.array16: return .array(count: Int(try read(UInt16.self, start, "array 16")))
        case MessagePackFormat.array32: return .array(count: Int(try read(UInt32.self, start, "array 32")))
        case MessagePackFormat.map16: return .map(count: Int(try read(UInt16.self, start, "map 16")))
        default: return .map(count: Int(try read(UInt32.self, start, "map 32")))  // 0xdf, map 32
        }
    }

    /// Reads a big-endian integer of a header, checking it is all there.
    private mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ start: Int, _ format: String) throws(MessagePackFailure) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size, let value = buffer.getInteger(at: index, as: T.self) else {
            throw failure("\(format) truncated: \(size) bytes needed after the header byte, \(remaining) present", at: start)
        }
        index += size
        return value
    }

    /// Checks that `count` payload bytes follow and skips them.
    private mutating func payload(_ count: Int, start: Int, _ format: String, _ make: (Int, Int) -> Token) throws(MessagePackFailure) -> Token {
        guard count <= remaining else {
            throw failure("\(format) of \(count) bytes truncated: \(remaining) present", at: start)
        }
        let offset = index
        index += count
        return make(offset, count)
    }

    private mutating func extensionValue(_ count: Int, start: Int, _ format: String) throws(MessagePackFailure) -> Token {
        let type = try read(Int8.self, start, format)
        return try payload(count, start: start, format) { .extension(type: type, offset: $0, count: $1) }
    }

    /// Checks that the bytes left can hold the container's elements (one byte at least each),
    /// so that a lying count cannot make the caller reserve memory for it.
    private func checkCount(_ token: Token, start: Int) throws(MessagePackFailure) {
        switch token {
        case .array(let count) where count > remaining:
            throw failure("array of \(count) elements truncated: \(remaining) bytes present", at: start)
        case .map(let count) where count > remaining / 2:
            throw failure("map of \(count) pairs truncated: \(remaining) bytes present", at: start)
        default:
            return
        }
    }

    /// Skips one whole value, containers included, without recursion; deeper than
    /// ``PrimusParsers/maximumDepth`` is an error, as when reading.
    mutating func skipValue() throws(MessagePackFailure) {
        var pending: [Int] = []  // elements left in each open container
        var left = 1
        while true {
            while left == 0 {
                guard let outer = pending.popLast() else { return }
                left = outer
            }
            left -= 1
            let start = index
            switch try next() {
            case .array(let count) where count > 0:
                pending.append(left)
                left = count
            case .map(let count) where count > 0:
                pending.append(left)
                left = count * 2
            default:
                continue
            }
            guard pending.count <= PrimusParsers.maximumDepth else { throw failure("nesting deeper than \(PrimusParsers.maximumDepth)", at: start) }
        }
    }

    /// The string of the UTF-8 bytes at `offset`, or an error when they are not UTF-8.
    func string(at offset: Int, count: Int) throws(MessagePackFailure) -> String {
        let view = buffer.readableBytesView
        let start = view.startIndex + (offset - buffer.readerIndex)
        guard let string = String(validating: view[start ..< start + count], as: UTF8.self) else {
            throw failure("str is not valid UTF-8", at: offset)
        }
        return string
    }
}
