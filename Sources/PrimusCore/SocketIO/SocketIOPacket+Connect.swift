/// The namespace handshake: what a client sends to join, and the answers a server gives.
extension SocketIOPacket {
    /// The reference server's CONNECT_ERROR message for a namespace nobody serves.
    public static let invalidNamespaceMessage = "Invalid namespace"

    /// A client's request to join `namespace`, with the auth payload the server's
    /// authorization sees (`socket.handshake.auth`). In v4 the encoder writes the auth as a
    /// query after the namespace.
    public static func connect(namespace: String = mainNamespace, auth: JSONObject? = nil) -> SocketIOPacket {
        SocketIOPacket(.connect, namespace: namespace, payload: auth.map { .object($0) })
    }

    /// The server's acceptance of a join: `{"sid": socketID}` in v5 (`40{"sid":"…"}`), nothing
    /// in v4 (`40/admin,`), whose clients learn no socket id.
    public static func connectAccepted(namespace: String = mainNamespace, socketID: String, version: SocketIOProtocolVersion) -> SocketIOPacket {
        switch version {
        case .v5: return SocketIOPacket(.connect, namespace: namespace, payload: ["sid": .string(socketID)])
        case .v4: return SocketIOPacket(.connect, namespace: namespace)
        }
    }

    /// The server's refusal of a join: `{"message": …, "data": …}` in v5 (`data` only when
    /// given), the message as a plain string in v4, whose clients read nothing else.
    public static func connectRefused(
        namespace: String = mainNamespace, message: String, data: JSONValue? = nil, version: SocketIOProtocolVersion
    ) -> SocketIOPacket {
        switch version {
        case .v5:
            var body: JSONObject = ["message": .string(message)]
            if let data { body["data"] = data }
            return SocketIOPacket(.connectError, namespace: namespace, payload: .object(body))
        case .v4:
            return SocketIOPacket(.connectError, namespace: namespace, payload: .string(message))
        }
    }

    /// Leaving `namespace` (either side); the Engine.IO session and other namespaces stay.
    public static func disconnect(namespace: String = mainNamespace) -> SocketIOPacket {
        SocketIOPacket(.disconnect, namespace: namespace)
    }

    /// A CONNECT's auth payload, `{}` when it has none (the reference's default).
    public var connectAuth: JSONObject {
        guard type == .connect, let auth = payload?.objectValue else { return [:] }
        return auth
    }

    /// The socket id in a server's CONNECT answer (v5); `nil` for v4 answers and other packets.
    public var connectedSocketID: String? {
        guard type == .connect else { return nil }
        return payload?["sid"]?.stringValue
    }

    /// The reason of a CONNECT_ERROR: its `message` (v5) or the string itself (v4).
    public var connectErrorMessage: String? {
        guard type == .connectError else { return nil }
        return payload?.stringValue ?? payload?["message"]?.stringValue
    }

    /// The `data` of a v5 CONNECT_ERROR, which the server's middleware may attach.
    public var connectErrorData: JSONValue? {
        guard type == .connectError else { return nil }
        return payload?["data"]
    }
}
