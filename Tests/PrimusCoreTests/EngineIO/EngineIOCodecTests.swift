import NIOCore
import PrimusCore
import Testing

private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
private func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }
private let binary1234 = ByteBuffer(bytes: [1, 2, 3, 4])

@Suite("Engine.IO packets and WebSocket frames")
struct EngineIOPacketTests {
    @Test func textFramesAreTheTypeDigitThenTheData() throws {
        #expect(EngineIOPacketCodec.encodeFrame(.message("hello"), version: .v4) == .text("4hello"))
        #expect(EngineIOPacketCodec.encodeFrame(.pongProbe, version: .v4) == .text("3probe"))
        #expect(EngineIOPacketCodec.encodeFrame(.noop, version: .v3) == .text("6"))
        #expect(try EngineIOPacketCodec.decodeFrame(.text("2probe"), version: .v4).isProbePing)
        #expect(try EngineIOPacketCodec.decodeFrame(.text("5"), version: .v4) == .upgrade)
        #expect(try EngineIOPacketCodec.decodeFrame(.text("4€"), version: .v4) == .message("€"))
    }

    @Test func v4BinaryFramesAreTheRawMessage() throws {
        #expect(EngineIOPacketCodec.encodeFrame(.message(.binary(binary1234)), version: .v4) == .binary(binary1234))
        #expect(try EngineIOPacketCodec.decodeFrame(.binary(binary1234), version: .v4) == .message(.binary(binary1234)))
    }

    @Test func v3BinaryFramesStartWithTheTypeByte() throws {
        let frame = EngineIOPacketCodec.encodeFrame(.message(.binary(binary1234)), version: .v3)
        #expect(frame == .binary(ByteBuffer(bytes: [4, 1, 2, 3, 4])))
        #expect(try EngineIOPacketCodec.decodeFrame(frame, version: .v3) == .message(.binary(binary1234)))
        #expect(throws: EngineIODecodingError.self) { try EngineIOPacketCodec.decodeFrame(.binary(ByteBuffer(bytes: [9, 1])), version: .v3) }
    }

    @Test func malformedPacketsAreRejected() {
        #expect(throws: EngineIODecodingError.self) { try EngineIOPacketCodec.decodeFrame(.text(""), version: .v4) }
        #expect(throws: EngineIODecodingError.self) { try EngineIOPacketCodec.decodeFrame(.text("9x"), version: .v4) }
        #expect(throws: EngineIODecodingError.self) { try EngineIOPacketCodec.decodeFrame(.text("x"), version: .v4) }
        #expect(throws: EngineIODecodingError.self) { try EngineIOPacketCodec.decodeFrame(.text("b!!"), version: .v4) }
    }

    @Test func base64RoundTripsEveryLength() throws {
        #expect(EngineIOBase64.encode([1, 2, 3, 4] as [UInt8]) == "AQIDBA==")
        #expect(EngineIOBase64.encode([] as [UInt8]) == "")
        for length in 0..<40 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let encoded = EngineIOBase64.encode(data)
            #expect(encoded.count == EngineIOBase64.encodedLength(of: length))
            #expect(bytes(try EngineIOBase64.decode(Array(encoded.utf8))) == data)
        }
        #expect(bytes(try EngineIOBase64.decode(Array("AQIDBA".utf8))) == [1, 2, 3, 4])  // padding optional
        #expect(throws: EngineIODecodingError.self) { try EngineIOBase64.decode(Array("AQ=D".utf8)) }
        #expect(throws: EngineIODecodingError.self) { try EngineIOBase64.decode(Array("A".utf8)) }
    }

    @Test func handshakeJSONKeepsTheReferenceKeyOrder() throws {
        let handshake = EngineIOHandshake(sid: "lv_VI97HAXpY6yYWAAAC", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1_000_000)
        #expect(
            text(handshake.json)
                == #"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        )
        #expect(EngineIOPacketCodec.encodeFrame(handshake.packet, version: .v4).string.hasPrefix(#"0{"sid":"#))
        #expect(try EngineIOHandshake(json: text(handshake.json)) == handshake)
        let v3 = EngineIOHandshake(sid: "a", upgrades: [], pingInterval: 1, pingTimeout: 2, maxPayload: nil)
        #expect(text(v3.json) == #"{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2}"#)
    }

    @Test func errorsCarryTheReferenceCodesAndMessages() {
        #expect(text(EngineIOError.unknownTransport.json) == #"{"code":0,"message":"Transport unknown"}"#)
        #expect(text(EngineIOError.unknownSession.json) == #"{"code":1,"message":"Session ID unknown"}"#)
        #expect(text(EngineIOError.badHandshakeMethod.json) == #"{"code":2,"message":"Bad handshake method"}"#)
        #expect(text(EngineIOError.badRequest.json) == #"{"code":3,"message":"Bad request"}"#)
        #expect(EngineIOError.forbidden.code == 4 && EngineIOError.forbidden.httpStatus == 403)
        #expect(text(EngineIOError.unsupportedProtocolVersion.json) == #"{"code":5,"message":"Unsupported protocol version"}"#)
        #expect(EngineIOError.badRequest.httpStatus == 400)
    }
}

