import Foundation
import NIOCore
import PrimusCore
import Testing

// Types that exercise the synthesized and hand-written Codable paths.

private struct Address: Codable, Hashable {
    var street: String
    var zip: Int?
}

private enum Shape: Codable, Hashable {
    case circle(radius: Double)
    case square(Double)
    case empty
}

private enum Level: String, Codable, Hashable {
    case low, high
}

private struct Person: Codable, Hashable {
    var name: String
    var age: UInt8
    var tags: [String]
    var address: Address?
    var shapes: [Shape]
    var level: Level
    var scores: [String: Double]
    var nickname: String?
    var born: Date
    var avatar: Data
    var raw: [UInt8]
    var extra: JSONValue
}

private let sample = Person(
    name: "Ada", age: 36, tags: ["a", "b"], address: Address(street: "Main", zip: nil),
    shapes: [.circle(radius: 1.5), .square(2), .empty], level: .high, scores: ["x": 1, "y": -2.5], nickname: nil,
    born: Date(timeIntervalSince1970: 1_358_205_756.553), avatar: Data([0, 1, 254, 255]), raw: [7, 8],
    extra: ["keep": [1, "two", nil], "bytes": .binary(ByteBuffer(bytes: [9]))]
)

/// A class that encodes through its own `encode(to:)`, for circular graphs.
private final class Link: Encodable {
    var next: Link?
    enum CodingKeys: String, CodingKey { case next }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(next, forKey: .next)
    }
}

/// A class that wraps itself through a single-value container, a cycle with no container level.
private final class Wrapper: Encodable {
    var inner: Wrapper?
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(inner)
    }
}

/// A value `levels` deep that exists only as it is encoded, so building and freeing it cannot
/// exhaust the stack itself.
private struct Deep: Encodable {
    var levels: Int
    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if levels > 0 { try container.encode(Deep(levels: levels - 1)) }
    }
}

/// Nested containers opened without encoding values in between.
private struct DeepContainers: Encodable {
    var levels: Int
    enum Key: String, CodingKey { case down }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for _ in 0..<levels { container = container.nestedContainer(keyedBy: Key.self, forKey: .down) }
        try container.encodeNil(forKey: .down)
    }
}

private class Animal: Codable {
    var name: String
    init(name: String) { self.name = name }
}

private final class Dog: Animal {
    var good: Bool
    enum CodingKeys: String, CodingKey { case good }
    init(name: String, good: Bool) {
        self.good = good
        super.init(name: name)
    }
    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        good = try container.decode(Bool.self, forKey: .good)
        try super.init(from: container.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(good, forKey: .good)
        try super.encode(to: container.superEncoder())
    }
}

/// Keys in an order of its own, to see that the order survives.
private struct Ordered: Codable, Hashable {
    var zebra = 1
    var apple = 2
    var mango = 3
}

@Suite("JSONValue encoder and decoder")
struct JSONValueCodingTests {
    let encoder = JSONValueEncoder()
    let decoder = JSONValueDecoder()

    @Test func encodesNativeTypesAsTheirOwnCases() throws {
        let value = try encoder.encode(sample)
        #expect(value["born"] == .date(sample.born))
        #expect(value["avatar"] == .binary(ByteBuffer(bytes: [0, 1, 254, 255])))
        #expect(value["raw"] == [7, 8])
        #expect(value["extra"] == sample.extra)
        #expect(value["nickname"] == nil)
        #expect(value["address"] == ["street": "Main"])
        #expect(value["level"] == "high")
        #expect(value["shapes"]?[0] == ["circle": ["radius": 1.5]])
        #expect(value["shapes"]?[1] == ["square": ["_0": 2]])
    }

