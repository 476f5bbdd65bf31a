import NIOConcurrencyHelpers
import NIOCore

/// The hook ``Primus/authorize(_:)`` sets.
typealias PrimusAuthorizationHook = @Sendable (PrimusMiddlewareContext) async throws -> Void

/// The server's middleware layers, authorization hook and plugins (one per ``Primus``).
///
/// Everything sits behind one lock, read once per request (``chain``) and written only when the
/// application changes the chain or its plugins, never per message.
final class PrimusMiddlewareStack: Sendable {
    /// What is locked.
    struct State: Sendable {
        var chain: PrimusMiddlewareChain
        /// Registered plugins, in registration order (Primus's `ark`).
        var plugins: [PrimusPlugin] = []
        var pluginHandlers: [@Sendable (PrimusPlugin) -> Void] = []
        var plugoutHandlers: [@Sendable (PrimusPlugin) -> Void] = []
    }

    let state: NIOLockedValueBox<State>

    init(configuration: PrimusConfiguration) {
        state = NIOLockedValueBox(State(chain: PrimusMiddlewareChain(layers: PrimusDefaultLayers.make(configuration: configuration))))
    }

    /// The layers and hook as they are now, for one request.
    var chain: PrimusMiddlewareChain { state.withLockedValue { $0.chain } }

    /// Changes the chain under the lock.
    func withChain<Result>(_ body: (inout PrimusMiddlewareChain) throws -> Result) rethrows -> Result {
        try state.withLockedValue { try body(&$0.chain) }
    }
}

/// A snapshot of the chain: the layers in order and the authorization hook. A value, so a
/// request runs against the chain as it was when it arrived, whatever changes meanwhile.
struct PrimusMiddlewareChain: Sendable {
    var layers: [PrimusMiddleware]
    var authorize: PrimusAuthorizationHook?

    /// Where the synchronous part of a run stopped.
    enum Outcome {
        /// The chain finished (every layer let the request through, or one answered).
        case finished(PrimusMiddlewareResult)
        /// The layer at this index must be awaited: the rest runs in a task.
        case suspended(at: Int)
    }

    /// Runs the layers from `start` on while they are synchronous.
    func runSynchronously(_ context: inout PrimusMiddlewareContext, from start: Int = 0) -> Outcome {
        var index = start
        while index < layers.count {
            let layer = layers[index]
            guard layer.runs(for: context.kind) else {
                index += 1
                continue
            }
            switch layer.implementation {
            case .synchronous(let body):
                do {
                    if case .respond(let answer) = try body(&context) {
                        return .finished(.respond(PrimusMiddlewareAnswers.finish(answer, context: context)))
                    }
                } catch {
                    return .finished(.respond(PrimusMiddlewareAnswers.finish(PrimusMiddlewareAnswers.thrown(error, kind: context.kind), context: context)))
                }
            case .authorization:
                if authorize != nil { return .suspended(at: index) }
            case .asynchronous:
                return .suspended(at: index)
            }
            index += 1
        }
        return .finished(.proceed(context))
    }

    /// Runs the layers from `start` on, awaiting the asynchronous ones.
    func runAsynchronously(_ context: PrimusMiddlewareContext, from start: Int) async -> PrimusMiddlewareResult {
        var context = context
        var index = start
        while index < layers.count {
            let layer = layers[index]
            guard layer.runs(for: context.kind) else {
                index += 1
                continue
            }
            switch layer.implementation {
            case .synchronous:
                switch runSynchronously(&context, from: index) {
                case .finished(let result): return result
                case .suspended(let next): index = next
                }
                continue
            case .asynchronous(let body):
                do {
                    if case .respond(let answer) = try await body(&context) {
                        return .respond(PrimusMiddlewareAnswers.finish(answer, context: context))
                    }
                } catch {
                    return .respond(PrimusMiddlewareAnswers.finish(PrimusMiddlewareAnswers.thrown(error, kind: context.kind), context: context))
                }
            case .authorization:
                if let authorize {
                    do {
                        try await authorize(context)
                    } catch {
                        return .respond(PrimusMiddlewareAnswers.finish(PrimusMiddlewareAnswers.refused(error, kind: context.kind), context: context))
                    }
                }
            }
            index += 1
        }
        return .proceed(context)
    }
}
