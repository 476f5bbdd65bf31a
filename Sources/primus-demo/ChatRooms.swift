import PrimusCore
import PrimusServer

/// The demo chat's rooms, one per channel name: every spark starts in `general`; typing
/// `/join NAME` (one word) moves it to `NAME`, and what it writes goes to everyone in its room, itself
/// included (alone, that is an echo). Works on every transformer: rooms are Primus's, not the
/// protocol's.
enum ChatRooms {
    static let initialRoom = "general"
    /// Room names are short words: what a user can type after `/join`.
    static let maxRoomNameLength = 64

    static func welcome(_ spark: Spark) {
        spark.join(initialRoom)
    }

    static func handle(_ value: JSONValue, from spark: Spark) {
        if case .string(let text) = value, text.hasPrefix("/join") {
            let words = text.dropFirst("/join".count).split(separator: " ")
            guard words.count == 1, let name = words.first.map(String.init), name.count <= maxRoomNameLength else {
                spark.write(.string("* usage: /join NAME (at most \(maxRoomNameLength) characters)"))
                return
            }
            for room in spark.rooms { spark.leave(room) }
            spark.join(name)
            spark.write(.string("* you are in #\(name)"))
            return
        }
        for room in spark.rooms { spark.primus.room(room).write(value) }
    }
}
