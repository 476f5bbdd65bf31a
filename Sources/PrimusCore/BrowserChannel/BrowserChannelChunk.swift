/// Back-channel framing: `<length>\n<JSON array of [arrayId, data]>\n`, where the length is
/// the JavaScript string length (UTF-16 code units) of the JSON *and its trailing newline*, as
/// the closure-library client counts with `String.length` before it parses. U+2028 and U+2029
/// leave escaped (``JSONWriter`` does it), so an old browser's `eval` cannot break on them.
public enum BrowserChannelChunk {
    /// The framed chunk carrying `arrays` in order.
    public static func frame(_ arrays: [BrowserChannelArray]) -> String {
        var json = "["
        var first = true
        for array in arrays {
            if !first { json += "," }
            first = false
            json += array.json
        }
        json += "]\n"
        return "\(utf16Length(json))\n" + json
    }

    /// A forward-channel answer: `<length>\n<json>`, the length of the JSON alone (no trailing
    /// newline follows it, as the reference server answers).
    public static func frameForwardAnswer(_ json: String) -> String {
        "\(utf16Length(json))\n" + json
    }

    /// The length a JavaScript engine gives `string`: astral characters count twice.
    public static func utf16Length(_ string: String) -> Int {
        string.utf16.count
    }
}
