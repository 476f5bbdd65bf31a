import Foundation
import NIOCore
@testable import PrimusCore
import Testing

/// What the json parser sent before the streaming encoder: the ``JSONValue`` tree, written.
private func treeMessage<T: Encodable>(_ value: T) -> Result<TransportMessage, PrimusError> {
    Result { () throws(PrimusError) in try JSONParser().encode(JSONValueEncoder().encode(value)) }
}

/// What the json parser sends now.
private func parserMessage<T: Encodable>(_ value: T) -> Result<TransportMessage, PrimusError> {
    Result { () throws(PrimusError) in try JSONParser().encode(encodable: value) }
}

/// The streaming encoder alone: its text, `nil` when it handed the value to the tree.
private func streamed<T: Encodable>(_ value: T) throws -> String? {
    try JSONTextEncoding.encode(value).map { String(buffer: $0) }
}

/// The parser's message equals the tree's (same kind, same bytes; or the same error message).
private func sameAsTree<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) {
    switch (treeMessage(value), parserMessage(value)) {
    case (.success(let tree), .success(let parser)):
        #expect(parser == tree, "\(String(buffer: parser.buffer)) vs \(String(buffer: tree.buffer))", sourceLocation: sourceLocation)
    case (.failure(let tree), .failure(let parser)):
        #expect(parser.message == tree.message, sourceLocation: sourceLocation)
    case (let tree, let parser):
        Issue.record("tree \(tree) but parser \(parser)", sourceLocation: sourceLocation)
    }
}

private struct Address: Codable {
    var street: String
    var zip: Int?
}

private enum Shape: Codable {
    case circle(radius: Double)
    case square(Double)
    case empty
}

private struct Person: Codable {
    var name: String
    var age: UInt8
    var tags: [String]
    var address: Address?
    var shapes: [Shape]
    var scores: [String: Double]
    var nickname: String?
    var born: Date
    var avatar: Data
    var raw: [UInt8]
    var extra: JSONValue
    var site: URL
    var ratio: Float
}

private let person = Person(
    name: "Ada \u{2028}\"\\\n\u{1}é😀", age: 36, tags: ["a", "b"], address: Address(street: "Main", zip: nil),
    shapes: [.circle(radius: 1.5), .square(2), .empty], scores: ["x": 1, "y": -2.5], nickname: nil,
    born: Date(timeIntervalSince1970: 1_358_205_756.553), avatar: Data([0, 1, 254, 255]), raw: [7, 8],
    extra: ["keep": [1, "two", nil], "bytes": .binary(ByteBuffer(bytes: [9])), "ext": .extension(type: -5, data: ByteBuffer(bytes: [1]))],
    site: URL(string: "https://example.com/a?b=c")!, ratio: 0.1
)

private class Animal: Encodable {
    var name: String
    init(name: String) { self.name = name }
}

private final class Dog: Animal {
    var good = true
    enum CodingKeys: String, CodingKey { case good }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(good, forKey: .good)
        try super.encode(to: container.superEncoder())
    }
}

/// A subclass that writes its members and then its superclass's through the same encoder: one
/// object, members merged.
private final class Cat: Animal {
    var lives = 9
    enum CodingKeys: String, CodingKey { case lives }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lives, forKey: .lives)
        try super.encode(to: encoder)
    }
}

private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Nested containers filled before the parent goes on: streamable.
private struct NestedInOrder: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(1, forKey: Key("a"))
        var inner = container.nestedContainer(keyedBy: Key.self, forKey: Key("inner"))
        try inner.encode("x", forKey: Key("x"))
        var list = inner.nestedUnkeyedContainer(forKey: Key("list"))
        try list.encode(1)
        var deeper = list.nestedContainer(keyedBy: Key.self)
        try deeper.encodeNil(forKey: Key("n"))
        _ = list.nestedUnkeyedContainer()
        _ = list.superEncoder()
        try list.encode(2)
        try container.encode(2, forKey: Key("b"))
        _ = container.superEncoder()
        let sup = container.superEncoder(forKey: Key("sup"))
        var single = sup.singleValueContainer()
        try single.encode([true, false])
        try container.encode(3, forKey: Key("c"))
    }
}

/// A nested container written to after its parent went on: only the tree can place it.
private struct NestedOutOfOrder: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        var inner = container.nestedContainer(keyedBy: Key.self, forKey: Key("inner"))
        var list = container.nestedUnkeyedContainer(forKey: Key("list"))
        try container.encode(1, forKey: Key("a"))
        try inner.encode("late", forKey: Key("x"))
        try list.encode(5)
        try container.encode(2, forKey: Key("b"))
    }
}

