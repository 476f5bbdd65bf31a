public import NIOCore
public import PrimusCore
public import PrimusServer

/// What one node tells the others through Redis, as MessagePack (which carries every
/// ``JSONValue`` exactly, bytes and dates included): a broadcast or room write for every node, or a
/// write or end for the node that holds one spark. Sans-I/O: the adapter publishes the bytes and
/// decodes what arrives; tests check both directions without a server.
public enum ClusterMessage: Sendable, Hashable {
    /// A broadcast (empty rooms) or room write.
    case broadcast(origin: String, publishedAt: UInt64, target: PrimusRoomTarget, value: JSONValue)
    /// A write to one spark, sent to the node that holds it.
    case write(origin: String, publishedAt: UInt64, sparkID: String, value: JSONValue)
    /// Ending one spark, sent to the node that holds it.
    case end(origin: String, publishedAt: UInt64, sparkID: String, reconnect: Bool)

    /// The node that sent it.
    public var origin: String {
        switch self {
        case .broadcast(let origin, _, _, _), .write(let origin, _, _, _), .end(let origin, _, _, _): origin
        }
    }

    /// When it was sent (ms since the epoch, the sender's clock): the adapter's lag metric.
    public var publishedAt: UInt64 {
        switch self {
        case .broadcast(_, let at, _, _), .write(_, let at, _, _), .end(_, let at, _, _): at
        }
    }

    /// The MessagePack bytes.
    public func encoded() throws(PrimusError) -> ByteBuffer {
        let array: [JSONValue]
        switch self {
        case .broadcast(let origin, let at, let target, let value):
            array = ["b", .string(origin), .number(Double(at)), .array(target.rooms.sorted().map { .string($0) }), .array(target.except.sorted().map { .string($0) }), value]
        case .write(let origin, let at, let sparkID, let value):
            array = ["w", .string(origin), .number(Double(at)), .string(sparkID), value]
        case .end(let origin, let at, let sparkID, let reconnect):
            array = ["e", .string(origin), .number(Double(at)), .string(sparkID), .bool(reconnect)]
        }
        var writer = MessagePackWriter(capacity: 64)
        try writer.write(.array(array))
        return writer.buffer
    }

    /// Decodes what another node published; anything else is an error naming what is wrong (a
    /// foreign publisher on the channel must not crash a node).
    public init(decoding buffer: ByteBuffer) throws(ClusterMessageError) {
        let value: JSONValue
        do {
            value = try MessagePackReader.read(buffer)
        } catch {
            throw ClusterMessageError("not MessagePack: \(error)")
        }
        guard case .array(let fields) = value, fields.count >= 5,
              let kind = fields[0].stringValue, let origin = fields[1].stringValue,
              case .number(let at) = fields[2], at >= 0, at < 1.8e19
        else { throw ClusterMessageError("not a cluster message") }
        let publishedAt = UInt64(at)
        switch (kind, fields.count) {
        case ("b", 6):
            guard case .array(let rooms) = fields[3], case .array(let except) = fields[4] else { throw ClusterMessageError("bad broadcast target") }
            let target = PrimusRoomTarget(rooms: Set(rooms.compactMap(\.stringValue)), except: Set(except.compactMap(\.stringValue)))
            self = .broadcast(origin: origin, publishedAt: publishedAt, target: target, value: fields[5])
        case ("w", 5):
            guard let sparkID = fields[3].stringValue else { throw ClusterMessageError("bad spark id") }
            self = .write(origin: origin, publishedAt: publishedAt, sparkID: sparkID, value: fields[4])
        case ("e", 5):
            guard let sparkID = fields[3].stringValue, case .bool(let reconnect) = fields[4] else { throw ClusterMessageError("bad end") }
            self = .end(origin: origin, publishedAt: publishedAt, sparkID: sparkID, reconnect: reconnect)
        default:
            throw ClusterMessageError("unknown cluster message kind \(kind) with \(fields.count) fields")
        }
    }

    /// Splits a pub/sub payload into its sequence (the text before the first space; empty when the
    /// write is not sequenced) and the message bytes after it.
    public static func splitPayload(_ payload: ByteBuffer) throws(ClusterMessageError) -> (sequence: PrimusSequence?, message: ByteBuffer) {
        guard let space = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")) else {
            throw ClusterMessageError("payload without a sequence separator")
        }
        let prefixLength = space - payload.readableBytesView.startIndex
        let message = payload.getSlice(at: space + 1, length: payload.readableBytes - prefixLength - 1) ?? ByteBuffer()
        guard prefixLength > 0 else { return (nil, message) }
        guard let text = payload.getString(at: payload.readerIndex, length: prefixLength), let sequence = PrimusSequence(text) else {
            throw ClusterMessageError("bad sequence in payload")
        }
        return (sequence, message)
    }
}

/// A cluster message that could not be decoded (logged and counted as dropped, never fatal).
public struct ClusterMessageError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
