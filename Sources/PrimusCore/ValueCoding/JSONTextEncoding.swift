import NIOCore
import struct Foundation.Data
import struct Foundation.Date
import struct Foundation.URL

/// Encodes `Encodable` values straight to JSON text in a `ByteBuffer`, with no ``JSONValue``
/// tree in between: the json parser's typed path (``JSONParser/encode(encodable:for:)``).
///
/// The bytes are those of ``JSONValueEncoder`` followed by ``JSONWriter``, which stays the
/// reference: keys in the order encoded, dates as JavaScript's ISO text, `Data` as a Node
/// `Buffer`, integers beyond 2^53 an error, the same depth limit and the same error messages.
///
/// A value is written as its `encode(to:)` runs. Containers stand on a stack: writing to a
/// container first closes every container opened after it, so a nested container filled before
/// its parent goes on is written in place. What text already written cannot follow (writing to
/// a container that was closed, a key written twice, an encoder that changes its mind between
/// keyed, unkeyed and single values) makes ``encode(_:)`` give up and return `nil`; the caller
/// then encodes through the tree, which merges as it always has. Such a value's `encode(to:)`
/// then runs twice.
enum JSONTextEncoding {
    /// The JSON text of `value`, or `nil` when its `encode(to:)` used the `Encoder` API in a way
    /// only the tree can follow.
    static func encode<T: Encodable>(_ value: T) throws(PrimusError) -> ByteBuffer? {
        // Bytes and values at the top level may be binary messages: the caller's business.
        if T.self == Data.self || T.self == JSONValue.self { return nil }
        let state = JSONTextEncodingState()
        let root = JSONTextEncoder(state: state, depth: 0, below: nil, parent: nil, step: .none)
        state.top = root
        // The stack holds encoders that hold the state: let go of it whatever happens.
        defer { state.top = nil }
        do {
            try root.encodeValue(value)
            try state.check()
        } catch {
            if state.irregular { return nil }
            throw PrimusError.encodingFailed(ValueCodingText.describe(state.failure ?? error))
        }
        if state.irregular { return nil }
        guard root.kind != .empty else {
            throw PrimusError.encodingFailed("\(T.self) did not encode any value")
        }
        state.closeThrough(root)
        return state.writer.buffer
    }
}

/// Thrown through the value's `encode(to:)` once the streaming writer has given up on it.
struct JSONTextEncodingFallback: Error {}

/// What the encoders of one ``JSONTextEncoding/encode(_:)`` call share: the text, the stack of
/// open containers, and the first failure.
final class JSONTextEncodingState {
    // Touched on every write by code that never overlaps its own accesses, so the dynamic
    // exclusivity checks of a class property would only cost time.
    @exclusivity(unchecked) var writer = JSONWriter(capacity: 64)
    /// The innermost open container (its encoder); each one's ``JSONTextEncoder/below`` is the
    /// one it is nested in.
    @exclusivity(unchecked) var top: JSONTextEncoder?
    /// The first failure met where the `Encoder` API cannot throw (a container asked for too
    /// deep); every later call throws it.
    var failure: (any Error)? {
        didSet { stopped = true }
    }
    /// Set once the value used the API in a way the text cannot follow: the tree takes over.
    var irregular = false {
        didSet { stopped = true }
    }
    /// Whether either of the above is set: the one flag every write checks.
    @exclusivity(unchecked) private var stopped = false

    let userInfo: [CodingUserInfoKey: Any] = [:]

    /// Throws the fallback marker or the recorded failure, if any.
    func check() throws {
        guard stopped else { return }
        if irregular { throw JSONTextEncodingFallback() }
        if let failure { throw failure }
    }

    /// Gives up on streaming; returns the marker to throw.
    func fallBack() -> JSONTextEncodingFallback {
        irregular = true
        return JSONTextEncodingFallback()
    }

    /// Whether a value or container at `depth` is within the limit; records the failure (with
    /// the path, only then computed) if not.
    func admits(depth: Int, codingPath: () -> [any CodingKey]) -> Bool {
        guard !stopped else { return false }
        guard depth > PrimusParsers.maximumDepth else { return true }
        failure = EncodingError.invalidValue(
            depth,
            EncodingError.Context(
                codingPath: codingPath(),
                debugDescription: "value nested deeper than \(PrimusParsers.maximumDepth) levels (a circular reference?)"
            )
        )
        return false
    }

    /// Makes `frame` the innermost open container, closing those opened after it; a closed
    /// frame cannot be written again.
    func open(_ frame: JSONTextEncoder) throws {
        guard frame.isOpen else { throw fallBack() }
        while let innermost = top, innermost !== frame { close(innermost) }
    }

    /// Closes `frame` and everything opened after it, if still open.
    func closeThrough(_ frame: JSONTextEncoder) {
        guard frame.isOpen else { return }
        while let innermost = top {
            close(innermost)
            if innermost === frame { return }
        }
    }

