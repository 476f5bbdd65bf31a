import struct Foundation.URLComponents
import NIOHTTP1
import PrimusCore
import struct Foundation.Data

/// The client's URL, understood once: scheme, host, port, pathname, the user's query string and
/// credentials. Each connection turns it into a ``PrimusConnectionTarget`` with a fresh cache buster.
struct ClientEndpoint: Sendable {
    var secure: Bool
    var host: String
    var port: Int
    var path: String
    var userQuery: String
    var headers: HTTPHeaders

    /// Parses `ws:`, `wss:`, `http:` and `https:` URLs. A path other than `/` replaces `pathname`
    /// (Primus wants none; accepting `ws://host/primus` is kinder).
    init(url: String, pathname: String, headers: HTTPHeaders) throws(PrimusError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw PrimusError.invalidConfiguration("Invalid URL: \(url)")
        }
        switch scheme {
        case "ws", "http": secure = false
        case "wss", "https": secure = true
        default: throw PrimusError.invalidConfiguration("Unsupported URL scheme \"\(scheme)\" in \(url); use ws, wss, http or https")
        }
        guard var host = components.host, !host.isEmpty else {
            throw PrimusError.invalidConfiguration("The URL has no host: \(url)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = components.port ?? (secure ? 443 : 80)
        let urlPath = components.percentEncodedPath
        var path = urlPath.isEmpty || urlPath == "/" ? pathname : urlPath
        if !path.hasPrefix("/") { path = "/" + path }
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        self.path = path
        self.userQuery = components.percentEncodedQuery ?? ""
        var headers = headers
        if let user = components.user, !headers.contains(name: "authorization") {
            let credentials = user + ":" + (components.password ?? "")
            headers.add(name: "authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        }
        self.headers = headers
    }

    /// The target of one connection: the user's keys first, then `_primuscb`.
    func target(cacheBuster: String, configuration: PrimusClientConfiguration) -> PrimusConnectionTarget {
        let buster = "_primuscb=" + cacheBuster
        return PrimusConnectionTarget(
            secure: secure,
            host: host,
            port: port,
            path: path,
            query: userQuery.isEmpty ? buster : userQuery + "&" + buster,
            headers: headers,
            maxMessageLength: configuration.maxMessageLength,
            tlsConfiguration: configuration.tlsConfiguration
        )
    }
}
