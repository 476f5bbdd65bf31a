import NIOCore
import NIOHTTP1
import PrimusCore

/// The two HTML documents a SockJS server serves, from `BrowserClient/JavaScript/sockjs/`
/// (embedded at build time): the iframe page, and the head of an `htmlfile` stream.
enum SockJSPages {
    /// The iframe page for `clientScriptURL` with its entity tag, made once per transformer.
    struct IframePage: Sendable {
        let body: ByteBuffer
        let etag: String

        init(clientScriptURL: String) {
            let template = BrowserClientSources.files["sockjs/iframe.html"] ?? ""
            let text = template.replacingOccurrences(of: "$$clientScriptURL$$", with: SockJSPages.escapeHTML(clientScriptURL))
            body = ByteBuffer(string: text)
            // FNV-1a over the page: the tag changes exactly when the page does.
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            etag = "\"" + String(hash, radix: 16) + "\""
        }

        /// The answer to `request`: the page, or `304` when the client has this version.
        func response(to request: HTTPHeaders) -> PrimusHTTPResponse {
            var headers = SockJSResponses.cacheable()
            headers.add(name: "ETag", value: etag)
            if request[canonicalForm: "if-none-match"].contains(where: { $0 == etag || $0 == "*" }) {
                return PrimusHTTPResponse(status: .notModified, headers: headers)
            }
            headers.add(name: "Content-Type", value: "text/html; charset=UTF-8")
            return PrimusHTTPResponse(status: .ok, headers: headers, body: body)
        }
    }

    /// The head of an `htmlfile` stream for a validated callback, padded past 1 KiB so old
    /// browsers start rendering (and running the scripts) at once.
    static func htmlFileHead(callback: SockJSCallbackName) -> ByteBuffer {
        let template = BrowserClientSources.files["sockjs/htmlfile.html"] ?? ""
        var text = template.replacingOccurrences(of: "$$callback$$", with: callback.name)
        if text.utf8.count < 1025 { text += String(repeating: " ", count: 1025 - text.utf8.count) }
        text += "\r\n\r\n"
        return ByteBuffer(string: text)
    }

    static func escapeHTML(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension String {
    /// Every occurrence of `target` replaced (the standard library has no such method without
    /// Foundation).
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
