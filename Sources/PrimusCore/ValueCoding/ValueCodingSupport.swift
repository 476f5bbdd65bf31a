/// A coding key for array positions and arbitrary member names, used by the value coders and the
/// MessagePack coders for the paths they report and for `super` keys.
struct ValueCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    init(index: Int) { self.init(intValue: index) }

    /// The key `superEncoder()` and `superDecoder()` use, as Foundation's coders do.
    static let `super` = ValueCodingKey(stringValue: "super")
}

/// Turning coding paths and `Codable` errors into the short messages a ``PrimusError`` carries.
enum ValueCodingText {
    /// `a.b[2].c`, or `the top level` for an empty path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return "the top level" }
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text
    }

    /// What kind of value `value` is, in the words an error message uses.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        case .binary: return "binary data"
        case .date: return "a date"
        case .extension: return "an extension value"
        }
    }

    /// One line for any error thrown while encoding or decoding, naming the path it happened at.
    static func describe(_ error: any Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return "\(context.debugDescription) (at \(path(context.codingPath)))"
            case .keyNotFound(let key, let context):
                return "missing key \"\(key.stringValue)\" (at \(path(context.codingPath)))"
            @unknown default:
                return "\(error)"
            }
        }
        if let error = error as? EncodingError {
            switch error {
            case .invalidValue(_, let context):
                return "\(context.debugDescription) (at \(path(context.codingPath)))"
            @unknown default:
                return "\(error)"
            }
        }
        return "\(error)"
    }
}
