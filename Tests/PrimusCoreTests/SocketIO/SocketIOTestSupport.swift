import NIOCore
import PrimusCore

/// A Socket.IO packet as protocols.md writes it, with the Engine.IO message digit in front
/// (`42["hello","Jude"]`): the Socket.IO text part once the Engine.IO layer has read it.
func socketIOText(_ engineIOWire: String) throws -> ByteBuffer {
    let packet = try EngineIOPacketCodec.decodeText(ByteBuffer(string: engineIOWire), version: .v4)
    precondition(packet.type == .message, "\(engineIOWire) is not an Engine.IO message")
    return packet.data.buffer
}

/// `packet` as protocols.md writes it: the Engine.IO text form of its text part, and its
/// attachments.
func engineIOWire(_ packet: SocketIOPacket, version: SocketIOProtocolVersion) -> (text: String, attachments: [ByteBuffer]) {
    let encoded = SocketIOPacketEncoder.encode(packet, version: version)
    var wire = ByteBuffer()
    EngineIOPacketCodec.writeText(.message(.text(encoded.text)), version: .v4, into: &wire)
    return (String(buffer: wire), encoded.attachments)
}

/// Feeds `messages` to a fresh decoder and collects the packets it completes.
func decodeAll(_ messages: [TransportMessage], version: SocketIOProtocolVersion = .v5, limits: SocketIOPacketDecoder.Limits = .init()) throws(SocketIOProtocolError) -> [SocketIOPacket] {
    var decoder = SocketIOPacketDecoder(version: version, limits: limits)
    var packets: [SocketIOPacket] = []
    for message in messages {
        if let packet = try decoder.decode(message) { packets.append(packet) }
    }
    return packets
}

/// The code of the error decoding `messages` throws, or `nil` when they decode.
func decodingFailure(_ messages: [TransportMessage], version: SocketIOProtocolVersion = .v5, limits: SocketIOPacketDecoder.Limits = .init()) -> SocketIOProtocolError.Code? {
    do {
        _ = try decodeAll(messages, version: version, limits: limits)
        return nil
    } catch {
        return error.code
    }
}

func bytes(_ values: UInt8...) -> ByteBuffer { ByteBuffer(bytes: values) }
