@testable import PrimusServer
import Testing

/// The socket.io library: `transports/socket.io.js` runs the Engine.IO client underneath, which
/// the compiler splices in at its `$$engineio$$` placeholder (``BrowserLibraryCompiler/layered(_:)``).
@Suite("Browser library: the socket.io transport")
struct BrowserLibrarySocketIOTests {
    @Test("the socket.io library carries the Engine.IO client once and no placeholder")
    func engineIOIsSplicedIn() {
        var configuration = PrimusConfiguration()
        configuration.transformer = .socketIO
        let library = BrowserLibraryCompiler(configuration: configuration).compile()
        #expect(!library.contains("$$"))
        #expect(library.contains("transformer: \"socket.io\""))
        #expect(library.contains("function socketio()"))
        #expect(library.ranges(of: "function engineio()").count == 1)
    }

    @Test("other transports are left as they are")
    func othersAreUntouched() throws {
        for name in ["websockets", "engine.io", "sockjs", "browserchannel"] {
            let source = try #require(BrowserClientScripts.transport(named: name))
            #expect(BrowserLibraryCompiler.layered(source) == source, "\(name)")
        }
    }
}
