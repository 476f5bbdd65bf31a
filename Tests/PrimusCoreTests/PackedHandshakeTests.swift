import PrimusCore
import Testing

@Suite("packed handshake: the same target and headers out as in, in one buffer")
struct PackedHandshakeTests {
    private typealias Header = (name: String, value: String)

    private static func pairs(_ packed: PackedHandshake) -> [String] {
        packed.headers.map { "\($0.name)=\($0.value)" }
    }

    @Test func givesBackMethodTargetAndHeadersInOrderWithRepeats() {
        let headers: [Header] = [
            ("Host", "example.com"),
            ("Cookie", "a=1"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("cookie", "b=2"),
            ("X-Empty", ""),
        ]
        let packed = PackedHandshake(method: "GET", target: "/primus/?EIO=4&transport=websocket", headers: headers)
        #expect(packed.method == "GET")
        #expect(packed.target == "/primus/?EIO=4&transport=websocket")
        #expect(Self.pairs(packed) == headers.map { "\($0.name)=\($0.value)" })
        #expect(packed.headers.count == 5)
        // Names keep their case; reading twice gives the same.
        #expect(packed.headers.map(\.name) == ["Host", "Cookie", "Sec-WebSocket-Key", "cookie", "X-Empty"])
        #expect(Self.pairs(packed) == Self.pairs(packed))
    }

    @Test func looksNamesUpIgnoringASCIICaseOnly() {
        let headers: [Header] = [("Cookie", "a=1"), ("X-Other", "x"), ("COOKIE", "b=2"), ("Straße", "s")]
        let packed = PackedHandshake(method: "GET", target: "/", headers: headers)
        #expect(packed.values(named: "cookie") == ["a=1", "b=2"])
        #expect(packed.values(named: "CoOkIe") == ["a=1", "b=2"])
        #expect(packed.values(named: "x-other") == ["x"])
        #expect(packed.values(named: "missing").isEmpty)
        #expect(packed.values(named: "cookie2").isEmpty)  // a prefix is not a match
        #expect(packed.values(named: "Straße") == ["s"])
        #expect(packed.values(named: "STRASSE").isEmpty)
    }

    @Test func noHeadersAndEmptyStrings() {
        let packed = PackedHandshake(method: "", target: "", headers: [Header]())
        #expect(packed.method.isEmpty)
        #expect(packed.target.isEmpty)
        #expect(packed.headers.count == 0)
        #expect(Array(packed.headers).isEmpty)
        #expect(packed.packedByteCount == 2)  // two zero lengths
    }

    @Test func keepsNonASCIIAndLongValuesExactly() {
        // Lengths of 127, 128, 16,383 and 16,384 bytes take one, two, two and three length bytes.
        let lengths = [0, 1, 127, 128, 16_383, 16_384, 70_000]
        let headers: [Header] = lengths.enumerated().map { index, length in
            ("X-\(index)", String(repeating: "v", count: length))
        } + [("X-Unicode", "é🙂 ü"), ("Ünïcode-Name", "ok")]
        let packed = PackedHandshake(method: "PROPFIND", target: "/p?q=é", headers: headers)
        #expect(packed.method == "PROPFIND")
        #expect(packed.target == "/p?q=é")
        let out = Array(packed.headers)
        #expect(out.count == headers.count)
        for (got, want) in zip(out, headers) {
            #expect(got.name == want.name)
            #expect(got.value == want.value)
        }
        #expect(packed.values(named: "x-unicode") == ["é🙂 ü"])
        #expect(packed.values(named: "ünïcode-name").isEmpty)  // non-ASCII letters are compared as they are
        #expect(packed.values(named: "Ünïcode-NAME") == ["ok"])
    }

    @Test func holdsLittleMoreThanTheBytesThemselves() {
        let headers: [Header] = [
            ("Host", "127.0.0.1:8080"),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ]
        let packed = PackedHandshake(method: "GET", target: "/primus", headers: headers)
        let text = 3 + 7 + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        // One length byte per string (all are short).
        #expect(packed.packedByteCount == text + 2 + 2 * headers.count)
    }

    @Test func manyHeadersRoundTrip() {
        let headers: [Header] = (0..<1_000).map { ("X-H\($0)", "value \($0)") }
        let packed = PackedHandshake(method: "GET", target: "/primus", headers: headers)
        #expect(packed.headers.count == 1_000)
        #expect(Self.pairs(packed) == headers.map { "\($0.name)=\($0.value)" })
        #expect(packed.values(named: "x-h999") == ["value 999"])
    }
}
