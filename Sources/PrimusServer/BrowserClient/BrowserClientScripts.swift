// The browser client's JavaScript lives in .js files under JavaScript/ (see its README.md); the
// EmbedJavaScript build tool plugin compiles them into `BrowserClientSources.files` (relative
// path → source), so the binary carries them and needs no resource lookup at run time.

/// Which embedded JavaScript file a server ships for its transformer and parser.
enum BrowserClientScripts {
    /// The library's shell (`library.js`): the UMD wrapper and `COMPILED`, with `$$name$$`
    /// placeholders that ``BrowserLibraryTemplate`` fills.
    static var template: String { file("library.js") }

    /// The transport-independent client (`core.js`).
    static var core: String { file("core.js") }

    /// Missed-message recovery's client rules (`recovery-position.js`), which the core uses.
    static var recovery: String { file("recovery-position.js") }

    /// `transports/<transformer>.js`: the `Primus.prototype.client` function for that
    /// transformer, or `nil` when this build has no browser client for it.
    static func transport(named transformer: String) -> String? {
        BrowserClientSources.files["transports/" + transformer + ".js"]
    }

    /// `parsers/<parser>.js`: one expression evaluating to `{ encoder, decoder }`, or `nil` when
    /// this build has no browser codec for that name.
    static func parser(named parser: String) -> String? {
        BrowserClientSources.files["parsers/" + parser + ".js"]
    }

    /// The client for a transformer without a browser client: it fails at the first connection,
    /// naming the transformer (placeholder `$$transformer$$`).
    static var unsupportedTransport: String { file("fallbacks/unsupported-transport.js") }

    /// The codec for a parser without a browser codec: every message fails, naming the parser
    /// (placeholder `$$parser$$`).
    static var unsupportedParser: String { file("fallbacks/unsupported-parser.js") }

    /// A file the library cannot be built without. Its absence is a broken build (the plugin
    /// embeds every file of the folder), never something a caller or a client can cause.
    static func file(_ path: String) -> String {
        guard let source = BrowserClientSources.files[path] else {
            preconditionFailure("the browser client's \(path) was not embedded in this build")
        }
        return source
    }
}
