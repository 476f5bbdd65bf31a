import NIOCore
import PrimusCore
import Testing

@Suite("SockJS frames and payloads")
struct SockJSFrameTests {
    @Test("the four frames encode as SockJS writes them")
    func encoding() {
        #expect(SockJSFrame.open.encoded() == "o")
        #expect(SockJSFrame.heartbeat.encoded() == "h")
        #expect(SockJSFrame.messages(["a", "\"b\""]).encoded() == #"a["a","\"b\""]"#)
        #expect(SockJSFrame.messages([]).encoded() == "a[]")
        #expect(SockJSFrame.goAway.encoded() == #"c[3000,"Go away!"]"#)
        #expect(SockJSFrame.anotherConnectionOpen.encoded() == #"c[2010,"Another connection still open"]"#)
    }

    @Test("every code point of SockJS's escape set is escaped, and nothing else")
    func escaping() {
        let escaped: [Unicode.Scalar] = [
            "\u{0}", "\u{1f}", "\u{200c}", "\u{200f}", "\u{2028}", "\u{2029}", "\u{202f}", "\u{2060}", "\u{206f}", "\u{fff0}", "\u{ffff}",
        ]
        for scalar in escaped {
            let hex = String(scalar.value, radix: 16)
            let expected = "\"\\u" + String(repeating: "0", count: 4 - hex.count) + hex + "\""
            #expect(SockJSJSONEscaping.quoted(String(scalar)) == expected)
        }
        let kept = "a é ☃ 😀 \u{200b} \u{2030} \u{205f} \u{2070} \u{ffef} /"
        #expect(SockJSJSONEscaping.quoted(kept) == "\"" + kept + "\"")
        #expect(SockJSJSONEscaping.quoted(#"q"b\"#) == #""q\"b\\""#)
    }

    @Test("escaped frames read back as the same strings")
    func roundTrip() throws {
        let messages = ["line\u{2028}sep", "nul\u{0}", "😀", "\"json\":[1]", "\u{fff0}\u{ffff}", ""]
        let frame = SockJSFrame.messages(messages)
        #expect(try SockJSFrame(parsing: frame.encoded()) == frame)
        #expect(try SockJSFrame(parsing: "o") == .open)
        #expect(try SockJSFrame(parsing: "h") == .heartbeat)
        #expect(try SockJSFrame(parsing: #"c[1002,"Connection interrupted"]"#) == .interrupted)
    }

    @Test("malformed frames are errors", arguments: ["", "x", "oo", "a", "a{}", "a[1]", "c[]", "c[1,2]", "c[\"a\",\"b\"]", "a[\"x\""])
    func malformedFrames(text: String) {
        #expect(throws: SockJSProtocolError.self) { try SockJSFrame(parsing: text) }
    }

    @Test("client bodies: arrays of strings; empty and broken bodies have SockJS's answers")
    func clientBodies() throws {
        #expect(try SockJSClientPayload.decodeBody(ByteBuffer(string: #"["a","\u2028"]"#)) == ["a", "\u{2028}"])
        #expect(try SockJSClientPayload.decodeBody(ByteBuffer(string: "[]")) == [])
        #expect(throws: SockJSProtocolError.payloadExpected) { try SockJSClientPayload.decodeBody(ByteBuffer()) }
        for broken in [#"["x"#, "[1]", #"{"a":1}"#, #""x""#, "nonsense", "[[\"a\"]]"] {
            #expect(throws: SockJSProtocolError.brokenJSON) { try SockJSClientPayload.decodeBody(ByteBuffer(string: broken)) }
        }
        #expect(SockJSProtocolError.payloadExpected.description == "Payload expected.")
        #expect(SockJSProtocolError.brokenJSON.description == "Broken JSON encoding.")
    }

