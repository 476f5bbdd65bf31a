public import PrimusCore
public import PrimusServer

/// The demo chat's rooms, one per channel name: every spark starts in `general`; typing
/// `/join NAME` (one word) moves it to `NAME`, and what it writes goes to everyone in its room, itself
/// included (alone, that is an echo). Works on every transformer: rooms are Primus's, not the
/// protocol's.
public enum ChatRooms {
    /// The room every spark starts in.
    public static let initialRoom = "general"
    /// Room names are short words: what a user can type after `/join`.
    public static let maxRoomNameLength = 64

    /// Puts a new spark in ``initialRoom``.
    public static func welcome(_ spark: Spark) {
        spark.join(initialRoom)
    }

    /// Handles one chat message: `/join NAME` changes room, anything else goes to the room.
    public static func handle(_ value: JSONValue, from spark: Spark) {
        // The terminal client writes strings; the web page writes {id, name, text, at}.
        let text = value.stringValue ?? value["text"]?.stringValue
        guard let text, text.hasPrefix("/join") else {
            for room in spark.rooms { spark.primus.room(room).write(value) }
            return
        }
        let words = text.dropFirst("/join".count).split(separator: " ")
        guard words.count == 1, let name = words.first.map(String.init), name.count <= maxRoomNameLength else {
            return notice("usage: /join NAME (one word, at most \(maxRoomNameLength) characters)", answering: value, to: spark)
        }
        for room in spark.rooms { spark.leave(room) }
        spark.join(name)
        notice("you are in #\(name)", answering: value, to: spark)
    }

    /// A notice for the sender only, in the form it wrote: a string, or a page message (the
    /// page's own message comes back first, so it stops showing as pending).
    /// Runs the chat on `primus`: every spark is welcomed, and its messages handled.
    public static func attach(to primus: Primus) {
        primus.onConnection { spark in
            welcome(spark)
            spark.onMessage { message in handle(message.value, from: spark) }
        }
    }

    private static func notice(_ text: String, answering value: JSONValue, to spark: Spark) {
        guard case .object = value else { return spark.write(.string("* " + text)) }
        spark.write(value)
        spark.write(["name": "server", "text": .string(text)])
    }
}
