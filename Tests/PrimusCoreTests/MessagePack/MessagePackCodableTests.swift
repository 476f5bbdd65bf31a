import NIOCore
import PrimusCore
import Testing
import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.URL

@Suite("MessagePack Codable encoder and decoder")
struct MessagePackCodableTests {
    struct Widths: Codable, Equatable {
        var int8Min = Int8.min, int8Max = Int8.max, int16Min = Int16.min, int16Max = Int16.max
        var int32Min = Int32.min, int32Max = Int32.max, int64Min = Int64.min, int64Max = Int64.max
        var uint8Max = UInt8.max, uint16Max = UInt16.max, uint32Max = UInt32.max, uint64Max = UInt64.max
        var int = Int.min, uint = UInt.max
        var float: Float = 1.5, double = 0.1, bool = true, string = "é€😀"
        var data = Data([0, 1, 0xFF]), date = Date(timeIntervalSince1970: 1_700_000_000.123)
        var optional: Int? = nil, url = URL(string: "https://example.com/a?b=c")!
    }

    func bytes(_ value: some Encodable) throws -> String {
        Hex.string(try MessagePackEncoder().encode(value))
    }

    func decode<T: Decodable>(_ type: T.Type, _ hex: String) throws -> T {
        try MessagePackDecoder().decode(type, from: Hex.buffer(hex))
    }

    @Test func everyWidthRoundTripsExactly() throws {
        let value = Widths()
        let decoded = try MessagePackDecoder().decode(Widths.self, from: MessagePackEncoder().encode(value))
        #expect(decoded == value)
    }

    @Test(arguments: [
        (UInt64.max, "cfffffffffffffffff"), (UInt64(0x1_0000_0000), "cf0000000100000000"), (UInt64(0xFFFF_FFFF), "ceffffffff"),
        (UInt64(0x1_0000), "ce00010000"), (UInt64(0xFFFF), "cdffff"), (UInt64(0x100), "cd0100"), (UInt64(0xFF), "ccff"),
        (UInt64(0x80), "cc80"), (UInt64(0x7F), "7f"), (UInt64(0), "00"),
    ])
    func unsignedIntegersTakeTheSmallestForm(value: UInt64, hex: String) throws {
        #expect(try bytes(value) == hex)
        #expect(try decode(UInt64.self, hex) == value)
    }

    @Test(arguments: [
        (Int64.min, "d38000000000000000"), (Int64(Int32.min) - 1, "d3ffffffff7fffffff"), (Int64(Int32.min), "d280000000"),
        (-32769, "d2ffff7fff"), (-32768, "d18000"), (-129, "d1ff7f"), (-128, "d080"), (-33, "d0df"), (-32, "e0"), (-1, "ff"),
        (Int64.max, "cf7fffffffffffffff"),
    ])
    func signedIntegersTakeTheSmallestForm(value: Int64, hex: String) throws {
        #expect(try bytes(value) == hex)
        #expect(try decode(Int64.self, hex) == value)
    }

    @Test func scalarsHaveTheirOwnForms() throws {
        #expect(try bytes(Float(1.5)) == "ca3fc00000")
        #expect(try bytes(1.0) == "cb3ff0000000000000")
        #expect(try bytes(Data([1, 2])) == "c4020102")
        #expect(try bytes(Date(timeIntervalSince1970: 0)) == "d6ff00000000")
        #expect(try bytes(Date(timeIntervalSince1970: -0.5)) == "c70cff1dcd6500ffffffffffffffff")
        #expect(try bytes(Optional<Int>.none) == "c0")
        #expect(try bytes("primus::ping::1") == "af7072696d75733a3a70696e673a3a31")
    }

    struct Pair: Codable, Equatable {
        var b: Int
        var a: String
    }

    @Test func keyedContainersAreMapsInEncodingOrder() throws {
        #expect(try bytes(Pair(b: 1, a: "x")) == "82a16201a161a178")
        // Python: msgpack.packb({"a": "x", "b": 1}) — the decoder takes keys in any order.
        #expect(try decode(Pair.self, "82a161a178a16201") == Pair(b: 1, a: "x"))
    }

