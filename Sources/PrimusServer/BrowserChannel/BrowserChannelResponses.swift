import NIOCore
import NIOHTTP1
import PrimusCore

/// The HTTP answers of the `browserchannel` transformer, with the headers node-browserchannel
/// puts on every response, and the `TYPE=html` script wrapping for old browsers that read the
/// back channel through a hidden iframe.
enum BrowserChannelResponses {
    /// The headers of every answer (the middleware's `no-cache` layer says the same and wins).
    static func headers(contentType: String = "text/plain") -> HTTPHeaders {
        [
            "content-type": contentType,
            "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
            "pragma": "no-cache",
            "expires": "Fri, 01 Jan 1990 00:00:00 GMT",
            "x-content-type-options": "nosniff",
        ]
    }

    /// A plain-text answer.
    static func text(_ body: String, status: HTTPResponseStatus = .ok, extra: HTTPHeaders = [:]) -> PrimusHTTPResponse {
        var headers = headers()
        headers.add(contentsOf: extra)
        return PrimusHTTPResponse(status: status, headers: headers, body: ByteBuffer(string: body))
    }

    /// An error, as its status and plain-text message.
    static func error(_ error: BrowserChannelError) -> PrimusHTTPResponse {
        text(error.message, status: HTTPResponseStatus(statusCode: error.status))
    }

    /// The `TYPE=html` form of a piece of a back channel: a script that hands it to the page.
    /// The text goes in a JavaScript string with `<` escaped, so no message can close the
    /// script element early.
    static func htmlScript(_ text: String) -> String {
        var writer = JSONWriter()
        writer.writeString(text)
        let literal = String(buffer: writer.buffer).replacingOccurrences(of: "<", with: "\\u003c")
        return "<script>try {parent.m(\(literal))} catch(e) {}</script>\n"
    }

    /// What follows the first script of a `TYPE=html` back channel: old browsers render an
    /// iframe's scripts only after a kilobyte or so has arrived.
    static let htmlPadding = String(repeating: "<!-- browserchannel padding -->", count: 33) + "\n"

    /// The last script of a `TYPE=html` back channel: the page learns it is complete.
    static let htmlDone = "<script>try  {parent.d(); }catch (e){}</script>\n"

    /// The opening of a `TYPE=html` back channel: `document.domain`, when `DOMAIN` asks for it.
    static func htmlPreamble(domain: String?) -> String {
        guard let domain else { return "" }
        var writer = JSONWriter()
        writer.writeString(domain)
        let literal = String(buffer: writer.buffer).replacingOccurrences(of: "<", with: "\\u003c")
        return "<script>try{document.domain=\(literal);}catch(e){}</script>\n"
    }
}

extension String {
    /// Code points, not Characters: a `<` followed by a combining mark is still a `<` to an
    /// HTML parser.
    fileprivate func replacingOccurrences(of target: Unicode.Scalar, with replacement: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == target { result.append(contentsOf: replacement.unicodeScalars) } else { result.append(scalar) }
        }
        return String(result)
    }
}
