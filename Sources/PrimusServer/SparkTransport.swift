import NIOCore
import PrimusCore

/// What a transformer provides to a spark: the one seam between the Spark and a wire protocol.
///
/// Implementations are event-loop-bound (a channel handler, a polling session); the spark calls
/// them only on its event loop. Nothing above the Spark sees which transformer runs.
protocol SparkTransport: AnyObject {
    /// Sends one encoded message. `flush: false` lets the transport batch writes made while it is
    /// delivering incoming data, and flush once at the end of the read.
    func send(_ message: TransportMessage)

    /// Closes the transport; `code` is the reason in WebSocket terms (1000 normal).
    func close(code: UInt16)

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
