import NIOCore
import PrimusCore
import Testing

/// Inputs found by `Fuzz/run.sh` (FuzzRESP), written out, with the behaviour they now have.
@Suite("RESP decoder regressions")
struct RESPDecoderRegressionTests {
    /// FuzzRESP: with maxDepth 1, `*3 … %0` held an empty map at depth 2: empty aggregates
    /// skipped the depth check. They now count as a level like any other aggregate.
    @Test("an empty aggregate past the depth limit is refused like a full one")
    func emptyAggregateCountsAsALevel() {
        expectFailure("*3\r\n$3\r\nfoo\r\n:12\r\n%0\r\n", .limitExceeded, decoder: RESPDecoder(maxDepth: 1))
        expectFailure("*1\r\n*0\r\n", .limitExceeded, decoder: RESPDecoder(maxDepth: 1))
        #expect((try? decodeAll("*0\r\n", decoder: RESPDecoder(maxDepth: 1))) == [.array([])])
        #expect((try? decodeAll("*1\r\n*0\r\n", decoder: RESPDecoder(maxDepth: 2))) == [.array([.array([])])])
    }
}
