import NIOCore

/// Reads one MessagePack value from the bytes in place: the fast path of ``MessagePackReader``
/// and of ``MessagePackParser/validate(_:for:)``.
///
/// It accepts exactly what ``MessagePackReader`` accepts (the same checks: truncation,
/// lengths, the reserved byte, map keys, timestamp sizes and nanoseconds, UTF-8, depth,
/// trailing bytes) and builds the same value, but reads headers and numbers straight from
/// memory and, when only validating, builds nothing: strings are checked without being made
/// (ASCII by a scan, anything else by the standard library's validation), containers without
/// being filled. It says only *whether* the bytes are a value: on failure the caller runs the
/// scanner-based reader, which names the fault and its offset.
struct MessagePackInPlaceReader {
    /// The bytes are not one MessagePack value (the scanner-based reader says why).
    struct Rejected: Error {}

    private let bytes: UnsafeRawBufferPointer
    /// The buffer the bytes belong to, for slices of bin and ext payloads.
    private let buffer: ByteBuffer
    private var index = 0
    /// `false` when only validating: every value reads as `.null`, nothing is allocated.
    private let building: Bool

    private init(bytes: UnsafeRawBufferPointer, buffer: ByteBuffer, building: Bool) {
        self.bytes = bytes
        self.buffer = buffer
        self.building = building
    }

    /// The value `buffer`'s readable bytes hold, or `nil` when they are not exactly one value.
    static func read(_ buffer: ByteBuffer) -> JSONValue? {
        buffer.withUnsafeReadableBytes { bytes in
            var reader = MessagePackInPlaceReader(bytes: bytes, buffer: buffer, building: true)
            guard let value = try? reader.value(depth: 0), reader.index == bytes.count else { return nil }
            return value
        }
    }

