import Foundation
import PrimusCore
@testable import PrimusServer
import Testing

/// The browser client's JavaScript files as the server ships them: the EmbedJavaScript plugin's
/// output matches the files, the compiler picks the transport and codec by name (a custom
/// parser's own codec first), and the template is filled completely.
@Suite("Browser library: embedded JavaScript files", .timeLimit(.minutes(1)))
struct BrowserLibraryScriptsTests {
    /// Sources/PrimusServer/BrowserClient/JavaScript, found from this file's path.
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Sources/PrimusServer/BrowserClient/JavaScript")

    @Test("every .js and .html file of the folder is embedded, as it is on disk")
    func embeddedFilesMatchTheFolder() throws {
        let root = Self.folder.standardizedFileURL.path + "/"
        var onDisk: [String: String] = [:]
        let walker = try #require(FileManager.default.enumerator(atPath: root))
        for case let relative as String in walker where relative.hasSuffix(".js") || relative.hasSuffix(".html") {
            onDisk[relative] = try String(contentsOfFile: root + relative, encoding: .utf8)
        }
        #expect(onDisk.count >= 7)
        #expect(Set(BrowserClientSources.files.keys) == Set(onDisk.keys))
        for (path, source) in onDisk {
            #expect(BrowserClientSources.files[path] == source, "\(path) is stale in the build")
        }
    }

    @Test("every transformer has transports/<name>.js, and json has parsers/json.js")
    func builtInNamesHaveTheirFiles() {
        for transformer in PrimusTransformer.all {
            #expect(BrowserClientScripts.transport(named: transformer.name) != nil, "\(transformer.name)")
        }
        #expect(BrowserClientScripts.parser(named: "json") != nil)
        #expect(BrowserClientScripts.transport(named: "toy") == nil)
        #expect(BrowserClientScripts.parser(named: "nope") == nil)
    }

    @Test("no placeholder is left in a compiled library")
    func templateIsFilled() throws {
        var engineIO = PrimusConfiguration()
        engineIO.transformer = .engineIO
        var unknown = BrowserLibraryCompiler(configuration: PrimusConfiguration(), plugins: [("probe", try NodeFixtures.source("probe-plugin.js"))])
        unknown.transformer = "toy"
        unknown.parser = "nope"
        for compiler in [BrowserLibraryCompiler(configuration: PrimusConfiguration()), BrowserLibraryCompiler(configuration: engineIO), unknown] {
            let library = compiler.compile()
            #expect(!library.contains("$$"))
            #expect(library.hasPrefix("/*!\n * swift-primus browser client, Primus \(compiler.version) client API."))
            #expect(library.hasSuffix("  return Primus;\n});\n"))
        }
    }

    @Test("the Node tests' library (Tests/JavaScript/support/library.js) is the one the server compiles")
    func nodeHarnessBuildsTheServersLibrary() async throws {
        let plugin = try NodeFixtures.source("probe-plugin.js")
        let library = BrowserLibraryCompiler(configuration: PrimusConfiguration(), plugins: [("probe", plugin), ("again", plugin)]).compile()
        let result = try await NodeFixtures.run("same-as-test-harness.js", library: library)
        #expect(result["same"] == true, "\(result["firstDifference"] ?? .null)")
    }

    @Test("a custom parser's javaScriptCodec is the library's codec")
    func customParserCodecIsUsed() async throws {
        var configuration = PrimusConfiguration()
        configuration.parser = PrefixedParser(javaScriptCodec: try NodeFixtures.source("prefixed-codec.js"))
        let library = Primus(configuration: configuration).library()
        #expect(library.contains("parser: \"prefixed\""))
        let result = try await NodeFixtures.run("codec-probe.js", library: library)
        #expect(result["encodeError"] == .null)
        #expect(result["encoded"] == #"custom:{"hello":["world",1]}"#)
        #expect(result["decodeError"] == .null)
        #expect(result["decoded"] == ["hello": ["world", 1]])
    }

    @Test("the json library's codec is parsers/json.js")
    func jsonCodecIsUsed() async throws {
        let result = try await NodeFixtures.run("codec-probe.js", library: Primus().library())
        #expect(result["encoded"] == #"{"hello":["world",1]}"#)
        #expect(result["decoded"] == ["hello": ["world", 1]])
    }

    @Test("a parser with neither a javaScriptCodec nor a file gets a codec that reports it")
    func missingCodecIsReported() async throws {
        var configuration = PrimusConfiguration()
        configuration.parser = PrefixedParser(javaScriptCodec: nil)
        let result = try await NodeFixtures.run("codec-probe.js", library: Primus(configuration: configuration).library())
        #expect(result["encodeError"] == "the prefixed parser has no browser implementation in this build")
        #expect(result["decodeError"] == "the prefixed parser has no browser implementation in this build")
    }

    @Test("the template fills known placeholders once and leaves the rest")
    func templateRendering() {
        let values = ["a": "$$b$$", "b": "B", "é": "no"]
        #expect(BrowserLibraryTemplate.render("x $$a$$ y $$b$$$$b$$ z", values) == "x $$b$$ y BB z")
        #expect(BrowserLibraryTemplate.render("$$c$$ $$ $$$b$$ $$b", values) == "$$c$$ $$ $B $$b")
        #expect(BrowserLibraryTemplate.render("€$$b$$€ $$é$$", values) == "€B€ $$é$$")
        #expect(BrowserLibraryTemplate.render("", values) == "")
    }

    @Test("a spliced file loses its trailing semicolon and whitespace; a version cannot end the banner comment")
    func splicingHelpers() {
        #expect(BrowserLibraryCompiler.expression("({ a: 1 });\n\n") == "({ a: 1 })")
        #expect(BrowserLibraryCompiler.expression("function f() {}\n") == "function f() {}")
        #expect(BrowserLibraryCompiler.commentText("8.0.0 */ alert(1) /*") == "8.0.0 * / alert(1) /*")
    }
}

/// A custom parser: JSON on the server, with or without its own browser codec.
private struct PrefixedParser: PrimusParser {
    var javaScriptCodec: String?
    var name: String { "prefixed" }
    private let json = JSONParser()

    func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        try json.encode(value, for: context)
    }

    func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        try json.decode(message, for: context)
    }

    func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        try json.encode(encodable: value, for: context)
    }

    func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        try json.decode(type, from: message, for: context)
    }
}
