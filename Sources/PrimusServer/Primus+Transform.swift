import NIOConcurrencyHelpers
public import PrimusCore

/// Which way a message transform works (Primus's `'incoming'` and `'outgoing'`).
public enum MessageTransformDirection: Sendable, Hashable {
    /// Client to server: runs after decoding, before the spark's message handlers.
    case incoming
    /// Server to client: runs on ``Spark/write(_:)-(JSONValue)`` (and broadcasts), before encoding.
    case outgoing
}

/// A message as a transform sees it: the decoded value and the spark it came from or goes to.
public struct TransformPacket: Sendable {
    /// The message (already transformed by the transforms added before this one).
    public var data: JSONValue
    /// The spark the message belongs to.
    public let spark: Spark
}

/// What a message transform decides. An enum rather than an optional: `JSONValue` is
/// `ExpressibleByNilLiteral` (JSON `null`), so a `nil` could silently mean "send null".
public enum TransformResult: Sendable, Hashable {
    /// Pass this value on: the message, rewritten or not, goes to the next transform and then to
    /// the spark's handlers (incoming) or to the client (outgoing).
    case pass(JSONValue)
    /// Swallow the message: nobody sees it (Primus's `return false`).
    case swallow
}

/// One transform, as added.
enum MessageTransform: Sendable {
    case sync(@Sendable (TransformPacket) -> TransformResult)
    case async(@Sendable (TransformPacket) async throws -> TransformResult)
}

/// The transforms of one server, copied into each spark when it is made (a spark reads its own
/// copy, so the message path takes no lock).
struct MessageTransforms: Sendable {
    var incoming: [MessageTransform] = []
    var outgoing: [MessageTransform] = []

    func isSynchronous(_ direction: MessageTransformDirection) -> Bool {
        let list = direction == .incoming ? incoming : outgoing
        return list.allSatisfy { if case .sync = $0 { true } else { false } }
    }
}

extension Primus {
    /// Adds a message transform (Primus's `primus.transform(type, fn)`): it may rewrite a message
    /// (`.pass(newValue)`), let it through (`.pass(packet.data)`) or swallow it (`.swallow`).
    /// Transforms run in the order they were added, each on what the previous one passed on.
    ///
    /// Incoming transforms see each client message after decoding (`primus::` heartbeat and id
    /// messages excepted) and before the spark's handlers; outgoing ones see each value written
    /// to a spark, broadcasts included, before encoding (the `primus::` messages the server sends
    /// itself, such as pings and `primus::server::close`, are never transformed).
    ///
    /// Add transforms before the server accepts connections: each spark keeps the transforms
    /// that existed when it connected, so the message path reads them without a lock. A server
    /// without transforms pays nothing for them.
    ///
    /// ```swift
    /// primus.transform(.incoming) { packet in
    ///     packet.data["type"] == "noise" ? .swallow : .pass(packet.data)
    /// }
    /// ```
    public func transform(_ direction: MessageTransformDirection, _ transform: @escaping @Sendable (TransformPacket) -> TransformResult) {
        add(.sync(transform), direction)
    }

    /// Adds an asynchronous message transform (Primus's `fn(packet, next)`), for a rewrite that
    /// must wait, such as a lookup. Messages still arrive and leave in order: a message waits
    /// for the one before it. An error thrown is reported to the spark's ``Spark/onError(_:)``
    /// handlers and the message is dropped, as Primus does with `next(err)`; the connection stays.
    public func transform(_ direction: MessageTransformDirection, _ transform: @escaping @Sendable (TransformPacket) async throws -> TransformResult) {
        add(.async(transform), direction)
    }

    private func add(_ transform: MessageTransform, _ direction: MessageTransformDirection) {
        registry.withLockedValue { registry in
            switch direction {
            case .incoming: registry.transforms.incoming.append(transform)
            case .outgoing: registry.transforms.outgoing.append(transform)
            }
        }
    }

    /// The transforms a new spark keeps.
    var messageTransforms: MessageTransforms { registry.withLockedValue { $0.transforms } }
}