    @Test func integerTypesTakeWhatFitsExactly() throws {
        #expect(try decode(Int8.self, "cb4000000000000000") == 2)  // 2.0
        #expect(try decode(UInt8.self, "d005") == 5)  // int 8 holding 5
        #expect(throws: DecodingError.self) { try decode(UInt8.self, "cd0100") }  // 256
        #expect(throws: DecodingError.self) { try decode(UInt64.self, "ff") }  // -1
        #expect(throws: DecodingError.self) { try decode(Int.self, "cb3ff8000000000000") }  // 1.5
        #expect(try decode(Double.self, "cfffffffffffffffff") == 18_446_744_073_709_551_616.0)
        #expect(try decode(Float.self, "cb3ff8000000000000") == 1.5)
        #expect(throws: DecodingError.self) { try decode(Float.self, "cb7e37e43c8800759c") }  // 1e300
    }

    @Test func mismatchesAndMissingKeysAreDecodingErrors() {
        #expect(throws: DecodingError.self) { try decode(Pair.self, "81a16201") }  // no "a"
        #expect(throws: DecodingError.self) { try decode(Pair.self, "82a16201a16102") }  // a is an int
        #expect(throws: DecodingError.self) { try decode(Pair.self, "92") }
        #expect(throws: DecodingError.self) { try decode(String.self, "c0") }
        #expect(throws: DecodingError.self) { try decode(Date.self, "d60500000000") }  // ext 5, not a timestamp
        #expect(throws: DecodingError.self) { try decode(Data.self, "a0") }
        #expect(throws: DecodingError.self) { try decode([Int].self, "91a0") }
    }

    /// A type that uses every container operation: nested keyed and unkeyed containers, the
    /// super encoder with and without a key, nil, and a JSONValue member with an extension.
    struct Everything: Codable, Equatable {
        var numbers: [Int]
        var inner: [String: Bool]
        var parent: String
        var tagged: Double
        var nothing: Int?
        var json: JSONValue

        enum CodingKeys: String, CodingKey { case numbers, inner, parent, tagged, nothing, json }
        enum InnerKeys: String, CodingKey { case flag }

