import NIOCore
import NIOHTTP1
import PrimusCore
import PrimusServer

// A transformer written the way a package outside PrimusServer would write one: only public
// API (the seam, the shared session plumbing, the exchange), no `package` or internal symbols.
//
// Its protocol, under the pathname:
// - `GET ?open`: opens a session; the answer is its id.
// - `GET ?id=X`: a long poll; answered with the messages waiting (one per line) as soon as
//   there are any.
// - `GET ?id=X&stream`: a streamed answer that carries every message as a line while it lasts.
// - `POST ?id=X`: each line of the body is a message from the client.
// - `DELETE ?id=X`: the client leaves.

extension PrimusTransformer {
    static let toyLongPolling = PrimusTransformer(name: "toy-long-polling") { ToyLongPollingTransformer() }
}

struct ToyLongPollingTransformer: PrimusServerTransformer {
    let registry = PrimusSessionRegistry<ToySession>()

    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        let query = exchange.request.query
        if query["open"] != nil {
            guard let spark = primus.accept(exchange.context, on: exchange.eventLoop) else {
                return exchange.respond(.text("full", status: .serviceUnavailable))
            }
            let session = ToySession(spark: spark, registry: registry, eventLoop: exchange.eventLoop)
            _ = registry.insert(PrimusLoopHandle(session, eventLoop: exchange.eventLoop), id: spark.id)
            spark.attach(transport: session)
            return exchange.respond(.text(spark.id))
        }
        guard let id = query["id"], let session = registry.lookup(id) else {
            return exchange.respond(.text("unknown session", status: .notFound))
        }
        switch exchange.request.method {
        case .GET where query["stream"] != nil:
            session.execute { $0.stream(exchange) }
        case .GET:
            session.execute { $0.poll(exchange) }
        case .POST:
            let body = String(buffer: exchange.request.body)
            session.execute { $0.post(body, exchange: exchange) }
        case .DELETE:
            session.execute { $0.leave(exchange) }
        default:
            exchange.respond(.text("bad method", status: .methodNotAllowed))
        }
    }
}

/// One client's session, on its event loop: the spark's transport.
final class ToySession: SparkTransport {
    private let spark: Spark
    private let registry: PrimusSessionRegistry<ToySession>
    private let eventLoop: any EventLoop
    private var outbox: [String] = []
    private var polls = PrimusParkedRequests<Void>()
    private var streamAnswer: PrimusHTTPResponseStream?
    private var closed = false

    init(spark: Spark, registry: PrimusSessionRegistry<ToySession>, eventLoop: any EventLoop) {
        self.spark = spark
        self.registry = registry
        self.eventLoop = eventLoop
    }

    func poll(_ exchange: PrimusHTTPExchange) {
        guard !closed else {
            // The last poll of a closed session takes what was left for it, then the session goes.
            exchange.respond(outbox.isEmpty ? .text("closed", status: .gone) : .text(outbox.joined(separator: "\n")))
            outbox = []
            registry.remove(spark.id)
            return
        }
        let id = polls.hold(exchange, extra: ())
        let handle = PrimusWeakLoopHandle(self, eventLoop: eventLoop)
        polls.watch(id) { connection in handle.execute { $0.connectionClosed(connection) } }
        deliver()
    }

    func stream(_ exchange: PrimusHTTPExchange) {
        streamAnswer = exchange.startStream(headers: ["content-type": "text/plain"])
        let handle = PrimusWeakLoopHandle(self, eventLoop: eventLoop)
        exchange.onPeerGone { handle.execute { $0.leave() } }
        deliver()
    }

    func post(_ body: String, exchange: PrimusHTTPExchange) {
        for line in body.split(separator: "\n") { spark.receive(.text(String(line))) }
        exchange.respond(.text("ok"))
    }

    func leave(_ exchange: PrimusHTTPExchange) {
        exchange.respond(.text("bye"))
        leave()
    }

    /// The client went away or left: the spark ends.
    private func leave() {
        close(code: 1000)
        spark.transportClosed()
    }

    private func connectionClosed(_ connection: ObjectIdentifier) {
        if polls.connectionClosed(connection) { leave() }
    }

    /// Hands what waits to the stream, or to the first parked poll.
    private func deliver() {
        guard !outbox.isEmpty else { return }
        if let streamAnswer {
            for line in outbox { streamAnswer.write(ByteBuffer(string: line + "\n")) }
            outbox = []
            return
        }
        let waiting = polls.takeAll()
        guard let first = waiting.first else { return }
        first.entry.exchange.respond(.text(outbox.joined(separator: "\n")))
        outbox = []
        for other in waiting.dropFirst() { other.entry.exchange.respond(.text("")) }
    }

    // MARK: SparkTransport

    func send(_ message: TransportMessage) {
        guard !closed else { return }
        outbox.append(message.string)
        deliver()
    }

    func close(code: UInt16?) {
        guard !closed else { return }
        deliver()
        closed = true
        for held in polls.takeAll() { held.entry.exchange.respond(.text("closed", status: .gone)) }
        streamAnswer?.finish()
        streamAnswer = nil
        // What no poll took yet waits for the next one (the close message, say).
        if outbox.isEmpty { registry.remove(spark.id) }
    }

    func pauseReading() {}
    func resumeReading() {}
    var isWritable: Bool { true }
    var bufferedAmount: Int { outbox.reduce(0) { $0 + $1.utf8.count } }
}
