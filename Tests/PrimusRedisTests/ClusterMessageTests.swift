import Logging
import NIOCore
import PrimusCore
import PrimusRedis
@testable import PrimusRedisCluster
import PrimusServer
import Testing

@Suite("cluster messages: what nodes tell each other through Redis, without a server")
struct ClusterMessageTests {
    @Test(arguments: [
        ClusterMessage.broadcast(origin: "node-1", publishedAt: 1_764_000_000_123, target: .everyone, value: ["n": 1, "s": "text"]),
        .broadcast(origin: "n", publishedAt: 0, target: PrimusRoomTarget(rooms: ["red", "blue"], except: ["abc"]), value: .binary(ByteBuffer(bytes: [0, 1, 255]))),
        .write(origin: "node-2", publishedAt: 42, sparkID: "spark", value: .array([.null, true, 1.5])),
        .end(origin: "node-3", publishedAt: 7, sparkID: "spark", reconnect: true),
    ])
    func everyKindRoundTripsExactly(_ message: ClusterMessage) throws {
        #expect(try ClusterMessage(decoding: message.encoded()) == message)
    }

    @Test(arguments: [
        [UInt8](),
        [0xc1],                                  // reserved byte
        Array("plain text".utf8),
        [0x93, 0xa1, 0x62, 0xa1, 0x6e, 0x01],    // ["b", "n", 1]: too few fields
        [0x96, 0xa1, 0x7a, 0xa1, 0x6e, 0x01, 0x90, 0x90, 0xc0],  // unknown kind "z"
        [0x96, 0xa1, 0x62, 0xa1, 0x6e, 0x01, 0xc0, 0x90, 0xc0],  // broadcast with rooms = nil
    ])
    func foreignOrMalformedBytesAreAnErrorNotACrash(_ bytes: [UInt8]) {
        #expect(throws: ClusterMessageError.self) { try ClusterMessage(decoding: ByteBuffer(bytes: bytes)) }
    }

    @Test func aPayloadSplitsIntoItsSequenceAndMessage() throws {
        let message = try ClusterMessage.write(origin: "a", publishedAt: 1, sparkID: "s", value: 1).encoded()
        var sequenced = ByteBuffer(string: "1764000000123-7 ")
        sequenced.writeImmutableBuffer(message)
        let split = try ClusterMessage.splitPayload(sequenced)
        #expect(split.sequence == PrimusSequence(milliseconds: 1_764_000_000_123, counter: 7))
        #expect(split.message == message)
        var plain = ByteBuffer(string: " ")
        plain.writeImmutableBuffer(message)
        let unsplit = try ClusterMessage.splitPayload(plain)
        #expect(unsplit.sequence == nil)
        #expect(unsplit.message == message)
        #expect(throws: ClusterMessageError.self) { try ClusterMessage.splitPayload(ByteBuffer(string: "no-separator")) }
        #expect(throws: ClusterMessageError.self) { try ClusterMessage.splitPayload(ByteBuffer(string: "12-x payload")) }
    }

    @Test func backlogEntriesAreReadFromAnXRANGEReplyAndMalformedOnesSkipped() throws {
        let message = ClusterMessage.broadcast(origin: "a", publishedAt: 1, target: PrimusRoomTarget(rooms: ["red"]), value: ["n": 1])
        let good = RESPValue.array([.bulkString(ByteBuffer(string: "5-1")), .array([.bulkString(ByteBuffer(string: "m")), .bulkString(try message.encoded())])])
        let badID = RESPValue.array([.bulkString(ByteBuffer(string: "x")), .array([.bulkString(ByteBuffer(string: "m")), .bulkString(try message.encoded())])])
        let badBody = RESPValue.array([.bulkString(ByteBuffer(string: "6-0")), .array([.bulkString(ByteBuffer(string: "m")), .bulkString(ByteBuffer(string: "junk"))])])
        let entries = RedisClusterAdapter.entries(of: .array([good, badID, badBody]), logger: Logger(label: "test"))
        #expect(entries == [PrimusBacklogEntry(sequence: PrimusSequence(milliseconds: 5, counter: 1), value: ["n": 1], target: PrimusRoomTarget(rooms: ["red"]))])
    }
}
