/// The `c=` callback of the `htmlfile` and `jsonp` transports, checked before it is written into
/// a page or a script: only `[a-zA-Z0-9-_.]`, so no markup or script can ride in on it.
public struct SockJSCallbackName: Sendable, Hashable {
    /// The validated name.
    public let name: String

    /// Why a callback was refused, in the words SockJS answers with (`500`).
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// No `c=` at all.
        case missing
        /// `c=` with a character outside the allowed set.
        case invalid

        public var description: String {
            switch self {
            case .missing: return "\"callback\" parameter required"
            case .invalid: return "invalid \"callback\" parameter"
            }
        }
    }

    /// Validates the query's `c` value.
    public init(_ value: String?) throws(Failure) {
        guard let value, !value.isEmpty else { throw .missing }
        let valid = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
        guard valid else { throw .invalid }
        name = value
    }
}
