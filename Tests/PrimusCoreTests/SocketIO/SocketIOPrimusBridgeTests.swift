import NIOCore
import PrimusCore
import Testing

@Suite("Socket.IO: Primus messages as Socket.IO packets")
struct SocketIOPrimusBridgeTests {
    @Test func dataIsTheMessageEventOnItsNamespace() {
        #expect(SocketIOPrimusBridge.outgoing(["hello": "world"]) == .packet(.event("message", [["hello": "world"]])))
        #expect(SocketIOPrimusBridge.outgoing(.string("hi"), namespace: "/admin") == .packet(.event("message", [.string("hi")], namespace: "/admin")))
        // A string that only looks like a protocol message is data.
        #expect(SocketIOPrimusBridge.outgoing(.string("primus::nothing")) == .packet(.event("message", [.string("primus::nothing")])))
    }

    @Test func emitterPacketsAreNativeEventsAndAcks() {
        let event = PrimusEmitterPacket.event(name: "chat", args: [1, "two"], ackID: 7).value
        #expect(SocketIOPrimusBridge.outgoing(event, namespace: "/c") == .packet(.event("chat", [1, "two"], namespace: "/c", ackID: 7)))
        let ack = PrimusEmitterPacket.ack(id: 7, args: [true]).value
        #expect(SocketIOPrimusBridge.outgoing(ack) == .packet(.ack(7, [true])))
    }

    @Test func protocolMessagesStayLocalOrBecomeDisconnect() {
        #expect(SocketIOPrimusBridge.outgoing(PrimusProtocolMessage.ping("123").value) == .ping("123"))
        #expect(SocketIOPrimusBridge.outgoing(PrimusProtocolMessage.pong("123").value) == .pong("123"))
        #expect(SocketIOPrimusBridge.outgoing(.string("primus::id::")) == .idRequest)
        #expect(SocketIOPrimusBridge.outgoing(PrimusProtocolMessage.serverClose.value) == .serverClose)
    }

    @Test func bytesWrittenByTheJSONParserTravelAsAttachments() throws {
        // What the JSON parser makes of bytes, decoded again: Node's Buffer form.
        let parser = JSONParser()
        let emitted = PrimusEmitterPacket.event(name: "file", args: [.binary(ByteBuffer(bytes: [1, 2])), ["nested": .binary(ByteBuffer(bytes: [255]))]], ackID: nil)
        let throughParser = try parser.decode(parser.encode(emitted.value, for: nil), for: nil)
        guard case .packet(let packet) = SocketIOPrimusBridge.outgoing(throughParser) else {
            Issue.record("not a packet")
            return
        }
        #expect(packet == .event("file", [.binary(ByteBuffer(bytes: [1, 2])), ["nested": .binary(ByteBuffer(bytes: [255]))]]))
        #expect(SocketIOPacketEncoder.encode(packet, version: .v5).attachments.count == 2)
        // Not bytes: a Buffer-like object with a value outside 0...255, or with other members.
        let notBytes: JSONValue = ["type": "Buffer", "data": [256]]
        #expect(SocketIOPrimusBridge.restoringBytes(notBytes) == notBytes)
        let extra: JSONValue = ["type": "Buffer", "data": [1], "x": 1]
        #expect(SocketIOPrimusBridge.restoringBytes(extra) == extra)
    }

    @Test func incomingPacketsAsThePrimusLayerSeesThem() {
        #expect(SocketIOPrimusBridge.incoming(.event("message", [["a": 1], 2])) == .data(["a": 1]))
        #expect(SocketIOPrimusBridge.incoming(.event("message", [])) == .data(.null))
        #expect(SocketIOPrimusBridge.incoming(.event("message", [1, 2]), messageIsEvent: true) == .event(name: "message", args: [1, 2], ackID: nil))
        #expect(SocketIOPrimusBridge.incoming(.event("chat", ["x"], ackID: 4)) == .event(name: "chat", args: ["x"], ackID: 4))
        #expect(SocketIOPrimusBridge.incoming(.ack(4, ["y"])) == .ack(id: 4, args: ["y"]))
        #expect(SocketIOPrimusBridge.incoming(.disconnect()) == .disconnect)
        #expect(SocketIOPrimusBridge.incoming(.connect()) == .ignored)
    }

    @Test func theClientCoreGetsEmitterPacketsAndTheServerClose() {
        let event = SocketIOPrimusBridge.incoming(.event("chat", ["x"], ackID: 4))
        #expect(SocketIOPrimusBridge.primusValue(of: event) == PrimusEmitterPacket.event(name: "chat", args: ["x"], ackID: 4).value)
        #expect(SocketIOPrimusBridge.primusValue(of: .ack(id: 4, args: [])) == PrimusEmitterPacket.ack(id: 4, args: []).value)
        #expect(SocketIOPrimusBridge.primusValue(of: .disconnect) == PrimusProtocolMessage.serverClose.value)
        #expect(SocketIOPrimusBridge.primusValue(of: .data(1)) == 1)
        #expect(SocketIOPrimusBridge.primusValue(of: .ignored) == nil)
    }
}
