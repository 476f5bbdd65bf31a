import NIOConcurrencyHelpers
/// What ``Primus/onClose(_:)`` handlers are told: how the server shut down (Primus passes the
/// options of `destroy`).
public struct PrimusCloseEvent: Sendable, Hashable {
    /// Whether the sparks were dropped so their clients reconnect (`true`) or told
    /// `primus::server::close` (`false`).
    public var reconnect: Bool

    /// Creates an event.
    public init(reconnect: Bool) {
        self.reconnect = reconnect
    }
}

extension Primus {
    /// Calls `body` for each open spark, in no particular order, until it returns `false`
    /// (Primus's synchronous `forEach`). Sparks that connect meanwhile are not visited.
    ///
    /// - Returns: whether every spark was visited (`body` never said stop).
    @discardableResult
    public func forEach(_ body: (Spark) throws -> Bool) rethrows -> Bool {
        for spark in sparks where spark.readyState == .open {
            guard try body(spark) else { return false }
        }
        return true
    }

    /// Calls an asynchronous `body` for each open spark, one at a time, until it returns `false`
    /// or throws (Primus's `forEach(fn, done)`): for work per client that must not run for all
    /// clients at once, such as a slow store lookup. Sparks are visited in the order they
    /// connected; sparks that connect during the iteration are visited too, and sparks that end
    /// before their turn are skipped.
    ///
    /// - Returns: whether every spark was visited (`body` never said stop).
    /// - Throws: what `body` throws; the iteration stops there.
    @discardableResult
    public func forEach(_ body: (Spark) async throws -> Bool) async rethrows -> Bool {
        var after: UInt64 = 0
        while true {
            // Each round takes the sparks that registered after the last one visited.
            let round = registry.withLockedValue { registry in
                registry.sparks.values.filter { $0.serial > after }.sorted { $0.serial < $1.serial }
            }
            guard !round.isEmpty else { return true }
            for entry in round {
                after = entry.serial
                guard entry.spark.readyState == .open else { continue }
                guard try await body(entry.spark) else { return false }
            }
        }
    }
}
