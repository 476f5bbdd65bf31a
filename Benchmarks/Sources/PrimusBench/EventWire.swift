import NIOCore

/// The load generator's side of named events, in the two wire forms the Primus server speaks:
/// `primus-emitter` packets on the plain transformers (`{"type":0,"data":["name",args…]}`) and
/// Socket.IO EVENT packets inside Engine.IO message packets (`42["name",args…]`, namespace `/`).
/// Written here rather than taken from PrimusCore, so the benchmark checks the server's framing
/// instead of agreeing with it by construction.
///
/// An event is an opening, a head (the array's leading elements, each followed by a comma: the
/// event name, for `publish` the room too), the benchmark's message and a closing.
enum EventWire {
    /// The room every room fan-out subscriber joins.
    static let room: StaticString = "r"
    /// The echo event: `echo` there and back.
    static let echoHead: StaticString = #""echo","#
    /// Socket.IO's `message` event, plain data to Primus (and from it).
    static let dataHead: StaticString = #""message","#
    /// Room fan-out: what each subscriber receives when the server emits to the room.
    static let tickHead: StaticString = #""tick","#
    /// Room fan-out: the publisher's event asking the server to emit `tick` to room `r`.
    static let publishHead: StaticString = #""publish","r","#
    /// Room fan-out: the publisher's event asking the server to write its message to room `r`.
    static let publishDataHead: StaticString = #""publish-data","r","#

    private static func opening(socketIO: Bool) -> StaticString {
        socketIO ? "42[" : #"{"type":0,"data":["#
    }

    private static func closing(socketIO: Bool) -> StaticString {
        socketIO ? "]" : "]}"
    }

    /// Writes the event `head` carrying `{"seq":<seq>,"payload":"hello"}`.
    static func writeEvent(_ head: StaticString, seq: Int, socketIO: Bool, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(opening(socketIO: socketIO))
        buffer.writeStaticString(head)
        EchoLoadHandler.writeMessage(seq: seq, into: &buffer)
        buffer.writeStaticString(closing(socketIO: socketIO))
    }

    /// The message inside the event `head` (the bytes between the head and the closing), or nil
    /// when `buffer` is not that event.
    static func message(in buffer: ByteBuffer, head: StaticString, socketIO: Bool) -> ByteBuffer? {
        let opening = bytes(opening(socketIO: socketIO))
        let head = bytes(head)
        let closing = bytes(closing(socketIO: socketIO))
        let view = buffer.readableBytesView
        let prefix = opening.count + head.count
        guard view.count > prefix + closing.count, view.starts(with: opening), view.dropFirst(opening.count).starts(with: head),
            view.suffix(closing.count).elementsEqual(closing)
        else { return nil }
        return buffer.getSlice(at: buffer.readerIndex + prefix, length: view.count - prefix - closing.count)
    }

    private static func bytes(_ text: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Writes `join` of room `r`, asking for an acknowledgement (id 1).
    static func writeJoin(socketIO: Bool, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(socketIO ? #"421["join","r"]"# : #"{"type":0,"data":["join","r"],"id":1}"#)
    }

    /// Whether `buffer` acknowledges the join: ACK `431[…]`, or `{"type":1,"id":1,…}`.
    static func isJoinAcknowledgement(_ buffer: ByteBuffer, socketIO: Bool) -> Bool {
        buffer.readableBytesView.starts(with: (socketIO ? "431[" : #"{"type":1,"id":1,"#).utf8)
    }
}
