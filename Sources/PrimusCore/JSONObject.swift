/// The members of a JSON object, in insertion order.
///
/// JavaScript keeps an object's keys in the order they were added, and Primus applications
/// compare, sign and diff the payloads they echo, so a decoded object is written back with its
/// keys in the order they arrived. Equality and hashing ignore the order, as `Dictionary` did:
/// two objects with the same members are equal.
///
/// A key set twice keeps its first position and takes the last value, as `JSON.parse` does.
/// Lookups go through a dictionary of positions, so building an object of n keys costs O(n)
/// however hostile its keys.
public struct JSONObject: Sendable {
    /// The members in insertion order: one allocation for a small object.
    private var entries: [(key: String, value: JSONValue)] = []
    /// Each key's position in `entries`, kept once the object outgrows a linear scan (so
    /// building an object of n keys is O(n) however many there are); empty before that.
    private var positions: [String: Int] = [:]

    /// Objects up to this size find keys by scanning, without a dictionary.
    private static let scanLimit = 8

    /// An empty object.
    public init() {}

    /// An object with `members`, in their order; a repeated key keeps its first position and
    /// its last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        for (key, value) in members { self[key] = value }
    }

    /// An object with the members of `dictionary`, in the dictionary's (unspecified) order.
    public init(_ dictionary: [String: JSONValue]) {
        self.init(dictionary.lazy.map { ($0.key, $0.value) })
    }

    /// The keys in insertion order.
    public var keys: [String] { entries.map(\.key) }

    /// The values in the order of their keys.
    public var values: [JSONValue] { entries.map(\.value) }

    /// The value of `key`; setting `nil` removes the member (O(n)), setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let position = position(of: key) {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    remove(at: position)
                }
            } else if let newValue {
                entries.append((key, newValue))
                if !positions.isEmpty {
                    positions[key] = entries.count - 1
                } else if entries.count > Self.scanLimit {
                    indexEntries()
                }
            }
        }
    }

    /// Reserves room for `capacity` members.
    public mutating func reserveCapacity(_ capacity: Int) {
        entries.reserveCapacity(capacity)
    }

    /// The members as a dictionary (order lost).
    public var dictionary: [String: JSONValue] {
        Dictionary(entries.lazy.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    private func position(of key: String) -> Int? {
        if !positions.isEmpty { return positions[key] }
        return entries.firstIndex { $0.key == key }
    }

    private mutating func indexEntries() {
        positions = [:]
        positions.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() { positions[entry.key] = index }
    }

    private mutating func remove(at position: Int) {
        entries.remove(at: position)
        if !positions.isEmpty {
            if entries.count > Self.scanLimit { indexEntries() } else { positions = [:] }
        }
    }
}

extension JSONObject: RandomAccessCollection {
    /// One member: its key and value.
    public typealias Element = (key: String, value: JSONValue)

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }

    public subscript(position: Int) -> (key: String, value: JSONValue) {
        entries[position]
    }
}

extension JSONObject: Hashable {
    /// Same members, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs {
            guard rhs[key] == value else { return false }
        }
        return true
    }

    /// A hash that ignores member order (members hashed apart, then combined commutatively).
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (key, value) in self {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined ^= member.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// An object with the literal's members, in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
