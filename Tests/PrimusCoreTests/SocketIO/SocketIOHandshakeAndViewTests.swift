import NIOCore
import PrimusCore
import Testing

@Suite("Socket.IO codec: handshake helpers, event and acknowledgement views")
struct SocketIOHandshakeAndViewTests {
    private func text(_ packet: SocketIOPacket, _ version: SocketIOProtocolVersion) -> String {
        String(buffer: SocketIOPacketEncoder.encode(packet, version: version).text)
    }

    @Test func theServerAcceptsAJoinWithTheSocketIDInV5AndNothingInV4() {
        #expect(text(.connectAccepted(socketID: "s1", version: .v5), .v5) == #"0{"sid":"s1"}"#)
        #expect(text(.connectAccepted(namespace: "/admin", socketID: "s1", version: .v5), .v5) == #"0/admin,{"sid":"s1"}"#)
        #expect(text(.connectAccepted(socketID: "s1", version: .v4), .v4) == "0")
        #expect(text(.connectAccepted(namespace: "/admin", socketID: "s1", version: .v4), .v4) == "0/admin,")
        #expect(SocketIOPacket.connectAccepted(socketID: "s1", version: .v5).connectedSocketID == "s1")
        #expect(SocketIOPacket.connectAccepted(socketID: "s1", version: .v4).connectedSocketID == nil)
    }

    @Test func aRefusalCarriesAnObjectInV5AndAStringInV4() {
        let v5 = SocketIOPacket.connectRefused(namespace: "/x", message: "Not authorized", data: ["code": 401], version: .v5)
        #expect(text(v5, .v5) == #"4/x,{"message":"Not authorized","data":{"code":401}}"#)
        #expect(v5.connectErrorMessage == "Not authorized")
        #expect(v5.connectErrorData == ["code": 401])
        let v4 = SocketIOPacket.connectRefused(namespace: "/x", message: "Not authorized", data: ["code": 401], version: .v4)
        #expect(text(v4, .v4) == #"4/x,"Not authorized""#)
        #expect(v4.connectErrorMessage == "Not authorized")
        #expect(v4.connectErrorData == nil)
        #expect(SocketIOPacket.event("x").connectErrorMessage == nil)
    }

    @Test func aConnectWithoutAuthHasAnEmptyAuthObject() throws {
        #expect(try decodeAll([.text("0")]).first?.connectAuth == [:])
        #expect(try decodeAll([.text(#"0/a,{"token":"t"}"#)]).first?.connectAuth == ["token": "t"])
        #expect(SocketIOPacket.event("x").connectAuth == [:])
    }

    @Test func aV4ConnectWritesItsAuthAsAQuery() {
        let packet = SocketIOPacket.connect(namespace: "/chat", auth: ["token": "a&b=c é", "n": 2, "ok": true])
        #expect(text(packet, .v4) == "0/chat?token=a%26b%3Dc%20%C3%A9&n=2&ok=true,")
        #expect(text(packet, .v5) == #"0/chat,{"token":"a&b=c é","n":2,"ok":true}"#)
        #expect(text(.connect(namespace: "/chat", auth: [:]), .v4) == "0/chat,")
    }

    @Test func anEventViewGivesTheNameArgumentsAndAckID() throws {
        let packet = try #require(try decodeAll([.text(#"2/chat,12["say","hi",{"to":"all"}]"#)]).first)
        let event = try #require(SocketIOEvent(packet))
        #expect(event == SocketIOEvent("say", arguments: ["hi", ["to": "all"]], namespace: "/chat", ackID: 12))
        #expect(event.packet == packet)
        let answer = try #require(event.acknowledgement(["ok"]))
        #expect(text(answer.packet, .v5) == #"3/chat,12["ok"]"#)
        #expect(SocketIOEvent("no answer wanted").acknowledgement([]) == nil)
        #expect(SocketIOEvent(.ack(1)) == nil)
    }

    @Test func eventArgumentsCarryBytesForTheApplication() throws {
        let payload: [UInt8] = [0, 1, 254, 255]
        let sent = SocketIOEvent("blob", arguments: [1, .binary(ByteBuffer(bytes: payload)), ["k": "v"]])
        let decoded = try #require(try decodeAll(SocketIOPacketEncoder.encode(sent.packet, version: .v5).messages).first)
        let received = try #require(SocketIOEvent(decoded))
        #expect(received == sent)
        #expect(received.arguments[1].binaryValue.map { Array($0.readableBytesView) } == payload)
    }

    @Test func anAcknowledgementViewGivesTheIDAndArguments() throws {
        let packet = try #require(try decodeAll([.text(#"3/chat,7[1,"2"]"#)]).first)
        #expect(SocketIOAcknowledgement(packet) == SocketIOAcknowledgement(id: 7, arguments: [1, "2"], namespace: "/chat"))
        // The reference accepts an ACK without a payload: an answer with no arguments.
        let bare = try #require(try decodeAll([.text("37")]).first)
        #expect(SocketIOAcknowledgement(bare) == SocketIOAcknowledgement(id: 7))
        // Without an id an ACK answers nothing.
        let anonymous = try #require(try decodeAll([.text("3[]")]).first)
        #expect(SocketIOAcknowledgement(anonymous) == nil)
        #expect(SocketIOAcknowledgement(.event("x", ackID: 1)) == nil)
    }

    @Test func aPacketDescribesItselfAsItsWireForm() {
        #expect(SocketIOPacket.event("x", [.binary(bytes(1))]).description == #"51-["x",{"_placeholder":true,"num":0}] + 1 attachment(s)"#)
        #expect(SocketIOPacket.disconnect(namespace: "/a").description == "1/a,")
    }
}
