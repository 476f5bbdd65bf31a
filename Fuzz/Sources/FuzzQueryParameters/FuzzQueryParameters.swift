import FuzzSupport
import PrimusCore

/// The query-string parser (Node's `querystring.parse` rules), as request targets and form
/// bodies reach it.
///
/// Invariants: no trap; there is one pair per non-empty `&`-separated part; the request-target
/// entry point reads the query after `?` and before `#`; the pairs, percent-encoded again, parse
/// back to the same pairs.
@main
enum FuzzQueryParameters {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzDriver.bytes(data, count), as: UTF8.self)
    let query = QueryParameters(Substring(text))
    // Node splits on the `&` code unit, whatever follows it (a combining mark included).
    let parts = text.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).count
    fuzzCheck(query.items.count == parts, "\(query.items.count) pairs from \(parts) parts")

    let target = QueryParameters(requestURI: "/primus?" + text)
    let expected = QueryParameters(Substring(String(decoding: text.utf8.prefix { $0 != UInt8(ascii: "#") }, as: UTF8.self)))
    fuzzCheck(target == expected, "the request-target entry point disagrees")

    let encoded = query.items.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&")
    let reparsed = QueryParameters(Substring(encoded))
    fuzzCheck(reparsed.items.count == query.items.count, "re-encoded query has \(reparsed.items.count) pairs, not \(query.items.count)")
    for (lhs, rhs) in zip(reparsed.items, query.items) {
        fuzzCheck(lhs.name == rhs.name && lhs.value == rhs.value, "\(rhs) read back as \(lhs)")
    }
    for item in query.items {
        fuzzCheck(query[item.name] != nil, "subscript misses \(item.name.debugDescription)")
    }
    return 0
}

/// Every byte but letters and digits as `%XX`.
func escape(_ string: String) -> String {
    var result = ""
    for byte in string.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".unicodeScalars)
            result.unicodeScalars.append("%")
            result.unicodeScalars.append(hex[Int(byte >> 4)])
            result.unicodeScalars.append(hex[Int(byte & 15)])
        }
    }
    return result
}
