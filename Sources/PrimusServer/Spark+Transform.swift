import Logging
import NIOCore
import PrimusCore

/// Messages of one direction waiting for an async transform, oldest first. While one message is
/// inside an async transform, the next ones queue here, so messages keep their order. Lives in
/// the spark's loop-bound state; used only when an async transform exists.
///
/// Bounded by ``PrimusConfiguration/maxBufferedMessages``: an incoming lane that full stops
/// reading from the client until it drains to half; an outgoing lane that full treats the next
/// write as over the outbound budget (``PrimusLimits/whenOverBudget``: the spark ends, or the
/// write is dropped).
struct TransformLane {
    var queue = CircularBuffer<TransformItem>()
    var busy = false
    /// Whether this lane stopped the reading (so it resumes it when it drains).
    var pausedReading = false
}

/// A message on its way through the transforms.
struct TransformItem: Sendable {
    var value: JSONValue
    /// The message as it arrived (incoming only): ``SparkMessage/raw``.
    var raw: TransportMessage?

    var direction: MessageTransformDirection { raw == nil ? .outgoing : .incoming }
}

extension Spark {
    // MARK: - Entry points (only sparks with transforms get here)

    /// A decoded client message, with incoming transforms to run. On the event loop.
    @inline(never)
    func receiveTransforming(_ value: JSONValue, raw: TransportMessage) {
        if incomingTransformsAreSynchronous {
            guard let transformed = runSynchronously(transforms.incoming, value) else { return }
            return deliver(SparkMessage(raw: raw, value: transformed, parser: primus.configuration.parser, context: self, transformed: true))
        }
        enqueue(TransformItem(value: value, raw: raw))
    }

    /// A value written by the application, with outgoing transforms to run. From any thread.
    @inline(never)
    func writeTransforming(_ value: JSONValue) {
        guard readyState == .open else { return }
        if outgoingTransformsAreSynchronous {
            // Inline, on the caller's thread, as a write without transforms encodes there.
            guard let transformed = runSynchronously(transforms.outgoing, value) else { return }
            return encodeAndSend(transformed, onLoop: false)
        }
        let item = TransformItem(value: value, raw: nil)
        onLoop { $0.enqueue(item) }
    }

    /// The outgoing transforms of an awaited ``send(_:)-(JSONValue)``, run in the caller's task.
    func transformedForAwaitedSend(_ value: JSONValue) async throws -> JSONValue? {
        var value = value
        for transform in transforms.outgoing {
            let packet = TransformPacket(data: value, spark: self)
            let result: TransformResult
            switch transform {
            case .sync(let body): result = body(packet)
            case .async(let body): result = try await body(packet)
            }
            guard case .pass(let next) = result else { return nil }
            value = next
        }
        return value
    }

    /// `nil`: swallowed.
    private func runSynchronously(_ list: [MessageTransform], _ value: JSONValue) -> JSONValue? {
        var value = value
        for case .sync(let body) in list {
            guard case .pass(let next) = body(TransformPacket(data: value, spark: self)) else { return nil }
            value = next
        }
        return value
    }

    // MARK: - The ordered lane (async transforms)

    private func enqueue(_ item: TransformItem) {
        let limit = max(primus.configuration.maxBufferedMessages, 2)
        let queued = withLane(item.direction) { $0.queue.count }
        switch item.direction {
        case .incoming where queued + 1 >= limit:
            // The application's transform is slower than the client: stop reading from it.
            withLane(.incoming) { $0.pausedReading = true }
            pauseReading()
        case .outgoing where queued >= limit:
            primus.logger.debug("outgoing transform lane full", metadata: ["primus.spark.id": "\(id)"])
            if primus.configuration.limits.whenOverBudget == .end { end(reconnect: true) }
            return
        default:
            break
        }
        withLane(item.direction) { $0.queue.append(item) }
        drain(item.direction)
    }

    /// Reads again once a lane that stopped the reading has drained to half.
    private func resumeIfDrained(_ direction: MessageTransformDirection) {
        guard direction == .incoming else { return }
        let limit = max(primus.configuration.maxBufferedMessages, 2)
        let resume = withLane(.incoming) { lane -> Bool in
            guard lane.pausedReading, lane.queue.count <= limit / 2 else { return false }
            lane.pausedReading = false
            return true
        }
        if resume { resumeReadingIfPaused() }
    }

    private func withLane<R>(_ direction: MessageTransformDirection, _ body: (inout TransformLane) -> R) -> R {
        switch direction {
        case .incoming: body(&state.value.incomingLane)
        case .outgoing: body(&state.value.outgoingLane)
        }
    }

    /// Runs queued messages until one suspends in an async transform (it calls back) or none is left.
    private func drain(_ direction: MessageTransformDirection) {
        let claimed = withLane(direction) { lane -> Bool in
            guard !lane.busy else { return false }
            lane.busy = true
            return true
        }
        guard claimed else { return }
        while let item = withLane(direction, { $0.queue.popFirst() }) {
            resumeIfDrained(direction)
            guard run(item, from: 0) else { return }  // suspended: `resume` continues the lane
        }
        withLane(direction) { $0.busy = false }
    }

    /// Applies the transforms from `start` on; `false` when an async one took the message.
    private func run(_ item: TransformItem, from start: Int) -> Bool {
        let list = item.direction == .incoming ? transforms.incoming : transforms.outgoing
        var item = item
        var index = start
        while index < list.count {
            switch list[index] {
            case .sync(let body):
                guard case .pass(let next) = body(TransformPacket(data: item.value, spark: self)) else { return true }
                item.value = next
            case .async(let body):
                let packet = TransformPacket(data: item.value, spark: self)
                let next = index + 1
                let waiting = item
                // One task per message, only for servers that chose an async transform.
                Task {
                    let result: Result<TransformResult, any Error>
                    do { result = .success(try await body(packet)) } catch { result = .failure(error) }
                    self.eventLoop.execute { self.resume(waiting, result: result, at: next) }
                }
                return false
            }
            index += 1
        }
        emit(item)
        return true
    }

    private func resume(_ item: TransformItem, result: Result<TransformResult, any Error>, at next: Int) {
        switch result {
        case .success(.pass(let value)):
            var item = item
            item.value = value
            guard run(item, from: next) else { return }
        case .success(.swallow):
            break
        case .failure(let error):
            reportError(error as? PrimusError ?? PrimusError(code: .protocolViolation, message: "message transform failed: \(error)"))
        }
        withLane(item.direction) { $0.busy = false }
        drain(item.direction)
    }

    private func emit(_ item: TransformItem) {
        if let raw = item.raw {
            deliver(SparkMessage(raw: raw, value: item.value, parser: primus.configuration.parser, context: self, transformed: true))
        } else {
            encodeAndSend(item.value, onLoop: true)
        }
    }
}
