import Foundation

/// The demo chat's web page: `Page/index.html` with `Page/chat.css` and `Page/chat.js` put inline (the
/// files are embedded at build time), and the pathname and transformer filled in, HTML-escaped.
/// One request fetches the whole page; the browser client comes from `<pathname>/primus.js`.
public enum DemoPage {
    /// The page for a Primus at `pathname` speaking `transformer`.
    public static func html(pathname: String, transformer: String) -> String {
        let files = PageSources.files
        var page = files["index.html"] ?? "<!doctype html><p>the demo page was not embedded</p>"
        // The script and style are the package's own files; `</script` or `</style` in them
        // would end the element early.
        let script = files["chat.js"] ?? ""
        let style = files["chat.css"] ?? ""
        precondition(!script.contains("</script") && !style.contains("</style"), "chat.js or chat.css closes its element")
        page = page.replacingOccurrences(of: "<!-- chat.js -->", with: script)
        page = page.replacingOccurrences(of: "<!-- chat.css -->", with: style)
        page = page.replacingOccurrences(of: "{{pathname}}", with: escapeHTML(pathname))
        page = page.replacingOccurrences(of: "{{transformer}}", with: escapeHTML(transformer))
        page = page.replacingOccurrences(of: "{{script}}", with: escapeHTML(pathname + "/primus.js"))
        return page
    }

    private static func escapeHTML(_ text: String) -> String {
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
