import NIOCore
import PrimusCore
import Testing

/// One malformed input and the error it must give.
struct MalformedInput: Sendable, CustomTestStringConvertible {
    var messages: [TransportMessage]
    var code: SocketIOProtocolError.Code
    var why: String
    var testDescription: String { why }

    init(_ text: String, _ code: SocketIOProtocolError.Code, _ why: String) {
        self.messages = [.text(text)]
        self.code = code
        self.why = why
    }

    init(_ messages: [TransportMessage], _ code: SocketIOProtocolError.Code, _ why: String) {
        self.messages = messages
        self.code = code
        self.why = why
    }
}

private let placeholder0 = #"{"_placeholder":true,"num":0}"#
private let attachment = TransportMessage.binary(bytes(1, 2, 3))

/// Every rule of the reference parser, and the bounds, each with an input that breaks it.
private let malformedInputs: [MalformedInput] = [
    MalformedInput("", .emptyPacket, "an empty message"),
    MalformedInput("abc", .unknownPacketType, "4abc: a letter for a type"),
    MalformedInput(#"7["x"]"#, .unknownPacketType, "type 7"),
    MalformedInput(#"/["x"]"#, .unknownPacketType, "a slash for a type"),
    // EVENT payloads
    MalformedInput("2{}", .invalidPayload, "42{}: an EVENT payload that is an object"),
    MalformedInput(#"2abc["x"]"#, .invalidPayload, "42abc[…]: a bad ack id"),
    MalformedInput(#"212a["x"]"#, .invalidPayload, "digits then a letter where the ack id ends"),
    MalformedInput("2[]", .invalidPayload, "an EVENT without a name"),
    MalformedInput("2", .invalidPayload, "an EVENT without a payload"),
    MalformedInput("2/admin,", .invalidPayload, "a namespaced EVENT without a payload"),
    MalformedInput(#"2"hello""#, .invalidPayload, "an EVENT payload that is a string"),
    MalformedInput("2[null]", .invalidPayload, "a null event name"),
    MalformedInput(#"2[{"a":1}]"#, .invalidPayload, "an object for an event name"),
    MalformedInput(#"2[["x"]]"#, .invalidPayload, "an array for an event name"),
    MalformedInput(#"2["connect"]"#, .invalidPayload, "a reserved event name: connect"),
    MalformedInput(#"2["disconnecting"]"#, .invalidPayload, "a reserved event name: disconnecting"),
    MalformedInput(#"2["removeListener"]"#, .invalidPayload, "a reserved event name: removeListener"),
    MalformedInput(#"2["x","#, .invalidPayload, "truncated JSON"),
    MalformedInput(#"2["x"]garbage"#, .invalidPayload, "data after the JSON"),
    MalformedInput(#"2['x']"#, .invalidPayload, "JavaScript that is not JSON"),
    MalformedInput(#"5-["x"]"#, .illegalAttachmentCount, "a BINARY_EVENT without its count"),
    // Other payloads
    MalformedInput("0[]", .invalidPayload, "a CONNECT payload that is an array"),
    MalformedInput(#"0"token""#, .invalidPayload, "a CONNECT payload that is a string"),
    MalformedInput("0/admin,null", .invalidPayload, "a CONNECT payload that is null"),
    MalformedInput("1{}", .invalidPayload, "a DISCONNECT with a payload"),
    MalformedInput("1/admin,[]", .invalidPayload, "a namespaced DISCONNECT with a payload"),
    MalformedInput("3{}", .invalidPayload, "an ACK payload that is an object"),
    MalformedInput(#"3456"x""#, .invalidPayload, "an ACK payload that is a string"),
    MalformedInput("4[1]", .invalidPayload, "a CONNECT_ERROR payload that is an array"),
    MalformedInput("4 1", .invalidPayload, "a CONNECT_ERROR payload that is a number"),
    // Namespaces and ack ids
    MalformedInput("2/ad\u{01}min,[\"x\"]", .invalidNamespace, "a control character in the namespace"),
    MalformedInput(#"2admin,["x"]"#, .invalidPayload, "a namespace without its slash"),
    MalformedInput(#"29007199254740992["x"]"#, .invalidAckID, "an ack id beyond 2^53 - 1"),
    MalformedInput(#"399999999999999999999999999[]"#, .invalidAckID, "an ack id beyond 64 bits"),
    // Attachment counts
    MalformedInput(#"5["x"]"#, .illegalAttachmentCount, "a BINARY_EVENT without '<n>-'"),
    MalformedInput(#"51["x"]"#, .illegalAttachmentCount, "a count without its '-'"),
    MalformedInput(#"51x-["x"]"#, .illegalAttachmentCount, "a count that is not a number"),
    MalformedInput("61", .illegalAttachmentCount, "a BINARY_ACK cut short"),
    MalformedInput(#"511-["x"]"#, .tooManyAttachments, "11 attachments, one more than the default limit"),
    MalformedInput(#"5999999999999999999999999999-["x"]"#, .tooManyAttachments, "a count beyond 64 bits"),
    MalformedInput(#"51-["x",{}"#, .invalidPayload, "a BINARY_EVENT with truncated JSON"),
    MalformedInput(#"51-{}"#, .invalidPayload, "a BINARY_EVENT payload that is an object"),
    MalformedInput(#"61-{}"#, .invalidPayload, "a BINARY_ACK payload that is an object"),
    // Attachment counts that lie
    MalformedInput(
        [.text(#"51-["x",{"_placeholder":true,"num":1}]"#), attachment], .illegalPlaceholder, "a placeholder num out of range"),
    MalformedInput(
        [.text(#"51-["x",{"_placeholder":true,"num":-1}]"#), attachment], .illegalPlaceholder, "a negative placeholder num"),
    MalformedInput(
        [.text(#"51-["x",{"_placeholder":true,"num":0.5}]"#), attachment], .illegalPlaceholder, "a fractional placeholder num"),
    MalformedInput(
        [.text(#"51-["x",{"_placeholder":true,"num":"0"}]"#), attachment], .illegalPlaceholder, "a placeholder num that is a string"),
    MalformedInput([.text(#"51-["x",{"_placeholder":true}]"#), attachment], .illegalPlaceholder, "a placeholder without num"),
    MalformedInput([.text(#"50-["x","# + placeholder0 + "]")], .illegalPlaceholder, "a placeholder when no attachment is announced"),
    MalformedInput(
        [.text(#"52-["x","# + placeholder0 + "]"), attachment, .text(#"2["next"]"#)], .unexpectedText,
        "too few attachments: a text packet arrives first"),
    MalformedInput(
        [.text(#"51-["x","# + placeholder0 + "]"), attachment, attachment], .unexpectedBinary, "too many attachments"),
    MalformedInput([attachment], .unexpectedBinary, "a binary message when none is expected"),
    MalformedInput([.text(#"2["x"]"#), attachment], .unexpectedBinary, "a binary message after a plain event"),
]

@Suite("Socket.IO codec: malformed input")
struct SocketIOMalformedInputTests {
    @Test(arguments: malformedInputs)
    func malformedInputIsRefusedWithTheRightError(_ input: MalformedInput) {
        for version in [SocketIOProtocolVersion.v5, .v4] {
            #expect(decodingFailure(input.messages, version: version) == input.code, "\(input.why) in \(version)")
        }
    }

    @Test func theLargestSafeAckIDIsAccepted() throws {
        #expect(try decodeAll([.text(#"29007199254740991["x"]"#)]) == [.event("x", ackID: 9_007_199_254_740_991)])
    }

    @Test func aNumericEventNameIsAcceptedAsTheReferenceDoes() throws {
        let packets = try decodeAll([.text(#"2[42,"x"]"#)])
        #expect(packets == [SocketIOPacket(.event, payload: [42, "x"])])
        #expect(packets.first.flatMap(SocketIOEvent.init)?.name == "42")
    }

    @Test func invalidUTF8InANamespaceIsRefused() {
        let text = ByteBuffer(bytes: [UInt8(ascii: "2"), UInt8(ascii: "/"), 0xFF, 0xFE, UInt8(ascii: ",")] + Array(#"["x"]"#.utf8))
        #expect(decodingFailure([.text(text)]) == .invalidNamespace)
    }

    @Test func theAttachmentLimitIsConfigurable() {
        let limits = SocketIOPacketDecoder.Limits(maxAttachments: 2)
        let placeholders = #"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#
        #expect(decodingFailure([.text(#"53-["x"]"#)], limits: limits) == .tooManyAttachments)
        #expect(decodingFailure([.text(#"52-["x","# + placeholders + "]"), attachment, attachment], limits: limits) == nil)
        #expect(decodingFailure([.text(#"51-["x"]"#)], limits: .init(maxAttachments: 0)) == .tooManyAttachments)
        #expect(decodingFailure([.text(#"50-["x"]"#)], limits: .init(maxAttachments: 0)) == nil)
    }

    @Test func attachmentsBeyondTheByteLimitAreRefused() {
        let limits = SocketIOPacketDecoder.Limits(maxAttachmentBytes: 5)
        let messages: [TransportMessage] = [
            .text(#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#), attachment, attachment,
        ]
        #expect(decodingFailure(messages, limits: limits) == .attachmentsTooLarge)
        #expect(decodingFailure(messages, limits: .init(maxAttachmentBytes: 6)) == nil)
    }

    @Test func deepNestingIsRefusedWithoutExhaustingTheStack() {
        let deep = #"2["x","# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "]"
        #expect(decodingFailure([.text(deep)]) == .invalidPayload)
        let deepBinary = #"51-["x","# + String(repeating: "[", count: 100_000) + placeholder0 + String(repeating: "]", count: 100_000) + "]"
        #expect(decodingFailure([.text(deepBinary), attachment]) == .invalidPayload)
    }

    @Test func afterAnErrorTheDecoderStartsAfresh() throws {
        var decoder = SocketIOPacketDecoder(version: .v5)
        _ = try decoder.decode(.text(#"51-["x","# + placeholder0 + "]"))
        #expect(throws: SocketIOProtocolError.self) { try decoder.decode(.text(#"2["y"]"#)) }
        #expect(!decoder.isAwaitingAttachments)
        #expect(try decoder.decode(.text(#"2["z"]"#)) == .event("z"))
    }

    @Test func errorsSayWhatWasWrong() {
        do {
            _ = try decodeAll([.text(#"2["connect"]"#)])
            Issue.record("a reserved event name was accepted")
        } catch {
            #expect(error.code == .invalidPayload)
            #expect(error.description == #"Socket.IO protocol error (invalid payload): "connect" is a reserved event name"#)
        }
    }
}