/// A key written twice keeps its first position and its last value.
private struct RepeatedKey: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for index in 0..<6 { try container.encode(index, forKey: Key("k\(index)")) }
        try container.encode("again", forKey: Key("k1"))
        try container.encode("late", forKey: Key("k5"))
    }
}

/// An encoder that changes its mind: keyed, then unkeyed, then a single value.
private struct ChangesItsMind: Encodable {
    var stage: Int
    func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: Key.self)
        try keyed.encode(1, forKey: Key("a"))
        if stage > 0 {
            var unkeyed = encoder.unkeyedContainer()
            try unkeyed.encode(2)
        }
        if stage > 1 {
            var single = encoder.singleValueContainer()
            try single.encode("three")
        }
    }
}

/// A value that swallows the error of an integer JavaScript cannot hold and goes on.
private struct SwallowsErrors: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(1, forKey: Key("a"))
        try? container.encode(UInt64.max, forKey: Key("big"))
        var list = container.nestedUnkeyedContainer(forKey: Key("list"))
        try? list.encode(Int64.max)
        try list.encode(Int64(1) << 60)
        try? container.encode(Failing(), forKey: Key("failing"))
        try container.encode(2, forKey: Key("b"))
    }

    struct Failing: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode("partial", forKey: Key("p"))
            throw CancellationError()
        }
    }
}

/// Encodes nothing at all.
private struct Silent: Encodable {
    func encode(to encoder: any Encoder) throws {}
}

private struct Wrapped<Value: Encodable>: Encodable {
    var value: Value
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

private final class Link: Encodable {
    var next: Link?
    enum CodingKeys: String, CodingKey { case next }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(next, forKey: .next)
    }
}

private struct Deep: Encodable {
    var levels: Int
    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if levels > 0 { try container.encode(Deep(levels: levels - 1)) }
    }
}

private struct DeepContainers: Encodable {
    var levels: Int
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for _ in 0..<levels { container = container.nestedContainer(keyedBy: Key.self, forKey: Key("down")) }
    }
}

@Suite("JSON text encoder (streaming)")
struct JSONTextEncodingTests {
    @Test func aRichValueStreamsTheTreesBytes() throws {
        #expect(try streamed(person) != nil)
        sameAsTree(person)
        sameAsTree([person, person])
        sameAsTree(["one": person])
    }

    @Test func theBenchmarkMessage() throws {
        struct Sample: Codable { var seq: Int; var payload: String }
        #expect(try streamed(Sample(seq: 123_456, payload: "hello")) == #"{"seq":123456,"payload":"hello"}"#)
        sameAsTree(Sample(seq: 123_456, payload: "hello"))
    }

