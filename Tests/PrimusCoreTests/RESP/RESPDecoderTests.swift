import NIOCore
import PrimusCore
import Testing

/// Decodes everything complete in `bytes`.
func decodeAll(_ bytes: String, decoder: RESPDecoder = RESPDecoder()) throws -> [RESPValue] {
    var decoder = decoder
    var buffer = ByteBuffer(string: bytes)
    var values: [RESPValue] = []
    while let value = try decoder.decode(&buffer) { values.append(value) }
    return values
}

/// Feeds `bytes` in the given chunk lengths, collecting every value.
func decodeChunked(_ bytes: [UInt8], cuts: [Int]) throws -> [RESPValue] {
    var decoder = RESPDecoder()
    var buffer = ByteBuffer()
    var values: [RESPValue] = []
    var start = 0
    for cut in cuts + [bytes.count] {
        buffer.writeBytes(bytes[start..<cut])
        start = cut
        while let value = try decoder.decode(&buffer) { values.append(value) }
    }
    #expect(buffer.readableBytes == 0)
    return values
}

func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

func expectFailure(_ bytes: String, _ kind: RESPError.Kind, decoder: RESPDecoder = RESPDecoder(), sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let values = try decodeAll(bytes, decoder: decoder)
        Issue.record("decoded \(values) instead of failing", sourceLocation: sourceLocation)
    } catch let error as RESPError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("RESP decoder")
