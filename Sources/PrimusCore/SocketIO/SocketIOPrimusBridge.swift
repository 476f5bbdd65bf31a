import NIOCore

/// Primus over Socket.IO: how the messages a Primus spark or client exchanges travel as
/// Socket.IO packets on one namespace, so that a Primus application and the official Socket.IO
/// clients meet on the same wire.
///
/// - Plain data `x` is the event `message`: `2["message",x]`.
/// - primus-emitter events and acknowledgements (``PrimusEmitterPacket``) are native EVENT and
///   ACK packets, so `spark.emit("chat", …)` reaches `socket.on("chat")` of socket.io-client.
/// - `primus::server::close` is a DISCONNECT of the namespace (the client stays away).
/// - Primus heartbeats (`primus::ping::`/`primus::pong::`) are not sent: Engine.IO's heartbeat
///   underneath does their work, and each end answers its own Primus layer locally.
/// - `primus::id::` is answered locally too: the socket id is the spark id.
///
/// Sans-I/O and shared by the server's `socket.io` transformer and the Swift client.
public enum SocketIOPrimusBridge {
    /// The event that carries Primus data.
    public static let messageEvent = "message"

    /// What one Primus message becomes on Socket.IO.
    public enum Outgoing: Sendable, Hashable {
        /// Send this packet.
        case packet(SocketIOPacket)
        /// A Primus heartbeat ping (`primus::ping::<value>`): not sent; the sender's own end
        /// answers it, since Engine.IO's heartbeat watches the connection.
        case ping(String)
        /// A Primus heartbeat answer: not sent.
        case pong(String)
        /// A request for the spark id (`primus::id::`): answered locally with the socket id.
        case idRequest
        /// `primus::server::close`: a DISCONNECT of the namespace.
        case serverClose
    }

    /// What one Primus message value becomes on `namespace`.
    public static func outgoing(_ value: JSONValue, namespace: String = SocketIOPacket.mainNamespace) -> Outgoing {
        if case .string(let text) = value, text.hasPrefix(PrimusProtocolMessage.prefix), let (type, argument) = PrimusProtocolMessage.split(value) {
            switch type {
            case "ping": return .ping(String(argument))
            case "pong": return .pong(String(argument))
            case "id": if argument.isEmpty { return .idRequest }
            case "server": if argument == "close" { return .serverClose }
            default: break
            }
        }
        if let emitted = PrimusEmitterPacket(value) {
            switch emitted {
            case .event(let name, let args, let ackID):
                return .packet(.event(name, args.map(restoringBytes), namespace: namespace, ackID: ackID.map { UInt64($0) }))
            case .ack(let id, let args):
                return .packet(.ack(UInt64(id), args.map(restoringBytes), namespace: namespace))
            }
        }
        return .packet(.event(messageEvent, [value], namespace: namespace))
    }

    /// What one Socket.IO packet of a connected namespace means to the Primus layer.
    public enum Incoming: Sendable, Hashable {
        /// Primus data (a `message` event's first argument).
        case data(JSONValue)
        /// Any other event, with its acknowledgement id when the sender wants an answer.
        case event(name: String, args: [JSONValue], ackID: Int?)
        /// The answer to an event this side emitted.
        case ack(id: Int, args: [JSONValue])
        /// The peer left the namespace.
        case disconnect
        /// A packet this layer does not act on here (CONNECT and CONNECT_ERROR are the
        /// handshake's; ack ids beyond `Int` cannot be ours).
        case ignored
    }

    /// Reads a packet. `messageIsEvent`: a `message` event is delivered as an event (the
    /// application listens to it by name) rather than as data.
    public static func incoming(_ packet: SocketIOPacket, messageIsEvent: Bool = false) -> Incoming {
        switch packet.type {
        case .event, .binaryEvent:
            guard case .array(let elements)? = packet.payload, case .string(let name)? = elements.first else { return .ignored }
            let args = Array(elements.dropFirst())
            if name == messageEvent, !messageIsEvent { return .data(args.first ?? .null) }
            let ackID = packet.ackID.flatMap { Int(exactly: $0) }
            return .event(name: name, args: args, ackID: ackID)
        case .ack, .binaryAck:
            guard let id = packet.ackID.flatMap({ Int(exactly: $0) }) else { return .ignored }
            guard case .array(let args)? = packet.payload else { return .ack(id: id, args: []) }
            return .ack(id: id, args: args)
        case .disconnect:
            return .disconnect
        case .connect, .connectError:
            return .ignored
        }
    }

    /// The Primus message value a client's core receives for an incoming packet: data as itself,
    /// events and acknowledgements as primus-emitter packets, a DISCONNECT as
    /// `primus::server::close`. `nil`: nothing for the core.
    public static func primusValue(of incoming: Incoming) -> JSONValue? {
        switch incoming {
        case .data(let value): return value
        case .event(let name, let args, let ackID): return PrimusEmitterPacket.event(name: name, args: args, ackID: ackID).value
        case .ack(let id, let args): return PrimusEmitterPacket.ack(id: id, args: args).value
        case .disconnect: return PrimusProtocolMessage.serverClose.value
        case .ignored: return nil
        }
    }

    /// Whether bytes sit anywhere in `value` (they travel as attachments).
    public static func containsBytes(_ value: JSONValue) -> Bool {
        value.containsBinary
    }

    /// Bytes that went through the JSON parser come back as Node's `Buffer.toJSON()` form
    /// (`{"type":"Buffer","data":[1,2]}`, the JSON parser's way to write bytes); Socket.IO
    /// carries bytes natively, so they are turned back into bytes and travel as attachments.
    public static func restoringBytes(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            if members.count == 2, case .string("Buffer")? = members["type"], case .array(let items)? = members["data"] {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(items.count)
                for item in items {
                    guard case .number(let number) = item, let byte = UInt8(exactly: number) else { return .object(JSONObject(members.map { ($0.key, restoringBytes($0.value)) })) }
                    bytes.append(byte)
                }
                return .binary(ByteBuffer(bytes: bytes))
            }
            return .object(JSONObject(members.map { ($0.key, restoringBytes($0.value)) }))
        case .array(let elements):
            return .array(elements.map(restoringBytes))
        case .null, .bool, .number, .string, .binary, .date, .extension:
            return value
        }
    }
}
