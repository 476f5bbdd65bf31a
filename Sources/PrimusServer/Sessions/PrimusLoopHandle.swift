public import NIOCore

/// An object that lives on one event loop (a polling session, a WebSocket link), as other
/// threads reach it: they hand it work, and the work runs on its loop.
///
/// Transformers with HTTP sessions keep each session on one loop and reach it through a handle
/// from every request, whatever loop the request arrived on.
public struct PrimusLoopHandle<Value: AnyObject>: Sendable {
    /// The loop the value lives on.
    public let eventLoop: any EventLoop
    private let bound: NIOLoopBound<Value>

    /// Makes a handle; call it on `eventLoop`.
    public init(_ value: Value, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.bound = NIOLoopBound(value, eventLoop: eventLoop)
    }

    /// Runs `body` with the value on its loop: at once when already there, else after a hop.
    public func execute(_ body: @escaping @Sendable (Value) -> Void) {
        if eventLoop.inEventLoop {
            body(bound.value)
        } else {
            let bound = self.bound
            eventLoop.execute { body(bound.value) }
        }
    }

    /// The value, when called on its loop (`nil` elsewhere): for hot paths that are usually on
    /// the right loop and should not pay for a closure.
    public var valueIfOnLoop: Value? {
        eventLoop.inEventLoop ? bound.value : nil
    }
}

/// Reaches an object on its loop without keeping it alive: a keep-alive connection may outlive
/// the session it once polled, and must not hold that session's memory.
public struct PrimusWeakLoopHandle<Value: AnyObject>: Sendable {
    private final class Box {
        weak var value: Value?
        init(_ value: Value) { self.value = value }
    }

    private let box: NIOLoopBound<Box>
    private let eventLoop: any EventLoop

    /// Makes a handle; call it on `eventLoop`.
    public init(_ value: Value, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.box = NIOLoopBound(Box(value), eventLoop: eventLoop)
    }

    /// Runs `body` on the value's loop if the value still exists then. Always hops, so a caller
    /// on the loop finishes what it is doing first.
    public func execute(_ body: @escaping @Sendable (Value) -> Void) {
        let box = self.box
        eventLoop.execute {
            if let value = box.value.value { body(value) }
        }
    }
}
