import NIOCore
import PrimusCore
import Testing
import struct Foundation.Date

@Suite("MessagePack parser")
struct MessagePackParserTests {
    let parser = MessagePackParser()

    @Test func isRegisteredAsMsgpack() throws {
        #expect(parser.name == "msgpack")
        #expect(PrimusParsers.names.contains("msgpack"))
        #expect(try PrimusParsers.named("MsgPack") is MessagePackParser)
        #expect(PrimusParsers.builtIn.contains { $0.name == "msgpack" })
    }

    @Test func encodesEveryValueAsOneBinaryMessage() throws {
        let value: JSONValue = ["a": [1, "two", 3.5, nil, true], "bytes": .binary(ByteBuffer(bytes: [1, 2])), "when": .date(Date(timeIntervalSince1970: 1.5))]
        let message = try parser.encode(value)
        guard case .binary(let bytes) = message else {
            Issue.record("expected a binary message, got \(message)")
            return
        }
        #expect(try parser.decode(.binary(bytes)) == value)
        #expect(try parser.decode(.text(bytes)) == value)
        #expect(Hex.string(try parser.encode("primus::pong::1").buffer) == "af7072696d75733a3a706f6e673a3a31")
    }

    @Test(arguments: [
        "primus::ping::1700000000000", "primus::", "primus::server::close", "primus::" + String(repeating: "x", count: 40),
        "primus::" + String(repeating: "y", count: 300), "primus::" + String(repeating: "z", count: 70000),
    ])
    func findsProtocolTextInEveryStrForm(text: String) throws {
        let message = try parser.encode(.string(text))
        #expect(parser.protocolText(in: message, for: nil) == text)
        #expect(parser.protocolText(in: .text(message.buffer), for: nil) == text)
    }

    @Test(arguments: [
        JSONValue.string("hello"), "primus:", "primus:x:", ["primus::ping::1"], ["k": "primus::ping::1"], 1, nil,
        .binary(ByteBuffer(string: "primus::ping::1")), .extension(type: 1, data: ByteBuffer(string: "primus::ping::1")),
    ])
    func ignoresEverythingElse(value: JSONValue) throws {
        #expect(parser.protocolText(in: try parser.encode(value), for: nil) == nil)
    }

    @Test func ignoresAProtocolPrefixInMalformedBytes() {
        // str 8 of 20 bytes holding "primus::" and no more; then a valid string with trailing bytes.
        #expect(parser.protocolText(in: .binary(Hex.buffer("d9147072696d75733a3a")), for: nil) == nil)
        #expect(parser.protocolText(in: .binary(Hex.buffer("a87072696d75733a3ac0")), for: nil) == nil)
        #expect(parser.protocolText(in: .binary(ByteBuffer()), for: nil) == nil)
    }

    struct Message: Codable, Equatable {
        var id: UInt64
        var text: String
        var at: Date
    }

    @Test func codableValuesSkipJSONValue() throws {
        let value = Message(id: .max, text: "hi", at: Date(timeIntervalSince1970: 1_700_000_000.25))
        let message = try parser.encode(encodable: value)
        #expect(!message.isText)
        #expect(try parser.decode(Message.self, from: message) == value)
        #expect(try parser.decode(JSONValue.self, from: message)["id"] == .number(18_446_744_073_709_551_616))
        #expect(try parser.encode(encodable: JSONValue.string("x")) == parser.encode(.string("x")))
    }

    @Test func failuresArePrimusErrors() {
        #expect(throws: PrimusError.self) { try parser.decode(.binary(Hex.buffer("c1"))) }
        do {
            _ = try parser.decode(Message.self, from: .binary(Hex.buffer("80")))
            Issue.record("a map without the keys decoded")
        } catch {
            #expect(error.code == .decodingFailed)
        }
        do {
            _ = try parser.encode(.date(Date(timeIntervalSince1970: .nan)))
            Issue.record("a NaN date was encoded")
        } catch {
            #expect(error.code == .encodingFailed)
        }
    }
}
