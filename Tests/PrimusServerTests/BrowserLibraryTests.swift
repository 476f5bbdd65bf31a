import PrimusCore
import PrimusServer
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("browser client library")
struct BrowserLibraryTests {
    @Test("checklist 4, 15, 16 and 19: the library is compiled for this server ('realtime' becomes '/realtime', the global name, pingTimeout 1.5 × pingInterval, the version)")
    func libraryIsCompiledForThisServer() {
        var configuration = PrimusConfiguration()
        configuration.pathname = "realtime"
        configuration.pingInterval = .seconds(60)
        configuration.globalName = "Unicron"
        let library = Primus(configuration: configuration).library()
        #expect(library.contains("\"/realtime\""))
        #expect(library.contains("Unicron"))
        #expect(library.contains("90000"))  // pingTimeout = 1.5 x pingInterval
        #expect(library.contains(PrimusSpec.protocolVersion))
    }

    @Test(arguments: PrimusTransformer.all.map(\.name))
    func everyTransformerHasABrowserClient(name: String) throws {
        var configuration = PrimusConfiguration()
        configuration.transformer = try PrimusTransformer(named: name)
        let library = Primus(configuration: configuration).library()
        #expect(library.contains("transformer: \"\(name)\""))
        #expect(!library.contains("has no browser client in this build"))
    }

    @Test("checklist 15: the engine.io library carries the engine.io client and not the websockets one")
    func engineIOLibraryCarriesTheEngineIOClientOnly() {
        var configuration = PrimusConfiguration()
        configuration.transformer = .engineIO
        let library = Primus(configuration: configuration).library()
        #expect(library.contains("Primus.prototype.client = function engineio()"))
        #expect(library.contains("EIO=4&transport="))
        #expect(!library.contains("function websockets()"))

        let websockets = Primus().library()
        #expect(websockets.contains("Primus.prototype.client = function websockets()"))
        #expect(!websockets.contains("function engineio()"))
    }

    @Test("checklist 19: save(to:) writes exactly library()")
    func saveWritesExactlyTheLibrary() throws {
        let primus = Primus()
        let path = "/tmp/primus-library-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).js"
        defer { unlink(path) }
        try primus.save(to: path)
        guard let file = fopen(path, "r") else {
            Issue.record("file not written")
            return
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        #expect(String(decoding: bytes, as: UTF8.self) == primus.library())
    }

    @Test func saveToAnImpossiblePathThrows() {
        #expect(throws: LibrarySaveError.self) { try Primus().save(to: "/nonexistent-dir/x/primus.js") }
    }

    @Test func primusJSIsServedWithAnETag() async throws {
        try await withPrimusServer { port, primus in
            let response = try await httpRequest(port: port, target: "/primus/primus.js")
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(response.body == primus.library())
            let etag = try #require(response.headers["etag"])
            let cached = try await httpRequest(port: port, target: "/primus/primus.js", headers: [("If-None-Match", etag)])
            #expect(cached.status == 304)
            #expect(cached.body.isEmpty)
        }
    }
}
