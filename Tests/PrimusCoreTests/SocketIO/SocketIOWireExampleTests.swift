import NIOCore
import PrimusCore
import Testing

/// One line of protocols.md section 2: the wire form (Engine.IO digit included) and the packet
/// it is.
struct WireExample: Sendable, CustomTestStringConvertible {
    var wire: String
    var packet: SocketIOPacket
    var attachments: [ByteBuffer] = []
    var testDescription: String { wire }
}

private let attachment = bytes(1, 2, 3)

/// The wire examples of protocols.md section 2, verbatim; the same in v4 and v5.
private let sharedExamples: [WireExample] = [
    WireExample(wire: "41", packet: .disconnect()),
    WireExample(wire: "41/admin,", packet: .disconnect(namespace: "/admin")),
    WireExample(wire: #"42["hello","Jude"]"#, packet: .event("hello", ["Jude"])),
    WireExample(wire: #"42/admin,["bar"]"#, packet: .event("bar", namespace: "/admin")),
    WireExample(wire: #"42456["message-with-ack",1]"#, packet: .event("message-with-ack", [1], ackID: 456)),
    WireExample(wire: #"43456[1,"2",{"3":[false]}]"#, packet: .ack(456, [1, "2", ["3": [false]]])),
    WireExample(wire: #"43/admin,13["bar"]"#, packet: .ack(13, ["bar"], namespace: "/admin")),
    WireExample(wire: "43/admin,13[]", packet: .ack(13, [], namespace: "/admin")),
    WireExample(
        wire: #"451-["baz",{"_placeholder":true,"num":0}]"#, packet: .event("baz", [.binary(attachment)]), attachments: [attachment]),
    WireExample(
        wire: #"461-15["bar",{"_placeholder":true,"num":0}]"#, packet: .ack(15, ["bar", .binary(attachment)]),
        attachments: [attachment]),
]

/// v5: CONNECT with an auth payload, the `{"sid"}` answer, CONNECT_ERROR as an object.
private let v5Examples: [WireExample] = sharedExamples + [
    WireExample(wire: "40", packet: .connect()),
    WireExample(wire: #"40{"token":"123"}"#, packet: .connect(auth: ["token": "123"])),
    WireExample(wire: "40/admin,", packet: .connect(namespace: "/admin")),
    WireExample(wire: #"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, packet: .connectAccepted(socketID: "wZX3oN0bSVIhsaknAAAI", version: .v5)),
    WireExample(
        wire: #"40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
        packet: .connectAccepted(namespace: "/admin", socketID: "oSO0OpakMV_3jnilAAAA", version: .v5)),
    WireExample(wire: #"44{"message":"Not authorized"}"#, packet: .connectRefused(message: "Not authorized", version: .v5)),
    WireExample(
        wire: #"44/random,{"message":"Invalid namespace"}"#,
        packet: .connectRefused(namespace: "/random", message: SocketIOPacket.invalidNamespaceMessage, version: .v5)),
    WireExample(
        wire: #"44{"message":"Not authorized","data":{"retry":false}}"#,
        packet: .connectRefused(message: "Not authorized", data: ["retry": false], version: .v5)),
]

/// v4: implicit `/` answered with `40`, auth as a namespace query, ERROR as a plain string.
private let v4Examples: [WireExample] = sharedExamples + [
    WireExample(wire: "40", packet: .connectAccepted(socketID: "ignored in v4", version: .v4)),
    WireExample(wire: "40/nsp,", packet: .connectAccepted(namespace: "/nsp", socketID: "ignored in v4", version: .v4)),
    WireExample(wire: "40/nsp?token=abc,", packet: .connect(namespace: "/nsp", auth: ["token": "abc"])),
    WireExample(
        wire: "40/nsp?token=a%20b&role=x&role=y,", packet: .connect(namespace: "/nsp", auth: ["token": "a b", "role": ["x", "y"]])),
    WireExample(wire: #"44"Not authorized""#, packet: .connectRefused(message: "Not authorized", version: .v4)),
    WireExample(
        wire: #"44/random,"Invalid namespace""#,
        packet: .connectRefused(namespace: "/random", message: SocketIOPacket.invalidNamespaceMessage, version: .v4)),
]

@Suite("Socket.IO codec: the wire examples of protocols.md")
struct SocketIOWireExampleTests {
    @Test(arguments: v5Examples)
    func v5PacketsEncodeToTheirWireForm(_ example: WireExample) {
        let (text, attachments) = engineIOWire(example.packet, version: .v5)
        #expect(text == example.wire)
        #expect(attachments == example.attachments)
    }

    @Test(arguments: v5Examples)
    func v5WireFormsDecodeToTheirPackets(_ example: WireExample) throws {
        let messages = [TransportMessage.text(try socketIOText(example.wire))] + example.attachments.map { .binary($0) }
        #expect(try decodeAll(messages, version: .v5) == [example.packet])
    }

    @Test(arguments: v4Examples)
    func v4PacketsEncodeToTheirWireForm(_ example: WireExample) {
        let (text, attachments) = engineIOWire(example.packet, version: .v4)
        #expect(text == example.wire)
        #expect(attachments == example.attachments)
    }

    @Test(arguments: v4Examples)
    func v4WireFormsDecodeToTheirPackets(_ example: WireExample) throws {
        let messages = [TransportMessage.text(try socketIOText(example.wire))] + example.attachments.map { .binary($0) }
        #expect(try decodeAll(messages, version: .v4) == [example.packet])
    }

    @Test func aV4NamespaceConnectWithoutACommaIsReadToTheEnd() throws {
        #expect(try decodeAll([.text(try socketIOText("40/nsp"))], version: .v4) == [.connect(namespace: "/nsp")])
        #expect(try decodeAll([.text(try socketIOText("40/nsp?token=1"))], version: .v4) == [.connect(namespace: "/nsp", auth: ["token": "1"])])
    }

    @Test func aV5NamespaceKeepsAQuestionMarkAsPartOfItsName() throws {
        // Only v4 clients put a query there; in v5 the auth is the payload.
        #expect(try decodeAll([.text(try socketIOText("40/nsp?x=1,"))], version: .v5) == [.connect(namespace: "/nsp?x=1")])
    }

    @Test func theProtocolVersionFollowsTheEngineIOVersion() {
        #expect(SocketIOProtocolVersion(engineIO: .v4) == .v5)
        #expect(SocketIOProtocolVersion(engineIO: .v3) == .v4)
    }
}
