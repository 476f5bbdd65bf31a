import NIOCore
import PrimusCore
import Testing

/// The client's reading of `xhr_streaming` and `xhr` bodies: frames cut at newlines whatever
/// the chunking, and a bound on a line that never ends.
@Suite("SockJS line splitter")
struct SockJSLineSplitterTests {
    @Test func linesAreCutAtNewlinesAcrossAnyChunking() throws {
        let body = "o\nh\na[\"\\\"primus::ping::1\\\"\",\"é€😀\"]\nc[3000,\"Go away!\"]\n"
        let expected = ["o", "h", "a[\"\\\"primus::ping::1\\\"\",\"é€😀\"]", "c[3000,\"Go away!\"]"]
        let bytes = Array(body.utf8)
        for size in [1, 2, 3, 7, bytes.count] {
            var splitter = SockJSLineSplitter(maxLineLength: 1000)
            var lines: [String] = []
            var index = 0
            while index < bytes.count {
                let end = min(index + size, bytes.count)
                lines += try splitter.append(ByteBuffer(bytes: bytes[index..<end]))
                index = end
            }
            #expect(lines == expected, "chunks of \(size)")
            #expect(!splitter.hasPartialLine)
        }
    }

    @Test func everyLineIsAFrameTheCoreParses() throws {
        var splitter = SockJSLineSplitter(maxLineLength: 4096)
        var wire = SockJSFrameWrapping.xhrStreamingPrelude
        SockJSFrameWrapping.lines.write(.open, to: &wire)
        SockJSFrameWrapping.lines.write(.messages(["\"a\u{2028}b\"", "{\"x\":1}"]), to: &wire)
        let lines = try splitter.append(wire)
        #expect(lines.count == 3)
        #expect(lines[0] == String(repeating: "h", count: 2048))
        #expect(try SockJSFrame(parsing: lines[1]) == .open)
        #expect(try SockJSFrame(parsing: lines[2]) == .messages(["\"a\u{2028}b\"", "{\"x\":1}"]))
    }

    @Test func aPartialLineWaitsAndACarriageReturnIsDropped() throws {
        var splitter = SockJSLineSplitter(maxLineLength: 100)
        #expect(try splitter.append(ByteBuffer(string: "a[\"x\"")) == [])
        #expect(splitter.hasPartialLine)
        #expect(try splitter.append(ByteBuffer(string: "]\r\nh")) == ["a[\"x\"]"])
        splitter.reset()
        #expect(!splitter.hasPartialLine)
        #expect(try splitter.append(ByteBuffer(string: "o\n")) == ["o"])
    }

    @Test func aLineLongerThanTheLimitIsAnErrorNotGrowth() throws {
        var splitter = SockJSLineSplitter(maxLineLength: 10)
        #expect(try splitter.append(ByteBuffer(string: "0123456789\n")) == ["0123456789"])
        #expect(try splitter.append(ByteBuffer(string: "01234")) == [])
        #expect(throws: PrimusError.self) { try splitter.append(ByteBuffer(string: "567890")) }
        #expect(!splitter.hasPartialLine)
        // Within one chunk, and with the newline present, too.
        #expect(throws: PrimusError.self) { try splitter.append(ByteBuffer(string: "0123456789A\n")) }
        let error = try #require(throws: PrimusError.self) { try splitter.append(ByteBuffer(repeating: UInt8(ascii: "h"), count: 11)) }
        #expect(error.code == .messageTooLarge)
    }
}
