/// The parameters of a negotiated permessage-deflate extension (RFC 7692), and the server's side of
/// the negotiation.
///
/// A server reads the client's `Sec-WebSocket-Extensions` offers, accepts the first one it can
/// honour, answers with ``responseHeaderValue``, and compresses with ``compressor(for:)``:
///
/// ```swift
/// if let deflate = PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"]) {
///     responseHeaders.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeaderValue)
///     var assembler = WebSocketMessageAssembler(maxMessageLength: limit, decompressor: deflate.decompressor(for: .server))
///     var compressor = deflate.compressor(for: .server)
/// }
/// ```
///
/// Every offer this type parses is honoured: a window of 8 bits (256 bytes), which zlib's raw
/// deflate cannot produce, is served by Huffman-only compression, which never refers back at all.
/// Offers that break RFC 7692 section 7 (unknown, repeated or malformed parameters, window bits
/// outside 8...15) are declined, so the next offer or no extension is used.
public struct PerMessageDeflateParameters: Hashable, Sendable {
    /// Which end of the connection a compressor or decompressor works for.
    public enum Role: Hashable, Sendable {
        /// The server: it compresses with the `server_*` parameters, inflates with the `client_*` ones.
        case server
        /// The client: it compresses with the `client_*` parameters, inflates with the `server_*` ones.
        case client
    }

    /// The extension's name in `Sec-WebSocket-Extensions`.
    public static let extensionName = "permessage-deflate"

    /// The server resets its compression context after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compression context after every message.
    public var clientNoContextTakeover: Bool
    /// The base-2 logarithm of the server's LZ77 window (8...15; 15 when not negotiated).
    public var serverMaxWindowBits: Int
    /// The base-2 logarithm of the client's LZ77 window (8...15; 15 when not negotiated).
    public var clientMaxWindowBits: Int
    /// Whether the response names `server_max_window_bits` (it must when the offer did).
    var announcesServerMaxWindowBits = false
    /// Whether the response names `client_max_window_bits` (it may only when the offer did).
    var announcesClientMaxWindowBits = false

