/// One named layer of the middleware chain that every request under the pathname passes through
/// before the transformer sees it (Primus 8's `primus.use(name, fn)`).
///
/// A layer looks at the request, may add headers to whatever answers it
/// (``PrimusMiddlewareContext/responseHeaders``), and either lets it through (``Step/next``) or
/// answers it itself (``Step/respond(_:)``). Throwing answers with Primus's error responder:
/// `{"error": message}` with the status of a ``PrimusHTTPError``, else `500`.
///
/// Synchronous layers run inline on the connection's event loop, with no allocation; only an
/// asynchronous layer (``asynchronous(name:kinds:isEnabled:_:)``) moves the rest of the chain to a
/// task, so keep layers synchronous unless they must wait.
///
/// ```swift
/// primus.use(PrimusMiddleware(name: "health") { context in
///     guard context.path == "/primus/health" else { return .next }
///     return .respond(.text("ok"))
/// })
/// ```
public struct PrimusMiddleware: Sendable {
    /// Which requests a layer runs for: plain HTTP requests, WebSocket upgrades, or both
    /// (Primus's `fn.http === false` / `fn.upgrade === false`).
    public struct Kinds: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8

        /// Creates a set from its raw bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Plain HTTP requests (polling, `primus.js`, `spec`, CORS preflights).
        public static let http = Kinds(rawValue: 1 << 0)
        /// WebSocket upgrade requests; an answer to one is written as a raw HTTP response and
        /// the connection closes.
        public static let upgrade = Kinds(rawValue: 1 << 1)
        /// Both kinds.
        public static let all: Kinds = [.http, .upgrade]

        /// The set holding just `kind`.
        init(_ kind: PrimusMiddlewareContext.Kind) {
            switch kind {
            case .http: self = .http
            case .upgrade: self = .upgrade
            }
        }
    }

    /// What a layer decided.
    public enum Step: Sendable {
        /// Let the request through to the next layer (and then the transformer).
        case next
        /// Answer the request now; no later layer nor the transformer sees it. The layers'
        /// ``PrimusMiddlewareContext/responseHeaders`` are added to this answer.
        case respond(PrimusHTTPResponse)
    }

    /// A synchronous layer body, run on the connection's event loop: it must not block.
    public typealias Body = @Sendable (inout PrimusMiddlewareContext) throws -> Step
    /// An asynchronous layer body, run in a task.
    public typealias AsyncBody = @Sendable (inout PrimusMiddlewareContext) async throws -> Step

    /// How a layer runs; the authorization layer is a case of its own so that the chain stays
    /// synchronous (no task) while no hook is set.
    enum Implementation: Sendable {
        case synchronous(Body)
        case asynchronous(AsyncBody)
        case authorization
    }

    /// The layer's name: ``Primus/use(_:at:)`` with a name already in the chain replaces that
    /// layer in place; ``Primus/remove(_:)``, ``Primus/enable(_:)`` and ``Primus/disable(_:)``
    /// find layers by it.
    public var name: String
    /// Which requests it runs for (default both).
    public var kinds: Kinds
    /// Whether it runs at all (default `true`); a disabled layer keeps its place in the chain.
    public var isEnabled: Bool
    let implementation: Implementation

    /// A synchronous layer.
    ///
    /// - Parameters:
    ///   - name: what identifies it in the chain.
    ///   - kinds: which requests it runs for (default both).
    ///   - isEnabled: whether it starts enabled (default `true`).
    ///   - body: runs on the connection's event loop for each request; it must not block.
    public init(name: String, kinds: Kinds = .all, isEnabled: Bool = true, _ body: @escaping Body) {
        self.init(name: name, kinds: kinds, isEnabled: isEnabled, implementation: .synchronous(body))
    }

    /// An asynchronous layer (a database or network lookup): from it on, the rest of the chain
    /// runs in a task and the outcome hops back to the connection's event loop. A synchronous
    /// layer costs nothing of that; prefer one when nothing needs awaiting.
    ///
    /// - Parameters:
    ///   - name: what identifies it in the chain.
    ///   - kinds: which requests it runs for (default both).
    ///   - isEnabled: whether it starts enabled (default `true`).
    ///   - body: runs in a task for each request.
    public static func asynchronous(
        name: String,
        kinds: Kinds = .all,
        isEnabled: Bool = true,
        _ body: @escaping AsyncBody
    ) -> PrimusMiddleware {
        PrimusMiddleware(name: name, kinds: kinds, isEnabled: isEnabled, implementation: .asynchronous(body))
    }

    init(name: String, kinds: Kinds, isEnabled: Bool = true, implementation: Implementation) {
        self.name = name
        self.kinds = kinds
        self.isEnabled = isEnabled
        self.implementation = implementation
    }

    /// Whether the layer runs for a request of `kind`.
    func runs(for kind: PrimusMiddlewareContext.Kind) -> Bool {
        isEnabled && kinds.contains(Kinds(kind))
    }
}
