import NIOCore
import PrimusCore
import Testing

@Suite("MessagePack malformed input")
struct MessagePackMalformedTests {
    /// Bytes that are not one MessagePack value, and a word the error must contain.
    static let cases: [(String, String)] = [
        ("", "end of data"),
        ("c1", "reserved byte 0xc1"),
        ("cc", "uint 8 truncated"), ("cd00", "uint 16 truncated"), ("ce000000", "uint 32 truncated"), ("cf00", "uint 64 truncated"),
        ("d0", "int 8 truncated"), ("d1ff", "int 16 truncated"), ("d2", "int 32 truncated"), ("d3ffffffff", "int 64 truncated"),
        ("ca00", "float 32 truncated"), ("cb3ff8", "float 64 truncated"),
        ("a261", "fixstr of 2 bytes truncated"), ("d90561", "str 8 of 5 bytes truncated"), ("da0005", "str 16 of 5 bytes"),
        ("db00000005", "str 32 of 5 bytes"), ("dbffffffff", "str 32 of 4294967295 bytes truncated"), ("d9", "str 8 truncated"),
        ("c40361", "bin 8 of 3 bytes"), ("c5ffff", "bin 16 of 65535 bytes"), ("c6ffffffff", "bin 32 of 4294967295 bytes"),
        ("9201", "array of 2 elements truncated"), ("dcffff", "array of 65535 elements truncated"),
        ("ddffffffff", "array of 4294967295 elements truncated"), ("dfffffffff", "map of 4294967295 pairs truncated"),
        ("de0002a161", "map of 2 pairs truncated"), ("81a161", "unexpected end of data"),
        ("d4", "fixext 1 truncated"), ("d405", "fixext 1 of 1 bytes truncated"), ("c7ff05", "ext 8 of 255 bytes truncated"),
        ("c9ffffffff05", "ext 32 of 4294967295 bytes truncated"), ("d8050000", "fixext 16 of 16 bytes truncated"),
        ("d5ff0000", "timestamp extension of 2 bytes"), ("c703ff000000", "timestamp extension of 3 bytes"),
        ("d8ff" + String(repeating: "00", count: 16), "timestamp extension of 16 bytes"), ("c700ff", "timestamp extension of 0 bytes"),
        ("d7ffee6b280000000000", "nanoseconds 1000000000"), ("c70cff3b9aca000000000000000000", "nanoseconds 1000000000"),
        ("c0c0", "1 bytes after the value"), ("0100", "1 bytes after the value"), ("90ff", "1 bytes after the value"),
        ("a1ff", "not valid UTF-8"), ("a2c328", "not valid UTF-8"), ("81c4010001", "map key is a bin"), ("819000", "map key is a array"),
        ("818001", "map key is a map"), ("81d4050001", "map key is a ext"),
        (String(repeating: "91", count: 513) + "c0", "nesting deeper than 512"),
        (String(repeating: "81a161", count: 513) + "c0", "nesting deeper than 512"),
        (String(repeating: "91", count: 100_000) + "c0", "nesting deeper than 512"),
    ]

    @Test(arguments: cases)
    func theReaderThrowsAClearDecodingError(hex: String, reason: String) {
        do {
            let value = try MessagePackReader.read(Hex.buffer(hex))
            Issue.record("\(hex.prefix(40)) read as \(value)")
        } catch {
            #expect(error.code == .decodingFailed)
            #expect(error.message.contains("MessagePack") && error.message.contains(reason), "\(error.message)")
        }
    }

    @Test(arguments: cases)
    func theParserThrowsTheSameForBinaryAndText(hex: String, reason: String) {
        let parser = MessagePackParser()
        for message in [TransportMessage.binary(Hex.buffer(hex)), .text(Hex.buffer(hex))] {
            #expect(throws: PrimusError.self) { try parser.decode(message) }
            #expect(parser.protocolText(in: message, for: nil) == nil)
        }
    }

    @Test(arguments: cases)
    func theDecoderThrowsDataCorruptedWithThePrimusError(hex: String, reason: String) {
        do {
            let value = try MessagePackDecoder().decode(JSONValue.self, from: Hex.buffer(hex))
            Issue.record("\(hex.prefix(40)) decoded as \(value)")
        } catch DecodingError.dataCorrupted(let context) {
            let underlying = context.underlyingError as? PrimusError
            #expect(underlying?.code == .decodingFailed)
            #expect(underlying?.message.contains(reason) == true, "\(context.debugDescription)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
        let parser = MessagePackParser()
        #expect(throws: PrimusError.self) { try parser.decode([String: Int].self, from: .binary(Hex.buffer(hex))) }
    }

    @Test func nestingOf512IsRead() throws {
        let hex = String(repeating: "91", count: 512) + "c0"
        var value = try MessagePackReader.read(Hex.buffer(hex))
        var depth = 0
        while case .array(let elements) = value {
            depth += 1
            value = elements[0]
        }
        #expect(depth == 512)
        #expect(try MessagePackDecoder().decode(JSONValue.self, from: Hex.buffer(hex)) == MessagePackReader.read(Hex.buffer(hex)))
    }

    @Test func anErrorNamesTheByteOffset() {
        #expect(throws: PrimusError.decodingFailed("MessagePack: reserved byte 0xc1 at byte 3")) {
            try MessagePackReader.read(Hex.buffer("930102c1"))
        }
    }

    @Test func aBufferWithAReaderIndexIsReadFromThere() throws {
        var buffer = Hex.buffer("ffff92c3c2")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try MessagePackReader.read(buffer) == [true, false])
        #expect(try MessagePackDecoder().decode([Bool].self, from: buffer) == [true, false])
    }
}
