public import NIOCore
public import NIOHTTP1
import Synchronization

/// One plain HTTP request under the pathname, handed to a transformer once the middleware let it
/// through, and the way to answer it: all at once (``respond(_:)``), or as a stream that stays
/// open while the transformer writes (``startStream(status:headers:)``: SockJS xhr-streaming,
/// EventSource, htmlfile, a BrowserChannel back channel). ``onPeerGone(_:)`` says when the client
/// went away before the answer was complete.
///
/// An exchange belongs to the connection's event loop (``eventLoop``), but every method may be
/// called from any thread: a transformer whose session lives on another loop answers from there,
/// and the answer costs one hop to the connection's loop, not a task.
///
/// Exactly one answer is written: calls after the first ``respond(_:)`` or
/// ``startStream(status:headers:)`` are ignored. The headers the middleware set (CORS,
/// no-cache) are added to the answer and win over the transformer's.
public final class PrimusHTTPExchange: Sendable {
    /// The request as the middleware left it: head, complete body, peer, `secure`, the client's
    /// address through trusted proxies, and the headers the layers want on the answer.
    public let context: PrimusMiddlewareContext
    /// The connection's event loop.
    public let eventLoop: any EventLoop
    /// Identifies the connection the request came on (a keep-alive connection carries many
    /// exchanges), for transformers that park a request per connection.
    public let connectionID: ObjectIdentifier

    private let writer: any PrimusHTTPExchangeWriter
    private let answered = Atomic<Bool>(false)
    private let closeFuture: EventLoopFuture<Void>

    /// The request.
    public var request: PrimusHTTPRequest { context.request }

    /// Made by a front-end for each request that passed the middleware.
    ///
    /// - Parameters:
    ///   - writer: writes the answer on the connection (called on `eventLoop`).
    ///   - closeFuture: completes when the connection closes.
    package init(
        context: PrimusMiddlewareContext,
        eventLoop: any EventLoop,
        connectionID: ObjectIdentifier,
        closeFuture: EventLoopFuture<Void>,
        writer: any PrimusHTTPExchangeWriter
    ) {
        self.context = context
        self.eventLoop = eventLoop
        self.connectionID = connectionID
        self.closeFuture = closeFuture
        self.writer = writer
    }

    /// Whether an answer was given (or started).
    public var isAnswered: Bool { answered.load(ordering: .acquiring) }

    /// Answers with a complete response. Ignored after the first answer.
    public func respond(_ response: PrimusHTTPResponse) {
        guard answered.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let response = merged(response)
        let writer = self.writer
        if eventLoop.inEventLoop {
            writer.write(response)
        } else {
            eventLoop.execute { writer.write(response) }
        }
    }

    /// Starts a streamed answer: the head goes out now, the body as the transformer writes it.
    /// Over HTTP/1.1 the body is chunked; over HTTP/1.0 it ends with the connection. Returns
    /// `nil` when the exchange was already answered.
    public func startStream(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> PrimusHTTPResponseStream? {
        guard answered.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return nil }
        let head = merged(PrimusHTTPResponse(status: status, headers: headers))
        let stream = PrimusHTTPResponseStream(eventLoop: eventLoop, writer: writer)
        let writer = self.writer
        if eventLoop.inEventLoop {
            writer.startStream(status: head.status, headers: head.headers)
        } else {
            eventLoop.execute { writer.startStream(status: head.status, headers: head.headers) }
        }
        return stream
    }

    /// Calls `callback` once the connection is gone: the client closed it or it failed. For a
    /// parked poll or an open stream, it means the client went away.
    public func onPeerGone(_ callback: @escaping @Sendable () -> Void) {
        closeFuture.whenComplete { _ in callback() }
    }

    private func merged(_ response: PrimusHTTPResponse) -> PrimusHTTPResponse {
        response.addingMiddlewareHeaders(context.responseHeaders)
    }
}

/// A streamed answer's body (``PrimusHTTPExchange/startStream(status:headers:)``). Every method
/// may be called from any thread; writes keep their order.
public final class PrimusHTTPResponseStream: Sendable {
    private let eventLoop: any EventLoop
    private let writer: any PrimusHTTPExchangeWriter
    private let finished = Atomic<Bool>(false)

    init(eventLoop: any EventLoop, writer: any PrimusHTTPExchangeWriter) {
        self.eventLoop = eventLoop
        self.writer = writer
    }

    /// Writes and flushes a part of the body. Ignored once finished.
    public func write(_ bytes: ByteBuffer) {
        guard !finished.load(ordering: .acquiring) else { return }
        let writer = self.writer
        if eventLoop.inEventLoop {
            writer.writeStreamPart(bytes)
        } else {
            eventLoop.execute { writer.writeStreamPart(bytes) }
        }
    }

    /// Ends the body; the connection stays open for the next request when it can.
    public func finish() {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let writer = self.writer
        if eventLoop.inEventLoop {
            writer.finishStream()
        } else {
            eventLoop.execute { writer.finishStream() }
        }
    }
}

/// How a front-end writes an exchange's answer on its connection. Called on the connection's
/// event loop only; a front-end (the standalone server, a framework adapter) implements it.
package protocol PrimusHTTPExchangeWriter: Sendable {
    /// Writes a complete response.
    func write(_ response: PrimusHTTPResponse)
    /// Writes the head of a streamed response.
    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders)
    /// Writes and flushes a body part of a streamed response.
    func writeStreamPart(_ bytes: ByteBuffer)
    /// Ends a streamed response.
    func finishStream()
}