struct RESPDecoderTests {
    /// Every RESP3 type, with its wire form and the value it reads as.
    static let samples: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":+7\r\n", .integer(7)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", bulk("hello")),
        ("$0\r\n\r\n", bulk("")),
        ("$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*3\r\n:1\r\n$1\r\nx\r\n+y\r\n", .array([.integer(1), bulk("x"), .simpleString("y")])),
        ("*2\r\n*1\r\n:1\r\n*0\r\n", .array([.array([.integer(1)]), .array([])])),
        ("*2\r\n$-1\r\n_\r\n", .array([.null, .null])),
        (",1.5\r\n", .double(1.5)),
        (",-2\r\n", .double(-2)),
        (",1e3\r\n", .double(1000)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("!21\r\nSYNTAX invalid syntax\r\n", .blobError("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: "Some string")),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-1\r\n", .bigNumber("-1")),
        ("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n:2\r\n", .map([.simpleString("first"): .integer(1), bulk("second"): .integer(2)])),
        ("%0\r\n", .map([:])),
        ("~3\r\n+a\r\n:1\r\n#f\r\n", .set([.simpleString("a"), .integer(1), .boolean(false)])),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n", .push([bulk("message"), bulk("ch"), bulk("hi!")])),
        // Attributes are read and dropped, at the top level and inside aggregates.
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n", .array([.integer(2039123), .integer(9543892)])),
        ("*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", .array([.integer(1), .integer(2)])),
        ("|0\r\n:5\r\n", .integer(5)),
    ]

    @Test("every RESP2 and RESP3 type reads as its value")
    func everyType() throws {
        for (wire, expected) in Self.samples {
            let values = try decodeAll(wire)
            #expect(values == [expected], "\(wire.debugDescription)")
        }
    }

    @Test("nan reads as a NaN double")
    func nan() throws {
        let values = try decodeAll(",nan\r\n")
        guard case .double(let value) = values.first else {
            Issue.record("not a double: \(values)")
            return
        }
        #expect(value.isNaN)
    }

    @Test("every reply split at every byte boundary reads the same")
    func splitAtEveryByte() throws {
        for (wire, expected) in Self.samples {
            let bytes = Array(wire.utf8)
            for cut in 0...bytes.count {
                let values = try decodeChunked(bytes, cuts: [cut])
                #expect(values == [expected], "\(wire.debugDescription) cut at \(cut)")
            }
            // And one byte at a time.
            let values = try decodeChunked(bytes, cuts: Array(0..<bytes.count))
            #expect(values == [expected], "\(wire.debugDescription) byte by byte")
        }
    }

    @Test("pipelined replies in one buffer come out one by one, in order")
    func pipelined() throws {
        let wire = Self.samples.map(\.0).joined()
        let values = try decodeAll(wire)
        #expect(values == Self.samples.map(\.1))
        // The same stream split at every tenth byte.
        let bytes = Array(wire.utf8)
        let chunked = try decodeChunked(bytes, cuts: Array(stride(from: 0, to: bytes.count, by: 10)))
        #expect(chunked == Self.samples.map(\.1))
    }

    @Test("a decoder stops at an incomplete reply and leaves the partial bulk unconsumed")
    func partial() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "+OK\r\n$10\r\nhello")
        #expect(try decoder.decode(&buffer) == .simpleString("OK"))
        #expect(try decoder.decode(&buffer) == nil)
        #expect(buffer.readableBytes == "$10\r\nhello".utf8.count)
        buffer.writeString("world\r\n")
        #expect(try decoder.decode(&buffer) == bulk("helloworld"))
        #expect(try decoder.decode(&buffer) == nil)
    }

    @Test("a bulk string is a slice of the read buffer, not a copy")
    func bulkIsSlice() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "$5\r\nhello\r\n")
        let value = try decoder.decode(&buffer)
        guard case .bulkString(let bytes) = value else {
            Issue.record("not a bulk string")
            return
        }
        let same = bytes.withUnsafeReadableBytes { slice in
            buffer.withUnsafeReadableBytes { rest in slice.baseAddress! + 7 == rest.baseAddress! }
        }
        #expect(same)
    }

    @Test("string and int views cover the textual and numeric shapes")
    func views() {
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(bulk("12").int == 12)
        #expect(RESPValue.integer(3).int == 3)
        #expect(RESPValue.verbatimString(format: "txt", text: "x").string == "x")
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.push([.integer(1)]).elements == [.integer(1)])
        #expect(RESPValue.blobError("E").errorMessage == "E")
    }

    @Test("malformed replies throw a clear RESPError")
    func malformed() {
        expectFailure("?what\r\n", .unknownType)
        expectFailure("\r\n", .unknownType)
        expectFailure("x", .unknownType)
        expectFailure("$abc\r\n", .badLength)
        expectFailure("$-2\r\n", .badLength)
        expectFailure("*-5\r\n", .badLength)
        expectFailure("%-1\r\n", .badLength)
        expectFailure("$\r\n", .badLength)
        expectFailure("$3\r\nfooXY", .badLength)
        expectFailure("+OK\rX", .badLine)
        expectFailure("+OK\n", .badLine)
        expectFailure(":12a\r\n", .badValue)
        expectFailure(":\r\n", .badValue)
        expectFailure(":99999999999999999999\r\n", .badValue)
        expectFailure(":9223372036854775808\r\n", .badValue)
        expectFailure(",1.2.x\r\n", .badValue)
        expectFailure(",\r\n", .badValue)
        expectFailure("#x\r\n", .badValue)
        expectFailure("_x\r\n", .badValue)
        expectFailure("(12x\r\n", .badValue)
        expectFailure("=2\r\nab\r\n", .badValue)
        expectFailure("*2\r\n:1\r\n?\r\n", .unknownType)
    }

    @Test("lengths, counts, lines and depth over the limits throw, before any allocation")
    func limits() {
        expectFailure("$536870913\r\n", .limitExceeded)
        expectFailure("$11\r\n", .limitExceeded, decoder: RESPDecoder(maxBulkLength: 10))
        expectFailure("*1048577\r\n", .limitExceeded)
        expectFailure("*3\r\n", .limitExceeded, decoder: RESPDecoder(maxElements: 2))
        expectFailure("%2\r\n", .limitExceeded, decoder: RESPDecoder(maxElements: 3))
        expectFailure("*2\r\n*2\r\n:1\r\n:2\r\n", .limitExceeded, decoder: RESPDecoder(maxElements: 3))
        expectFailure("*2\r\n$6\r\nabcdef\r\n$6\r\nabcdef\r\n", .limitExceeded, decoder: RESPDecoder(maxBulkLength: 10))
        expectFailure(String(repeating: "*1\r\n", count: 33) + ":1\r\n", .limitExceeded)
        expectFailure("+" + String(repeating: "a", count: 100), .limitExceeded, decoder: RESPDecoder(maxLineLength: 50))
        // Exactly at the limits is fine.
        #expect((try? decodeAll(String(repeating: "*1\r\n", count: 32) + ":1\r\n"))?.count == 1)
        #expect((try? decodeAll("*2\r\n:1\r\n:2\r\n", decoder: RESPDecoder(maxElements: 3)))?.count == 1)
    }

    @Test("after a failure the decoder keeps failing instead of reading misaligned bytes")
    func staysFailed() {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "?\r\n+OK\r\n")
        #expect(throws: RESPError.self) { try decoder.decode(&buffer) }
        #expect(throws: RESPError.self) { try decoder.decode(&buffer) }
    }

    @Test("the element limit counts per reply, not per stream")
    func limitPerReply() throws {
        let decoder = RESPDecoder(maxElements: 3)
        let values = try decodeAll(String(repeating: "*2\r\n:1\r\n:2\r\n", count: 5), decoder: decoder)
        #expect(values.count == 5)
    }
}
