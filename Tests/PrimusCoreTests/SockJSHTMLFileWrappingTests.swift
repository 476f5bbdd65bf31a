import NIOCore
import PrimusCore
import Testing

/// The `htmlfile` transport puts frames inside `<script>` elements of an HTML page: a message
/// must not be able to end the element it travels in.
@Suite("SockJS htmlfile wrapping")
struct SockJSHTMLFileWrappingTests {
    @Test func aMessageWithClosingScriptOrCommentTagsStaysInsideItsScriptElement() throws {
        let message = "a </script><script>alert(1)</script> <!-- b"
        let wrapped = String(buffer: SockJSFrameWrapping.htmlFile.wrapped(.messages([message])))
        #expect(wrapped.hasPrefix("<script>\np(\""))
        #expect(wrapped.hasSuffix("\");\n</script>\r\n"))
        let literal = wrapped.dropFirst("<script>\np(".count).dropLast(");\n</script>\r\n".count)
        #expect(!literal.contains("<"))
        // The literal is a JSON string whose text is the frame, as the page's p() receives it.
        guard case .string(let frameText)? = try? JSONReader.parse(String(literal)) else {
            Issue.record("not a JSON string: \(literal)")
            return
        }
        #expect(try SockJSFrame(parsing: frameText) == .messages([message]))
    }

    @Test func framesWithoutAngleBracketsAreUnchanged() {
        let wrapped = String(buffer: SockJSFrameWrapping.htmlFile.wrapped(.open))
        #expect(wrapped == "<script>\np(\"o\");\n</script>\r\n")
    }
}
