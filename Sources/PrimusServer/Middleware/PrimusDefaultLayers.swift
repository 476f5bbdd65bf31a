import NIOCore
import NIOHTTP1
import PrimusCore

/// Primus 8's default layers, in its exact order (`../shared/reference/primus-v8.md` section 4):
/// `forwarded`, `cors`, `primus.js`, `spec`, `x-xss`, `no-cache`, `authorization`.
enum PrimusDefaultLayers {
    /// The layers for a server configured with `configuration`.
    static func make(configuration: PrimusConfiguration) -> [PrimusMiddleware] {
        [
            forwarded(trusted: configuration.trustedProxies),
            cors(PrimusCORSPolicy(configuration.cors)),
            library(path: configuration.pathname + "/primus.js"),
            spec(path: configuration.pathname + "/spec"),
            xss(),
            noCache(),
            PrimusMiddleware(name: "authorization", kinds: .all, implementation: .authorization),
        ]
    }

    /// `forwarded` (HTTP and upgrades): the client's address through trusted proxies, as
    /// ``Spark/address`` reports it. `secure` is true on a TLS connection, or when a trusted
    /// proxy says `x-forwarded-proto: https` (or `forwarded: proto=https`).
    static func forwarded(trusted: TrustedProxies) -> PrimusMiddleware {
        PrimusMiddleware(name: "forwarded", kinds: .all) { context in
            context.forwarded = resolveAddress(context, trusted: trusted)
            return .next
        }
    }

    /// The client's address for `context`, with the resolver every transformer uses.
    static func resolveAddress(_ context: PrimusMiddlewareContext, trusted: TrustedProxies) -> SparkAddress {
        let secure = context.secure
        let peer: SparkAddress? = context.request.remoteAddress.flatMap { address in
            address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: secure) }
        }
        let headers = context.headers
        var address = ForwardedAddressResolver.resolve(
            remote: peer,
            secureTransport: secure,
            header: { name in
                let values = headers[name]
                return values.isEmpty ? nil : values.joined(separator: ",")
            },
            trusted: trusted
        )
        if secure {
            address.secure = true
        } else if !address.secure, peerIsTrusted(peer, trusted: trusted),
            let proto = headers.first(name: "x-forwarded-proto")?.split(separator: ",").first,
            proto.trimmingSpacesAndTabs.lowercased() == "https"
        {
            // A trusted proxy that terminated TLS but did not forward the client's IP.
            address.secure = true
        }
        return address
    }

    private static func peerIsTrusted(_ peer: SparkAddress?, trusted: TrustedProxies) -> Bool {
        switch trusted {
        case .any: return true
        case .none: return false
        case .addresses(let set): return peer.map { set.contains($0.ip) } ?? false
        }
    }

    /// `cors` (HTTP only): Primus's `access-control` module.
    static func cors(_ policy: PrimusCORSPolicy) -> PrimusMiddleware {
        PrimusMiddleware(name: "cors", kinds: .http) { context in
            switch policy.decide(method: context.head.method, headers: context.headers) {
            case .notCrossOrigin:
                return .next
            case .refuse(let answer):
                return .respond(answer)
            case .allow(let headers):
                context.responseHeaders.replacing(with: headers)
                return .next
            case .preflight(let headers):
                context.responseHeaders.replacing(with: headers)
                return .respond(PrimusCORSPolicy.preflightAnswer)
            }
        }
    }

    /// `primus.js` (HTTP only): `GET`/`HEAD <pathname>/primus.js` answers the browser library.
    static func library(path: String) -> PrimusMiddleware {
        PrimusMiddleware(name: "primus.js", kinds: .http) { context in
            guard context.head.method == .GET || context.head.method == .HEAD, context.path == path else { return .next }
            return .respond(context.primus.libraryResponse(to: context.head))
        }
    }

    /// `spec` (HTTP only): `GET`/`HEAD <pathname>/spec` answers ``Primus/spec`` as JSON.
    static func spec(path: String) -> PrimusMiddleware {
        PrimusMiddleware(name: "spec", kinds: .http) { context in
            guard context.head.method == .GET || context.head.method == .HEAD, context.path == path else { return .next }
            let body = ByteBuffer(string: context.primus.spec.json)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            // Clients read the spec to discover the server; a cached one outlives a redeploy.
            headers.add(name: "cache-control", value: "no-store, no-cache, must-revalidate, max-age=0")
            return .respond(PrimusHTTPResponse(status: .ok, headers: headers, body: body))
        }
    }

    /// `x-xss` (HTTP only): `X-XSS-Protection: 0` for Internet Explorer, whose filter could be
    /// abused to blank pages.
    static func xss() -> PrimusMiddleware {
        PrimusMiddleware(name: "x-xss", kinds: .http) { context in
            guard let agent = context.headers.first(name: "user-agent")?.lowercased(),
                agent.contains(";msie") || agent.contains("trident/")
            else { return .next }
            context.responseHeaders.replaceOrAdd(name: "X-XSS-Protection", value: "0")
            return .next
        }
    }

    /// `no-cache` (HTTP only): the transport's answers must never be cached.
    static func noCache() -> PrimusMiddleware {
        PrimusMiddleware(name: "no-cache", kinds: .http) { context in
            context.responseHeaders.replaceOrAdd(name: "Cache-Control", value: "no-store, no-cache, must-revalidate, max-age=0")
            context.responseHeaders.replaceOrAdd(name: "Pragma", value: "no-cache")
            return .next
        }
    }
}

extension HTTPHeaders {
    /// Sets every header of `other`, replacing same-named ones already here (a layer's header
    /// wins over an earlier layer's, as Node's `setHeader` does).
    mutating func replacing(with other: HTTPHeaders) {
        for (name, _) in other { remove(name: name) }
        for (name, value) in other { add(name: name, value: value) }
    }
}

extension Substring {
    fileprivate var trimmingSpacesAndTabs: Substring {
        var view = self
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return view
    }
}
