/// Where a request under a SockJS prefix goes (protocol notes, section 3.1), from its path
/// relative to the prefix (`""`, `/info`, `/000/abc/xhr`).
public enum SockJSRoute: Sendable, Hashable {
    /// `/` or nothing: the greeting.
    case welcome
    /// `/info`: what the server supports.
    case info
    /// `/iframe.html`, `/iframe-<version>.html`: the page the iframe transports load.
    case iframe
    /// `/websocket`: a WebSocket without SockJS framing.
    case rawWebSocket
    /// `/<server>/<session>/<transport>`.
    case session(id: String, transport: SockJSTransport)
    /// Anything else: `404`.
    case notFound

    /// Routes `path`, the request path after the prefix, without the query.
    public init(path: Substring) {
        switch path {
        case "", "/": self = .welcome
        case "/info": self = .info
        case "/websocket": self = .rawWebSocket
        default:
            if Self.isIframePage(path) {
                self = .iframe
                return
            }
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            // "", server, session, transport
            guard parts.count == 4, parts[0].isEmpty,
                Self.isSegment(parts[1]), Self.isSegment(parts[2]),
                let transport = SockJSTransport(rawValue: String(parts[3]))
            else {
                self = .notFound
                return
            }
            self = .session(id: String(parts[2]), transport: transport)
        }
    }

    /// A server or session segment: not empty, without `.` (or `/`, which split it already).
    private static func isSegment(_ segment: Substring) -> Bool {
        !segment.isEmpty && !segment.contains(".")
    }

    /// `/iframe` + `[0-9a-z._-]*` + `.html`, case-sensitive, as sockjs-node routes it.
    private static func isIframePage(_ path: Substring) -> Bool {
        guard path.hasPrefix("/iframe"), path.hasSuffix(".html"), path.count >= "/iframe.html".count else { return false }
        let middle = path.dropFirst("/iframe".count).dropLast(".html".count)
        return middle.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }
}

/// A SockJS session transport: the last path component of a session URL.
public enum SockJSTransport: String, Sendable, Hashable, CaseIterable {
    /// A WebSocket carrying SockJS frames.
    case websocket
    /// XHR long-polling: receives one frame per `POST`.
    case xhr
    /// XHR sends: the client's messages.
    case xhrSend = "xhr_send"
    /// XHR streaming: frames as they come, one per line.
    case xhrStreaming = "xhr_streaming"
    /// Server-sent events.
    case eventsource
    /// A forever-iframe of script tags (old Internet Explorer).
    case htmlfile
    /// JSONP long-polling: receives one frame as a callback call.
    case jsonp
    /// JSONP sends: the client's messages as a form or a JSON body.
    case jsonpSend = "jsonp_send"

    /// Whether the transport receives frames (and so attaches to the session as its receiver);
    /// the others carry the client's messages.
    public var isReceiving: Bool {
        switch self {
        case .xhrSend, .jsonpSend: return false
        default: return true
        }
    }

    /// The HTTP method the transport uses.
    public var method: String {
        switch self {
        case .websocket, .eventsource, .htmlfile, .jsonp: return "GET"
        case .xhr, .xhrSend, .xhrStreaming, .jsonpSend: return "POST"
        }
    }
}
