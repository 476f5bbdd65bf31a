/// Generates spark ids: 16 random bytes (128 bits) as 22 URL-safe base64 characters, so ids are
/// unguessable and can travel in URLs (Engine.IO and SockJS put them in the path or query).
public enum SparkIdentifier {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// A fresh random id from the system's secure generator.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A fresh id from `generator` (inject a seeded one in tests).
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        var output: [UInt8] = []
        output.reserveCapacity(22)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        // One byte left (16 = 5 * 3 + 1): two characters, no padding.
        let last = UInt32(bytes[15])
        output.append(alphabet[Int(last >> 2)])
        output.append(alphabet[Int((last & 3) << 4)])
        return String(decoding: output, as: UTF8.self)
    }
}
