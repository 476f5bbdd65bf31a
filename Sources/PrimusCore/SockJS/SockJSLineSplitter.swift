public import NIOCore

/// Cuts the body of an `xhr_streaming` or `xhr` response into its frames, one per `\n`-ended
/// line, as the bytes arrive in chunks of any size (a line may span chunks, a chunk may hold many
/// lines). A client uses it; the server writes lines with ``SockJSFrameWrapping/lines``.
///
/// A line is held until its `\n` comes, so its length is capped: a server that streams without
/// ever ending a line would otherwise grow the client's memory without bound.
public struct SockJSLineSplitter: Sendable {
    /// The longest line accepted, in bytes, without its `\n`.
    public let maxLineLength: Int
    private var partial = ByteBuffer()

    /// A splitter that accepts lines up to `maxLineLength` bytes.
    public init(maxLineLength: Int) {
        self.maxLineLength = max(maxLineLength, 1)
    }

    /// Whether part of a line is held, waiting for its end (a response that ends so was cut).
    public var hasPartialLine: Bool {
        partial.readableBytes > 0
    }

    /// The complete lines in `chunk` (with what earlier chunks left), without their `\n`; a
    /// trailing `\r` is dropped too. Throws ``PrimusError/messageTooLarge(limit:)`` once the
    /// line being collected is longer than ``maxLineLength``; the splitter is then empty.
    public mutating func append(_ chunk: ByteBuffer) throws(PrimusError) -> [String] {
        var chunk = chunk
        var lines: [String] = []
        while let newline = chunk.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - chunk.readerIndex
            guard partial.readableBytes + length <= maxLineLength else { throw overflow() }
            var line = chunk.readSlice(length: length)!
            chunk.moveReaderIndex(forwardBy: 1)
            if partial.readableBytes > 0 {
                partial.writeBuffer(&line)
                lines.append(Self.text(of: partial))
                partial.clear()
            } else {
                lines.append(Self.text(of: line))
            }
        }
        guard partial.readableBytes + chunk.readableBytes <= maxLineLength else { throw overflow() }
        partial.writeBuffer(&chunk)
        return lines
    }

    /// Forgets a partial line (a new response begins).
    public mutating func reset() {
        partial = ByteBuffer()
    }

    private mutating func overflow() -> PrimusError {
        partial = ByteBuffer()
        return .messageTooLarge(limit: maxLineLength)
    }

    private static func text(of line: ByteBuffer) -> String {
        var text = String(buffer: line)
        if text.utf8.last == UInt8(ascii: "\r") { text.removeLast() }
        return text
    }
}
