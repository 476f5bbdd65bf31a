import PrimusCore
import Testing

@Suite("ReconnectBackoff: Primus recovery 0.2.6, without a clock")
struct ReconnectBackoffTests {
    let t0 = Duration.seconds(100)

    @Test func firstAttemptWaitsExactlyMin() {
        var backoff = ReconnectBackoff()
        #expect(backoff.reconnect(now: t0, random: 0.99) == .schedule(.init(number: 1, delay: .milliseconds(500), elapsed: .zero, retries: 10)))
        #expect(backoff.isReconnecting)
    }

    @Test func laterAttemptsFollowTheRandomizedFormula() {
        let configuration = ReconnectBackoff.Configuration()
        // min(round((random + 1) * min * factor^(n-1)), max)
        #expect(ReconnectBackoff.delay(forAttempt: 2, random: 0, configuration: configuration) == .milliseconds(1000))
        #expect(ReconnectBackoff.delay(forAttempt: 2, random: 0.5, configuration: configuration) == .milliseconds(1500))
        #expect(ReconnectBackoff.delay(forAttempt: 3, random: 0.25, configuration: configuration) == .milliseconds(2500))
        #expect(ReconnectBackoff.delay(forAttempt: 10, random: 0, configuration: configuration) == .milliseconds(256_000))
        #expect(ReconnectBackoff.delay(forAttempt: 10, random: 0.999_999, configuration: configuration) == .milliseconds(512_000))
        // Rounded to whole milliseconds, half away from zero, as Math.round does for positives.
        let odd = ReconnectBackoff.Configuration(minDelay: .milliseconds(3), factor: 1.5)
        #expect(ReconnectBackoff.delay(forAttempt: 2, random: 0, configuration: odd) == .milliseconds(5))  // 4.5 → 5
    }

    @Test func delayIsCappedByMaxBeforeConversion() {
        let capped = ReconnectBackoff.Configuration(maxDelay: .seconds(5))
        #expect(ReconnectBackoff.delay(forAttempt: 9, random: 0.5, configuration: capped) == .seconds(5))
        let unbounded = ReconnectBackoff.Configuration(factor: 1e300)
        let huge = ReconnectBackoff.delay(forAttempt: 50, random: 0.5, configuration: unbounded)
        #expect(huge > .seconds(1_000_000_000))
    }

    @Test func pendingDelayIgnoresFurtherReconnectRequests() {
        var backoff = ReconnectBackoff()
        _ = backoff.reconnect(now: t0, random: 0)
        #expect(backoff.reconnect(now: t0, random: 0) == .none)
    }

    @Test func fullCycleReportsElapsedTimeAndResetsOnSuccess() {
        var backoff = ReconnectBackoff()
        _ = backoff.reconnect(now: t0, random: 0)
        #expect(backoff.delayElapsed(now: t0 + .milliseconds(500)) == .connect(.init(number: 1, delay: .milliseconds(500), elapsed: .milliseconds(500), retries: 10)))
        #expect(backoff.attemptFailed(now: t0 + .milliseconds(600), random: 0.5) == .schedule(.init(number: 2, delay: .milliseconds(1500), elapsed: .milliseconds(600), retries: 10)))
        #expect(backoff.delayElapsed(now: t0 + .milliseconds(2100)) == .connect(.init(number: 2, delay: .milliseconds(1500), elapsed: .milliseconds(2100), retries: 10)))
        #expect(backoff.attemptSucceeded(now: t0 + .milliseconds(2200)) == .reconnected(.init(number: 2, delay: .milliseconds(1500), elapsed: .milliseconds(2200), retries: 10)))
        #expect(!backoff.isReconnecting)
        // The next outage starts again at min.
        #expect(backoff.reconnect(now: t0 + .seconds(10), random: 0.9) == .schedule(.init(number: 1, delay: .milliseconds(500), elapsed: .zero, retries: 10)))
    }

    @Test func givesUpAfterRetriesAttempts() {
        var backoff = ReconnectBackoff(configuration: .init(minDelay: .milliseconds(10), retries: 3))
        var now = t0
        var scheduled: [Int] = []
        var action = backoff.reconnect(now: now, random: 0)
        while case .schedule(let attempt) = action {
            scheduled.append(attempt.number)
            now += attempt.delay
            _ = backoff.delayElapsed(now: now)
            action = backoff.attemptFailed(now: now, random: 0)
        }
        #expect(scheduled == [1, 2, 3])
        guard case .giveUp(let last) = action else {
            Issue.record("expected giveUp, got \(action)")
            return
        }
        #expect(last.number == 3)
        #expect(last.elapsed == now - t0)
        #expect(!backoff.isReconnecting)
    }

    @Test func zeroRetriesGivesUpAtOnce() {
        var backoff = ReconnectBackoff(configuration: .init(retries: 0))
        guard case .giveUp(let attempt) = backoff.reconnect(now: t0, random: 0) else {
            Issue.record("expected giveUp")
            return
        }
        #expect(attempt.number == 0)
    }

    @Test func inputsOutOfPlaceDoNothing() {
        var backoff = ReconnectBackoff()
        #expect(backoff.delayElapsed(now: t0) == .none)
        #expect(backoff.attemptFailed(now: t0, random: 0) == .none)
        #expect(backoff.attemptSucceeded(now: t0) == .none)
        _ = backoff.reconnect(now: t0, random: 0)
        backoff.reset()
        #expect(backoff.delayElapsed(now: t0) == .none)
    }
}

@Suite("ClientHeartbeat: no ping within pingTimeout means dead")
struct ClientHeartbeatTests {
    @Test func timesOutWithoutPings() {
        var heartbeat = ClientHeartbeat(timeout: .seconds(45))
        #expect(heartbeat.start(now: .seconds(0)) == .seconds(45))
        #expect(heartbeat.check(now: .seconds(45)) == .timeout)
        #expect(!heartbeat.isRunning)
        #expect(heartbeat.check(now: .seconds(90)) == .none)
    }

    @Test func aPingPostponesTheDeadline() {
        var heartbeat = ClientHeartbeat(timeout: .seconds(45))
        _ = heartbeat.start(now: .seconds(0))
        heartbeat.receivedPing(now: .seconds(30))
        #expect(heartbeat.check(now: .seconds(45)) == .checkAgain(after: .seconds(30)))
        #expect(heartbeat.check(now: .seconds(75)) == .timeout)
    }

    @Test func stoppedHeartbeatIgnoresPings() {
        var heartbeat = ClientHeartbeat(timeout: .seconds(1))
        heartbeat.receivedPing(now: .seconds(5))
        #expect(!heartbeat.isRunning)
        _ = heartbeat.start(now: .zero)
        heartbeat.stop()
        #expect(heartbeat.check(now: .seconds(2)) == .none)
    }
}
