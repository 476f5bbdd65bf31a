/// A plugin: a server part that extends a ``Primus`` when it is registered (adds layers, an
/// authorization hook, connection handlers), and a client part compiled into the browser
/// library, as Primus 8's `primus.plugin(name, { server, client, library })`.
///
/// ```swift
/// let health = PrimusPlugin(name: "health", server: { primus in
///     primus.use(PrimusMiddleware(name: "health", kinds: .http) { context in
///         context.path == primus.configuration.pathname + "/health" ? .respond(.text("ok")) : .next
///     })
/// })
/// try primus.plugin(health)
/// ```
public struct PrimusPlugin: Sendable {
    /// What identifies the plugin: unique per server, and the key of its client part in the
    /// browser library (`Primus.prototype.ark[name]`).
    public var name: String
    /// Runs once, when the plugin is registered, with the server it extends.
    public var server: (@Sendable (Primus) -> Void)?
    /// JavaScript source of a function `(primus, options)` run by each browser client during its
    /// initialisation; it is stringified into the library, so it must be self-contained.
    public var client: String?
    /// JavaScript source run once in the browser library after the `Primus` class is defined
    /// (a dependency the client part needs).
    public var library: String?

    /// A plugin with a server part, a client part, or both.
    public init(
        name: String,
        server: (@Sendable (Primus) -> Void)? = nil,
        client: String? = nil,
        library: String? = nil
    ) {
        self.name = name
        self.server = server
        self.client = client
        self.library = library
    }
}

/// Why ``Primus/plugin(_:)`` refused a plugin; the descriptions are Primus 8's exact messages.
public struct PrimusPluginError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case emptyName
        case missingParts
        case alreadyDefined
    }

    private let code: Code

    /// The plugin's name is empty.
    public static let emptyName = PrimusPluginError(code: .emptyName)
    /// The plugin has neither a server nor a client part.
    public static let missingParts = PrimusPluginError(code: .missingParts)
    /// A plugin of that name is already registered.
    public static let alreadyDefined = PrimusPluginError(code: .alreadyDefined)

    public var description: String {
        switch code {
        case .emptyName: return "Plugin name must be a non empty string"
        case .missingParts: return "Plugin is missing a client or server function"
        case .alreadyDefined: return "Plugin name already defined"
        }
    }
}
