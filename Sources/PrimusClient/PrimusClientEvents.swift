import NIOCore

/// A client's events as an `AsyncSequence` with backpressure (``PrimusClient/events``).
///
/// Nothing is dropped for a subscriber that falls behind: once it has
/// ``PrimusClientConfiguration/eventBufferSize`` events waiting, the client stops reading from
/// the connection until it has caught up to half of that, so a slow consumer slows the server
/// down (through TCP, or by polling later) instead of losing messages or `end`. Every live
/// subscription counts: one that is never iterated holds the connection back, so drop it (or
/// stop iterating) when done.
///
/// Each subscription is iterated once, by one task.
public struct PrimusClientEvents: AsyncSequence, Sendable {
    public typealias Element = PrimusClientEvent
    public typealias Failure = Never

    typealias Producer = NIOAsyncSequenceProducer<
        PrimusClientEvent, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ClientEventHub.SubscriberDelegate
    >

    private let base: Producer

    init(base: Producer) {
        self.base = base
    }

    /// Iterates the events in the order the client announced them.
    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = PrimusClientEvent
        public typealias Failure = Never

        var base: Producer.AsyncIterator

        /// The next event, or `nil` once the client is gone.
        public mutating func next() async -> PrimusClientEvent? {
            await base.next()
        }
    }

    /// Starts iterating; a subscription can be iterated once.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator())
    }
}
