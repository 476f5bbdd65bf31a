/// Fills the `$$name$$` placeholders of the library's JavaScript templates (`library.js` and the
/// fallbacks). A placeholder is a JavaScript identifier, so a template still parses for
/// `node --check` and the linter. Only the template is scanned: a value (a plugin's source, the
/// core) that happens to contain `$$x$$` is inserted as written, and a placeholder without a
/// value is left as it is (the library tests check that none remains).
enum BrowserLibraryTemplate {
    static func render(_ template: String, _ values: [String: String]) -> String {
        let bytes = Array(template.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + values.values.reduce(0) { $0 + $1.utf8.count })
        var literalStart = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == dollar, bytes[index + 1] == dollar else {
                index += 1
                continue
            }
            var end = index + 2
            while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
            if end > index + 2, end + 1 < bytes.count, bytes[end] == dollar, bytes[end + 1] == dollar,
                let value = values[String(decoding: bytes[(index + 2)..<end], as: UTF8.self)]
            {
                out += bytes[literalStart..<index]
                out += value.utf8
                index = end + 2
                literalStart = index
            } else {
                index += 1
            }
        }
        out += bytes[literalStart...]
        return String(decoding: out, as: UTF8.self)
    }

    private static let dollar = UInt8(ascii: "$")

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }
}