    @Test func scalarsAtTheTopAndNumbersInEveryForm() throws {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e21, 1e-7, 123e-20, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 9.0e18, 8.999999999999999e18, -9.5e18, 2e53,
            .nan, .infinity, -.infinity, 1.5, -2.5e-300,
        ]
        for double in doubles {
            sameAsTree(double)
            sameAsTree([double])
            sameAsTree(Float(double))
        }
        for integer: Int64 in [0, 1, -1, 9, 10, 99, 100, 1 << 53, -(1 << 53), (1 << 53) + 1, 1 << 60, .max, .min] { sameAsTree(integer) }
        for integer: UInt64 in [0, 1 << 63, .max, .max - 2047, 9_000_000_000_000_000_000] { sameAsTree([integer]) }
        sameAsTree([Int8.min, Int8.max])
        sameAsTree([UInt8.max])
        sameAsTree([Int16.min])
        sameAsTree([UInt16.max])
        sameAsTree([Int32.min])
        sameAsTree([UInt32.max])
        sameAsTree([UInt.max])
        sameAsTree(Int.min)
        sameAsTree("text \u{2028}\u{2029}\u{0}\u{1f}")
        sameAsTree(true)
        sameAsTree(Date(timeIntervalSince1970: -62_135_596_800.5))
        sameAsTree(Data([1, 2, 3]))
        sameAsTree(Optional<Int>.none)
        sameAsTree(URL(string: "https://example.com")!)
        sameAsTree(JSONValue.binary(ByteBuffer(bytes: [1])))
        sameAsTree(["a": JSONValue.date(Date(timeIntervalSince1970: 1))])
    }

    @Test func bytesAtTheTopAreABinaryMessageHoweverWrapped() throws {
        #expect(try parserMessage(Data([1, 2])).get() == .binary(ByteBuffer(bytes: [1, 2])))
        #expect(try parserMessage(Wrapped(value: Data([1, 2]))).get() == .binary(ByteBuffer(bytes: [1, 2])))
        #expect(try parserMessage(Wrapped(value: JSONValue.binary(ByteBuffer(bytes: [3])))).get() == .binary(ByteBuffer(bytes: [3])))
        #expect(try parserMessage(Wrapped(value: Wrapped(value: Data([4])))).get() == .binary(ByteBuffer(bytes: [4])))
        sameAsTree(Wrapped(value: [Data([5])]))
        #expect(try streamed(Wrapped(value: [Data([5])])) == #"[{"type":"Buffer","data":[5]}]"#)
    }

    @Test func nestedContainersAndSuperEncodersFilledInOrderStream() throws {
        #expect(try streamed(NestedInOrder()) == #"{"a":1,"inner":{"x":"x","list":[1,{"n":null},[],{},2]},"b":2,"super":{},"sup":[true,false],"c":3}"#)
        sameAsTree(NestedInOrder())
        #expect(try streamed(Dog(name: "Rex")) == #"{"good":true,"super":{"name":"Rex"}}"#)
        sameAsTree(Dog(name: "Rex"))
        #expect(try streamed(Cat(name: "Tom")) == #"{"lives":9,"name":"Tom"}"#)
        sameAsTree(Cat(name: "Tom"))
    }

    @Test func containersWrittenOutOfOrderGoThroughTheTree() throws {
        #expect(try streamed(NestedOutOfOrder()) == nil)
        sameAsTree(NestedOutOfOrder())
        #expect(String(buffer: try parserMessage(NestedOutOfOrder()).get().buffer) == #"{"inner":{"x":"late"},"list":[5],"a":1,"b":2}"#)
        #expect(try streamed(RepeatedKey()) == nil)
        sameAsTree(RepeatedKey())
        #expect(String(buffer: try parserMessage(RepeatedKey()).get().buffer) == #"{"k0":0,"k1":"again","k2":2,"k3":3,"k4":4,"k5":"late"}"#)
        for stage in 0...2 {
            sameAsTree(ChangesItsMind(stage: stage))
            #expect(try (streamed(ChangesItsMind(stage: stage)) == nil) == (stage > 0))
        }
    }

    @Test func manyKeysAreCheckedForRepeatsToo() throws {
        var table: [String: Int] = [:]
        for index in 0..<100 { table["key\(index)"] = index }
        #expect(try streamed(table) != nil)
        sameAsTree(table)
        struct ManyThenRepeat: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                for index in 0..<40 { try container.encode(index, forKey: Key("k\(index)")) }
                try container.encode(-1, forKey: Key("k17"))
            }
        }
        #expect(try streamed(ManyThenRepeat()) == nil)
        sameAsTree(ManyThenRepeat())
    }

    @Test func caughtErrorsLeaveWhatTheTreeLeaves() throws {
        #expect(try streamed(SwallowsErrors()) != nil)
        sameAsTree(SwallowsErrors())
        #expect(String(buffer: try parserMessage(SwallowsErrors()).get().buffer) == #"{"a":1,"list":[1152921504606846976],"failing":{"p":"partial"},"b":2}"#)
    }

    @Test func errorsAreTheTreesErrors() throws {
        sameAsTree(Silent())
        sameAsTree([Silent()])
        #expect(try streamed([Silent()]) == "[{}]")
        sameAsTree(["big": UInt64.max])
        sameAsTree([[Int64(1) << 53 + 1]])
        let error = #expect(throws: PrimusError.self) { try JSONParser().encode(encodable: [["n": UInt64.max]]) }
        #expect(error?.message.contains("[0].n") == true)
    }

    @Test func depthLimitAndCircularGraphsAreTheTreesErrors() {
        let link = Link()
        link.next = link
        defer { link.next = nil }
        sameAsTree(link)
        let error = #expect(throws: PrimusError.self) { try JSONParser().encode(encodable: link) }
        #expect(error?.message.contains("deeper than \(PrimusParsers.maximumDepth)") == true)
        sameAsTree(Deep(levels: 100_000))
        sameAsTree(DeepContainers(levels: 100_000))
        sameAsTree(Deep(levels: PrimusParsers.maximumDepth))
        sameAsTree(Deep(levels: PrimusParsers.maximumDepth + 1))
        sameAsTree(DeepContainers(levels: PrimusParsers.maximumDepth))
        sameAsTree(DeepContainers(levels: PrimusParsers.maximumDepth + 1))
        var wrapped: any Encodable = 1
        for _ in 0..<(PrimusParsers.maximumDepth + 2) { wrapped = Wrapped(value: AnyEncodable(wrapped)) }
        sameAsTree(AnyEncodable(wrapped))
        #expect(throws: PrimusError.self) { try JSONParser().encode(encodable: AnyEncodable(wrapped)) }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func generatedValuesStreamTheTreesBytes(seed: UInt64) throws {
        var maker = ShapeMaker(generator: SeededGenerator(seed: seed))
        var streamedCount = 0
        for _ in 0..<60 {
            let shape = maker.shape()
            sameAsTree(shape)
            if case .success = treeMessage(shape), try streamed(shape) != nil { streamedCount += 1 }
            // At the top, bytes may make a binary message: only the tree decides that.
            if case .success = treeMessage(shape), !shape.irregular, shape.isContainer {
                #expect(try streamed(shape) != nil, "a regular value streams")
            }
        }
        #expect(streamedCount > 20, "most generated values stream rather than fall back")
    }
}

