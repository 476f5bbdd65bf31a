import Foundation
import NIOCore
import PrimusCore
import Testing

/// Vectors from Meteor's EJSON documentation (docs.meteor.com/api/ejson.html and the ejson
/// package README): the date-and-binary example object, the `$escape` examples
/// (`{$date: 10000}` escaped, and the key `$date` mapped to a date), `$InfNaN` with 0, 1 and -1,
/// and the `{"$type": …, "$value": …}` custom form (with the README's `oid` example, a type
/// swift-primus does not know). The same vectors are in Tests/JavaScript/parsers/ejson.test.js.
@Suite("EJSON parser")
struct EJSONTests {
    let parser = EJSONParser()

    static func bytes(_ values: [UInt8]) -> JSONValue { .binary(ByteBuffer(bytes: values)) }
    static func date(milliseconds: Double) -> JSONValue { .date(Date(timeIntervalSince1970: milliseconds / 1000)) }

    /// Values and their exact EJSON text, both ways.
    static let vectors: [(JSONValue, String)] = [
        (["d": date(milliseconds: 1_358_205_756_553), "b": bytes(Array("sure.".utf8))], #"{"d":{"$date":1358205756553},"b":{"$binary":"c3VyZS4="}}"#),
        (["$date": 10000], #"{"$escape":{"$date":10000}}"#),
        (["$date": date(milliseconds: 32491)], #"{"$escape":{"$date":{"$date":32491}}}"#),
        (.number(.infinity), #"{"$InfNaN":1}"#),
        (.number(-.infinity), #"{"$InfNaN":-1}"#),
        (.extension(type: 5, data: ByteBuffer(bytes: [1, 2])), #"{"$type":"msgpack-ext-5","$value":"AQI="}"#),
        (.extension(type: -128, data: ByteBuffer()), #"{"$type":"msgpack-ext--128","$value":""}"#),
        (["$type": "oid", "$value": "c896e40bf6e51bbdc9adcf59"], #"{"$escape":{"$type":"oid","$value":"c896e40bf6e51bbdc9adcf59"}}"#),
        (["$regexp": "a+", "$flags": "i"], #"{"$escape":{"$regexp":"a+","$flags":"i"}}"#),
        (["$escape": ["x": bytes([0])]], #"{"$escape":{"$escape":{"x":{"$binary":"AA=="}}}}"#),
        (["$binary": "not bytes", "other": 1], #"{"$binary":"not bytes","other":1}"#),
        (["$other": 1], #"{"$other":1}"#),
        (["z": 1, "a": [date(milliseconds: 0), bytes([])]], #"{"z":1,"a":[{"$date":0},{"$binary":""}]}"#),
        (.string("line\u{2028}para\u{2029}"), #""line\u2028para\u2029""#),
        (.date(Date(timeIntervalSince1970: -1.5)), #"{"$date":-1500}"#),
        ([1, "two", nil, true, 2.5], #"[1,"two",null,true,2.5]"#),
    ]

    @Test(arguments: 0..<vectors.count)
    func writesAndReadsTheDocumentedForms(index: Int) throws {
        let (value, text) = Self.vectors[index]
        let message = try parser.encode(value)
        #expect(message == .text(text))
        #expect(try parser.decode(.text(text)) == value)
    }

    @Test func notANumberTravelsAsInfNaNZero() throws {
        #expect(try parser.encode(.number(.nan)) == .text(#"{"$InfNaN":0}"#))
        #expect(try parser.decode(.text(#"{"$InfNaN":0}"#)).numberValue?.isNaN == true)
        #expect(try parser.decode(.text(#"[{"$InfNaN":0.5}]"#)) == [.number(.infinity)])
    }

    @Test func readsWhatOtherWritersMayWrite() throws {
        // Whitespace, a custom type swift-primus does not know (its value still read as
        // EJSON), and an escape whose values are EJSON.
        #expect(try parser.decode(.text(#" { "$date" : 1 } "#)) == Self.date(milliseconds: 1))
        #expect(try parser.decode(.text(#"{"$type":"Decimal","$value":{"$date":5}}"#)) == ["$type": "Decimal", "$value": Self.date(milliseconds: 5)])
        #expect(try parser.decode(.text(#"{"$value":"AA==","$type":"msgpack-ext-1"}"#)) == .extension(type: 1, data: ByteBuffer(bytes: [0])))
        #expect(try parser.decode(.text(#"{"$type":"msgpack-ext-300","$value":"AA=="}"#)) == ["$type": "msgpack-ext-300", "$value": "AA=="])
    }

    @Test("fractional milliseconds are cut as JavaScript's Date cuts them, so a date round-trips (found by FuzzParsers)")
    func fractionalMillisecondsAreTruncated() throws {
        let decoded = try parser.decode(.text(#"{"$date":136.5}"#))
        #expect(decoded == Self.date(milliseconds: 136))
        #expect(try parser.decode(.text(#"{"$date":-136.5}"#)) == Self.date(milliseconds: -136))
        let encoded = try parser.encode(decoded)
        #expect(encoded.string == #"{"$date":136}"#)
        #expect(try parser.decode(encoded) == decoded)
    }

    @Test func keepsKeyOrderThroughEscapesAndForms() throws {
        let text = #"{"z":{"$escape":{"$date":1}},"y":{"$binary":"AQ=="},"x":{"b":1,"a":2}}"#
        let value = try parser.decode(.text(text))
        #expect(value.objectValue?.keys == ["z", "y", "x"])
        #expect(value["x"]?.objectValue?.keys == ["b", "a"])
        #expect(try parser.encode(value) == .text(text))
    }

    @Test func roundTripsNestedValuesOfEveryKind() throws {
        let value: JSONValue = [
            "when": .date(Date(timeIntervalSince1970: 1_700_000_000.123)),
            "blob": Self.bytes([0, 1, 2, 250, 255]),
            "list": [.number(.infinity), ["$date": ["$binary": Self.bytes([7])]], [[[nil]]]],
            "ext": .extension(type: 42, data: ByteBuffer(bytes: [9, 9])),
            "text": "€🚀\u{2028}\"\\",
        ]
        #expect(try parser.decode(parser.encode(value)) == value)
    }

    @Test(arguments: [
        (#"{"$date":"soon"}"#, "invalid EJSON: $date holds a string, not a number of milliseconds"),
        (#"{"$binary":5}"#, "invalid EJSON: $binary holds a number, not base64 text"),
        (#"{"$binary":"@@@@"}"#, "invalid EJSON: $binary is not base64"),
        (#"{"$escape":1}"#, "invalid EJSON: $escape holds a number, not an object"),
        (#"{"$InfNaN":"1"}"#, "invalid EJSON: $InfNaN holds a string, not a number"),
        (#"{"$type":"msgpack-ext-1","$value":7}"#, "invalid EJSON: $value of msgpack-ext-1 holds a number, not base64 text"),
        (#"[{"a":{"$date":null}}]"#, "invalid EJSON: $date holds null, not a number of milliseconds"),
        (#"{"$date":1"#, "unexpected end of input at byte 10"),
        ("nope", "invalid literal at byte 0"),
    ])
    func malformedInputIsAnError(text: String, reason: String) {
        let error = #expect(throws: PrimusError.self) { try parser.decode(.text(text)) }
        #expect(error?.code == .decodingFailed)
        #expect(error?.message == "Failed to decode incoming data: \(reason)")
    }

    @Test func nestingIsLimitedBothWays() throws {
        let limit = PrimusParsers.maximumDepth
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: PrimusError.self) { try parser.decode(.text(text)) }
        // The EJSON form counts: a date is an object, an escape two.
        func nested(_ inner: JSONValue, in levels: Int) -> JSONValue {
            var value = inner
            for _ in 0..<levels { value = [value] }
            return value
        }
        let fits = nested(["$date": 1], in: limit - 2)
        #expect(try parser.decode(parser.encode(fits)) == fits)
        let error = #expect(throws: PrimusError.self) { try parser.encode(nested(["$date": 1], in: limit - 1)) }
        #expect(error?.code == .encodingFailed)
        #expect(throws: PrimusError.self) { try parser.encode(nested(.date(Date()), in: limit)) }
        #expect(throws: PrimusError.self) { try parser.encode(nested(nil, in: limit + 1)) }
    }

    @Test func protocolMessagesAreJSONStrings() throws {
        let ping = "primus::ping::1700000000000"
        let message = try parser.encode(.string(ping))
        #expect(message == .text("\"\(ping)\""))
        #expect(parser.protocolText(in: message, for: nil) == ping)
        #expect(parser.protocolText(in: .text(#"{"$escape":{"primus::":1}}"#), for: nil) == nil)
        #expect(parser.protocolText(in: .text("\"hello\""), for: nil) == nil)
    }

    @Test func binaryFramesAreBytesAndOutputIsText() throws {
        #expect(try parser.decode(.binary(ByteBuffer(bytes: [1, 2]))) == Self.bytes([1, 2]))
        #expect(try parser.encode(Self.bytes([1, 2])) == .text(#"{"$binary":"AQI="}"#))
        #expect(try PrimusParsers.named("ejson").name == "ejson")
    }
}
