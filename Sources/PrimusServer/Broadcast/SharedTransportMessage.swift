public import PrimusCore

/// One encoded message on its way to many sparks of one event loop (a broadcast), with the wire
/// forms transports made of it: the first transport of a kind builds its form (a whole WebSocket
/// frame, an Engine.IO packet) and the others of that loop write the same bytes.
///
/// Confined to the event loop that delivers it; a transport may keep what it derives only for
/// the duration of the ``SparkTransport/send(shared:)`` call.
public final class SharedTransportMessage {
    /// What every spark of the broadcast gets, as the parser encoded it.
    public let message: TransportMessage
    /// Forms derived so far; a broadcast meets one or two kinds of transport, so a short list
    /// beats a dictionary.
    private var derivedForms: [(kind: String, form: SharedTransportMessage)] = []

    /// Wraps a message that several transports will send.
    public init(_ message: TransportMessage) {
        self.message = message
    }

    /// The form `kind` of this message, made by `make` the first time a transport asks for it.
    /// `kind` names the transformation (say `"websocket.frame"`), so transports that put the
    /// same bytes on the wire share them; the result can have forms of its own (an Engine.IO
    /// packet, then the WebSocket frame carrying it).
    public func derived(_ kind: String, make: (TransportMessage) throws -> TransportMessage) rethrows -> SharedTransportMessage {
        for entry in derivedForms where entry.kind == kind { return entry.form }
        let form = SharedTransportMessage(try make(message))
        derivedForms.append((kind, form))
        return form
    }
}

@available(*, unavailable)
extension SharedTransportMessage: Sendable {}
