/// The value of one ASCII hexadecimal digit: percent-decoding in query strings and in Redis URLs
/// reads escapes with it.
public enum HexDigit {
    /// `0`–`9`, `a`–`f`, `A`–`F` as 0–15; `nil` for any other byte.
    @inlinable
    public static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
