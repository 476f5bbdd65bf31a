import NIOCore

/// The header bytes of the MessagePack format (msgpack spec, "Formats"), and the rules that
/// pick the smallest header for a value, shared by ``MessagePackWriter`` and
/// ``MessagePackEncoder`` so both write the bytes every other MessagePack library writes.
enum MessagePackFormat {
    static let null: UInt8 = 0xC0
    /// Never used by the spec: a message holding it is malformed.
    static let reserved: UInt8 = 0xC1
    static let `false`: UInt8 = 0xC2
    static let `true`: UInt8 = 0xC3
    static let bin8: UInt8 = 0xC4
    static let bin16: UInt8 = 0xC5
    static let bin32: UInt8 = 0xC6
    static let ext8: UInt8 = 0xC7
    static let ext16: UInt8 = 0xC8
    static let ext32: UInt8 = 0xC9
    static let float32: UInt8 = 0xCA
    static let float64: UInt8 = 0xCB
    static let uint8: UInt8 = 0xCC
    static let uint16: UInt8 = 0xCD
    static let uint32: UInt8 = 0xCE
    static let uint64: UInt8 = 0xCF
    static let int8: UInt8 = 0xD0
    static let int16: UInt8 = 0xD1
    static let int32: UInt8 = 0xD2
    static let int64: UInt8 = 0xD3
    static let fixext1: UInt8 = 0xD4
    static let fixext2: UInt8 = 0xD5
    static let fixext4: UInt8 = 0xD6
    static let fixext8: UInt8 = 0xD7
    static let fixext16: UInt8 = 0xD8
    static let str8: UInt8 = 0xD9
    static let str16: UInt8 = 0xDA
    static let str32: UInt8 = 0xDB
    static let array16: UInt8 = 0xDC
    static let array32: UInt8 = 0xDD
    static let map16: UInt8 = 0xDE
    static let map32: UInt8 = 0xDF

    /// The extension type the spec reserves for timestamps.
    static let timestampType: Int8 = -1

    /// Whether `byte` starts a string (fixstr, str8, str16, str32).
    static func isStringHeader(_ byte: UInt8) -> Bool {
        (0xA0...0xBF).contains(byte) || (str8...str32).contains(byte)
    }

    /// Why a value cannot be written: its length does not fit the format's 32-bit lengths.
    static func tooLong(_ what: String, _ count: Int) -> PrimusError {
        PrimusError.encodingFailed("MessagePack \(what) of \(count) is longer than 4294967295")
    }
}

extension ByteBuffer {
    /// Writes `nil`.
    mutating func writeMessagePackNil() {
        writeInteger(MessagePackFormat.null)
    }

    /// Writes `true` or `false`.
    mutating func writeMessagePackBool(_ value: Bool) {
        writeInteger(value ? MessagePackFormat.true : MessagePackFormat.false)
    }