    /// Parameters with RFC 7692's defaults: context takeover on both sides, 15-bit windows.
    public init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15
    ) {
        precondition(Self.windowBits.contains(serverMaxWindowBits) && Self.windowBits.contains(clientMaxWindowBits), "window bits must be in 8...15")
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.announcesServerMaxWindowBits = serverMaxWindowBits != 15
        self.announcesClientMaxWindowBits = clientMaxWindowBits != 15
    }

    static let windowBits = 8...15

    /// The server's answer to a handshake: the first permessage-deflate offer in `offers` (the values
    /// of every `Sec-WebSocket-Extensions` request header, in order) that is valid, or `nil` when
    /// there is none and the connection goes uncompressed.
    public static func negotiate(offers: [String]) -> PerMessageDeflateParameters? {
        for header in offers {
            for element in WebSocketExtensionElement.parseList(header) where element.name.lowercased() == extensionName {
                if let accepted = accept(element.parameters) { return accepted }
            }
        }
        return nil
    }

    /// The server's acceptance of one offer (RFC 7692 section 7.1), or `nil` when it must be declined.
    private static func accept(_ parameters: [WebSocketExtensionElement.Parameter]) -> PerMessageDeflateParameters? {
        var result = PerMessageDeflateParameters()
        var seen: Set<String> = []
        for parameter in parameters {
            let name = parameter.name.lowercased()
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard parameter.value == nil else { return nil }
                result.serverNoContextTakeover = true
            case "client_no_context_takeover":
                // A hint that the client resets anyway (7.1.1.2): agreeing costs nothing and lets
                // the server reset its inflater between messages.
                guard parameter.value == nil else { return nil }
                result.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let value = parameter.value, let bits = windowBits(value) else { return nil }
                result.serverMaxWindowBits = bits
                result.announcesServerMaxWindowBits = true
            case "client_max_window_bits":
                // Without a value the client merely supports the parameter; we do not limit it.
                if let value = parameter.value {
                    guard let bits = windowBits(value) else { return nil }
                    result.clientMaxWindowBits = bits
                    result.announcesClientMaxWindowBits = true
                }
            default:
                return nil
            }
        }
        return result
    }

    /// A window-bits value: `1*DIGIT` without leading zeros, 8...15 (RFC 7692 section 7.1.2).
    private static func windowBits(_ value: String) -> Int? {
        guard let first = value.utf8.first, first != UInt8(ascii: "0"), value.utf8.count <= 2,
            let bits = Int(value), Self.windowBits.contains(bits)
        else { return nil }
        return bits
    }

    /// The `Sec-WebSocket-Extensions` value that accepts these parameters.
    public var responseHeaderValue: String {
        var value = Self.extensionName
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if announcesServerMaxWindowBits { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if announcesClientMaxWindowBits { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }

    /// The compressor for outgoing messages of `role`. It allocates its zlib stream on first use.
    public func compressor(for role: Role) -> PerMessageDeflateCompressor {
        switch role {
        case .server: PerMessageDeflateCompressor(noContextTakeover: serverNoContextTakeover, maxWindowBits: serverMaxWindowBits)
        case .client: PerMessageDeflateCompressor(noContextTakeover: clientNoContextTakeover, maxWindowBits: clientMaxWindowBits)
        }
    }

    /// The decompressor for messages that `role` receives. It allocates its zlib stream on first use.
    public func decompressor(for role: Role) -> PerMessageDeflateDecompressor {
        switch role {
        case .server: PerMessageDeflateDecompressor(noContextTakeover: clientNoContextTakeover, maxWindowBits: clientMaxWindowBits)
        case .client: PerMessageDeflateDecompressor(noContextTakeover: serverNoContextTakeover, maxWindowBits: serverMaxWindowBits)
        }
    }

    /// The largest frame worth reading when messages may be up to `maxMessageLength` bytes once
    /// inflated: deflate can make incompressible data slightly larger (5 bytes per stored block,
    /// about an eighth for a compressor that insists on Huffman codes).
    public static func maximumFrameLength(forMessageLength maxMessageLength: Int) -> Int {
        let (slack, overflow) = (maxMessageLength / 8).addingReportingOverflow(1024)
        guard !overflow else { return Int.max }
        let (total, overflow2) = maxMessageLength.addingReportingOverflow(slack)
        return overflow2 ? Int.max : total
    }
}

/// One element of a `Sec-WebSocket-Extensions` list (RFC 6455 section 9.1):
/// `token *( ";" token [ "=" ( token / quoted-string ) ] )`.
struct WebSocketExtensionElement: Hashable, Sendable {
    struct Parameter: Hashable, Sendable {
        var name: String
        var value: String?
    }

    var name: String
    var parameters: [Parameter]

    /// The well-formed elements of a comma-separated list; a malformed element is skipped (it
    /// cannot be accepted), up to the next comma outside a quoted string.
    static func parseList(_ header: String) -> [WebSocketExtensionElement] {
        var scanner = Scanner(bytes: Array(header.utf8))
        var elements: [WebSocketExtensionElement] = []
        while !scanner.isAtEnd {
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: ",")) { continue }
            if let element = scanner.element() {
                elements.append(element)
            } else {
                scanner.skipElement()
            }
        }
        return elements
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var isAtEnd: Bool { index >= bytes.count }

        mutating func skipWhitespace() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// An element up to (not including) the comma that ends it, or `nil` if malformed.
        mutating func element() -> WebSocketExtensionElement? {
            guard let name = token() else { return nil }
            var parameters: [Parameter] = []
            while true {
                skipWhitespace()
                if isAtEnd || bytes[index] == UInt8(ascii: ",") { break }
                guard consume(UInt8(ascii: ";")) else { return nil }
                skipWhitespace()
                guard let parameterName = token() else { return nil }
                skipWhitespace()
                var value: String?
                if consume(UInt8(ascii: "=")) {
                    skipWhitespace()
                    // RFC 6455 9.1: a quoted value must still be a token once unquoted.
                    guard let raw = index < bytes.count && bytes[index] == UInt8(ascii: "\"") ? quotedString() : token(),
                        !raw.isEmpty, raw.utf8.allSatisfy(Self.isTokenByte)
                    else { return nil }
                    value = raw
                }
                parameters.append(Parameter(name: parameterName, value: value))
            }
            return WebSocketExtensionElement(name: name, parameters: parameters)
        }

        mutating func skipElement() {
            var quoted = false
            while index < bytes.count {
                let byte = bytes[index]
                if quoted, byte == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { quoted.toggle() }
                if !quoted, byte == UInt8(ascii: ",") { return }
                index += 1
            }
        }

        private mutating func token() -> String? {
            let start = index
            while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        private mutating func quotedString() -> String? {
            index += 1  // the opening quote
            var value: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: value, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    value.append(bytes[index])
                    index += 1
                default:
                    value.append(byte)
                }
            }
            return nil
        }

        /// `tchar` of RFC 7230 section 3.2.6.
        static func isTokenByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                return true
            default:
                return false
            }
        }
    }
}
