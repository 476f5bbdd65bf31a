/// Every error swift-primus reports: configuration mistakes, undecodable input, protocol
/// violations by a peer.
///
/// An extensible struct rather than an enum, so new cases do not break users' `switch`es; compare
/// with the static members (`error.code == .decodingFailed`). ``webSocketCloseCode`` is the one
/// place that maps an error to what the peer is told.
public struct PrimusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unsupportedParser, unsupportedTransformer, invalidConfiguration
            case decodingFailed, encodingFailed, messageTooLarge, invalidUTF8, protocolViolation
            case sparkClosed, connectionFailed, timeout, serverClosed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A parser name that no parser answers to.
        public static let unsupportedParser = Code(.unsupportedParser)
        /// A transformer name that no transformer answers to.
        public static let unsupportedTransformer = Code(.unsupportedTransformer)
        /// An option out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Incoming data the parser could not decode (the message is dropped, the connection stays).
        public static let decodingFailed = Code(.decodingFailed)
        /// Outgoing data the parser could not encode (the message is dropped).
        public static let encodingFailed = Code(.encodingFailed)
        /// A message longer than `maxLength`.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// A text message that is not UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A peer broke the transport protocol's rules.
        public static let protocolViolation = Code(.protocolViolation)
        /// The spark or connection is already closed.
        public static let sparkClosed = Code(.sparkClosed)
        /// A connection could not be established.
        public static let connectionFailed = Code(.connectionFailed)
        /// Something did not happen in time.
        public static let timeout = Code(.timeout)
        /// The server ended the connection on purpose (`primus::server::close`).
        public static let serverClosed = Code(.serverClosed)

        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable explanation, naming the offending value where there is one.
    public var message: String

    /// Creates an error of kind `code`.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// `Unsupported parser: "name"`, as Primus words it.
    public static func unsupportedParser(_ name: String) -> PrimusError {
        PrimusError(code: .unsupportedParser, message: "Unsupported parser: \"\(name)\"")
    }

    /// `Unsupported transformer: "name"`, as Primus words it.
    public static func unsupportedTransformer(_ name: String) -> PrimusError {
        PrimusError(code: .unsupportedTransformer, message: "Unsupported transformer: \"\(name)\"")
    }

    /// An option with a value it cannot take.
    public static func invalidConfiguration(_ detail: String) -> PrimusError {
        PrimusError(code: .invalidConfiguration, message: detail)
    }

    /// `Failed to decode incoming data: …`, as Primus words it.
    public static func decodingFailed(_ detail: String) -> PrimusError {
        PrimusError(code: .decodingFailed, message: "Failed to decode incoming data: \(detail)")
    }

    /// `Failed to encode outgoing data: …`, as Primus words it.
    public static func encodingFailed(_ detail: String) -> PrimusError {
        PrimusError(code: .encodingFailed, message: "Failed to encode outgoing data: \(detail)")
    }

    /// A message over the configured limit.
    public static func messageTooLarge(limit: Int) -> PrimusError {
        PrimusError(code: .messageTooLarge, message: "Message exceeds the maximum length of \(limit) bytes")
    }

    /// A text message that is not UTF-8.
    public static let invalidUTF8 = PrimusError(code: .invalidUTF8, message: "Text message is not valid UTF-8")

    /// A transport protocol violation.
    public static func protocolViolation(_ detail: String) -> PrimusError {
        PrimusError(code: .protocolViolation, message: detail)
    }

    /// The spark or connection is closed.
    public static let sparkClosed = PrimusError(code: .sparkClosed, message: "The connection is closed")

    /// The WebSocket close code that tells a peer about this error (RFC 6455 section 7.4.1).
    public var webSocketCloseCode: UInt16 {
        switch code {
        case .messageTooLarge: return 1009
        case .invalidUTF8, .decodingFailed: return 1007
        case .protocolViolation: return 1002
        default: return 1011
        }
    }
}
