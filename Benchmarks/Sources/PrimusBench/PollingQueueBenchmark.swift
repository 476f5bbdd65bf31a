import NIOCore
import PrimusCore

/// `primus-bench polling-queue`: what one Engine.IO polling session costs per packet as its
/// queue grows, in one thread, without sockets (the sans-I/O ``EngineIOSessionStateMachine``
/// plus the payload codec, which is all the event loop does for a `POST`).
///
/// Issue 9 measured the old queue at 0.029 s for a `POST` of 1,000 pings and 0.58 s for 8,000
/// (quadratic: each append copied the queue out of an enum payload, and each pong was inserted
/// at its front). Linear time shows as a flat ns/packet column from 10 to 10,000 packets.
enum PollingQueueBenchmark {
    static let sizes = [10, 100, 1_000, 10_000]

    /// `packetsPerRun`: about how many packets each timed run handles, whatever its size.
    static func run(packetsPerRun: Int = 200_000) {
        print("Engine.IO polling queue: ns per packet, best of 5, one thread, no sockets")
        var sink = 0
        var rows: [[String]] = []
        // The attack of issue 9 (`2` joined by 0x1E, posted while the client is not polling),
        // and an ordinary batch of messages.
        let pings = Dictionary(uniqueKeysWithValues: sizes.map { ($0, payload($0, packet: "2")) })
        let messages = Dictionary(uniqueKeysWithValues: sizes.map { ($0, payload($0, packet: "4\"hello\"")) })
        let scenarios: [(String, (Int) -> Int)] = [
            ("POST of N pings (decode + session)", { post(pings[$0]!, size: $0) }),
            ("POST of N messages (decode + session)", { post(messages[$0]!, size: $0) }),
            ("N sends, then polls drain the queue", { sendsThenPolls($0) }),
            ("N sends, a ping jumps the queue, polls drain", { sendsPingThenPolls($0) }),
        ]
        for (name, scenario) in scenarios {
            var row = [name]
            for size in sizes {
                // About `packetsPerRun` packets per run, so every size takes a comparable time.
                let repetitions = max(1, packetsPerRun / size)
                let nanoseconds = CodecBenchmark.measure(repetitions) { sink &+= scenario(size) }
                row.append(PrimusBench.format(nanoseconds / Double(size), 1))
            }
            rows.append(row)
        }
        PrimusBench.printTable(header: ["scenario"] + sizes.map { "N=\($0)" }, rows: rows)
        if sink == 42 { print("") }  // keeps the work observable
        print("")
    }

    private static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private static func session(_ size: Int) -> EngineIOSessionStateMachine {
        EngineIOSessionStateMachine(
            configuration: .init(version: .v4, maxBufferedPackets: size + 16, maxBufferedBytes: .max),
            transport: .polling,
            now: start
        )
    }

    private static func payload(_ size: Int, packet: String) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(size * (packet.utf8.count + 1))
        for index in 0..<size {
            if index > 0 { body.writeInteger(EngineIOPayloadCodec.recordSeparator) }
            body.writeString(packet)
        }
        return body
    }

    /// What the session's loop does for a `POST` body: decode it, hand it to the session.
    private static func post(_ body: ByteBuffer, size: Int) -> Int {
        var machine = session(size)
        guard let packets = try? EngineIOPayloadCodec.decode(body, version: .v4, binaryContent: false) else { return 0 }
        let actions = machine.postReceived(1, payload: .success(packets), now: start)
        return actions.count + machine.bufferedPackets
    }

    private static func sendsThenPolls(_ size: Int) -> Int {
        var machine = session(size)
        let message = EngineIOPacket.message(.text(ByteBuffer(string: "\"hello\"")))
        for _ in 0..<size { _ = machine.send(message) }
        return drain(&machine)
    }

    private static func sendsPingThenPolls(_ size: Int) -> Int {
        var machine = session(size)
        let message = EngineIOPacket.message(.text(ByteBuffer(string: "\"hello\"")))
        for _ in 0..<size { _ = machine.send(message) }
        // The server's heartbeat ping goes ahead of the whole backlog.
        let ping = machine.timerFired(now: start + machine.configuration.pingInterval)
        return ping.count + drain(&machine)
    }

    private static func drain(_ machine: inout EngineIOSessionStateMachine) -> Int {
        var answered = 0
        var id: EngineIOSessionStateMachine.RequestID = 1
        while machine.bufferedPackets > 0 {
            id += 1
            for case .answerPoll(_, let packets) in machine.pollReceived(id, now: start) { answered += packets.count }
        }
        return answered
    }
}
