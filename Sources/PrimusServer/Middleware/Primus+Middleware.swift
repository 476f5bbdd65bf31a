import NIOConcurrencyHelpers

extension Primus {
    /// The middleware layers in the order they run (a snapshot). A new server has Primus 8's
    /// seven, in its order: `forwarded`, `cors`, `primus.js`, `spec`, `x-xss`, `no-cache`,
    /// `authorization`.
    public var layers: [PrimusMiddleware] { middleware.chain.layers }

    /// Adds a layer, or replaces the layer of the same name in place (same position).
    ///
    /// A new layer goes to `index` when `0 ≤ index < layers.count`, else to the end, as Primus's
    /// `use(name, fn, options, index)` does. Changes apply to requests that arrive afterwards.
    ///
    /// ```swift
    /// primus.use(PrimusMiddleware(name: "api-key") { context in
    ///     guard context.headers.first(name: "x-api-key") == key else {
    ///         throw PrimusHTTPError(status: .forbidden, message: "bad key")
    ///     }
    ///     return .next
    /// }, at: 0)
    /// ```
    ///
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func use(_ layer: PrimusMiddleware, at index: Int? = nil) -> Primus {
        middleware.withChain { chain in
            if let existing = chain.layers.firstIndex(where: { $0.name == layer.name }) {
                chain.layers[existing] = layer
            } else if let index, index >= 0, index < chain.layers.count {
                chain.layers.insert(layer, at: index)
            } else {
                chain.layers.append(layer)
            }
        }
        return self
    }

    /// Adds the layer `factory` makes for this server (Primus's middleware factories, called with
    /// the server), with ``use(_:at:)``'s placement rules.
    ///
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func use(at index: Int? = nil, _ factory: (Primus) throws -> PrimusMiddleware) rethrows -> Primus {
        use(try factory(self), at: index)
    }

    /// Removes the layer called `name`, if any; the others keep their order.
    ///
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func remove(_ name: String) -> Primus {
        middleware.withChain { chain in chain.layers.removeAll { $0.name == name } }
        return self
    }

    /// Turns the layer called `name` back on, if any.
    ///
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func enable(_ name: String) -> Primus {
        setEnabled(name, true)
    }

    /// Turns the layer called `name` off, if any: it keeps its place and is skipped.
    ///
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func disable(_ name: String) -> Primus {
        setEnabled(name, false)
    }

    /// The position of the layer called `name`, or `nil` when there is none (Primus's `-1`).
    public func indexOfLayer(_ name: String) -> Int? {
        middleware.chain.layers.firstIndex { $0.name == name }
    }

    private func setEnabled(_ name: String, _ enabled: Bool) -> Primus {
        middleware.withChain { chain in
            if let index = chain.layers.firstIndex(where: { $0.name == name }) {
                chain.layers[index].isEnabled = enabled
            }
        }
        return self
    }

    /// Sets the hook that decides, for every request under the pathname (each polling request
    /// and each upgrade included), whether it may go on. It runs in the `authorization` layer,
    /// after `forwarded` (so ``PrimusMiddlewareContext/forwarded`` is the client's address).
    ///
    /// Returning lets the request through. Throwing refuses it: a ``PrimusHTTPError`` answers
    /// with its status, message and challenge; any other error answers `401` with its
    /// description. The body is `{"error":"<message>"}`; upgrades get it as a raw HTTP answer
    /// with `Connection: close`.
    ///
    /// The browser library is compiled with `authorization: true` once a hook is set, so the
    /// client does not treat a refused connection as a timeout to retry; setting it drops the
    /// compiled library, and the next request for it compiles it again. Set it before clients
    /// load the library: those that loaded it earlier keep their copy.
    ///
    /// ```swift
    /// primus.authorize { context in
    ///     guard let token = context.query["token"], try await sessions.isValid(token) else {
    ///         throw PrimusHTTPError.unauthorized("unauthorized", authenticate: "Bearer")
    ///     }
    /// }
    /// ```
    public func authorize(_ handler: @escaping @Sendable (PrimusMiddlewareContext) async throws -> Void) {
        middleware.withChain { $0.authorize = handler }
        browserLibraryInputsChanged()
    }

    /// Drops the compiled browser library: what it is compiled from (the authorization flag,
    /// the plugins' client parts) changed.
    func browserLibraryInputsChanged() {
        browserLibraryCache.withLockedValue { $0 = nil }
    }
}
