import Logging
import NIOCore
import PrimusCore

/// Where a recovering spark stands (``PrimusRecovery``). Loop-confined, in the spark's state.
///
/// From the handshake until its `connection` handlers have run and the backlog was read, the spark
/// is *replaying*: sequenced writes are held (in order, bounded by the recovery window). Then the
/// missed entries go out, then the held ones not already among them, then a baseline; from there
/// it is *live*, and a sequenced write not past ``last`` is a duplicate and not sent. So a client
/// gets each broadcast once, in sequence order, across a reconnect to any node.
final class SparkRecovery {
    enum Phase {
        /// Held: each write's sequence and envelope (`nil`: only a place passed, see
        /// ``Spark/advanceRecovery(to:)``).
        case replaying(held: [(PrimusSequence, SharedTransportMessage?)])
        case live
    }

    var phase: Phase = .replaying(held: [])
    /// The client's last sequence as it claimed it on connecting (`nil`: a fresh client).
    let claimed: PrimusSequence?
    /// Once live: the greatest sequence the client has been given.
    var last: PrimusSequence

    init(claimed: PrimusSequence?) {
        self.claimed = claimed
        self.last = claimed ?? .zero
    }
}

extension Spark {
    /// Whether the handshake asks for recovery and the server offers it: the query parameter
    /// ``RecoveryEnvelope/queryParameter`` (empty, or the client's last sequence). Sparks with
    /// outgoing transforms do not recover (their transforms would see envelopes).
    static func recoveryRequest(target: String, primus: Primus, hasOutgoingTransforms: Bool) -> SparkRecovery? {
        guard primus.configuration.recovery != nil, !hasOutgoingTransforms,
              target.utf8.contains(UInt8(ascii: "?")),
              let claimed = QueryParameters(requestURI: target).values(for: RecoveryEnvelope.queryParameter).first
        else { return nil }
        return SparkRecovery(claimed: PrimusSequence(claimed))
    }

    /// After the `connection` handlers ran (rooms are joined): reads what the client missed and
    /// replays it, or, for a fresh client, just starts it from the newest sequence. On the loop.
    func beginRecovery() {
        guard let recovery = state.value.recovery, case .replaying = recovery.phase, readyState == .open else { return }
        // Read before the backlog: everything this node delivered up to here is in what the read
        // returns, so the baseline never passes a write the client has not been given.
        let head = primus.adapter.latestSequence
        guard let claimed = recovery.claimed, let window = primus.configuration.recovery else {
            return finishRecovery([], head: head)
        }
        let adapter = primus.adapter
        // One task per reconnecting client, not per message.
        Task {
            let entries: [PrimusBacklogEntry]
            do {
                entries = try await adapter.backlog(after: claimed, limit: window.maxMessages)
            } catch {
                self.primus.logger.debug("recovery backlog unavailable", metadata: ["primus.spark.id": "\(self.id)", "primus.error": "\(error)"])
                entries = []
            }
            self.eventLoop.execute { self.finishRecovery(entries, head: head) }
        }
    }

    /// Sends the missed entries meant for this spark, then the held writes past them, then a
    /// baseline; the spark goes live. On the loop.
    private func finishRecovery(_ entries: [PrimusBacklogEntry], head: PrimusSequence?) {
        guard readyState == .open, let recovery = state.value.recovery, case .replaying(let held) = recovery.phase,
              let window = primus.configuration.recovery
        else { return }
        recovery.phase = .live
        let now = UInt64(max(0, Primus.millisecondsSinceEpoch()))
        let oldest = now >= window.maxAgeMilliseconds ? now - window.maxAgeMilliseconds : 0
        let rooms = entries.isEmpty ? [] : primus.adapter.rooms(of: id)
        var last = recovery.last
        var lastSent: PrimusSequence?
        for entry in entries where entry.sequence > last && entry.sequence.milliseconds >= oldest && entry.target.reaches(id, in: rooms) {
            guard let envelope = try? primus.configuration.parser.encode(RecoveryEnvelope.wrap(entry.value, sequence: entry.sequence), for: self) else { continue }
            sendRecovered(SharedTransportMessage(envelope))
            last = entry.sequence
            lastSent = last
        }
        for (sequence, envelope) in held where sequence > last {
            if let envelope {
                sendRecovered(envelope)
                lastSent = sequence
            }
            last = sequence
        }
        if let head, head > last { last = head }
        recovery.last = last
        if last != lastSent, last != recovery.claimed, let baseline = try? primus.configuration.parser.encode(RecoveryEnvelope.baseline(last), for: self) {
            sendRecovered(SharedTransportMessage(baseline))
        }
        state.value.transport?.flush()
        primus.logger.trace("recovered", metadata: ["primus.spark.id": "\(id)", "primus.recovery.last": "\(last)"])
    }

    /// Broadcasts to a recovering spark: envelopes for sequenced ones, held while replaying,
    /// duplicates skipped. On the loop.
    @inline(never)
    func deliverRecovering(_ batch: BroadcastBatch) {
        for index in batch.messages.indices {
            if let sequenced = batch.sequenced[index] {
                acceptSequenced(sequenced.sequence, sequenced.envelope)
            } else {
                sendRecovered(batch.messages[index])
            }
            guard readyState == .open else { return }
        }
        state.value.transport?.flush()
    }

    /// A room write to a recovering spark (room writes go spark by spark), from any thread.
    func deliverSequenced(_ sequenced: SequencedMessage) {
        onLoop { spark in
            spark.acceptSequenced(sequenced.sequence, SharedTransportMessage(sequenced.envelope))
            spark.state.value.transport?.flush()
        }
    }

    /// This spark was left out of the write `sequence`: its client's place moves past it (a
    /// baseline), so a later replay does not send it. From any thread.
    func advanceRecovery(to sequence: PrimusSequence) {
        onLoop { spark in
            guard let recovery = spark.state.value.recovery else { return }
            switch recovery.phase {
            case .replaying(var held):
                recovery.phase = .live  // released while the array is rebuilt, so it is not copied
                held.append((sequence, nil))
                recovery.phase = .replaying(held: held)
            case .live:
                guard sequence > recovery.last else { return }
                recovery.last = sequence
                guard let baseline = try? spark.primus.configuration.parser.encode(RecoveryEnvelope.baseline(sequence), for: spark) else { return }
                spark.sendRecovered(SharedTransportMessage(baseline))
                spark.state.value.transport?.flush()
            }
        }
    }

    private func acceptSequenced(_ sequence: PrimusSequence, _ envelope: SharedTransportMessage) {
        guard readyState == .open, let recovery = state.value.recovery else { return }
        switch recovery.phase {
        case .replaying(var held):
            let limit = primus.configuration.recovery?.maxMessages ?? 1
            guard held.count < limit else {
                // More arrived during the replay than the window holds: the client reconnects and
                // replays from where it stands.
                primus.logger.debug("recovery: too many writes during the replay", metadata: ["primus.spark.id": "\(id)"])
                return endOnLoop(nil, reconnect: true)
            }
            recovery.phase = .live
            held.append((sequence, envelope))
            recovery.phase = .replaying(held: held)
        case .live:
            guard sequence > recovery.last else { return }
            recovery.last = sequence
            sendRecovered(envelope)
        }
    }

    /// Writes one message without a flush (the caller flushes), as a broadcast does.
    private func sendRecovered(_ shared: SharedTransportMessage) {
        guard readyState == .open else { return }
        guard let transport = state.value.transport else {
            state.value.unsent.append(shared.message)
            return
        }
        if transport.isWritable {
            transport.send(shared: shared)
        } else {
            refuse(shared.message)
        }
    }
}
