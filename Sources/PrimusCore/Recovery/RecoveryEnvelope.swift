/// How a sequenced broadcast travels to a client that asked for missed-message recovery: the
/// value `{"primus::seq": "<sequence>", "data": <value>}`, through the parser like any message;
/// without `data` it is a baseline (the client's position, nothing to deliver).
///
/// Only clients that opted in (the ``queryParameter`` on their connection URL) get envelopes, so a
/// plain Primus 8 client never sees one. Server and Swift client share this codec.
public enum RecoveryEnvelope {
    /// The query parameter by which a client opts in; its value is the last sequence it saw, or
    /// empty on its first connection.
    public static let queryParameter = "_primus_recover"
    /// The envelope's sequence key.
    public static let sequenceKey = "primus::seq"
    /// The envelope's payload key.
    public static let dataKey = "data"

    /// What a client received, once unwrapped.
    public enum Received: Sendable, Hashable {
        /// A sequenced message: deliver `value` and remember `sequence`.
        case message(PrimusSequence, JSONValue)
        /// A baseline: remember `sequence`, deliver nothing.
        case baseline(PrimusSequence)
        /// Not an envelope: deliver as it is.
        case plain
    }

    /// Wraps `value` with its sequence.
    public static func wrap(_ value: JSONValue, sequence: PrimusSequence) -> JSONValue {
        .object(JSONObject([(sequenceKey, .string(sequence.description)), (dataKey, value)]))
    }

    /// A baseline carrying `sequence`.
    public static func baseline(_ sequence: PrimusSequence) -> JSONValue {
        .object(JSONObject([(sequenceKey, .string(sequence.description))]))
    }

    /// Unwraps what a client received: an object whose only keys are `primus::seq` (a valid
    /// sequence) and optionally `data` is an envelope; anything else is plain.
    public static func unwrap(_ value: JSONValue) -> Received {
        guard case .object(let object) = value, object.count <= 2,
              let text = object[sequenceKey]?.stringValue, let sequence = PrimusSequence(text)
        else { return .plain }
        if let data = object[dataKey] { return .message(sequence, data) }
        return object.count == 1 ? .baseline(sequence) : .plain
    }
}
