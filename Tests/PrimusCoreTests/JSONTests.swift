import NIOCore
import PrimusCore
import Testing

@Suite("JSON reader and writer")
struct JSONTests {
    @Test(arguments: [
        ("0", JSONValue.number(0)), ("-12", .number(-12)), ("1.5e3", .number(1500)), ("true", .bool(true)),
        ("false", .bool(false)), ("null", .null), (#""hello""#, .string("hello")), ("[]", .array([])), ("{}", .object([:])),
        (#" { "a" : [1, {"b": null}] } "#, JSONValue.object(["a": .array([1, .object(["b": .null])])])),
        (#""\u00e9\n\t\"\\\/""#, .string("é\n\t\"\\/")), (#""\ud83d\ude00""#, .string("😀")),
    ])
    func readsEveryKindOfValue(text: String, expected: JSONValue) throws {
        #expect(try JSONReader.parse(text) == expected)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\"}", "01", "1.", "-", "tru", "\"abc", "\"\u{01}\"", "[1] 2", "{'a':1}", "\"\\x\"", "nul"])
    func rejectsInvalidText(text: String) {
        #expect(throws: JSONReader.Failure.self) { try JSONReader.parse(text) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONReader.Failure.self) { try JSONReader.parse(text) }
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try JSONReader.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (42, "42"), (-7, "-7"), (1.5, "1.5"), (0.1, "0.1"), (1e-7, "1e-7"), (1e21, "1e+21"),
        (1.5e20, "150000000000000000000"), (123456789012, "123456789012"), (Double.nan, "null"), (Double.infinity, "null"),
    ])
    func formatsNumbersLikeJavaScript(number: Double, expected: String) {
        #expect(JSONWriter.format(number) == expected)
    }

    @Test func escapesLikeJSONStringifyAndPrimus() {
        let value: JSONValue = .string("a\"b\\c\n\u{01}\u{2028}\u{2029}é")
        #expect(value.description == #""a\"b\\c\n\u0001\u2028\u2029é""#)
    }

    @Test func writesCompactText() {
        #expect(JSONValue.array([1, "x", nil, true, ["k": 2]]).description == #"[1,"x",null,true,{"k":2}]"#)
    }

    @Test func roundTripsThroughTheWriter() throws {
        let value: JSONValue = ["list": [1.25, -3, "ünï", ["nested": [true, false, nil]]], "empty": [:]]
        #expect(try JSONReader.parse(value.description) == value)
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    let parser = JSONParser()

    @Test func encodesProtocolMessagesAsQuotedStrings() throws {
        let message = try parser.encode(PrimusProtocolMessage.ping("1700000000000").value)
        #expect(message == .text(#""primus::ping::1700000000000""#))
    }

    @Test func decodingFailureIsAPrimusError() {
        do {
            _ = try parser.decode(.text("{oops"))
            Issue.record("decoding invalid JSON succeeded")
        } catch {
            #expect(error.code == .decodingFailed)
            #expect(error.message.hasPrefix("Failed to decode incoming data"))
        }
    }

    @Test func decodesTypedValuesIncludingTopLevelScalars() throws {
        struct Point: Codable, Equatable { var x: Int; var y: Int }
        #expect(try parser.decode(Point.self, from: .text(#"{"x":1,"y":2}"#)) == Point(x: 1, y: 2))
        #expect(try parser.decode(Int.self, from: .text("0")) == 0)
        #expect(try parser.decode(String.self, from: .text(#""hi""#)) == "hi")
    }

    @Test func encodablesEscapeLineSeparators() throws {
        let message = try parser.encode(encodable: ["text": "a\u{2028}b"])
        #expect(message.string == #"{"text":"a\u2028b"}"#)
    }

    @Test func parsersAreFoundByNameCaseInsensitively() throws {
        #expect(try PrimusParsers.named("JSON").name == "json")
        #expect(throws: PrimusError.unsupportedParser("yaml")) { try PrimusParsers.named("yaml") }
        #expect(PrimusError.unsupportedParser("yaml").message.contains("yaml"))
    }
}