    @Test("WebSocket messages: an array, a bare string, or nothing")
    func webSocketMessages() throws {
        #expect(try SockJSClientPayload.decodeWebSocketMessage(ByteBuffer(string: #"["a","b"]"#)) == ["a", "b"])
        #expect(try SockJSClientPayload.decodeWebSocketMessage(ByteBuffer(string: #""bare""#)) == ["bare"])
        #expect(try SockJSClientPayload.decodeWebSocketMessage(ByteBuffer()) == [])
        #expect(throws: SockJSProtocolError.brokenJSON) { try SockJSClientPayload.decodeWebSocketMessage(ByteBuffer(string: "1")) }
        let encoded = SockJSClientPayload.encode(["x\u{2028}", "\"y\""])
        #expect(String(buffer: encoded) == #"["x\u2028","\"y\""]"#)
        #expect(try SockJSClientPayload.decodeBody(encoded) == ["x\u{2028}", "\"y\""])
    }

    @Test("each transport wraps a frame its own way")
    func wrapping() throws {
        let frame = SockJSFrame.messages(["x\u{2028}"])
        #expect(String(buffer: SockJSFrameWrapping.lines.wrapped(frame)) == "a[\"x\\u2028\"]\n")
        #expect(String(buffer: SockJSFrameWrapping.eventSource.wrapped(.open)) == "data: o\r\n\r\n")
        #expect(String(buffer: SockJSFrameWrapping.htmlFile.wrapped(.open)) == "<script>\np(\"o\");\n</script>\r\n")
        let callback = try SockJSCallbackName("cb.1_-x")
        #expect(String(buffer: SockJSFrameWrapping.jsonp(callback: callback).wrapped(frame)) == "/**/cb.1_-x(\"a[\\\"x\\\\u2028\\\"]\");\r\n")
        #expect(SockJSFrameWrapping.xhrStreamingPrelude.readableBytes == 2049)
    }

    @Test("callback names: only [a-zA-Z0-9-_.]")
    func callbacks() throws {
        #expect(try SockJSCallbackName("aZ09-_.").name == "aZ09-_.")
        #expect(throws: SockJSCallbackName.Failure.missing) { try SockJSCallbackName(nil) }
        #expect(throws: SockJSCallbackName.Failure.missing) { try SockJSCallbackName("") }
        for bad in ["a b", "a(b)", "<script>", "a;b", "é", "a\"b", "a/b"] {
            #expect(throws: SockJSCallbackName.Failure.invalid) { try SockJSCallbackName(bad) }
        }
    }

    @Test("routes under a prefix")
    func routes() {
        #expect(SockJSRoute(path: "") == .welcome)
        #expect(SockJSRoute(path: "/") == .welcome)
        #expect(SockJSRoute(path: "/info") == .info)
        #expect(SockJSRoute(path: "/websocket") == .rawWebSocket)
        for iframe in ["/iframe.html", "/iframe-.html", "/iframe-1.2.3.html", "/iframe-a_b.html"] {
            #expect(SockJSRoute(path: Substring(iframe)) == .iframe)
        }
        for notFound in ["/iframe.htm", "/IFRAME.HTML", "/iframe-/.html", "/iframe-A.html", "/a/b", "/a/b/c/d", "/a.b/c/xhr", "/a/b.c/xhr", "//b/xhr", "/a//xhr", "/a/b/XHR", "/infox"] {
            #expect(SockJSRoute(path: Substring(notFound)) == .notFound, "\(notFound)")
        }
        #expect(SockJSRoute(path: "/000/abc/xhr_streaming") == .session(id: "abc", transport: .xhrStreaming))
        #expect(SockJSRoute(path: "/x/y/jsonp_send") == .session(id: "y", transport: .jsonpSend))
        #expect(SockJSTransport.allCases.filter(\.isReceiving).count == 6)
    }

    @Test("HTTP dates")
    func httpDates() {
        #expect(HTTPDate.format(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: 4_102_444_799) == "Thu, 31 Dec 2099 23:59:59 GMT")
    }
}