    @Test func roundTripsNestedStructsEnumsAndOptionals() throws {
        let value = try encoder.encode(sample)
        #expect(try decoder.decode(Person.self, from: value) == sample)
        let optionals: [Int?] = [1, nil, 3]
        #expect(try decoder.decode([Int?].self, from: encoder.encode(optionals)) == optionals)
        let nested: [String: [Address]] = ["home": [Address(street: "A", zip: 1)], "none": []]
        #expect(try decoder.decode([String: [Address]].self, from: encoder.encode(nested)) == nested)
    }

    @Test func keepsKeysInEncodingOrder() throws {
        let value = try encoder.encode(Ordered())
        #expect(value.objectValue?.keys == ["zebra", "apple", "mango"])
        #expect(value.description == #"{"zebra":1,"apple":2,"mango":3}"#)
    }

    @Test func passesJSONValuesThroughUntouched() throws {
        let value: JSONValue = ["b": .date(Date(timeIntervalSince1970: 1)), "a": .extension(type: 4, data: ByteBuffer(bytes: [1]))]
        #expect(try encoder.encode(value) == value)
        #expect(try encoder.encode(value).objectValue?.keys == ["b", "a"])
        #expect(try decoder.decode(JSONValue.self, from: value) == value)
        #expect(try decoder.decode([JSONValue].self, from: [value, 1]) == [value, 1])
    }

    @Test func superEncodersAndDecodersNestUnderSuper() throws {
        let value = try encoder.encode(Dog(name: "Rex", good: true))
        #expect(value == ["good": true, "super": ["name": "Rex"]])
        let dog = try decoder.decode(Dog.self, from: value)
        #expect(dog.name == "Rex" && dog.good)
    }

    @Test func integersUpToTwoToThe53AreExactAndBeyondThatMustBeExact() throws {
        #expect(try encoder.encode(Int64(1) << 53) == .number(9_007_199_254_740_992))
        #expect(try encoder.encode(Int64(1) << 60) == .number(0x1p60))
        #expect(try encoder.encode(UInt64.max - 2047) == .number(Double(UInt64.max - 2047)))
        let error = #expect(throws: PrimusError.self) { try encoder.encode((Int64(1) << 53) + 1) }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("9007199254740993") == true)
        #expect(throws: PrimusError.self) { try encoder.encode(["big": UInt64.max]) }
    }

    @Test func decodingIntegersRequiresExactValues() throws {
        #expect(try decoder.decode(Int.self, from: 42) == 42)
        #expect(try decoder.decode(Int64.self, from: .number(0x1p60)) == 1 << 60)
        let fraction = #expect(throws: PrimusError.self) { try decoder.decode(Int.self, from: 1.5) }
        #expect(fraction?.message.contains("1.5 is not a whole number that Int can hold") == true)
        #expect(throws: PrimusError.self) { try decoder.decode(UInt8.self, from: 300) }
        #expect(throws: PrimusError.self) { try decoder.decode(UInt.self, from: -1) }
        #expect(throws: PrimusError.self) { try decoder.decode(Float.self, from: .number(1e300)) }
    }

    @Test func typeMismatchNamesWhatWasExpectedFoundAndWhere() throws {
        var value = try encoder.encode(sample)
        var address = value["address"]!.objectValue!
        address["street"] = 5
        var object = value.objectValue!
        object["address"] = .object(address)
        value = .object(object)
        let error = #expect(throws: PrimusError.self) { try decoder.decode(Person.self, from: value) }
        #expect(error?.code == .decodingFailed)
        #expect(error?.message == "Failed to decode incoming data: expected a string but found a number (at address.street)")
    }

    @Test func missingKeyIsNamed() throws {
        let error = #expect(throws: PrimusError.self) { try decoder.decode(Address.self, from: ["zip": 1]) }
        #expect(error?.message == #"Failed to decode incoming data: missing key "street" (at the top level)"#)
        let nested = #expect(throws: PrimusError.self) { try decoder.decode([Address].self, from: [["street": "a"], [:]]) }
        #expect(nested?.message.contains(#"missing key "street" (at [1])"#) == true)
    }

