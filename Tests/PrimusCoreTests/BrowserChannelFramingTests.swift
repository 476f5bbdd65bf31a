import NIOCore
import PrimusCore
import Testing

@Suite struct BrowserChannelFramingTests {
    @Test func chunkLengthCountsTheJSONAndItsNewline() {
        let arrays = [
            BrowserChannelArray(id: 0, data: BrowserChannelArray.created(sid: "7h9xggk0", hostPrefix: nil)),
            BrowserChannelArray(id: 1, data: ["hi": "there"]),
        ]
        // The reference server's creation answer, byte for byte.
        #expect(BrowserChannelChunk.frame(arrays) == "49\n[[0,[\"c\",\"7h9xggk0\",null,8]],[1,{\"hi\":\"there\"}]]\n")
    }

    @Test func astralCharactersCountAsTwoUTF16Units() {
        // U+1F600 is one Character, four UTF-8 bytes and two UTF-16 units.
        let chunk = BrowserChannelChunk.frame([BrowserChannelArray(id: 3, data: "\u{1F600}")])
        let json = "[[3,\"\u{1F600}\"]]\n"
        #expect(chunk == "\(json.utf16.count)\n" + json)
        #expect(json.utf16.count == 11)
        #expect(json.utf8.count == 13)
        #expect(json.count == 10)
    }

    @Test func lineAndParagraphSeparatorsLeaveEscaped() {
        let chunk = BrowserChannelChunk.frame([BrowserChannelArray(id: 0, data: "a\u{2028}b\u{2029}c")])
        #expect(chunk == "24\n[[0,\"a\\u2028b\\u2029c\"]]\n")
        #expect(!chunk.unicodeScalars.contains("\u{2028}"))
        #expect(!chunk.unicodeScalars.contains("\u{2029}"))
    }

    @Test func forwardAnswerLengthHasNoTrailingNewline() {
        let answer = BrowserChannelSessionStateMachine.ForwardAnswer(backChannelOpen: false, lastSentArrayID: 1, outstandingBytes: 0)
        #expect(BrowserChannelChunk.frameForwardAnswer(answer.json) == "7\n[0,1,0]")
    }

    @Test func readerSplitsChunksAcrossArbitraryPieces() throws {
        let first = BrowserChannelChunk.frame([BrowserChannelArray(id: 0, data: "\u{1F600}\u{2028}é")])
        let second = BrowserChannelChunk.frame([BrowserChannelArray(id: 1, data: ["noop"]), BrowserChannelArray(id: 2, data: "x")])
        let whole = Array((first + second).utf8)
        // Every split point, including inside a multi-byte character.
        for split in 0...whole.count {
            var reader = BrowserChannelChunkReader()
            var chunks: [JSONValue] = []
            chunks += try reader.feed(ByteBuffer(bytes: whole[..<split]))
            chunks += try reader.feed(ByteBuffer(bytes: whole[split...]))
            #expect(chunks.count == 2)
            #expect(chunks.first?[0]?[1]?.stringValue == "\u{1F600}\u{2028}é")
            #expect(chunks.last?[1]?[0]?.numberValue == 2)
        }
    }

    @Test func readerRefusesALyingLength() {
        var reader = BrowserChannelChunkReader()
        #expect(throws: BrowserChannelError.badData) { try reader.feed(ByteBuffer(string: "3\n[[0,1]]\n")) }
        var other = BrowserChannelChunkReader()
        #expect(throws: BrowserChannelError.badData) { try other.feed(ByteBuffer(string: "x\n[]")) }
    }
}

@Suite struct BrowserChannelForwardDataTests {
    @Test func formMapsDecodeInIndexOrder() throws {
        let data = try BrowserChannelForwardData.decodeForm("count=3&ofs=7&req1_JSON=%7B%22a%22%3A1%7D&req0__S=plain%20text&req2_x=1&req2_y=2")
        #expect(data.offset == 7)
        #expect(data.messages == ["plain text", "{\"a\":1}", "{\"x\":\"1\",\"y\":\"2\"}"])
    }

    @Test func countZeroIsNoData() throws {
        #expect(try BrowserChannelForwardData.decodeForm("count=0") == BrowserChannelForwardData(offset: 0, messages: []))
    }

    @Test func lyingCountsAreBadData() {
        // Fewer maps than counted, more than counted, a missing count, a missing offset.
        for body in ["count=2&ofs=0&req0__S=a", "count=1&ofs=0&req0__S=a&req1__S=b", "ofs=0&req0__S=a", "count=1&req0__S=a", "count=0&req0__S=a", "count=-1", "count=x", "count=1&ofs=0&reqX__S=a", "count=100000&ofs=0"] {
            #expect(throws: BrowserChannelError.badData, "\(body)") { try BrowserChannelForwardData.decodeForm(body) }
        }
    }

    @Test func brokenJSONIsBadData() {
        #expect(throws: BrowserChannelError.badData) { try BrowserChannelForwardData.decodeForm("count=1&ofs=0&req0_JSON=%7Bbroken") }
    }

    @Test func jsonBodyVariant() throws {
        let data = try BrowserChannelForwardData.decodeJSON(ByteBuffer(string: "{\"ofs\":4,\"data\":[\"raw\",{\"a\":[1,2]}]}"))
        #expect(data == BrowserChannelForwardData(offset: 4, messages: ["raw", "{\"a\":[1,2]}"]))
        for body in ["{\"ofs\":4", "{\"data\":[]}", "{\"ofs\":-1,\"data\":[]}", "{\"ofs\":1.5,\"data\":[]}", "[1]", "{\"ofs\":0,\"data\":{}}"] {
            #expect(throws: BrowserChannelError.badData, "\(body)") { try BrowserChannelForwardData.decodeJSON(ByteBuffer(string: body)) }
        }
    }
}