private struct AnyEncodable: Encodable {
    var value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// A generated `Encodable` value that uses every part of the `Encoder` API: the concrete and
/// generic encode calls, nested containers, super encoders, single-value wrappers, optionals,
/// dates, bytes, URLs, raw ``JSONValue``s, repeated keys and late writes.
private indirect enum GeneratedShape: Encodable {
    case null
    case bool(Bool)
    case int(Int)
    case int64(Int64)
    case uint64(UInt64)
    case int8(Int8)
    case uint16(UInt16)
    case double(Double)
    case float(Float)
    case string(String)
    case date(Date)
    case data(Data)
    case url(URL)
    case json(JSONValue)
    case optional(GeneratedShape?)
    case wrapped(GeneratedShape)
    case silent
    /// Members, each written in one of several ways (`how`).
    case keyed([(key: String, how: Int, value: GeneratedShape)])
    case unkeyed([(how: Int, value: GeneratedShape)])
    /// A nested container written after the parent went on: the tree must take over.
    case late(GeneratedShape)

    /// Whether the value writes out of order or repeats keys (the tree takes over).
    var irregular: Bool {
        switch self {
        case .late: return true
        case .optional(let inner?): return inner.irregular
        case .wrapped(let inner): return inner.irregular
        case .keyed(let members):
            return Set(members.map(\.key)).count != members.count || members.contains { $0.value.irregular }
        case .unkeyed(let elements): return elements.contains { $0.value.irregular }
        default: return false
        }
    }

    var isContainer: Bool {
        switch self {
        case .keyed, .unkeyed: return true
        default: return false
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .keyed(let members):
            var container = encoder.container(keyedBy: Key.self)
            for member in members { try Self.write(member.value, how: member.how, key: Key(member.key), into: &container) }
        case .unkeyed(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try Self.write(element.value, how: element.how, into: &container) }
        case .late(let value):
            var container = encoder.container(keyedBy: Key.self)
            let late = container.superEncoder(forKey: Key("late"))
            try container.encode(1, forKey: Key("after"))
            try value.encode(to: late)
        case .optional(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .wrapped(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .silent:
            break
        default:
            var container = encoder.singleValueContainer()
            try Self.writeScalar(self, into: &container)
        }
    }

    private static func writeScalar(_ shape: GeneratedShape, into container: inout any SingleValueEncodingContainer) throws {
        switch shape {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .int64(let value): try container.encode(value)
        case .uint64(let value): try container.encode(value)
        case .int8(let value): try container.encode(value)
        case .uint16(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .float(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .date(let value): try container.encode(value)
        case .data(let value): try container.encode(value)
        case .url(let value): try container.encode(value)
        case .json(let value): try container.encode(value)
        default: try container.encode(shape)
        }
    }

    /// `how`: 0 the generic call, 1 the concrete call (scalars) or a nested container
    /// (containers), 2 through a super encoder.
    private static func write(_ shape: GeneratedShape, how: Int, key: Key, into container: inout KeyedEncodingContainer<Key>) throws {
        switch (how, shape) {
        case (1, .null): try container.encodeNil(forKey: key)
        case (1, .bool(let value)): try container.encode(value, forKey: key)
        case (1, .int(let value)): try container.encode(value, forKey: key)
        case (1, .int64(let value)): try container.encode(value, forKey: key)
        case (1, .uint64(let value)): try container.encode(value, forKey: key)
        case (1, .int8(let value)): try container.encode(value, forKey: key)
        case (1, .uint16(let value)): try container.encode(value, forKey: key)
        case (1, .double(let value)): try container.encode(value, forKey: key)
        case (1, .float(let value)): try container.encode(value, forKey: key)
        case (1, .string(let value)): try container.encode(value, forKey: key)
        case (1, .keyed(let members)):
            var nested = container.nestedContainer(keyedBy: Key.self, forKey: key)
            for member in members { try write(member.value, how: member.how, key: Key(member.key), into: &nested) }
        case (1, .unkeyed(let elements)):
            var nested = container.nestedUnkeyedContainer(forKey: key)
            for element in elements { try write(element.value, how: element.how, into: &nested) }
        case (2, _): try shape.encode(to: container.superEncoder(forKey: key))
        default: try container.encode(shape, forKey: key)
        }
    }

    private static func write(_ shape: GeneratedShape, how: Int, into container: inout any UnkeyedEncodingContainer) throws {
        switch (how, shape) {
        case (1, .null): try container.encodeNil()
        case (1, .bool(let value)): try container.encode(value)
        case (1, .int(let value)): try container.encode(value)
        case (1, .int64(let value)): try container.encode(value)
        case (1, .uint64(let value)): try container.encode(value)
        case (1, .double(let value)): try container.encode(value)
        case (1, .string(let value)): try container.encode(value)
        case (1, .date(let value)): try container.encode(value)
        case (1, .keyed(let members)):
            var nested = container.nestedContainer(keyedBy: Key.self)
            for member in members { try write(member.value, how: member.how, key: Key(member.key), into: &nested) }
        case (1, .unkeyed(let elements)):
            var nested = container.nestedUnkeyedContainer()
            for element in elements { try write(element.value, how: element.how, into: &nested) }
        case (2, _): try shape.encode(to: container.superEncoder())
        default: try container.encode(shape)
        }
    }
}

private struct ShapeMaker {
    var generator: SeededGenerator

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

    mutating func string() -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u{1}", "é", "€", "😀", "\u{2028}", "\u{2029}"]
        return String((0..<int(0...12)).map { _ in alphabet[int(0...(alphabet.count - 1))] })
    }

    mutating func double() -> Double {
        switch int(0...4) {
        case 0: return [0, -0.0, .nan, .infinity, -.infinity, 1e21, 1e-7, 9.0e18, 0.1, .leastNonzeroMagnitude][int(0...9)]
        case 1: return Double(int(-1_000_000...1_000_000))
        case 2: return Double.random(in: -1e6...1e6, using: &generator)
        case 3: return Double(bitPattern: generator.next())
        default: return Double(Int64.random(in: .min ... .max, using: &generator))
        }
    }

    mutating func shape(depth: Int = 0) -> GeneratedShape {
        switch int(0...(depth > 3 ? 15 : 21)) {
        case 0: return .null
        case 1: return .bool(int(0...1) == 1)
        case 2: return .int(int(-100_000...100_000))
        case 3: return .int64(int(0...9) == 0 ? Int64.random(in: .min ... .max, using: &generator) : Int64(int(-(1 << 53)...(1 << 53))))
        case 4: return .uint64(int(0...9) == 0 ? UInt64.random(in: 0 ... .max, using: &generator) : UInt64(int(0...(1 << 53))))
        case 5: return .int8(Int8.random(in: .min ... .max, using: &generator))
        case 6: return .uint16(UInt16.random(in: 0 ... .max, using: &generator))
        case 7: return .double(double())
        case 8: return .float(Float(double()))
        case 9: return .string(string())
        case 10: return .date(Date(timeIntervalSince1970: Double(Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)) / 1000))
        case 11: return .data(Data((0..<int(0...5)).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        case 12: return .url(URL(string: "https://example.com/\(int(0...99))")!)
        case 13: return .json(["j": [1, "x", nil, .binary(ByteBuffer(bytes: [2]))]])
        case 14: return .silent
        case 15: return .string(string())
        case 16: return .optional(int(0...1) == 0 ? nil : shape(depth: depth + 1))
        case 17: return .wrapped(shape(depth: depth + 1))
        case 18: return int(0...5) == 0 ? .late(shape(depth: depth + 1)) : .wrapped(shape(depth: depth + 1))
        case 19, 20:
            let count = int(0...6)
            // A repeated key now and then.
            let keys = (0..<count).map { index in int(0...15) == 0 ? "k0" : "k\(index)" }
            return .keyed(keys.map { (key: $0, how: int(0...2), value: shape(depth: depth + 1)) })
        default:
            return .unkeyed((0..<int(0...6)).map { _ in (how: int(0...2), value: shape(depth: depth + 1)) })
        }
    }
}
