import Logging
import NIOCore
import PrimusCore

/// The transport of one namespace's spark: Primus messages in, Socket.IO packets out, as
/// ``SocketIOPrimusBridge`` maps them, over the connection's Engine.IO session.
///
/// Plain data, the common case, is framed as `2["message",…]` straight from the parser's bytes
/// (and once per event loop for a broadcast); only messages that may be emitter packets or
/// Primus protocol messages are decoded to be translated. Heartbeats stay local: Engine.IO's
/// own heartbeat watches the connection, so the spark's `primus::ping::` is answered here.
final class SocketIONamespaceTransport: SparkTransport {
    let namespace: String
    let spark: Spark
    private let connection: SocketIOConnection
    /// `["message",` framed for this namespace: `2["message",` or `2/admin,["message",`.
    private let dataPrefix: ByteBuffer
    private var disconnectSent = false
    private var gone = false

    init(namespace: String, spark: Spark, connection: SocketIOConnection) {
        self.namespace = namespace
        self.spark = spark
        self.connection = connection
        self.dataPrefix = Self.dataPrefix(namespace: namespace)
    }

    static func dataPrefix(namespace: String) -> ByteBuffer {
        var prefix = ByteBuffer()
        prefix.writeInteger(SocketIOPacketType.event.digit)
        if namespace != SocketIOPacket.mainNamespace {
            prefix.writeString(namespace)
            prefix.writeInteger(UInt8(ascii: ","))
        }
        prefix.writeStaticString(#"["message","#)
        return prefix
    }

    // MARK: - From the client

    func received(_ packet: SocketIOPacket) {
        switch SocketIOPrimusBridge.incoming(packet, messageIsEvent: spark.handlesEvent(SocketIOPrimusBridge.messageEvent)) {
        case .data(let value):
            let parser = spark.primus.configuration.parser
            if parser.name != "json", !SocketIOPrimusBridge.containsBytes(value) {
                // Another text parser (ejson) reads the argument's JSON text as it reads any
                // message, as it wrote what the client got.
                var writer = JSONWriter()
                writer.write(value)
                return spark.receive(.text(writer.buffer))
            }
            guard let raw = try? parser.encode(value, for: spark) else { return }
            spark.receive(decoded: value, raw: raw)
        case .event(let name, let args, let ackID):
            spark.receiveEvent(name: name, args: args, ackID: ackID)
        case .ack(let id, let args):
            spark.receiveAcknowledgement(id: id, args: args)
        case .disconnect:
            gone = true
            connection.left(namespace)
            spark.transportClosed()
        case .ignored:
            break
        }
    }

    /// The Engine.IO session closed under the namespace.
    func connectionClosed() {
        gone = true
        spark.transportClosed()
    }

    // MARK: - SparkTransport

    func send(_ message: TransportMessage) {
        guard !gone else { return }
        if let framed = frameAsData(message) { return connection.session?.send(.text(framed)) ?? () }
        translate(message)
    }

    /// A broadcast: its packet is built once per event loop for every spark of the namespace
    /// (plain data framed from the parser's bytes, events translated once). Only a packet with
    /// attachments, or a protocol message, is sent spark by spark.
    func send(shared: SharedTransportMessage) {
        guard !gone else { return }
        let prefix = dataPrefix
        let namespace = self.namespace
        let version = connection.version
        let parser = spark.primus.configuration.parser
        let form = shared.derived("socket.io \(version.rawValue) " + namespace) { message in
            Self.sharedForm(of: message, prefix: prefix, namespace: namespace, version: version, parser: parser) ?? Self.notShareable
        }
        guard form.message != Self.notShareable else { return translate(shared.message) }
        connection.session?.send(shared: form)
    }

    /// Marks a broadcast message that has no single shared form.
    private static let notShareable = TransportMessage.binary(ByteBuffer())

    /// The one text packet a broadcast message becomes on `namespace`, or `nil` when it is not
    /// one text packet (attachments, a protocol message, a binary parser's message).
    private static func sharedForm(
        of message: TransportMessage, prefix: ByteBuffer, namespace: String, version: SocketIOProtocolVersion, parser: any PrimusParser
    ) -> TransportMessage? {
        if isPlainData(message) { return .text(frame(message.buffer, prefix: prefix)) }
        guard let value = try? parser.decode(message, for: nil),
            case .packet(let packet) = SocketIOPrimusBridge.outgoing(value, namespace: namespace)
        else { return nil }
        let encoded = SocketIOPacketEncoder.encode(packet, version: version)
        return encoded.attachments.isEmpty ? .text(encoded.text) : nil
    }

    func flush() {
        connection.session?.flush()
    }

    /// After `primus::server::close` (a DISCONNECT already told the client): the namespace is
    /// left and the connection stays. Otherwise (`end(reconnect: true)`, a heartbeat or budget
    /// end) the whole connection closes, so the client reconnects, as Primus's clients do when
    /// their transport drops.
    func close(code: UInt16?) {
        guard !gone else { return }
        gone = true
        connection.left(namespace)
        if !disconnectSent { connection.close() }
    }

    func pauseReading() {
        connection.session?.pauseReading()
    }

    func resumeReading() {
        connection.session?.resumeReading()
    }

    var isWritable: Bool {
        connection.session?.isWritable ?? false
    }

    var bufferedAmount: Int {
        connection.session?.bufferedAmount ?? 0
    }

    // MARK: - Translation

    /// Whether a parser's message can only be data: it is text, and neither a JSON string that
    /// may be a Primus protocol message (`"primus::…`) nor an object that may be an emitter
    /// packet (`{"type":…`, as the JSON writer puts `type` first).
    static func isPlainData(_ message: TransportMessage) -> Bool {
        guard case .text(let text) = message else { return false }
        let view = text.readableBytesView
        guard let first = view.first else { return false }
        switch first {
        case UInt8(ascii: "\""): return !view.starts(with: #""primus::"#.utf8)
        case UInt8(ascii: "{"): return !view.starts(with: #"{"type":"#.utf8)
        default: return true
        }
    }

    private func frameAsData(_ message: TransportMessage) -> ByteBuffer? {
        guard Self.isPlainData(message) else { return nil }
        return Self.frame(message.buffer, prefix: dataPrefix)
    }

    static func frame(_ payload: ByteBuffer, prefix: ByteBuffer) -> ByteBuffer {
        var framed = ByteBuffer()
        framed.reserveCapacity(prefix.readableBytes + payload.readableBytes + 1)
        framed.writeImmutableBuffer(prefix)
        framed.writeImmutableBuffer(payload)
        framed.writeInteger(UInt8(ascii: "]"))
        return framed
    }

    /// The slow path: decode the message and map it.
    private func translate(_ message: TransportMessage) {
        let parser = spark.primus.configuration.parser
        // A binary message (bytes written as data, or a binary parser's message) decodes to
        // its value too; its bytes travel as attachments.
        guard let value = try? parser.decode(message, for: spark) else {
            spark.primus.logger.debug("socket.io: an outgoing message the parser cannot read", metadata: ["primus.spark.id": "\(spark.id)"])
            return connection.close()
        }
        switch SocketIOPrimusBridge.outgoing(value, namespace: namespace) {
        case .packet(let packet):
            connection.send(packet)
        case .ping(let stamp):
            // Engine.IO's heartbeat watches the connection; the spark's own is answered here and
            // now (deferred, a second tick drained in the same turn would find it unanswered).
            // The spark has finished its tick when it sends the ping, so this is no re-entry.
            guard let pong = try? parser.encode(PrimusProtocolMessage.pong(stamp).value, for: spark) else { return }
            spark.receive(pong)
        case .pong, .idRequest:
            break
        case .serverClose:
            disconnectSent = true
            connection.send(.disconnect(namespace: namespace))
        }
    }
}

@available(*, unavailable)
extension SocketIONamespaceTransport: Sendable {}
