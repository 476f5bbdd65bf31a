import NIOConcurrencyHelpers

/// The parsers selectable by name, as in Primus's `parser` option: the ones that ship with
/// swift-primus, and custom ones registered once by the application.
///
/// The server, the Swift client (``PrimusParsers/named(_:)`` on the parser name of a server's
/// spec) and the browser library all find a parser here, so one registration covers them all.
public enum PrimusParsers {
    /// How deep a value may nest before an encoder gives up: a circular object graph, or a
    /// value built to exhaust the stack, is an error and never a crash.
    public static let maximumDepth = 512

    /// The parser called `name` (case-insensitive), or an error that names it.
    public static func named(_ name: String) throws(PrimusError) -> any PrimusParser {
        let key = name.lowercased()
        if let parser = registry.withLockedValue({ $0[key] }) { return parser }
        throw PrimusError.unsupportedParser(name)
    }

    /// Registers `parser` under its ``PrimusParser/name`` (case-insensitive), replacing any
    /// registered before under that name, built-ins included.
    public static func register(_ parser: any PrimusParser) {
        registry.withLockedValue { $0[parser.name.lowercased()] = parser }
    }

    /// Every parser name that ``named(_:)`` accepts, sorted.
    public static var names: [String] { registry.withLockedValue { $0.keys.sorted() } }

    /// The parsers that ship with swift-primus.
    public static let builtIn: [any PrimusParser] = [
        JSONParser(),
        BinaryPackParser(),
        EJSONParser(),
        MessagePackParser(),
    ]

    // A pthread-backed lock, which ThreadSanitizer sees: registering a parser in one test while
    // another looks one up was reported as a race through the standard library's `Mutex`.
    private static let registry = NIOLockedValueBox<[String: any PrimusParser]>(
        Dictionary(builtIn.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    )
}
