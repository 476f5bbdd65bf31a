public import NIOCore
public import NIOHTTP1
public import PrimusCore

/// Leave to open a spark, given by ``Primus/admit(_:id:)``: the spark's id and the client's
/// address. It counts against the spark limits until the spark it opens ends, or until
/// ``Primus/release(_:)``.
public struct PrimusAdmission: Sendable {
    /// The spark's id (``PrimusConfiguration/idGenerator`` wins over a transformer's own id).
    public let id: String
    /// The client's address through trusted proxies, `secure` when it came over TLS.
    public let address: SparkAddress
    /// Whether another address's spark was ended to make room for this one.
    public let shedAnother: Bool
}

extension Primus {
    /// The one way a transformer opens a spark, step one: decides whether a handshake may open a
    /// spark, before the transformer answers it. Every transformer asks once per handshake.
    ///
    /// Admission applies ``PrimusLimits/maxSparks`` and ``PrimusLimits/maxSparksPerAddress``
    /// (fairly: a full server ends the newest spark of the address holding the most to make
    /// room) and refuses everything once the server is shutting down. `nil` means refused:
    /// answer `503 Service Unavailable`.
    ///
    /// - Parameters:
    ///   - context: the handshake as the middleware left it (request, peer, `secure`).
    ///   - id: the transformer's own session id, if its protocol has one;
    ///     ``PrimusConfiguration/idGenerator`` wins over it, and a random id is made without
    ///     either.
    public func admit(_ context: PrimusMiddlewareContext, id: String? = nil) -> PrimusAdmission? {
        // The address is the `forwarded` layer's (so replacing or disabling that layer reaches
        // the spark, as in Primus); the per-address limit counts the peer, or the forwarded
        // client only behind a trusted proxy.
        let peer: SparkAddress? = context.request.remoteAddress.flatMap { address in
            address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: context.secure) }
        }
        let key = ForwardedAddressResolver.admissionKey(peer: peer, resolved: context.forwarded, trusted: configuration.trustedProxies)
        let id = configuration.idGenerator?() ?? id ?? SparkIdentifier.random()
        let (admitted, shed) = admit(id, key: key)
        guard admitted else { return nil }
        return PrimusAdmission(id: id, address: context.forwarded, shedAnother: shed)
    }

    /// Gives back an admission whose spark will not be opened (the handshake failed).
    public func release(_ admission: PrimusAdmission) {
        releaseAdmission(admission.id)
    }

    /// Step two: opens and announces the admitted spark, on `eventLoop` (the loop its transport
    /// will call it on). ``onConnection(_:)`` handlers and ``connections`` hear of it now;
    /// what they write waits in the spark until the transformer calls
    /// ``Spark/attach(transport:)``. The transformer then feeds it ``Spark/receive(_:)`` and
    /// ends with ``Spark/transportClosed()``.
    ///
    /// Call it on `eventLoop`.
    public func openSpark(_ admission: PrimusAdmission, request: HTTPRequestHead, on eventLoop: any EventLoop) -> Spark {
        openSpark(admission, request: request, on: eventLoop, namespace: nil)
    }

    /// ``openSpark(_:request:on:)`` for a transformer with namespaces: the spark carries the
    /// namespace it joined and the auth payload it joined with.
    func openSpark(_ admission: PrimusAdmission, request: HTTPRequestHead, on eventLoop: any EventLoop, namespace: SparkNamespaceHandshake?) -> Spark {
        let spark = Spark(id: admission.id, request: request, address: admission.address, eventLoop: eventLoop, primus: self, namespaceHandshake: namespace)
        register(spark)
        return spark
    }

    /// ``admit(_:id:)`` and ``openSpark(_:request:on:)`` in one step, for transformers that
    /// have nothing to set up between them. `nil`: refused, answer `503`.
    public func accept(_ context: PrimusMiddlewareContext, id: String? = nil, on eventLoop: any EventLoop) -> Spark? {
        guard let admission = admit(context, id: id) else { return nil }
        return openSpark(admission, request: context.head, on: eventLoop)
    }

    /// Whether a request path belongs to Primus: a plain prefix match, as Primus does
    /// (so `/primus.js` and `/primusfoo` are Primus's too).
    public func owns(path: String) -> Bool {
        path.hasPrefix(configuration.pathname)
    }
}
