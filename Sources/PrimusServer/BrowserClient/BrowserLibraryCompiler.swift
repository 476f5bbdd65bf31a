import PrimusCore

/// Builds the browser client library for one server from the embedded JavaScript files
/// (``BrowserClientScripts``): `library.js`, a UMD-style shell (global `globalName`, plus
/// `module.exports` or an AMD `define` when present) with the server's pathname, version,
/// parser, transformer, heartbeat timeout and authorization flag compiled in, around `core.js`,
/// `recovery-position.js`, the transport client for that server's transformer, its parser's
/// codec and the plugins.
struct BrowserLibraryCompiler: Sendable {
    /// The global the library defines (`Primus`).
    var globalName: String
    /// Where the server is mounted (`/primus`).
    var pathname: String
    /// The Primus version the server speaks.
    var version: String = PrimusSpec.protocolVersion
    /// The parser name (`json`).
    var parser: String
    /// The parser's own browser codec (``PrimusParser/javaScriptCodec``), which wins over the
    /// built-in `parsers/<parser>.js`; `nil` for none.
    var parserCodec: String?
    /// The transformer name (`websockets`).
    var transformer: String
    /// Milliseconds without a server ping before the client gives a connection up, or `nil` when
    /// the server sends no heartbeats.
    var pingTimeout: Int?
    /// Whether the server checks clients with an authorization hook (then a failed connect is not
    /// retried by default: the `timeout` strategy is left out).
    var authorization: Bool = false
    /// The client parts of the server's plugins, in registration order: each source (a
    /// self-contained `function (primus, options)`) becomes `Primus.prototype.ark[name]`, which
    /// every client runs once at construction, after its transport is set up (reference section 5).
    var plugins: [(name: String, source: String)] = []

    /// The compiler for `configuration`: `pingTimeout` = `pingInterval` + round(`pingInterval` / 2).
    init(configuration: PrimusConfiguration, authorization: Bool = false, plugins: [(name: String, source: String)] = []) {
        self.globalName = configuration.globalName
        self.pathname = configuration.pathname
        self.version = configuration.spec.version
        self.parser = configuration.parser.name
        self.parserCodec = configuration.parser.javaScriptCodec
        self.transformer = configuration.transformer.name
        if let interval = configuration.pingIntervalMilliseconds {
            self.pingTimeout = interval + Int((Double(interval) / 2).rounded())
        } else {
            self.pingTimeout = nil
        }
        self.authorization = authorization
        self.plugins = plugins
    }

    /// The library's source.
    func compile() -> String {
        let client =
            BrowserClientScripts.transport(named: transformer).map(Self.layered)
            ?? BrowserLibraryTemplate.render(BrowserClientScripts.unsupportedTransport, ["transformer": JSONValueText.string(transformer)])
        let codec =
            parserCodec
            ?? BrowserClientScripts.parser(named: parser)
            ?? BrowserLibraryTemplate.render(BrowserClientScripts.unsupportedParser, ["parser": JSONValueText.string(parser)])

        var pluginList = ""
        for (index, plugin) in plugins.enumerated() {
            pluginList += index == 0 ? "\n    [" : ",\n    ["
            pluginList += JSONValueText.string(plugin.name) + ", " + plugin.source + "\n    ]"
        }
        if !plugins.isEmpty { pluginList += "\n  " }

        return BrowserLibraryTemplate.render(
            BrowserClientScripts.template,
            [
                "versionComment": Self.commentText(version),
                "globalName": JSONValueText.string(globalName),
                "pathname": JSONValueText.string(pathname),
                "version": JSONValueText.string(version),
                "parser": JSONValueText.string(parser),
                "transformer": JSONValueText.string(transformer),
                "pingTimeout": pingTimeout.map(String.init) ?? "false",
                "authorization": authorization ? "true" : "false",
                "core": BrowserClientScripts.core,
                "recovery": BrowserClientScripts.recovery,
                "client": Self.expression(client),
                "codec": Self.expression(codec),
                "plugins": pluginList,
            ]
        )
    }

    /// A transport client built on another one's (`socket.io.js` runs the Engine.IO client
    /// underneath) names it `$$engineio$$`: that placeholder becomes `engine.io.js`'s function, so
    /// the Engine.IO code ships once per library and is never copied between files.
    static func layered(_ transport: String) -> String {
        BrowserLibraryTemplate.render(transport, ["engineio": expression(BrowserClientScripts.file("transports/engine.io.js"))])
    }

    /// A file holding one expression, ready to splice after `=` or inside parentheses: without
    /// its trailing whitespace and a trailing semicolon.
    static func expression(_ source: String) -> String {
        var text = Substring(source)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        if text.last == ";" { text.removeLast() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }

    /// `text` made safe inside a `/* */` comment.
    static func commentText(_ text: String) -> String {
        var out = ""
        var previous: Character?
        for character in text {
            if previous == "*", character == "/" { out += " " }
            out.append(character)
            previous = character
        }
        return out
    }
}

/// JSON text of strings, for splicing values into JavaScript source.
enum JSONValueText {
    /// `value` as a JSON string literal (quotes included), with U+2028/U+2029 escaped so the
    /// result is also a valid JavaScript literal in every engine.
    static func string(_ value: String) -> String {
        var text = JSONValue.string(value).description
        if text.unicodeScalars.contains(where: { $0 == "\u{2028}" || $0 == "\u{2029}" }) {
            var escaped = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\u{2028}": escaped += "\\u2028"
                case "\u{2029}": escaped += "\\u2029"
                default: escaped.unicodeScalars.append(scalar)
                }
            }
            text = escaped
        }
        return text
    }
}

/// A strong validator for the library: 64-bit FNV-1a of the UTF-8 bytes and their count.
enum BrowserLibraryETag {
    static func of(_ source: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var count = 0
        for byte in source.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
            count += 1
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "-" + String(count, radix: 16) + "\""
    }
}
