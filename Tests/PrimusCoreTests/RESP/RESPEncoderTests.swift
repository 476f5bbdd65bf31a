import NIOCore
import PrimusCore
import Testing

@Suite("RESP encoder")
struct RESPEncoderTests {
    @Test("a command is an array of bulk strings, whatever its arguments' kinds")
    func command() {
        var buffer = ByteBuffer()
        RESPEncoder.command(["SET", .bytes(ByteBuffer(string: "k\r\n")), .integer(-120), 0, "é"], into: &buffer)
        #expect(String(buffer: buffer) == "*5\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$4\r\n-120\r\n$1\r\n0\r\n$2\r\né\r\n")
    }

    @Test("extreme integers are written in full")
    func extremes() {
        var buffer = ByteBuffer()
        RESPEncoder.command([.integer(.min), .integer(.max)], into: &buffer)
        #expect(String(buffer: buffer) == "*2\r\n$20\r\n\(Int.min)\r\n$19\r\n\(Int.max)\r\n")
    }

    @Test("an encoded command decodes back to its arguments")
    func roundTrip() throws {
        var buffer = ByteBuffer()
        RESPEncoder.command(["PUBLISH", "chan", .integer(42)], into: &buffer)
        RESPEncoder.command([], into: &buffer)
        var decoder = RESPDecoder()
        #expect(try decoder.decode(&buffer) == .array([bulk("PUBLISH"), bulk("chan"), bulk("42")]))
        #expect(try decoder.decode(&buffer) == .array([]))
    }
}
