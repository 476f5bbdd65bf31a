import Foundation
import NIOCore
import PrimusCore

/// `primus-bench codec`: each built-in parser's per-message cost on the benchmark's message, in
/// one thread, without sockets, next to Foundation's `JSONEncoder`/`JSONDecoder` as the
/// baseline. Shows what the Primus layer adds per echo, and what typed access costs:
/// `SparkMessage.decode(as:)` is a check of the bytes (when the message arrives) plus one typed
/// decode, where before issue 11 it was a full `JSONValue` decode plus a second parse.
enum CodecBenchmark {
    /// The benchmark's message, as a value and as a `Codable` model.
    struct Sample: Codable, Equatable {
        var seq: Int
        var payload: String
    }

    static func run(iterations: Int) {
        let sample = Sample(seq: 123_456, payload: "hello")
        let value: JSONValue = ["seq": 123_456, "payload": "hello"]
        print("Codec: {\"seq\":123456,\"payload\":\"hello\"}, \(iterations) iterations, one thread, best of 5")
        var sink = 0
        var rows: [[String]] = []

        let foundationEncoder = JSONEncoder()
        let foundationDecoder = JSONDecoder()
        guard let foundationBytes = try? foundationEncoder.encode(sample) else { return }
        let foundationEncode = measure(iterations) {
            if let data = try? foundationEncoder.encode(sample) { sink &+= data.count }
        }
        let foundationDecode = measure(iterations) {
            if let decoded = try? foundationDecoder.decode(Sample.self, from: foundationBytes) { sink &+= decoded.seq }
        }
        rows.append(["Foundation JSONEncoder/JSONDecoder", "-", "-", "-", PrimusBench.format(foundationEncode, 0), PrimusBench.format(foundationDecode, 0), "-"])

        for parser in PrimusParsers.builtIn {
            guard let message = try? parser.encode(value) else {
                print("codec: \(parser.name) could not encode the sample")
                continue
            }
            let decode = measure(iterations) {
                if case .object(let members) = try? parser.decode(message) { sink &+= members.count }
            }
            let validate = measure(iterations) {
                if (try? parser.validate(message, for: nil)) != nil { sink &+= 1 }
            }
            let encode = measure(iterations) {
                if let encoded = try? parser.encode(value) { sink &+= encoded.buffer.readableBytes }
            }
            let typedEncode = measure(iterations) {
                if let encoded = try? parser.encode(encodable: sample) { sink &+= encoded.buffer.readableBytes }
            }
            let typedDecode = measure(iterations) {
                if let decoded = try? parser.decode(Sample.self, from: message) { sink &+= decoded.seq }
            }
            // What a spark does for `message.decode(as:)`: check on arrival, then one typed decode.
            rows.append([
                parser.name, "\(message.buffer.readableBytes)", PrimusBench.format(decode, 0), PrimusBench.format(encode, 0),
                PrimusBench.format(typedEncode, 0), PrimusBench.format(typedDecode, 0),
                PrimusBench.format(validate + typedDecode, 0) + " (was " + PrimusBench.format(decode + typedDecode, 0) + ")",
            ])
        }
        PrimusBench.printTable(
            header: ["parser", "bytes", "decode ns", "encode ns", "Encodable→bytes ns", "bytes→Decodable ns", "spark decode(as:) ns"],
            rows: rows
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