    /// Writes a non-negative integer in its smallest form (positive fixint up to 0x7f).
    mutating func writeMessagePackUnsigned(_ value: UInt64) {
        switch value {
        case 0...0x7F:
            writeInteger(UInt8(value))
        case 0x80...0xFF:
            writeInteger(MessagePackFormat.uint8)
            writeInteger(UInt8(value))
        case 0x100...0xFFFF:
            writeInteger(MessagePackFormat.uint16)
            writeInteger(UInt16(value))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.uint32)
            writeInteger(UInt32(value))
        default:
            writeInteger(MessagePackFormat.uint64)
            writeInteger(value)
        }
    }

    /// Writes an integer in its smallest form: a non-negative one as unsigned (as the reference
    /// implementations do), a negative one as negative fixint down to -32, then int8…int64.
    mutating func writeMessagePackSigned(_ value: Int64) {
        switch value {
        case 0...:
            writeMessagePackUnsigned(UInt64(value))
        case -32 ..< 0:
            writeInteger(UInt8(bitPattern: Int8(value)))
        case Int64(Int8.min) ..< -32:
            writeInteger(MessagePackFormat.int8)
            writeInteger(Int8(value))
        case Int64(Int16.min) ..< Int64(Int8.min):
            writeInteger(MessagePackFormat.int16)
            writeInteger(Int16(value))
        case Int64(Int32.min) ..< Int64(Int16.min):
            writeInteger(MessagePackFormat.int32)
            writeInteger(Int32(value))
        default:
            writeInteger(MessagePackFormat.int64)
            writeInteger(value)
        }
    }

    /// Writes a float 64.
    mutating func writeMessagePackDouble(_ value: Double) {
        writeInteger(MessagePackFormat.float64)
        writeInteger(value.bitPattern)
    }

    /// Writes a float 32.
    mutating func writeMessagePackFloat(_ value: Float) {
        writeInteger(MessagePackFormat.float32)
        writeInteger(value.bitPattern)
    }

    /// Writes a number the way JavaScript peers expect: an integral value that fits Int64 or
    /// UInt64 in the smallest integer form, anything else (fractions, -0, NaN, ±Infinity,
    /// magnitudes of 2^64 and beyond) as float 64.
    mutating func writeMessagePackNumber(_ value: Double) {
        if value == value.rounded(.towardZero), !(value == 0 && value.sign == .minus) {
            if value >= -9_223_372_036_854_775_808.0, value < 9_223_372_036_854_775_808.0 {
                writeMessagePackSigned(Int64(value))
                return
            }
            if value >= 0, value < 18_446_744_073_709_551_616.0 {
                writeMessagePackUnsigned(UInt64(value))
                return
            }
        }
        writeMessagePackDouble(value)
    }

    /// Writes a string in its smallest form (fixstr up to 31 bytes, then str8, str16, str32).
    mutating func writeMessagePackString(_ value: String) throws(PrimusError) {
        try writeMessagePackStringHeader(value.utf8.count)
        writeString(value)
    }

    /// Writes the header of a string of `count` UTF-8 bytes.
    mutating func writeMessagePackStringHeader(_ count: Int) throws(PrimusError) {
        switch count {
        case 0...31:
            writeInteger(0xA0 | UInt8(count))
        case 32...0xFF:
            writeInteger(MessagePackFormat.str8)
            writeInteger(UInt8(count))
        case 0x100...0xFFFF:
            writeInteger(MessagePackFormat.str16)
            writeInteger(UInt16(count))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.str32)
            writeInteger(UInt32(count))
        default:
            throw MessagePackFormat.tooLong("str", count)
        }
    }

    /// Writes bytes as bin in its smallest form.
    mutating func writeMessagePackBinary(_ bytes: some Collection<UInt8>) throws(PrimusError) {
        let count = bytes.count
        switch count {
        case 0...0xFF:
            writeInteger(MessagePackFormat.bin8)
            writeInteger(UInt8(count))
        case 0x100...0xFFFF:
            writeInteger(MessagePackFormat.bin16)
            writeInteger(UInt16(count))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.bin32)
            writeInteger(UInt32(count))
        default:
            throw MessagePackFormat.tooLong("bin", count)
        }
        writeBytes(bytes)
    }

    /// Writes the header of an array of `count` elements (fixarray up to 15).
    mutating func writeMessagePackArrayHeader(_ count: Int) throws(PrimusError) {
        switch count {
        case 0...15:
            writeInteger(0x90 | UInt8(count))
        case 16...0xFFFF:
            writeInteger(MessagePackFormat.array16)
            writeInteger(UInt16(count))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.array32)
            writeInteger(UInt32(count))
        default:
            throw MessagePackFormat.tooLong("array", count)
        }
    }

    /// Writes the header of a map of `count` pairs (fixmap up to 15).
    mutating func writeMessagePackMapHeader(_ count: Int) throws(PrimusError) {
        switch count {
        case 0...15:
            writeInteger(0x80 | UInt8(count))
        case 16...0xFFFF:
            writeInteger(MessagePackFormat.map16)
            writeInteger(UInt16(count))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.map32)
            writeInteger(UInt32(count))
        default:
            throw MessagePackFormat.tooLong("map", count)
        }
    }

    /// Writes an extension value: fixext for 1, 2, 4, 8 and 16 bytes, else ext 8/16/32.
    mutating func writeMessagePackExtension(type: Int8, _ bytes: some Collection<UInt8>) throws(PrimusError) {
        let count = bytes.count
        switch count {
        case 1: writeInteger(MessagePackFormat.fixext1)
        case 2: writeInteger(MessagePackFormat.fixext2)
        case 4: writeInteger(MessagePackFormat.fixext4)
        case 8: writeInteger(MessagePackFormat.fixext8)
        case 16: writeInteger(MessagePackFormat.fixext16)
        case 0...0xFF:
            writeInteger(MessagePackFormat.ext8)
            writeInteger(UInt8(count))
        case 0x100...0xFFFF:
            writeInteger(MessagePackFormat.ext16)
            writeInteger(UInt16(count))
        case 0x1_0000...0xFFFF_FFFF:
            writeInteger(MessagePackFormat.ext32)
            writeInteger(UInt32(count))
        default:
            throw MessagePackFormat.tooLong("ext", count)
        }
        writeInteger(type)
        writeBytes(bytes)
    }
}