    private func close(_ frame: JSONTextEncoder) {
        switch frame.kind {
        case .empty: writer.buffer.writeStaticString("{}")  // as the tree resolves an empty node
        case .object: writer.buffer.writeInteger(UInt8(ascii: "}"))
        case .array: writer.buffer.writeInteger(UInt8(ascii: "]"))
        case .leaf: break
        }
        frame.isOpen = false
        top = frame.below
    }

    /// Starts member `key` of the object `frame`: separator, name and colon.
    func beginMember(_ frame: JSONTextEncoder, _ key: String) throws {
        try open(frame)
        guard frame.kind == .object, frame.claim(key) else { throw fallBack() }
        if frame.count > 0 { writer.buffer.writeInteger(UInt8(ascii: ",")) }
        frame.count += 1
        writer.writeString(key)
        writer.buffer.writeInteger(UInt8(ascii: ":"))
    }

    /// Starts the next element of the array `frame`.
    func beginElement(_ frame: JSONTextEncoder) throws {
        try open(frame)
        guard frame.kind == .array else { throw fallBack() }
        if frame.count > 0 { writer.buffer.writeInteger(UInt8(ascii: ",")) }
        frame.count += 1
    }

    /// Starts the single value of `frame`.
    func beginLeaf(_ frame: JSONTextEncoder) throws {
        try open(frame)
        guard frame.kind == .empty else { throw fallBack() }
        frame.kind = .leaf
    }

    /// Pushes a new container frame; `begin` has just opened its parent, so the parent is on top.
    func push(_ frame: JSONTextEncoder) {
        top = frame
    }

    /// Writes `value` when it is one of the types the tree encoder takes as one value (the
    /// scalars, `Date`, `Data`, `URL`, ``JSONValue``), checking it first and then calling
    /// `begin` to write what goes before it. `false` for any other type.
    func writeScalar<T: Encodable>(_ value: T, codingPath: () -> [any CodingKey], begin: () throws -> Void) throws -> Bool {
        if T.self == String.self {
            try begin()
            writer.writeString(value as! String)
        } else if T.self == Int.self {
            try writeInteger(value as! Int, codingPath: codingPath, begin: begin)
        } else if T.self == Double.self {
            try begin()
            writer.writeNumber(value as! Double)
        } else if T.self == Bool.self {
            try begin()
            writer.buffer.writeStaticString((value as! Bool) ? "true" : "false")
        } else if T.self == Int64.self {
            try writeInteger(value as! Int64, codingPath: codingPath, begin: begin)
        } else if T.self == UInt64.self {
            try writeInteger(value as! UInt64, codingPath: codingPath, begin: begin)
        } else if T.self == Int32.self {
            try writeInteger(value as! Int32, codingPath: codingPath, begin: begin)
        } else if T.self == UInt32.self {
            try writeInteger(value as! UInt32, codingPath: codingPath, begin: begin)
        } else if T.self == UInt.self {
            try writeInteger(value as! UInt, codingPath: codingPath, begin: begin)
        } else if T.self == Int16.self {
            try writeInteger(value as! Int16, codingPath: codingPath, begin: begin)
        } else if T.self == UInt16.self {
            try writeInteger(value as! UInt16, codingPath: codingPath, begin: begin)
        } else if T.self == Int8.self {
            try writeInteger(value as! Int8, codingPath: codingPath, begin: begin)
        } else if T.self == UInt8.self {
            try writeInteger(value as! UInt8, codingPath: codingPath, begin: begin)
        } else if T.self == Float.self {
            try begin()
            writer.writeNumber(Double(value as! Float))
        } else if T.self == Date.self {
            try begin()
            writer.writeString(JSONDateText.iso8601(value as! Date))
        } else if T.self == Data.self {
            try begin()
            writer.writeNodeBuffer(bytes: value as! Data)
        } else if T.self == URL.self {
            try begin()
            writer.writeString((value as! URL).absoluteString)
        } else if T.self == JSONValue.self {
            try begin()
            writer.write(value as! JSONValue)
        } else {
            return false
        }
        return true
    }

    /// Writes an integer that a `Double` (a JavaScript number) holds exactly, else throws the
    /// tree encoder's error before anything is written.
    func writeInteger<I: BinaryInteger>(_ value: I, codingPath: () -> [any CodingKey], begin: () throws -> Void) throws {
        guard let number = Double(exactly: value) else {
            throw EncodingError.invalidValue(
                value,
                EncodingError.Context(
                    codingPath: codingPath(),
                    debugDescription: "\(value) is beyond 2^53 and has no exact Double (JavaScript number) form"
                )
            )
        }
        try begin()
        if number.magnitude < 9.0e18 {
            writer.writeDecimal(Int64(value))
        } else {
            writer.writeNumber(number)
        }
    }
}
