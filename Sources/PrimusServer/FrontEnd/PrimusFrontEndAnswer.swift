public import NIOCore
public import NIOHTTP1
import NIOConcurrencyHelpers
import Synchronization

/// The answer to a request served through ``PrimusFrontEnd``: a status and headers, and a body
/// that is either complete or a stream the framework writes out part by part.
///
/// The headers carry no `content-length` (the framework frames the body itself). A
/// `connection: close` among them asks the framework to close the connection after the answer.
public struct PrimusFrontEndAnswer: Sendable {
    /// The body of an answer.
    public enum Body: Sendable {
        /// The whole body.
        case bytes(ByteBuffer)
        /// A body written as the transformer produces it (a SockJS or BrowserChannel stream):
        /// iterate it and write each part out at once; the iteration ends with the answer.
        case stream(PrimusFrontEndBodyStream)
    }

    /// The status.
    public var status: HTTPResponseStatus
    /// The headers, the middleware's (CORS, no-cache) included.
    public var headers: HTTPHeaders
    /// The body.
    public var body: Body

    /// Whether the answer asks for the connection to close after it.
    public var closesConnection: Bool {
        headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
    }

    init(status: HTTPResponseStatus, headers: HTTPHeaders, body: Body) {
        var headers = headers
        headers.remove(name: "content-length")
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(_ response: PrimusHTTPResponse) {
        self.init(status: response.status, headers: response.headers, body: .bytes(response.body))
    }
}

/// The parts of a streamed answer (``PrimusFrontEndAnswer/Body/stream(_:)``), in order.
///
/// The queue between the transformer and the framework is bounded by
/// ``PrimusLimits/maxBufferedBytes``: a client that reads slower than the transformer writes
/// has its answer cut off there, and the transformer is told it went away, as a standalone
/// connection that fell that far behind would be. Stop iterating, or call ``peerGone()``, when
/// the framework cannot write any more (the client went away): the transformer then lets go of
/// the answer (a SockJS session or BrowserChannel back channel waits for the next one).
public final class PrimusFrontEndBodyStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let parts: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let queued = Atomic<Int>(0)
    private let limit: Int
    private let gone: @Sendable () -> Void

    init(limit: Int, gone: @escaping @Sendable () -> Void) {
        (parts, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        self.limit = limit
        self.gone = gone
        continuation.onTermination = { _ in gone() }
    }

    /// Iterates the parts; the iteration ends when the answer is complete.
    public func makeAsyncIterator() -> Iterator {
        Iterator(parts: parts.makeAsyncIterator(), stream: self)
    }

    /// The framework could not write a part (the client went away): ends the answer.
    public func peerGone() {
        continuation.finish()
        gone()
    }

    func write(_ bytes: ByteBuffer) {
        let total = queued.add(bytes.readableBytes, ordering: .relaxed).newValue
        guard total <= limit else {
            peerGone()
            return
        }
        continuation.yield(bytes)
    }

    func finish() {
        continuation.finish()
    }

    /// The iterator of a ``PrimusFrontEndBodyStream``.
    public struct Iterator: AsyncIteratorProtocol {
        var parts: AsyncStream<ByteBuffer>.Iterator
        let stream: PrimusFrontEndBodyStream

        /// The next part, or `nil` once the answer is complete.
        public mutating func next() async -> ByteBuffer? {
            guard let part = await parts.next() else { return nil }
            stream.queued.subtract(part.readableBytes, ordering: .relaxed)
            return part
        }
    }
}

/// Turns what a transformer writes on a ``PrimusHTTPExchange`` into a ``PrimusFrontEndAnswer``
/// for the task waiting in ``PrimusFrontEnd/serve(head:body:remoteAddress:secure:on:)``.
///
/// Sendable: its one mutable field (the waiting continuation and the stream) sits behind a
/// lock, taken by the serving task once and by the exchange's loop per answer.
final class PrimusFrontEndExchangeWriter: PrimusHTTPExchangeWriter, Sendable {
    private struct State {
        var continuation: CheckedContinuation<PrimusFrontEndAnswer, Never>?
        var stream: PrimusFrontEndBodyStream?
    }

    private let state = NIOLockedValueBox(State())
    private let limit: Int
    private let ended: EventLoopPromise<Void>
    private let isEnded = Atomic<Bool>(false)

    init(limit: Int, ended: EventLoopPromise<Void>) {
        self.limit = limit
        self.ended = ended
    }

    func setContinuation(_ continuation: CheckedContinuation<PrimusFrontEndAnswer, Never>) {
        state.withLockedValue { $0.continuation = continuation }
    }

    /// The exchange is over for the transformer: its client went away, or its answer is done.
    /// The exchange's `onPeerGone` callbacks run then, once.
    func peerGone() {
        guard isEnded.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        state.withLockedValue { $0.stream = nil }  // the stream holds this writer until it ends
        ended.succeed(())
    }

    func write(_ response: PrimusHTTPResponse) {
        resume(with: PrimusFrontEndAnswer(response))
        peerGone()
    }

    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders) {
        let stream = PrimusFrontEndBodyStream(limit: limit) { [self] in peerGone() }
        state.withLockedValue { $0.stream = stream }
        resume(with: PrimusFrontEndAnswer(status: status, headers: headers, body: .stream(stream)))
    }

    func writeStreamPart(_ bytes: ByteBuffer) {
        state.withLockedValue { $0.stream }?.write(bytes)
    }

    func finishStream() {
        state.withLockedValue { $0.stream }?.finish()
    }

    private func resume(with answer: PrimusFrontEndAnswer) {
        let continuation = state.withLockedValue { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(returning: answer)
    }
}