    @Test func containerMismatchesAndShortArraysAreClear() throws {
        let object = #expect(throws: PrimusError.self) { try decoder.decode(Address.self, from: [1, 2]) }
        #expect(object?.message.contains("expected an object but found an array") == true)
        let array = #expect(throws: PrimusError.self) { try decoder.decode([Int].self, from: "nope") }
        #expect(array?.message.contains("expected an array but found a string") == true)
        let null = #expect(throws: PrimusError.self) { try decoder.decode(String.self, from: nil) }
        #expect(null?.message.contains("expected a string but found null") == true)
        struct Pair: Decodable {
            var first: Int
            var second: Int
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                first = try container.decode(Int.self)
                second = try container.decode(Int.self)
            }
        }
        let short = #expect(throws: PrimusError.self) { try decoder.decode(Pair.self, from: [1]) }
        #expect(short?.message.contains("the array has only 1 elements") == true)
    }

    @Test func datesAndBytesReadTheirOtherForms() throws {
        let date = Date(timeIntervalSince1970: 1_358_205_756.553)
        #expect(try decoder.decode(Date.self, from: 1_358_205_756_553).timeIntervalSince1970 == date.timeIntervalSince1970)
        let text = try decoder.decode(Date.self, from: "2013-01-14T23:22:36.553Z")
        #expect(abs(text.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.001)
        #expect(try decoder.decode(Data.self, from: "AAH+/w==") == Data([0, 1, 254, 255]))
        #expect(try decoder.decode(Data.self, from: [0, 1, 254, 255]) == Data([0, 1, 254, 255]))
        #expect(try decoder.decode([UInt8].self, from: .binary(ByteBuffer(bytes: [3, 4]))) == [3, 4])
        #expect(throws: PrimusError.self) { try decoder.decode(Date.self, from: "yesterday") }
        #expect(throws: PrimusError.self) { try decoder.decode(Data.self, from: [256]) }
    }

    @Test func circularClassGraphThrowsInsteadOfOverflowing() {
        let link = Link()
        link.next = link
        defer { link.next = nil }
        let error = #expect(throws: PrimusError.self) { try encoder.encode(link) }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("deeper than \(PrimusParsers.maximumDepth)") == true)
        let wrapper = Wrapper()
        wrapper.inner = wrapper
        defer { wrapper.inner = nil }
        #expect(throws: PrimusError.self) { try encoder.encode(wrapper) }
    }

    @Test func hundredThousandDeepValueThrowsInsteadOfOverflowing() throws {
        let error = #expect(throws: PrimusError.self) { try encoder.encode(Deep(levels: 100_000)) }
        #expect(error?.code == .encodingFailed)
        #expect(throws: PrimusError.self) { try encoder.encode(DeepContainers(levels: 100_000)) }
        // Within the limit, the same shapes encode.
        let shallow = try encoder.encode(Deep(levels: 100))
        #expect(shallow.arrayValue?.count == 1)
        #expect(try encoder.encode(DeepContainers(levels: 10))["down"]?["down"] != nil)
    }

    @Test func parsersWithoutTheirOwnTypedCodingGetItFromTheValueCoders() throws {
        struct Message: Codable, Equatable {
            var at: Date
            var body: Data
            var count: Int
        }
        let message = Message(at: Date(timeIntervalSince1970: 12.5), body: Data([1, 2, 3]), count: 3)
        for name in ["binary", "ejson"] {
            let parser = try PrimusParsers.named(name)
            let wire = try parser.encode(encodable: message)
            #expect(try parser.decode(Message.self, from: wire) == message)
        }
        // EJSON carries the date as a date; BinaryPack has no date type and carries its text.
        #expect(try EJSONParser().decode(EJSONParser().encode(encodable: message))["at"] == .date(message.at))
        #expect(try BinaryPackParser().decode(BinaryPackParser().encode(encodable: message))["at"] == "1970-01-01T00:00:12.500Z")
    }
}
