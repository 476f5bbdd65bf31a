import NIOCore

/// A spark's incoming messages as an `AsyncSequence` with backpressure: when the consumer falls
/// behind, the server stops reading from that client.
public struct SparkMessages: AsyncSequence, Sendable {
    public typealias Element = SparkMessage
    typealias Producer = NIOAsyncSequenceProducer<
        SparkMessage, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, SparkReadDelegate
    >
    typealias Source = Producer.Source

    private let base: Producer

    static func make(highWatermark: Int, delegate: SparkReadDelegate) -> (Source, SparkMessages) {
        let result = Producer.makeSequence(
            elementType: SparkMessage.self,
            backPressureStrategy: .init(lowWatermark: highWatermark / 2, highWatermark: highWatermark),
            finishOnDeinit: false,
            delegate: delegate
        )
        return (result.source, SparkMessages(base: result.sequence))
    }

    /// Iterates the messages in arrival order.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        /// The next message, or `nil` once the spark has ended.
        public mutating func next() async -> SparkMessage? {
            await base.next()
        }
    }

    /// Starts iterating; a spark's messages can be iterated once.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}
