import NIOCore

/// A keyed container of ``MessagePackDecoder``: the map is scanned once for where each key's
/// value is, and values are decoded from there when asked for.
struct MessagePackKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: MessagePackDecoding
    var codingPath: [any CodingKey] { decoder.codingPath }
    /// The keys in the map's order, each once.
    private let keys: [String]
    /// Where each key's (last) value is.
    private let offsets: [String: Int]

    init(decoder: MessagePackDecoding, count: Int, scanner: inout MessagePackScanner) throws(MessagePackFailure) {
        self.decoder = decoder
        var keys: [String] = []
        var offsets: [String: Int] = [:]
        keys.reserveCapacity(count)
        offsets.reserveCapacity(count)
        for _ in 0..<count {
            let key = try MessagePackReader.readKey(&scanner)
            if offsets.updateValue(scanner.index, forKey: key) == nil { keys.append(key) }
            try scanner.skipValue()
        }
        self.keys = keys
        self.offsets = offsets
    }

    var allKeys: [Key] { keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { offsets[key.stringValue] != nil }

    private func offset(of key: Key) throws -> Int {
        guard let offset = offsets[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for key \"\(key.stringValue)\""))
        }
        return offset
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.isNil(at: try offset(of: key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.decodeBool(at: offset(of: key), path: path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.decodeString(at: offset(of: key), path: path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.decodeDouble(at: offset(of: key), path: path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.decodeFloat(at: offset(of: key), path: path(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.decodeInteger(type, at: offset(of: key), path: path(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.nested(at: offset(of: key), key: key).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.nested(at: offset(of: key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.nested(at: offset(of: key), key: key).unkeyedContainer()
    }

    /// The value of `super`; a missing one decodes as nil, as in `JSONDecoder`.
    func superDecoder() throws -> any Decoder {
        try superDecoder(named: ValueCodingKey.super)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try superDecoder(named: key)
    }

    private func superDecoder(named key: some CodingKey) throws -> any Decoder {
        if let offset = offsets[key.stringValue] { return decoder.nested(at: offset, key: key) }
        var nilValue = ByteBuffer()
        nilValue.writeMessagePackNil()
        return MessagePackDecoding(buffer: nilValue, offset: 0, codingPath: codingPath + [key], userInfo: decoder.userInfo, depth: decoder.depth + 1)
    }
}

/// An unkeyed container of ``MessagePackDecoder``: the array's elements in order.
struct MessagePackUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let decoder: MessagePackDecoding
    var codingPath: [any CodingKey] { decoder.codingPath }
    let count: Int?
    private(set) var currentIndex = 0
    /// At the next element.
    private var scanner: MessagePackScanner

    init(decoder: MessagePackDecoding, count: Int, scanner: MessagePackScanner) {
        self.decoder = decoder
        self.count = count
        self.scanner = scanner
    }

    var isAtEnd: Bool { currentIndex >= count ?? 0 }

    private var path: [any CodingKey] { codingPath + [ValueCodingKey(index: currentIndex)] }

    /// Decodes the next element with `body` (given its offset and path) and moves past it.
    private mutating func next<T>(_ type: T.Type, _ body: (MessagePackDecoding, Int, [any CodingKey]) throws -> T) throws -> T {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(codingPath: path, debugDescription: "no element left in the array of \(count ?? 0)"))
        }
        let offset = scanner.index
        let value = try body(decoder, offset, path)
        do {
            try scanner.skipValue()
        } catch {
            throw MessagePackDecoding.corrupted(error, codingPath: path)
        }
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, decoder.isNil(at: scanner.index) else { return false }
        return try next(Bool.self) { _, _, _ in true }
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try $0.decodeBool(at: $1, path: $2) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try $0.decodeString(at: $1, path: $2) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try $0.decodeDouble(at: $1, path: $2) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try $0.decodeFloat(at: $1, path: $2) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try $0.decodeInteger(type, at: $1, path: $2) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next(type) { try $0.nested(at: $1, key: $2.last).decodeValue(type) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next(KeyedDecodingContainer<NestedKey>.self) { try $0.nested(at: $1, key: $2.last).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next((any UnkeyedDecodingContainer).self) { try $0.nested(at: $1, key: $2.last).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next((any Decoder).self) { $0.nested(at: $1, key: $2.last) }
    }
}
