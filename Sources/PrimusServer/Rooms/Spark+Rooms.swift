/// Rooms, Socket.IO's and `primus-rooms`' way of addressing groups of sparks. Membership lives in
/// the server's rooms adapter (``PrimusConfiguration/adapter``); a spark leaves every room
/// when it ends.
extension Spark {
    /// Joins `room`.
    public func join(_ room: String) {
        guard readyState == .open else { return }
        primus.adapter.join(id, room: room)
    }

    /// Leaves `room`.
    public func leave(_ room: String) {
        primus.adapter.leave(id, room: room)
    }

    /// The rooms this spark is in.
    public var rooms: Set<String> {
        primus.adapter.rooms(of: id)
    }

    /// A write to `room` that leaves this spark out (Socket.IO's `socket.to(room)`): the sender
    /// does not hear its own broadcast.
    public func to(_ room: String) -> PrimusRoom {
        primus.room(room).except(id)
    }
}