@Suite("Engine.IO polling payloads")
struct EngineIOPayloadTests {
    @Test func v4JoinsPacketsWithTheRecordSeparator() throws {
        let packets: [EngineIOPacket] = [.message("hello"), .ping, .message("world")]
        let body = EngineIOPayloadCodec.encode(packets, format: .v4)
        #expect(text(body) == "4hello\u{1e}2\u{1e}4world")
        #expect(try EngineIOPayloadCodec.decode(body, version: .v4) == packets)
    }

    @Test func v4BinaryIsBase64WithoutATypeDigit() throws {
        let packets: [EngineIOPacket] = [.message("hello"), .message(.binary(binary1234))]
        let body = EngineIOPayloadCodec.encode(packets, format: .v4)
        #expect(text(body) == "4hello\u{1e}bAQIDBA==")
        #expect(try EngineIOPayloadCodec.decode(body, version: .v4) == packets)
    }

    @Test func v4RejectsEmptyPartsAndEmptyBodies() {
        #expect(throws: EngineIODecodingError.self) { try EngineIOPayloadCodec.decode(ByteBuffer(string: "4a\u{1e}"), version: .v4) }
        #expect(throws: EngineIODecodingError.self) { try EngineIOPayloadCodec.decode(ByteBuffer(), version: .v4) }
    }

    @Test func v3LengthsCountUTF16CodeUnitsNotBytes() throws {
        let packets: [EngineIOPacket] = [.message("€"), .message("😀x"), .message("hello")]
        let body = EngineIOPayloadCodec.encode(packets, format: .v3Text)
        // "4€" is 2 units (4 bytes); "4😀x" is 4 units (a surrogate pair) in 6 bytes.
        #expect(text(body) == "2:4€4:4😀x6:4hello")
        #expect(try EngineIOPayloadCodec.decode(body, version: .v3) == packets)
    }

    @Test func v3TextCarriesBinaryAsBase64AfterTheType() throws {
        let packets: [EngineIOPacket] = [.message(.binary(binary1234))]
        let body = EngineIOPayloadCodec.encode(packets, format: .v3Text)
        #expect(text(body) == "10:b4AQIDBA==")
        #expect(try EngineIOPayloadCodec.decode(body, version: .v3) == packets)
    }

    @Test func v3RejectsLengthsThatDoNotMatch() {
        for bad in ["3:4€", "9:4hello", "x:4a", ":4a", "2", "1:4€"] {
            #expect(throws: EngineIODecodingError.self, "\(bad)") { try EngineIOPayloadCodec.decode(ByteBuffer(string: bad), version: .v3) }
        }
        // A length that ends inside a surrogate pair.
        #expect(throws: EngineIODecodingError.self) { try EngineIOPayloadCodec.decode(ByteBuffer(string: "2:4😀"), version: .v3) }
    }

    @Test func v3BinaryPayloadMatchesTheReferenceBytes() throws {
        let packets: [EngineIOPacket] = [.message("hello"), .message(.binary(binary1234))]
        let body = EngineIOPayloadCodec.encode(packets, format: .v3Binary)
        #expect(bytes(body) == [0x00, 0x06, 0xFF, 0x34, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x01, 0x05, 0xFF, 0x04, 0x01, 0x02, 0x03, 0x04])
        #expect(try EngineIOPayloadCodec.decode(body, version: .v3) == packets)
        #expect(try EngineIOPayloadCodec.decode(body, version: .v3, binaryContent: true) == packets)
    }

