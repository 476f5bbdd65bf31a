import FuzzSupport
import NIOCore
import PrimusCore

/// Socket.IO packets from a stream of Engine.IO messages: text parts, attachments, and
/// everything out of order (text while attachments are awaited, stray binary messages).
///
/// The first byte picks the protocol (bit 0: v5 or v4) and the attachment limit (bits 1-4,
/// 0 to 15). Then each message is a byte (bit 0: text or binary) and a chunk with a one-byte
/// length. Invariants: decoding never traps; after an error the decoder awaits nothing; a
/// decoded packet encoded and decoded again is the same packet; the event and acknowledgement
/// views accept what the decoder accepts.
@main
enum FuzzSocketIO {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let selector = input.byte()
    let version: SocketIOProtocolVersion = selector & 1 == 0 ? .v5 : .v4
    let limits = SocketIOPacketDecoder.Limits(maxAttachments: Int(selector >> 1 & 0x0F), maxAttachmentBytes: 1024)
    var decoder = SocketIOPacketDecoder(version: version, limits: limits)
    while !input.isAtEnd {
        let isText = input.bool()
        let buffer = ByteBuffer(bytes: input.chunk())
        do {
            if let packet = try decoder.decode(isText ? .text(buffer) : .binary(buffer)) {
                check(packet, version: version)
            }
        } catch {
            fuzzCheck(!decoder.isAwaitingAttachments, "the decoder still awaits attachments after \(error)")
        }
    }
    return 0
}

/// Round trip and views of one decoded packet.
func check(_ packet: SocketIOPacket, version: SocketIOProtocolVersion) {
    fuzzCheck(!packet.type.isBinary, "a decoded packet keeps its binary type: \(packet)")
    if packet.type == .event {
        fuzzCheck(SocketIOEvent(packet) != nil, "a decoded event has no event view: \(packet)")
    }
    if packet.type == .ack, packet.ackID != nil {
        fuzzCheck(SocketIOAcknowledgement(packet) != nil, "a decoded ack has no acknowledgement view: \(packet)")
    }
    // A v4 CONNECT rewrites its auth as a query of strings; ±Infinity is written as null, as
    // JSON.stringify does. Neither can come back unchanged.
    guard !(version == .v4 && packet.type == .connect), !(packet.payload.map(hasNonFiniteNumber) ?? false) else { return }
    // One attachment referred to twice goes out twice, so the copy may need more than the limit.
    var again = SocketIOPacketDecoder(version: version, limits: .init(maxAttachments: .max, maxAttachmentBytes: .max))
    var decoded: [SocketIOPacket] = []
    do {
        for message in SocketIOPacketEncoder.encode(packet, version: version).messages {
            if let packet = try again.decode(message) { decoded.append(packet) }
        }
    } catch {
        fuzzCheck(false, "\(packet) encoded does not decode: \(error)")
    }
    fuzzCheck(decoded == [packet], "round trip (\(version)) changed \(packet) into \(decoded)")
}

func hasNonFiniteNumber(_ value: JSONValue) -> Bool {
    switch value {
    case .number(let number): return !number.isFinite
    case .array(let elements): return elements.contains(where: hasNonFiniteNumber)
    case .object(let members): return members.contains { hasNonFiniteNumber($0.value) }
    default: return false
    }
}
