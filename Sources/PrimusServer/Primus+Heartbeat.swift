import NIOConcurrencyHelpers

/// Who ticks a Primus's heartbeat. Several runners may ask (``Primus/run()`` and
/// ``PrimusHTTPServer/run()``, run as two services); one owns the tick, the others wait to take
/// over when it stops. Two tickers would end healthy sparks: the second tick of an interval finds
/// the first one's ping unanswered.
struct HeartbeatClaim {
    var owned = false
    /// Runners waiting for the owner to stop, by ticket.
    var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextTicket: UInt64 = 0
}

extension Primus {
    /// Ticks the heartbeat every `pingInterval` while this task runs and owns it; otherwise waits
    /// to take it over. Returns when the task is cancelled. Without a `pingInterval`, just waits.
    func runHeartbeats() async {
        guard let interval = configuration.pingInterval, interval > .zero else {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        while !Task.isCancelled {
            if claimHeartbeat() {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { break }
                    heartbeat()
                }
                releaseHeartbeat()
                return
            }
            await waitForHeartbeatRelease()
        }
    }

    /// Whether a heartbeat is being ticked (tests).
    package var heartbeatIsOwned: Bool { registry.withLockedValue { $0.heartbeat.owned } }

    private func claimHeartbeat() -> Bool {
        registry.withLockedValue { registry in
            guard !registry.heartbeat.owned else { return false }
            registry.heartbeat.owned = true
            return true
        }
    }

    private func releaseHeartbeat() {
        let waiters = registry.withLockedValue { registry in
            registry.heartbeat.owned = false
            defer { registry.heartbeat.waiters = [:] }
            return Array(registry.heartbeat.waiters.values)
        }
        // They race to claim it; one wins, the others wait again.
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the owner releases the heartbeat (at once if nobody owns it) or the task is
    /// cancelled.
    private func waitForHeartbeatRelease() async {
        let ticket = registry.withLockedValue { registry in
            registry.heartbeat.nextTicket &+= 1
            return registry.heartbeat.nextTicket
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = registry.withLockedValue { registry in
                    guard registry.heartbeat.owned, !Task.isCancelled else { return true }
                    registry.heartbeat.waiters[ticket] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = registry.withLockedValue { $0.heartbeat.waiters.removeValue(forKey: ticket) }
            waiter?.resume()
        }
    }

    /// A listener serving this Primus says how it ends sparks at shutdown, so ``run()`` ends them
    /// the same way (`nil`: it stopped serving).
    func setFrontEndReconnect(_ reconnect: Bool?) {
        registry.withLockedValue { $0.frontEndReconnect = reconnect }
    }
}
