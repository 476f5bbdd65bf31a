import NIOCore

/// One value under construction by ``MessagePackEncoder``.
///
/// MessagePack writes a container's element count before its elements, and `Encodable` only
/// says how many there were once it is done. So each container collects its elements'
/// bytes in its own buffer, scalars written in place; a nested container or value is a child
/// node recorded at its position. When the whole value is encoded, ``write(to:)`` emits each
/// header with its final count, then the bytes with the children spliced in: one pass, the
/// smallest headers, no intermediate values.
final class MessagePackEncodingNode {
    enum Kind {
        /// Nothing encoded yet (written as an empty map, as `JSONEncoder` writes `{}`).
        case unset
        /// One value, whole in ``bytes``.
        case single
        case array
        case map
    }

    private(set) var kind = Kind.unset
    /// A single value's bytes, or a container's elements (map keys included) without children.
    var bytes = ByteBuffer()
    /// Elements of an array, pairs of a map.
    var count = 0
    /// Nested values, each with the position in ``bytes`` where it belongs.
    private var children: [(offset: Int, node: MessagePackEncodingNode)] = []
    /// An error met where `Encoder` cannot throw (a key too long for the format), thrown when
    /// the value is written.
    var deferredError: (any Error)?

    /// Makes this node a `kind`; asking for another kind than it has starts it over, as a
    /// value encodes one thing.
    func become(_ kind: Kind) {
        guard self.kind != kind else { return }
        self.kind = kind
        bytes.clear()
        count = 0
        children.removeAll()
    }

    /// A node for the next element, placed after what has been written so far.
    func appendChild() -> MessagePackEncodingNode {
        let child = MessagePackEncodingNode()
        children.append((bytes.writerIndex, child))
        count += 1
        return child
    }

    /// Writes the finished value. Recursion follows the nesting, which the encoder bounds.
    func write(to out: inout ByteBuffer) throws {
        if let deferredError { throw deferredError }
        switch kind {
        case .unset:
            try out.writeMessagePackMapHeader(0)
            return
        case .single:
            out.writeImmutableBuffer(bytes)
            return
        case .array:
            try out.writeMessagePackArrayHeader(count)
        case .map:
            try out.writeMessagePackMapHeader(count)
        }
        var position = bytes.readerIndex
        for (offset, child) in children {
            if offset > position { out.writeImmutableBuffer(bytes.getSlice(at: position, length: offset - position)!) }
            try child.write(to: &out)
            position = offset
        }
        if bytes.writerIndex > position { out.writeImmutableBuffer(bytes.getSlice(at: position, length: bytes.writerIndex - position)!) }
    }
}
