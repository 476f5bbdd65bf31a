import NIOCore
public import PrimusCore

/// The namespace a spark joined and the auth payload it joined with, for transformers whose
/// protocol has namespaces (Socket.IO: one spark per namespace of a connection). Immutable.
final class SparkNamespaceHandshake: Sendable {
    let namespace: String
    let auth: JSONObject

    init(namespace: String, auth: JSONObject) {
        self.namespace = namespace
        self.auth = auth
    }
}

extension Spark {
    /// The namespace this spark is: Socket.IO's `socket.nsp.name` (`/`, `/admin`). Transformers
    /// without namespaces have one, `/`, so an application can check it on any transformer.
    public var namespace: String {
        namespaceHandshake?.namespace ?? "/"
    }

    /// The auth payload the client joined with: Socket.IO's `socket.handshake.auth` (what
    /// `io(url, {auth: …})` sends in CONNECT, or v4's namespace query). Empty on transformers
    /// without one; their credentials are in ``headers`` and ``query``.
    public var auth: JSONObject {
        namespaceHandshake?.auth ?? [:]
    }

    /// Whether the application listens to `event` by name (so a transformer with native events
    /// delivers a `message` event to it rather than as data). On the loop.
    func handlesEvent(_ event: String) -> Bool {
        state.value.events?.handlers[event]?.isEmpty == false
    }

    /// A message whose value a transformer already decoded (Socket.IO's `message` event):
    /// delivered as data without parsing it again; `raw` is its encoding for
    /// ``SparkMessage/raw``. On the loop.
    func receive(decoded value: JSONValue, raw: TransportMessage) {
        guard readyState == .open else { return }
        if hasIncomingTransforms { return receiveTransforming(value, raw: raw) }
        deliver(SparkMessage(raw: raw, value: value, parser: primus.configuration.parser, context: self))
    }
}
