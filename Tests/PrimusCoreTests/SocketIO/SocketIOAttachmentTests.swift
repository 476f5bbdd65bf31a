import NIOCore
import PrimusCore
import Testing

@Suite("Socket.IO codec: binary attachments")
struct SocketIOAttachmentTests {
    private let first = bytes(0x01, 0x02)
    private let second = bytes(0xFF)
    private let third = ByteBuffer(bytes: Array(repeating: 7, count: 300))

    @Test func bytesNestedInObjectsAndArraysBecomeAttachmentsDepthFirst() {
        let packet = SocketIOPacket.event(
            "upload", [["file": .binary(first), "parts": [.binary(second), 1]], .binary(third)], namespace: "/files", ackID: 9)
        let encoded = SocketIOPacketEncoder.encode(packet, version: .v5)
        #expect(
            String(buffer: encoded.text)
                == #"53-/files,9["upload",{"file":{"_placeholder":true,"num":0},"parts":[{"_placeholder":true,"num":1},1]},{"_placeholder":true,"num":2}]"#
        )
        #expect(encoded.attachments == [first, second, third])
        #expect(encoded.messages == [.text(encoded.text), .binary(first), .binary(second), .binary(third)])
    }

    @Test func nestedBytesRoundTripInBothVersions() throws {
        let packets: [SocketIOPacket] = [
            .event("upload", [["file": .binary(first), "parts": [.binary(second), 1]], .binary(third)], namespace: "/files", ackID: 9),
            .ack(3, [.binary(first), ["deep": [[["x": .binary(second)]]]]]),
            .event("empty", [.binary(ByteBuffer())]),
        ]
        for version in [SocketIOProtocolVersion.v5, .v4] {
            for packet in packets {
                let encoded = SocketIOPacketEncoder.encode(packet, version: version)
                #expect(try decodeAll(encoded.messages, version: version) == [packet])
            }
        }
    }

    @Test func textOnlyPacketsRoundTripInBothVersions() throws {
        let packets: [SocketIOPacket] = [
            .connect(), .connect(namespace: "/a"), .disconnect(namespace: "/a"),
            .event("chat", ["héllo \u{2028} \"quoted\"", 1.5, -2, nil, true, [:], []], ackID: 0),
            .event("x", ackID: 9_007_199_254_740_991), .ack(1), .ack(2, [["nested": ["array": [1, 2, 3]]]], namespace: "/n"),
            .connectRefused(namespace: "/n", message: "nope", version: .v5), .connectRefused(message: "nope", version: .v4),
        ]
        for version in [SocketIOProtocolVersion.v5, .v4] {
            for packet in packets {
                let encoded = SocketIOPacketEncoder.encode(packet, version: version)
                #expect(encoded.attachments.isEmpty)
                #expect(try decodeAll(encoded.messages, version: version) == [packet], "\(packet) in \(version)")
            }
        }
    }

    @Test func aBinaryPacketIsCompleteOnlyWithItsLastAttachment() throws {
        var decoder = SocketIOPacketDecoder(version: .v5)
        #expect(try decoder.decode(.text(#"52-["two",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#)) == nil)
        #expect(decoder.isAwaitingAttachments)
        #expect(try decoder.decode(.binary(first)) == nil)
        #expect(decoder.isAwaitingAttachments)
        #expect(try decoder.decode(.binary(second)) == .event("two", [.binary(second), .binary(first)]))
        #expect(!decoder.isAwaitingAttachments)
        // The next packets decode as usual, binary or not.
        #expect(try decoder.decode(.text(#"2["plain"]"#)) == .event("plain"))
        #expect(try decoder.decode(.text(#"61-1[{"_placeholder":true,"num":0}]"#)) == nil)
        #expect(try decoder.decode(attachment: third) == .ack(1, [.binary(third)]))
    }

    @Test func anAttachmentMayBeReferredToTwiceOrNotAtAll() throws {
        // The reference parser allows both; only a placeholder pointing nowhere is an error.
        let messages: [TransportMessage] = [
            .text(#"52-["twice",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#), .binary(first), .binary(second),
        ]
        #expect(try decodeAll(messages) == [.event("twice", [.binary(first), .binary(first)])])
    }

    @Test func aPlaceholderInAPlainEventStaysAnObject() throws {
        // Only BINARY_EVENT and BINARY_ACK have attachments to put back, as in the reference.
        let packets = try decodeAll([.text(#"2["x",{"_placeholder":true,"num":0}]"#)])
        #expect(packets == [.event("x", [["_placeholder": true, "num": 0]])])
    }

    @Test func anEventWithoutBytesIsSentAsAPlainEvent() {
        let encoded = SocketIOPacketEncoder.encode(SocketIOPacket(.binaryEvent, payload: ["x"]), version: .v5)
        #expect(String(buffer: encoded.text) == #"50-["x"]"#)
        #expect(String(buffer: SocketIOPacketEncoder.encode(.event("x"), version: .v5).text) == #"2["x"]"#)
    }

    @Test func aBinaryPacketAnnouncingNoAttachmentsIsCompleteAtOnce() throws {
        #expect(try decodeAll([.text(#"50-["x",1]"#)]) == [.event("x", [1])])
        #expect(try decodeAll([.text(#"60-7[]"#)]) == [.ack(7)])
    }

    @Test func attachmentsUpToTheByteLimitAreAccepted() throws {
        let limits = SocketIOPacketDecoder.Limits(maxAttachments: 2, maxAttachmentBytes: 3)
        let messages: [TransportMessage] = [
            .text(#"52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#), .binary(first), .binary(second),
        ]
        #expect(try decodeAll(messages, limits: limits) == [.event("x", [.binary(first), .binary(second)])])
    }

    @Test func aDecoderCanBeResetMidPacket() throws {
        var decoder = SocketIOPacketDecoder(version: .v5)
        _ = try decoder.decode(.text(#"51-["x",{"_placeholder":true,"num":0}]"#))
        decoder.reset()
        #expect(!decoder.isAwaitingAttachments)
        #expect(try decoder.decode(.text(#"2["y"]"#)) == .event("y"))
    }
}
