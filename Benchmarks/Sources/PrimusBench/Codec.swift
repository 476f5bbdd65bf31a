import NIOCore
import PrimusCore

/// `primus-bench codec`: the JSON parser's per-message cost on the benchmark's message, in one
/// thread, without sockets. Shows what the Primus layer adds per echo (decode + encode) and how
/// much of the encode is buffer growth (`JSONParser.encode` starts from an empty `ByteBuffer()`;
/// the third row writes the same value into a buffer reserved up front).
enum CodecBenchmark {
    static func run(iterations: Int) {
        let text = #"{"seq":123456,"payload":"hello"}"#
        let message = TransportMessage.text(ByteBuffer(string: text))
        let parser = JSONParser()
        guard let value = try? parser.decode(message) else {
            print("codec: could not decode \(text)")
            return
        }
        print("Codec: \(text) (\(text.utf8.count) bytes), \(iterations) iterations, one thread")
        var sink = 0
        let decode = measure(iterations) {
            if case .object(let members) = try? parser.decode(message) { sink &+= members.count }
        }
        let encode = measure(iterations) {
            if case .text(let buffer) = try? parser.encode(value) { sink &+= buffer.readableBytes }
        }
        let allocator = ByteBufferAllocator()
        let presized = measure(iterations) {
            var writer = JSONWriter(buffer: allocator.buffer(capacity: 64))
            writer.write(value)
            sink &+= writer.buffer.readableBytes
        }
        PrimusBench.printTable(
            header: ["operation", "ns/message"],
            rows: [
                ["JSONParser.decode (bytes -> JSONValue)", PrimusBench.format(decode, 0)],
                ["JSONParser.encode (JSONValue -> bytes)", PrimusBench.format(encode, 0)],
                ["JSONWriter into a 64-byte reserved buffer", PrimusBench.format(presized, 0)],
            ]
        )
        if sink == 42 { print("") }  // keeps the work observable
        print("")
    }

    /// Nanoseconds per call of `body`, best of 5 runs.
    static func measure(_ iterations: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<5 {
            let start = clock.now
            for _ in 0..<iterations { body() }
            best = min(best, PrimusBench.seconds(clock.now - start) * 1e9 / Double(iterations))
        }
        return best
    }
}