    /// Whether `buffer`'s readable bytes are exactly one value, checked without building it.
    static func validate(_ buffer: ByteBuffer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            var reader = MessagePackInPlaceReader(bytes: bytes, buffer: buffer, building: false)
            guard (try? reader.value(depth: 0)) != nil else { return false }
            return reader.index == bytes.count
        }
    }

    private var remaining: Int { bytes.count - index }

    /// A big-endian integer of `T`'s size at the index, which moves past it.
    private mutating func load<T: FixedWidthInteger>(_ type: T.Type) throws(Rejected) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw Rejected() }
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: T.self))
        index += size
        return value
    }

    /// Moves past `count` payload bytes that must be present; returns where they start.
    private mutating func payload(_ count: Int) throws(Rejected) -> Int {
        guard count <= remaining else { throw Rejected() }
        let start = index
        index += count
        return start
    }

    private mutating func value(depth: Int) throws(Rejected) -> JSONValue {
        guard index < bytes.count else { throw Rejected() }
        let byte = bytes[index]
        index += 1
        switch byte {
        case 0x00...0x7F: return .number(Double(byte))
        case 0x80...0x8F: return try map(Int(byte & 0x0F), depth: depth)
        case 0x90...0x9F: return try array(Int(byte & 0x0F), depth: depth)
        case 0xA0...0xBF: return try string(Int(byte & 0x1F))
        case 0xE0...0xFF: return .number(Double(Int8(bitPattern: byte)))
        case MessagePackFormat.null: return .null
        case MessagePackFormat.false: return .bool(false)
        case MessagePackFormat.true: return .bool(true)
        case MessagePackFormat.bin8: return try binary(Int(load(UInt8.self)))
        case MessagePackFormat.bin16: return try binary(Int(load(UInt16.self)))
        case MessagePackFormat.bin32: return try binary(Int(load(UInt32.self)))
        case MessagePackFormat.ext8: return try extensionValue(Int(load(UInt8.self)))
        case MessagePackFormat.ext16: return try extensionValue(Int(load(UInt16.self)))
        case MessagePackFormat.ext32: return try extensionValue(Int(load(UInt32.self)))
        case MessagePackFormat.float32: return .number(Double(Float(bitPattern: try load(UInt32.self))))
        case MessagePackFormat.float64: return .number(Double(bitPattern: try load(UInt64.self)))
        case MessagePackFormat.uint8: return .number(Double(try load(UInt8.self)))
        case MessagePackFormat.uint16: return .number(Double(try load(UInt16.self)))
        case MessagePackFormat.uint32: return .number(Double(try load(UInt32.self)))
        case MessagePackFormat.uint64: return .number(Double(try load(UInt64.self)))
        case MessagePackFormat.int8: return .number(Double(try load(Int8.self)))
        case MessagePackFormat.int16: return .number(Double(try load(Int16.self)))
        case MessagePackFormat.int32: return .number(Double(try load(Int32.self)))
        case MessagePackFormat.int64: return .number(Double(try load(Int64.self)))
        case MessagePackFormat.fixext1: return try extensionValue(1)
        case MessagePackFormat.fixext2: return try extensionValue(2)
        case MessagePackFormat.fixext4: return try extensionValue(4)
        case MessagePackFormat.fixext8: return try extensionValue(8)
        case MessagePackFormat.fixext16: return try extensionValue(16)
        case MessagePackFormat.str8: return try string(Int(load(UInt8.self)))
        case MessagePackFormat.str16: return try string(Int(load(UInt16.self)))
        case MessagePackFormat.str32: return try string(Int(load(UInt32.self)))
        case MessagePackFormat.array16: return try array(Int(load(UInt16.self)), depth: depth)
        case MessagePackFormat.array32: return try array(Int(load(UInt32.self)), depth: depth)
        case MessagePackFormat.map16: return try map(Int(load(UInt16.self)), depth: depth)
        case MessagePackFormat.map32: return try map(Int(load(UInt32.self)), depth: depth)
        default: throw Rejected()  // 0xc1, reserved
        }
    }

    private mutating func array(_ count: Int, depth: Int) throws(Rejected) -> JSONValue {
        // One byte at least per element, so a lying count reserves nothing.
        guard count <= remaining, depth < PrimusParsers.maximumDepth else { throw Rejected() }
        guard building else {
            for _ in 0..<count { _ = try value(depth: depth + 1) }
            return .null
        }
        var elements: [JSONValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try value(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func map(_ count: Int, depth: Int) throws(Rejected) -> JSONValue {
        guard count <= remaining / 2, depth < PrimusParsers.maximumDepth else { throw Rejected() }
        guard building else {
            for _ in 0..<count {
                _ = try key()
                _ = try value(depth: depth + 1)
            }
            return .null
        }
        var members = JSONObject()
        members.reserveCapacity(count)
        for _ in 0..<count {
            let key = try key()
            members[key] = try value(depth: depth + 1)
        }
        return .object(members)
    }

    /// A map key as ``MessagePackReader/readKey(_:)`` reads it ("" when only validating).
    private mutating func key() throws(Rejected) -> String {
        guard index < bytes.count else { throw Rejected() }
        let byte = bytes[index]
        index += 1
        switch byte {
        case 0xA0...0xBF: return try text(Int(byte & 0x1F))
        case MessagePackFormat.str8: return try text(Int(load(UInt8.self)))
        case MessagePackFormat.str16: return try text(Int(load(UInt16.self)))
        case MessagePackFormat.str32: return try text(Int(load(UInt32.self)))
        case 0x00...0x7F: return building ? String(byte) : ""
        case 0xE0...0xFF: return building ? String(Int8(bitPattern: byte)) : ""
        case MessagePackFormat.null: return "null"
        case MessagePackFormat.false: return "false"
        case MessagePackFormat.true: return "true"
        case MessagePackFormat.uint8: return integerKey(UInt64(try load(UInt8.self)))
        case MessagePackFormat.uint16: return integerKey(UInt64(try load(UInt16.self)))
        case MessagePackFormat.uint32: return integerKey(UInt64(try load(UInt32.self)))
        case MessagePackFormat.uint64: return integerKey(try load(UInt64.self))
        case MessagePackFormat.int8: return integerKey(Int64(try load(Int8.self)))
        case MessagePackFormat.int16: return integerKey(Int64(try load(Int16.self)))
        case MessagePackFormat.int32: return integerKey(Int64(try load(Int32.self)))
        case MessagePackFormat.int64: return integerKey(try load(Int64.self))
        case MessagePackFormat.float32: return numberKey(Double(Float(bitPattern: try load(UInt32.self))))
        case MessagePackFormat.float64: return numberKey(Double(bitPattern: try load(UInt64.self)))
        default: throw Rejected()  // bin, ext, array, map, reserved: not a key
        }
    }

    private func integerKey(_ value: some BinaryInteger) -> String {
        building ? String(value) : ""
    }

    private func numberKey(_ value: Double) -> String {
        building ? MessagePackReader.javaScriptText(value) : ""
    }

    private mutating func string(_ count: Int) throws(Rejected) -> JSONValue {
        let text = try text(count)
        return building ? .string(text) : .null
    }

    /// The `count` bytes at the index as a string, which must be UTF-8 ("" when validating).
    private mutating func text(_ count: Int) throws(Rejected) -> String {
        let start = try payload(count)
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[start ..< start + count]).assumingMemoryBound(to: UInt8.self)
        // ASCII (the common case) is valid as it is: one scan, no validation proper.
        var union: UInt8 = 0
        for byte in utf8 { union |= byte }
        if union < 0x80 { return building ? String(decoding: utf8, as: UTF8.self) : "" }
        guard let string = String(validating: utf8, as: UTF8.self) else { throw Rejected() }
        return building ? string : ""
    }

    private mutating func binary(_ count: Int) throws(Rejected) -> JSONValue {
        let start = try payload(count)
        return building ? .binary(buffer.getSlice(at: buffer.readerIndex + start, length: count)!) : .null
    }

    private mutating func extensionValue(_ count: Int) throws(Rejected) -> JSONValue {
        let type = try load(Int8.self)
        let start = try payload(count)
        let offset = buffer.readerIndex + start
        if type == MessagePackFormat.timestampType {
            guard let date = try? MessagePackTimestamp.read(buffer, at: offset, count: count) else { throw Rejected() }
            return building ? .date(date) : .null
        }
        return building ? .extension(type: type, data: buffer.getSlice(at: offset, length: count)!) : .null
    }
}
