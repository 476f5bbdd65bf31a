public import NIOCore
public import NIOSSL
import PrimusCore

/// Why a Redis URL was refused, so a bad `--redis` flag fails at startup with a clear message.
public struct RedisConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the URL.
    public let message: String

    /// Creates an error with a message naming the faulty part.
    public init(_ message: String) { self.message = message }

    /// The message, for logs and command-line errors.
    public var description: String { "invalid Redis URL: \(message)" }
}

/// Where and how to reach Redis, read from the usual URL form so deployments configure it with
/// one string: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS.
public struct RedisConfiguration: Sendable {
    /// The server's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The server's TCP port (default 6379).
    public var port: Int
    /// Whether to speak TLS (`rediss://`).
    public var tls: Bool
    /// The ACL user (Redis 6+); `nil` means `default`.
    public var username: String?
    /// The password; `nil` sends no AUTH.
    public var password: String?
    /// The logical database selected after connecting (ignored by pub/sub, which spans databases).
    public var database: Int
    /// How long a TCP (and TLS) connect plus handshake may take before the attempt fails.
    public var connectTimeout: TimeAmount = .seconds(5)
    /// How long a command may wait for its reply; past it the command fails with
    /// ``RedisError/timeout`` and the connection is closed (later replies would be misaligned).
    public var commandTimeout: TimeAmount = .seconds(5)
    /// The most commands waiting for replies on the connection; beyond it a send fails with
    /// ``RedisError/overloaded`` rather than queueing without bound.
    public var maxPendingCommands: Int = 10_000
    /// The reconnect delays: randomized exponential growth from `initial`, capped at `max`.
    public var reconnect: (initial: TimeAmount, max: TimeAmount) = (.milliseconds(100), .seconds(5))
    /// The TLS settings for `rediss://` (`nil`: `TLSConfiguration.makeClientConfiguration()`,
    /// which verifies the server's certificate against the system's trust roots).
    public var tlsConfiguration: TLSConfiguration?
    /// The decoder's limits for replies.
    public var decoderLimits: (maxDepth: Int, maxBulkLength: Int, maxElements: Int) = (32, 512 * 1024 * 1024, 1 << 20)

    /// Creates a configuration from its parts, for callers that do not start from a URL.
    public init(host: String, port: Int = 6379, tls: Bool = false, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.tls = tls
        self.username = username
        self.password = password
        self.database = database
    }

    /// Reads `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS). User and
    /// password are percent-decoded; a bare `redis://:secret@host` is a password without user.
    /// Query strings are not supported and are refused rather than silently ignored.
    public init(url: String) throws(RedisConfigurationError) {
        var rest = Substring(url)
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            switch scheme {
            case "redis": tls = false
            case "rediss": tls = true
            default: throw RedisConfigurationError("unsupported scheme \"\(scheme)\" (use redis:// or rediss://)")
            }
            rest = rest[schemeEnd.upperBound...]
        } else {
            throw RedisConfigurationError("\"\(url)\" has no scheme (use redis:// or rediss://)")
        }
        if rest.contains("?") || rest.contains("#") {
            throw RedisConfigurationError("query strings and fragments are not supported")
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        username = nil
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                // `redis://secret@host`: a lone userinfo is the password, as most clients read it.
                password = try Self.percentDecoded(userInfo)
            }
        }
        var hostPart = rest
        var portText: Substring?
        if hostPart.first == "[" {
            guard let close = hostPart.firstIndex(of: "]") else {
                throw RedisConfigurationError("an IPv6 address without its closing ]")
            }
            let after = hostPart[hostPart.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { throw RedisConfigurationError("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portText = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw RedisConfigurationError("no host") }
        host = String(hostPart)
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isASCII) else {
                throw RedisConfigurationError("port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = value
        } else {
            port = 6379
        }
        if path.isEmpty {
            database = 0
        } else {
            guard let value = Int(path), value >= 0, path.first != "+" else {
                throw RedisConfigurationError("database \"\(path)\" is not a number from 0")
            }
            database = value
        }
    }

    private static func percentDecoded(_ text: Substring) throws(RedisConfigurationError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(HexDigit.value), let low = iterator.next().flatMap(HexDigit.value) else {
                throw RedisConfigurationError("a bad percent escape in the user or password")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
