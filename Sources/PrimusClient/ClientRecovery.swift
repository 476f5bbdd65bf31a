import NIOConcurrencyHelpers
public import PrimusCore

/// A client's half of missed-message recovery: asks for it on every connection
/// (``RecoveryEnvelope/queryParameter`` with the last sequence seen) and unwraps what the server
/// sends, so the application sees payloads only, each once. The rules are
/// ``RecoveryPosition``'s; this is where the client applies them.
///
/// One per ``PrimusClient``, so the position survives reconnects. The driver uses it on the
/// client's event loop; ``PrimusClient/recoveryPosition`` reads it from any thread, hence the lock.
final class ClientRecovery: Sendable {
    /// Whether the client opted in (``PrimusClientConfiguration/recover``); when not, it adds
    /// nothing to URLs and unwraps nothing.
    let isEnabled: Bool
    private let position = NIOLockedValueBox(RecoveryPosition())

    init(isEnabled: Bool) {
        self.isEnabled = isEnabled
    }

    /// The position now.
    var current: RecoveryPosition { position.withLockedValue { $0 } }

    /// Adds `_primus_recover=<last sequence>` (empty before the first) to a connection's query,
    /// after the user's keys and the cache buster, for every transport alike.
    func addQuery(to target: inout PrimusConnectionTarget) {
        guard isEnabled else { return }
        // A sequence is digits and a dash: nothing to percent-encode.
        let item = RecoveryEnvelope.queryParameter + "=" + position.withLockedValue { $0.queryValue }
        target.query += target.query.isEmpty ? item : "&" + item
    }

    /// What `message` delivers: itself when it is not an envelope, its payload when it is a new
    /// sequenced message, `nil` for a baseline or a duplicate. A payload gets its own `raw`
    /// (the payload as the parser encodes it), so ``PrimusClientMessage/decode(as:)`` reads the
    /// payload rather than the envelope.
    func receive(_ message: PrimusClientMessage) -> PrimusClientMessage? {
        // Most messages are plain: spare them the lock and a comparison.
        guard isEnabled, RecoveryEnvelope.unwrap(message.value) != .plain else { return message }
        guard let delivered = position.withLockedValue({ $0.receive(message.value) }) else { return nil }
        // The payload was just decoded by this parser, so it encodes; should a parser refuse
        // anyway, the value is still delivered, with the envelope's bytes as `raw`.
        let raw = (try? message.parser.encode(delivered, for: message.context)) ?? message.raw
        return PrimusClientMessage(value: delivered, raw: raw, parser: message.parser, context: message.context)
    }
}

extension PrimusClient {
    /// Where the client stands in the server's broadcast sequence: ``RecoveryPosition/last`` is
    /// the greatest sequence it has received, which it sends on its next connection so the server
    /// replays what it missed. It lasts as long as the client (reconnects included); `nil`
    /// `last` before the first sequenced message or with ``PrimusClientConfiguration/recover``
    /// off. Readable from any thread, for applications that persist it and for tests.
    public var recoveryPosition: RecoveryPosition { recovery.current }
}
