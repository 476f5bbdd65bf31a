import NIOConcurrencyHelpers

extension Primus {
    /// Registers `plugin`: it is added to ``plugins``, the ``onPlugin(_:)`` handlers are told,
    /// then its server part runs with this server, immediately. Its client part goes into the
    /// browser library (compiled again on its next use), so register plugins before clients
    /// load the library.
    ///
    /// - Throws: ``PrimusPluginError/emptyName``, ``PrimusPluginError/missingParts`` (neither a
    ///   server nor a client part) or ``PrimusPluginError/alreadyDefined``; nothing is registered.
    /// - Returns: the server, so calls chain.
    @discardableResult
    public func plugin(_ plugin: PrimusPlugin) throws(PrimusPluginError) -> Primus {
        guard !plugin.name.isEmpty else { throw .emptyName }
        guard plugin.server != nil || plugin.client != nil else { throw .missingParts }
        let handlers = middleware.state.withLockedValue { state -> [@Sendable (PrimusPlugin) -> Void]? in
            guard !state.plugins.contains(where: { $0.name == plugin.name }) else { return nil }
            state.plugins.append(plugin)
            return state.pluginHandlers
        }
        guard let handlers else { throw .alreadyDefined }
        browserLibraryInputsChanged()
        for handler in handlers { handler(plugin) }
        // Outside the lock: a server part typically calls `use` or `authorize`.
        plugin.server?(self)
        return self
    }

    /// The registered plugin called `name`, if any.
    public func plugin(named name: String) -> PrimusPlugin? {
        middleware.state.withLockedValue { state in state.plugins.first { $0.name == name } }
    }

    /// The registered plugins, in registration order.
    public var plugins: [PrimusPlugin] {
        middleware.state.withLockedValue { $0.plugins }
    }

    /// Unregisters the plugin called `name` and tells the ``onPlugout(_:)`` handlers. What its
    /// server part did stays (as in Primus); its client part leaves libraries compiled afterwards.
    ///
    /// - Returns: whether such a plugin was registered.
    @discardableResult
    public func plugout(_ name: String) -> Bool {
        let removed = middleware.state.withLockedValue { state -> (PrimusPlugin, [@Sendable (PrimusPlugin) -> Void])? in
            guard let index = state.plugins.firstIndex(where: { $0.name == name }) else { return nil }
            return (state.plugins.remove(at: index), state.plugoutHandlers)
        }
        guard let (plugin, handlers) = removed else { return false }
        browserLibraryInputsChanged()
        for handler in handlers { handler(plugin) }
        return true
    }

    /// Calls `handler` with every plugin registered from now on, before its server part runs
    /// (Primus's `plugin` event).
    public func onPlugin(_ handler: @escaping @Sendable (PrimusPlugin) -> Void) {
        middleware.state.withLockedValue { $0.pluginHandlers.append(handler) }
    }

    /// Calls `handler` with every plugin unregistered from now on (Primus's `plugout` event).
    public func onPlugout(_ handler: @escaping @Sendable (PrimusPlugin) -> Void) {
        middleware.state.withLockedValue { $0.plugoutHandlers.append(handler) }
    }
}
