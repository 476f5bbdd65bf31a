import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusCore
import Testing

@testable import PrimusServer

/// How one run of the middleware chain ended, as a test sees it.
struct MiddlewareRun: Sendable {
    /// What the chain decided.
    var result: PrimusMiddlewareResult
    /// Whether `completion` ran before `runMiddleware` returned (no task, no hop).
    var synchronous: Bool
    /// Whether `completion` ran on the event loop it was given.
    var onLoop: Bool

    /// The answer, when a layer answered.
    var response: PrimusHTTPResponse? {
        if case .respond(let response) = result { return response }
        return nil
    }

    /// The context, when the chain let the request through.
    var context: PrimusMiddlewareContext? {
        if case .proceed(let context) = result { return context }
        return nil
    }
}

enum MiddlewareTesting {
    /// A request head.
    static func head(
        _ method: HTTPMethod = .GET,
        _ uri: String,
        headers: [(String, String)] = []
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    /// A context for `head` from the peer `127.0.0.1:51000`.
    static func context(
        _ primus: Primus,
        _ kind: PrimusMiddlewareContext.Kind,
        _ head: HTTPRequestHead,
        secure: Bool = false,
        peer: String = "127.0.0.1"
    ) -> PrimusMiddlewareContext {
        let remote = try? SocketAddress(ipAddress: peer, port: 51000)
        return PrimusMiddlewareContext(kind: kind, request: PrimusHTTPRequest(head: head, remoteAddress: remote), secure: secure, primus: primus)
    }

    /// Runs the chain for `context` on an event loop, as a front-end does, and reports how.
    static func run(_ primus: Primus, _ context: PrimusMiddlewareContext) async -> MiddlewareRun {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        return await withCheckedContinuation { (continuation: CheckedContinuation<MiddlewareRun, Never>) in
            loop.execute {
                var returned = false
                primus.runMiddleware(context, on: loop) { result in
                    continuation.resume(returning: MiddlewareRun(result: result, synchronous: !returned, onLoop: loop.inEventLoop))
                }
                returned = true
            }
        }
    }

    /// Runs the chain for a request built from its parts.
    static func run(
        _ primus: Primus,
        _ kind: PrimusMiddlewareContext.Kind,
        _ method: HTTPMethod = .GET,
        _ uri: String,
        headers: [(String, String)] = [],
        secure: Bool = false,
        peer: String = "127.0.0.1"
    ) async -> MiddlewareRun {
        await run(primus, context(primus, kind, head(method, uri, headers: headers), secure: secure, peer: peer))
    }
}

extension HTTPHeaders {
    /// The headers as `Name: value` lines, in order, as they go on the wire.
    var lines: [String] { map { "\($0.name): \($0.value)" } }
}

extension PrimusHTTPResponse {
    /// The body as text.
    var text: String { String(buffer: body) }
}

/// A gate a test opens: an async hook waits on it, so the test controls when the hook returns.
final class TestGate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>], arrivals: Int)>((false, [], 0))

    /// How many waiters arrived so far.
    var arrivals: Int { state.withLockedValue { $0.arrivals } }

    /// Waits until ``open()``.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let open = state.withLockedValue { state in
                state.arrivals += 1
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    /// Lets every waiter (present and future) through.
    func open() {
        let waiters = state.withLockedValue { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until `count` waiters arrived (bounded: fails the test after 10 s). Polls with a
    /// short sleep, not `Task.yield()`: a yielding loop can keep the two threads of a loaded
    /// machine's cooperative pool from ever running the task it waits for.
    func waitForArrivals(_ count: Int) async {
        let deadline = ContinuousClock.now + .seconds(10)
        while arrivals < count {
            if ContinuousClock.now > deadline {
                Issue.record("only \(arrivals) of \(count) arrivals")
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}
