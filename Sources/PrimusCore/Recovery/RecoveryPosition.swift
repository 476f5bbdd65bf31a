/// A recovering client's place in the broadcast sequence: the greatest sequence it has seen. It
/// decides what a received value delivers (the payload, nothing for a baseline or a duplicate), and
/// what the client asks for on its next connection (``queryValue``). Sans-I/O, so the Swift client
/// and tests share it.
public struct RecoveryPosition: Sendable, Hashable {
    /// The greatest sequence seen; `nil` before the first.
    public private(set) var last: PrimusSequence?

    /// A position that has seen nothing.
    public init(last: PrimusSequence? = nil) {
        self.last = last
    }

    /// The value of ``RecoveryEnvelope/queryParameter`` for the next connection: the last sequence,
    /// or empty.
    public var queryValue: String { last?.description ?? "" }

    /// What `value` delivers: itself when plain, the payload of a new sequenced message, `nil` for a
    /// baseline or a duplicate (a sequence not greater than the last).
    public mutating func receive(_ value: JSONValue) -> JSONValue? {
        switch RecoveryEnvelope.unwrap(value) {
        case .plain:
            return value
        case .baseline(let sequence):
            advance(to: sequence)
            return nil
        case .message(let sequence, let data):
            if let last, sequence <= last { return nil }
            last = sequence
            return data
        }
    }

    private mutating func advance(to sequence: PrimusSequence) {
        if let last, sequence <= last { return }
        last = sequence
    }
}
