/// Primus's `_primuscb` query value: the `yeast` id, the current time in milliseconds in a
/// 64-character URL-safe alphabet, with `.<n>` appended when two ids fall in the same millisecond.
/// It defeats caches between the client and the server; every connection gets a fresh one.
struct CacheBuster {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_")
    private var previous = ""
    private var seed = 0

    /// `value` in yeast's alphabet, most significant digit first.
    static func encode(_ value: Int64) -> String {
        var number = max(value, 0)
        var digits: [Character] = []
        repeat {
            digits.append(alphabet[Int(number % 64)])
            number /= 64
        } while number > 0
        return String(digits.reversed())
    }

    /// The next id at `milliseconds` since the Unix epoch.
    mutating func next(milliseconds: Int64) -> String {
        let now = Self.encode(milliseconds)
        if now != previous {
            seed = 0
            previous = now
            return now
        }
        defer { seed += 1 }
        return now + "." + Self.encode(Int64(seed))
    }
}