    @Test func v3BinaryLengthsOfTextCountUTF8Bytes() throws {
        let body = EngineIOPayloadCodec.encode([.message("€")], format: .v3Binary)
        #expect(bytes(body) == [0x00, 0x04, 0xFF, 0x34, 0xE2, 0x82, 0xAC])
        let long = EngineIOPacket.message(String(repeating: "a", count: 123))
        #expect(bytes(EngineIOPayloadCodec.encode([long], format: .v3Binary)).prefix(5) == [0x00, 1, 2, 4, 0xFF])
    }

    @Test func v3ResponsesUseTheBinaryFormatOnlyForBinaryCapableClientsWithBinaryPackets() {
        let textOnly: [EngineIOPacket] = [.message("a")]
        let mixed: [EngineIOPacket] = [.message("a"), .message(.binary(binary1234))]
        #expect(EngineIOPayloadCodec.responseFormat(for: textOnly, version: .v3, supportsBinary: true) == .v3Text)
        #expect(EngineIOPayloadCodec.responseFormat(for: mixed, version: .v3, supportsBinary: true) == .v3Binary)
        #expect(EngineIOPayloadCodec.responseFormat(for: mixed, version: .v3, supportsBinary: false) == .v3Text)
        #expect(EngineIOPayloadCodec.responseFormat(for: mixed, version: .v4, supportsBinary: true) == .v4)
    }

    @Test func jsonpWrapsTheTextPayloadAsAStringLiteral() throws {
        let body = EngineIOPayloadCodec.encode([.message("say \"hi\"\n\u{2028}")], format: .v3Text)
        let wrapped = EngineIOPayloadCodec.wrapJSONP(body, index: "3<script>")
        #expect(text(wrapped) == #"___eio[3]("11:4say \"hi\"\n\u2028");"#)
    }

    @Test func jsonpPostsAreFormEncodedWithEscapedNewlines() throws {
        // The client writes a newline as \n and a literal backslash-n as \\n.
        let form = ByteBuffer(string: "d=" + "6:4a\\nb\\\\n".addingFormEscapes())
        let payload = try EngineIOPayloadCodec.unwrapJSONPForm(form)
        #expect(text(payload) == "6:4a\nb\\n")
        #expect(try EngineIOPayloadCodec.decode(payload, version: .v3) == [.message("a\nb\\n")])
    }
}

extension String {
    /// Percent-encodes everything but unreserved characters (as a browser's form encoder would).
    fileprivate func addingFormEscapes() -> String {
        var output = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                output += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return output
    }
}

@Suite("Engine.IO request checks")
struct EngineIORequestTests {
    private func check(_ query: String, method: EngineIORequest.Method = .get, upgrade: Bool = false, eio3: Bool = false) -> Result<EngineIORequest, EngineIOError> {
        Result { () throws(EngineIOError) in
            try EngineIORequest(method: method, query: QueryParameters(requestURI: "/primus/?" + query), isUpgrade: upgrade, allowEIO3: eio3)
        }
    }

    @Test func handshakesAreCheckedInTheReferenceOrder() {
        #expect(check("EIO=4&transport=nope") == .failure(.unknownTransport))
        #expect(check("EIO=4") == .failure(.unknownTransport))
        #expect(check("EIO=4&transport=polling", method: .post) == .failure(.badHandshakeMethod))
        #expect(check("EIO=4&transport=websocket") == .failure(.badRequest))
        #expect(check("EIO=9&transport=polling") == .failure(.unsupportedProtocolVersion))
        #expect(check("transport=polling") == .failure(.unsupportedProtocolVersion))
        #expect(check("EIO=3&transport=polling") == .failure(.unsupportedProtocolVersion))
        #expect((try? check("EIO=3&transport=polling&b64=1&j=2", eio3: true).get()).map { ($0.version, $0.base64, $0.jsonpIndex) }! == (.v3, true, "2"))
        #expect((try? check("EIO=4&transport=websocket", upgrade: true).get())?.transport == .websocket)
    }

    @Test func requestsWithASidSkipTheHandshakeChecks() {
        let request = try? check("EIO=4&transport=polling&sid=abc", method: .post).get()
        #expect(request?.sid == "abc")
        #expect(check("EIO=4&transport=nope&sid=abc") == .failure(.unknownTransport))
    }
}
