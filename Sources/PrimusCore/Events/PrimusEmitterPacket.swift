/// Named events and acknowledgements on transformers without events of their own, in the wire
/// format of Primus's `primus-emitter` plugin, so pages built with it keep working: an event is
/// the Primus message `{"type":0,"data":["name",arg1,…]}` (with `"id":N` when the sender wants
/// an acknowledgement), and an acknowledgement is `{"type":1,"id":N,"data":[arg1,…]}`.
///
/// Sans-I/O: values in, values out; the parser encodes them like any other message. Shared by
/// the server's sparks and the Swift client.
public enum PrimusEmitterPacket: Sendable, Hashable {
    /// An event `name` with `args`; `ackID` when the sender waits for an acknowledgement.
    case event(name: String, args: [JSONValue], ackID: Int?)
    /// The acknowledgement of the event that carried `id`.
    case ack(id: Int, args: [JSONValue])

    /// The packet as a Primus message value.
    public var value: JSONValue {
        var object = JSONObject()
        switch self {
        case .event(let name, let args, let ackID):
            object["type"] = .number(0)
            object["data"] = .array([.string(name)] + args)
            if let ackID { object["id"] = .number(Double(ackID)) }
        case .ack(let id, let args):
            object["type"] = .number(1)
            object["id"] = .number(Double(id))
            object["data"] = .array(args)
        }
        return .object(object)
    }

    /// Reads a message value as an emitter packet: `nil` when it does not have the packet's exact
    /// shape (an object with `type` 0 or 1, a `data` array, an integral `id` where needed, and no
    /// other member), so an ordinary message is never mistaken for one.
    public init?(_ value: JSONValue) {
        guard case .object(let object) = value, object.count <= 3,
            case .number(let type)? = object["type"],
            case .array(let data)? = object["data"]
        else { return nil }
        let id: Int?
        switch object["id"] {
        case nil:
            guard object.count == 2 else { return nil }
            id = nil
        case .number(let number)?:
            guard let integral = Int(exactly: number), integral >= 0 else { return nil }
            id = integral
        default:
            return nil
        }
        switch type {
        case 0:
            guard case .string(let name)? = data.first else { return nil }
            self = .event(name: name, args: Array(data.dropFirst()), ackID: id)
        case 1:
            guard let id else { return nil }
            self = .ack(id: id, args: data)
        default:
            return nil
        }
    }
}