        init(numbers: [Int], inner: [String: Bool], parent: String, tagged: Double, nothing: Int?, json: JSONValue) {
            (self.numbers, self.inner, self.parent, self.tagged, self.nothing, self.json) = (numbers, inner, parent, tagged, nothing, json)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            var numbers = container.nestedUnkeyedContainer(forKey: .numbers)
            for number in self.numbers { try numbers.encode(number) }
            var nestedArray = numbers.nestedUnkeyedContainer()
            try nestedArray.encode("tail")
            var inner = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            try inner.encode(self.inner["flag"] ?? false, forKey: .flag)
            try parent.encode(to: container.superEncoder())
            try tagged.encode(to: container.superEncoder(forKey: .tagged))
            try container.encodeNil(forKey: .nothing)
            try container.encode(json, forKey: .json)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            var numbers = try container.nestedUnkeyedContainer(forKey: .numbers)
            var collected: [Int] = []
            let total = numbers.count ?? 0
            while numbers.currentIndex < total - 1 { collected.append(try numbers.decode(Int.self)) }
            var nestedArray = try numbers.nestedUnkeyedContainer()
            guard try nestedArray.decode(String.self) == "tail", nestedArray.isAtEnd, numbers.isAtEnd else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "bad tail"))
            }
            self.numbers = collected
            let inner = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            self.inner = ["flag": try inner.decode(Bool.self, forKey: .flag)]
            parent = try String(from: container.superDecoder())
            tagged = try Double(from: container.superDecoder(forKey: .tagged))
            nothing = try container.decodeNil(forKey: .nothing) ? nil : try container.decode(Int.self, forKey: .nothing)
            json = try container.decode(JSONValue.self, forKey: .json)
        }
    }

    @Test func nestedContainersAndSuperEncodersRoundTrip() throws {
        let value = Everything(
            numbers: [1, -200, 70000], inner: ["flag": true], parent: "base", tagged: 2.5, nothing: nil,
            json: ["ext": .extension(type: 9, data: ByteBuffer(bytes: [7])), "when": .date(Date(timeIntervalSince1970: 1)), "bin": .binary(ByteBuffer(bytes: [1]))]
        )
        let encoded = try MessagePackEncoder().encode(value)
        #expect(try MessagePackDecoder().decode(Everything.self, from: encoded) == value)
        let read = try MessagePackReader.read(encoded)
        #expect(read.objectValue?.keys == ["numbers", "inner", "super", "tagged", "nothing", "json"])
        #expect(read["numbers"] == [1, -200, 70000, ["tail"]])
        #expect(read["super"] == "base" && read["nothing"] == .null)
        #expect(read["json"]?["ext"] == .extension(type: 9, data: ByteBuffer(bytes: [7])))
    }

    final class Linked: Encodable {
        var next: Linked?
        var label = "loop"
        enum CodingKeys: CodingKey { case next, label }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(label, forKey: .label)
            try container.encode(next, forKey: .next)
        }
    }

    final class ListElement: Encodable {
        var next: ListElement?
        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            try container.encode(next)
        }
    }

    final class Wrapper: Encodable {
        var next: Wrapper?
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(next)
        }
    }

    @Test func aCircularGraphThrowsInsteadOfOverflowingTheStack() throws {
        let node = Linked()
        node.next = node
        #expect(throws: EncodingError.self) { try MessagePackEncoder().encode(node) }
        let element = ListElement()
        element.next = element
        #expect(throws: EncodingError.self) { try MessagePackEncoder().encode(element) }
        let wrapper = Wrapper()
        wrapper.next = wrapper
        #expect(throws: EncodingError.self) { try MessagePackEncoder().encode(wrapper) }
        do {
            _ = try MessagePackParser().encode(encodable: node)
            Issue.record("a circular graph was encoded")
        } catch {
            #expect(error.code == .encodingFailed)
            #expect(error.message.contains("deeper than 512"))
        }
        node.next = nil  // break the cycle so the test does not leak it
        element.next = nil
        wrapper.next = nil
    }

    @Test func aLongChainWithinTheLimitEncodes() throws {
        let head = Linked()
        var tail = head
        for _ in 0..<100 {
            let next = Linked()
            tail.next = next
            tail = next
        }
        let read = try MessagePackReader.read(MessagePackEncoder().encode(head))
        var depth = 0
        var value = read
        while let next = value["next"], next != .null {
            depth += 1
            value = next
        }
        #expect(depth == 100)
    }

    /// Arrays `depth + 1` levels deep.
    struct Nested: Encodable {
        let depth: Int
        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            if depth > 0 { try container.encode(Nested(depth: depth - 1)) }
        }
    }

    @Test func theDepthLimitIs512Levels() throws {
        let bytes = try MessagePackEncoder().encode(Nested(depth: PrimusParsers.maximumDepth - 1))
        #expect(try MessagePackReader.read(bytes) != .null)
        #expect(throws: EncodingError.self) { try MessagePackEncoder().encode(Nested(depth: PrimusParsers.maximumDepth)) }
        #expect(throws: PrimusError.self) { try MessagePackParser().encode(encodable: Nested(depth: 100_000)) }
    }

    struct Empty: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test func aValueThatEncodesNothingIsAnEmptyMap() throws {
        #expect(try bytes(Empty()) == "80")
        #expect(try bytes([Empty()]) == "9180")
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case label(String, size: UInt16)
        case empty
    }

    @Test func collectionsEnumsAndOptionalsRoundTrip() throws {
        let value: [String: [Shape?]] = ["a": [.circle(radius: 1.5), nil, .label("x", size: 65535), .empty], "b": []]
        let decoded = try MessagePackDecoder().decode([String: [Shape?]].self, from: MessagePackEncoder().encode(value))
        #expect(decoded == value)
        let numbers: [Int: String] = [1: "one", -2: "minus two"]
        #expect(try MessagePackDecoder().decode([Int: String].self, from: MessagePackEncoder().encode(numbers)) == numbers)
    }

    @Test func userInfoReachesTheTypes() throws {
        struct Reader: Decodable {
            let seen: String?
            init(from decoder: any Decoder) throws {
                seen = decoder.userInfo[CodingUserInfoKey(rawValue: "k")!] as? String
            }
        }
        var decoder = MessagePackDecoder()
        decoder.userInfo[CodingUserInfoKey(rawValue: "k")!] = "v"
        #expect(try decoder.decode(Reader.self, from: Hex.buffer("c0")).seen == "v")
    }

    @Test func theDecoderReadsData() throws {
        #expect(try MessagePackDecoder().decode([UInt8].self, from: Data([0x92, 0x01, 0xCC, 0xFF])) == [1, 255])
    }
}
