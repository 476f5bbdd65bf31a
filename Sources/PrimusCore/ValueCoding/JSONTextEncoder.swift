import NIOCore

/// The `Encoder` of ``JSONTextEncoding``: one value's place in the text, which is also the
/// frame of the container (or single value) written there.
///
/// A single-value container's inner value is written by a second encoder one level deeper
/// that shares the outer one's frame (its ``owner``), as the tree encoder shares the node.
final class JSONTextEncoder: Encoder {
    enum Kind { case empty, object, array, leaf }

    /// How this encoder's place is named in its parent's coding path.
    enum Step {
        case none
        case key(any CodingKey)
        case index(Int)
    }

    let state: JSONTextEncodingState
    /// How many values enclose this one (each `encode(to:)` and nested container is a level).
    let depth: Int
    /// The encoder whose frame this one writes, when not its own.
    private let owner: JSONTextEncoder?
    /// The frame this one is nested in on the stack.
    let below: JSONTextEncoder?
    /// The encoder whose coding path this one extends by ``step``.
    private let parent: JSONTextEncoder?
    private let step: Step

    // The frame, used when this encoder is its own owner. Read and written on every write by
    // code that never overlaps its own accesses: no dynamic exclusivity checks.
    @exclusivity(unchecked) var kind = Kind.empty
    /// Open while on the stack; once closed its text is finished.
    @exclusivity(unchecked) var isOpen = true
    /// Members or elements written so far.
    @exclusivity(unchecked) var count = 0
    // The first four member names, then all of them in a set: a name written twice is one the
    // text cannot take back.
    @exclusivity(unchecked) private var key0 = ""
    @exclusivity(unchecked) private var key1 = ""
    @exclusivity(unchecked) private var key2 = ""
    @exclusivity(unchecked) private var key3 = ""
    private var keySet: Set<String>?

    init(state: JSONTextEncodingState, depth: Int, below: JSONTextEncoder?, parent: JSONTextEncoder?, step: Step) {
        self.state = state
        self.depth = depth
        self.owner = nil
        self.below = below
        self.parent = parent
        self.step = step
    }

    /// An encoder one level below `outer` writing `outer`'s frame, for a single value.
    private init(innerOf outer: JSONTextEncoder) {
        self.state = outer.state
        self.depth = outer.depth + 1
        self.owner = outer.frame
        self.below = nil
        self.parent = outer.parent
        self.step = outer.step
    }

    /// A frame that is already closed, for containers handed out after a failure: every write
    /// to it throws.
    static func closed(_ state: JSONTextEncodingState, like encoder: JSONTextEncoder) -> JSONTextEncoder {
        let frame = JSONTextEncoder(state: state, depth: encoder.depth, below: nil, parent: encoder.parent, step: encoder.step)
        frame.isOpen = false
        return frame
    }

    /// The encoder that holds the frame this one writes.
    var frame: JSONTextEncoder { owner ?? self }

    var codingPath: [any CodingKey] {
        var steps: [any CodingKey] = []
        var encoder: JSONTextEncoder? = self
        while let current = encoder {
            switch current.step {
            case .none: break
            case .key(let key): steps.append(key)
            case .index(let index): steps.append(ValueCodingKey(index: index))
            }
            encoder = current.parent
        }
        return steps.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { state.userInfo }

    /// Records member name `key`; `false` when the object already has it.
    func claim(_ key: String) -> Bool {
        switch count {
        case 0: key0 = key
        case 1:
            if key == key0 { return false }
            key1 = key
        case 2:
            if key == key0 || key == key1 { return false }
            key2 = key
        case 3:
            if key == key0 || key == key1 || key == key2 { return false }
            key3 = key
        default:
            if keySet == nil { keySet = [key0, key1, key2, key3] }
            return keySet!.insert(key).inserted
        }
        return true
    }

    /// Writes `value` as this encoder's value: directly when the tree takes it as one value,
    /// else through its `encode(to:)`.
    func encodeValue<T: Encodable>(_ value: T) throws {
        try state.check()
        if try state.writeScalar(value, codingPath: { codingPath }, begin: { try state.beginLeaf(frame) }) { return }
        guard state.admits(depth: depth, codingPath: { codingPath }) else {
            try state.check()
            return
        }
        try value.encode(to: self)
        try state.check()
    }

    /// A new frame nested in `frame` (just written to, so on top of the stack), one level down.
    func child(_ step: Step) -> JSONTextEncoder {
        let child = JSONTextEncoder(state: state, depth: depth + 1, below: frame, parent: self, step: step)
        state.push(child)
        return child
    }

    /// The encoder for a single value's inner value.
    func inner() -> JSONTextEncoder { JSONTextEncoder(innerOf: self) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(JSONTextKeyedContainer<Key>(encoder: self, frame: open(.object)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        JSONTextUnkeyedContainer(encoder: self, frame: open(.array))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONTextSingleValueContainer(encoder: self)
    }

    /// The frame to write a container of `kind` to: this encoder's, opened as that kind the
    /// first time, or a closed one after a failure or when the frame already holds something
    /// else (the tree would replace it; the text cannot).
    private func open(_ kind: Kind) -> JSONTextEncoder {
        guard state.admits(depth: depth, codingPath: { codingPath }) else { return Self.closed(state, like: self) }
        let frame = self.frame
        if frame.kind == kind { return frame }
        guard frame.kind == .empty, frame.isOpen else {
            _ = state.fallBack()
            return Self.closed(state, like: self)
        }
        do {
            try state.open(frame)
        } catch {
            return Self.closed(state, like: self)
        }
        frame.kind = kind
        state.writer.buffer.writeInteger(kind == .object ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return frame
    }
}
