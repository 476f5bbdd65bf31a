import NIOCore
public import PrimusCore

/// What a transformer provides to a spark: the one seam between the Spark and a wire protocol.
///
/// Implementations are event-loop-bound (a channel handler, a polling session); the spark calls
/// them only on its event loop. Nothing above the Spark sees which transformer runs. A
/// transformer defined outside this package implements it for its own sessions.
public protocol SparkTransport: AnyObject {
    /// Sends one encoded message. A transport may hold writes made while it delivers incoming
    /// data and flush them once at the end of the read.
    func send(_ message: TransportMessage)

    /// Queues one message of a broadcast without flushing; ``flush()`` follows the batch. The
    /// sparks of an event loop receive the same `shared` message, so a transport can build its
    /// wire form once (``SharedTransportMessage/derived(_:make:)``) and write those bytes to
    /// every connection. The default sends `shared.message`.
    func send(shared: SharedTransportMessage)

    /// Writes out what ``send(shared:)`` queued. The default does nothing (for transports whose
    /// sends go out at once).
    func flush()

    /// Closes the transport; `code` is the reason in WebSocket terms (1000 normal), `nil` for
    /// none: a spark that ends closes its WebSocket with no status code, as Primus's server
    /// does (the client sees 1005).
    func close(code: UInt16?)

    /// Stops reading from the peer (the application is not keeping up).
    func pauseReading()

    /// Reads again.
    func resumeReading()

    /// Whether the peer is keeping up: `false` while more than the spark's outbound budget
    /// (``PrimusLimits/maxBufferedBytes``) waits to go out. A transport that changes its answer
    /// tells its sink with ``WebSocketMessageSink/transportWritabilityChanged(_:)``.
    var isWritable: Bool { get }

    /// Bytes written by the spark and not yet taken by the operating system (or by a poll).
    var bufferedAmount: Int { get }
}

/// What a transport delivers to: a ``Spark`` (or a transformer's own session layer). The
/// transport calls it on the spark's event loop only.
///
/// The order is: ``attach(transport:)`` once, then any number of ``receive(_:)``,
/// ``transportPing()`` and ``transportWritabilityChanged(_:)``, then ``transportClosed()`` once.
public protocol SparkTransportSink: AnyObject {
    /// The connection is ready; `transport` sends and closes. Messages the spark was given before
    /// go out now, in order.
    func attach(transport: any SparkTransport)
    /// One complete message from the client.
    func receive(_ message: TransportMessage)
    /// A transport-level liveness signal (a WebSocket ping frame).
    func transportPing()
    /// The connection is gone (peer closed, network error, protocol violation).
    func transportClosed()
    /// The transport's ``SparkTransport/isWritable`` changed (the peer fell behind or caught up).
    func transportWritabilityChanged(_ isWritable: Bool)
}

extension SparkTransport {
    /// Sends the message as any other: transports without a batch path lose nothing.
    public func send(shared: SharedTransportMessage) {
        send(shared.message)
    }

    /// Nothing is held back by ``send(shared:)``'s default.
    public func flush() {}
}

extension SparkTransportSink {
    /// Sinks without an outbound budget (an echo) ignore writability.
    public func transportWritabilityChanged(_ isWritable: Bool) {}
}

/// The name the WebSocket and Engine.IO code knew the sink by.
typealias WebSocketMessageSink = SparkTransportSink

extension Spark: SparkTransportSink {}
