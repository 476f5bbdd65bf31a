import PrimusCore
import NIOCore

/// What the connection writes into its pipeline: one encoded command, with the promise its reply
/// completes (`nil` for pub/sub commands, whose confirmations arrive as messages, not replies).
struct RedisOutboundCommand: Sendable {
    var bytes: ByteBuffer
    var promise: EventLoopPromise<RESPValue>?
}

/// The event-loop half of one Redis connection: matches replies to commands in order
/// (pipelining), times out the oldest command, bounds the commands in flight, and routes pub/sub
/// deliveries (RESP3 pushes, or RESP2 `message` arrays on a subscriber) to the subscriber's
/// callbacks without any lock.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisOutboundCommand
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESPValue>
        var deadline: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private let maxPending: Int
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var closeReason: (any Error)?
    private var flushScheduled = false
    private let closedPromise: EventLoopPromise<any Error>

    /// Set on a subscriber after its handshake: RESP2 arrays that look like pub/sub messages are
    /// deliveries, not replies.
    var isSubscriber = false
    /// Called for every `message` delivery, in order, on this loop.
    var messageHandler: (@Sendable (String, ByteBuffer) -> Void)?
    /// Called for every `subscribe` / `unsubscribe` confirmation (kind, channel).
    var subscriptionHandler: ((String, String) -> Void)?

    init(commandTimeout: TimeAmount, maxPending: Int, closedPromise: EventLoopPromise<any Error>) {
        self.commandTimeout = commandTimeout
        self.maxPending = maxPending
        self.closedPromise = closedPromise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        if let reply = command.promise {
            if let closeReason {
                reply.fail(closeReason is RedisError ? closeReason : RedisError.connectionClosed)
                promise?.fail(RedisError.connectionClosed)
                return
            }
            guard pending.count < maxPending else {
                reply.fail(RedisError.overloaded)
                promise?.fail(RedisError.overloaded)
                return
            }
            pending.append(Pending(promise: reply, deadline: .now() + commandTimeout))
            if timer == nil { armTimer(context: context) }
        }
        context.write(wrapOutboundOut(command.bytes), promise: promise)
        scheduleFlush(context: context)
    }

    /// One flush for every command written in the same loop iteration: pipelined sends leave in
    /// one system call instead of one each. Callers write without flushing.
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBoundSelf.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        switch value {
        case .push(let elements):
            deliver(elements)
            return
        case .array(let elements) where isSubscriber && Self.isPubSubKind(elements.first):
            deliver(elements)
            return
        default:
            break
        }
        guard let command = pending.popFirst() else {
            fail(context: context, RedisError.protocolError("a reply with no command waiting for it"))
            return
        }
        if let message = value.errorMessage {
            command.promise.fail(RedisError.server(message))
        } else {
            command.promise.succeed(value)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? RESPError {
            fail(context: context, RedisError.protocolError(error.message))
        } else {
            fail(context: context, error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let reason = closeReason ?? RedisError.connectionClosed
        closeReason = reason
        timer?.cancel()
        timer = nil
        while let command = pending.popFirst() {
            command.promise.fail(RedisError.connectionClosed)
        }
        closedPromise.succeed(reason)
        context.fireChannelInactive()
    }

    /// Closes the connection, remembering why (the first reason wins).
    func fail(context: ChannelHandlerContext, _ error: any Error) {
        if closeReason == nil { closeReason = error }
        context.close(promise: nil)
    }

    /// Closes the connection from outside the pipeline (shutdown, a subscription that was not
    /// confirmed in time).
    func close(_ error: any Error) {
        guard let context else { return }
        fail(context: context, error)
    }

    private func deliver(_ elements: [RESPValue]) {
        guard elements.count >= 3, case .bulkString(let kindBytes) = elements[0] else { return }
        if kindBytes.readableBytes == 7, kindBytes.readableBytesView.elementsEqual("message".utf8) {
            guard case .bulkString(let channelBytes) = elements[1] else { return }
            let payload: ByteBuffer
            switch elements[2] {
            case .bulkString(let bytes): payload = bytes
            default: return
            }
            messageHandler?(String(buffer: channelBytes), payload)
            return
        }
        let kind = String(buffer: kindBytes)
        if kind == "subscribe" || kind == "unsubscribe", let channel = elements[1].string {
            subscriptionHandler?(kind, channel)
        }
    }

    private static let pubSubKinds: [String] = [
        "message", "subscribe", "unsubscribe", "pmessage", "psubscribe", "punsubscribe", "smessage", "ssubscribe", "sunsubscribe",
    ]

    /// Compares bytes in place (no String per message on the subscriber path).
    private static func isPubSubKind(_ value: RESPValue?) -> Bool {
        guard case .bulkString(let bytes) = value else { return false }
        let view = bytes.readableBytesView
        return pubSubKinds.contains { view.elementsEqual($0.utf8) }
    }

    /// One timer for the oldest command only: replies come in order, so the head is always the
    /// first to expire, and a busy connection does not schedule a task per command.
    private func armTimer(context: ChannelHandlerContext) {
        guard let head = pending.first else { return }
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: head.deadline) {
            loopBoundSelf.value.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        guard let context, let head = pending.first else { return }
        if head.deadline <= .now() {
            _ = pending.popFirst()
            head.promise.fail(RedisError.timeout)
            fail(context: context, RedisError.timeout)
        } else {
            armTimer(context: context)
        }
    }
}
