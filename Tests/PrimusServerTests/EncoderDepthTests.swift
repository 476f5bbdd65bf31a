import NIOCore
import NIOWebSocket
import PrimusCore
@testable import PrimusServer
import Testing

/// A node of a linked list; `next` may point back to itself, which makes its graph infinitely
/// deep for any encoder that follows it.
final class CircularNode: Encodable {
    var name = "loop"
    var next: CircularNode?
}

/// A value nested `depth` levels deep: an array in an array in an array…
struct Nested: Encodable, Sendable {
    let depth: Int
    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if depth > 0 { try container.encode(Nested(depth: depth - 1)) }
    }
}

/// Issue 11: an application that writes a circular or absurdly deep value gets an error on the
/// spark, never a crashed server; the spark still works and can be ended. For every parser.
@Suite("encoders: circular and too-deep values", .timeLimit(.minutes(1)))
struct EncoderDepthTests {
    static let parsers = PrimusParsers.builtIn.map(\.name)

    @Test("checklist 73: a circular value and a 100,000-deep one are spark errors; the spark still sends and ends", arguments: parsers)
    func circularAndDeepWrites(parserName: String) async throws {
        let parser = try PrimusParsers.named(parserName)
        let sparks = Recorder<Spark>()
        let errors = Recorder<PrimusError>()
        try await withPrimusServer({ $0.parser = parser }, setup: { primus in
            primus.onConnection { spark in
                spark.onError { errors.append($0) }
                sparks.append(spark)
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            let spark = sparks.all[0]
            let loop = CircularNode()
            loop.next = loop
            spark.write(loop)
            spark.write(Nested(depth: 100_000))
            try await waitUntil { errors.count == 2 }
            #expect(errors.all.allSatisfy { $0.code == PrimusError.encodingFailed("").code }, "\(errors.all)")
            spark.write("after")
            let frame = try #require(try await socket.nextFrame())
            let message: TransportMessage = frame.opcode == .text ? .text(frame.unmaskedData) : .binary(frame.unmaskedData)
            #expect(try parser.decode(message) == "after", "nothing was sent before it")
            spark.end()
            #expect(try await socket.closeCode() == 1005)
        }
    }

    @Test("the depth limit itself: 512 levels encode, 513 do not", arguments: parsers)
    func depthLimitBoundary(parserName: String) throws {
        let parser = try PrimusParsers.named(parserName)
        let limit = PrimusParsers.maximumDepth
        #expect(throws: Never.self) { try parser.encode(encodable: Nested(depth: limit - 2)) }
        #expect(throws: PrimusError.self) { try parser.encode(encodable: Nested(depth: limit + 1)) }
    }
}
