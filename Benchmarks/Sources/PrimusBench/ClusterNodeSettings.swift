/// How a `primus-redis` server process joins its cluster: `primus-bench server primus-redis
/// <mode> --redis URL --node-id ID [--prefix P] [--recover-count N]`.
struct ClusterNodeSettings: Sendable, Equatable {
    /// The shared Redis, `redis://127.0.0.1:<port>`.
    var redisURL: String
    /// The node's name in the cluster registry.
    var nodeID: String
    /// Prefix of the cluster's keys and channels: a fresh one per measurement, so a measurement
    /// never sees a previous one's nodes or sparks in the same Redis.
    var keyPrefix = "primus"
    /// Missed-message recovery's backlog (0: off, plain PUBLISH per broadcast).
    var recoverCount = 0

    init(redisURL: String, nodeID: String, keyPrefix: String = "primus", recoverCount: Int = 0) {
        self.redisURL = redisURL
        self.nodeID = nodeID
        self.keyPrefix = keyPrefix
        self.recoverCount = recoverCount
    }

    /// Parses the arguments after the mode; nil when there are none (not a cluster node).
    init?(parsing arguments: [String]) throws {
        guard !arguments.isEmpty else { return nil }
        var url: String?
        var node: String?
        var prefix = "primus"
        var recover = 0
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard let value = iterator.next() else { throw BenchError("\(argument) needs a value") }
            switch argument {
            case "--redis": url = value
            case "--node-id": node = value
            case "--prefix": prefix = value
            case "--recover-count":
                guard let count = Int(value), count >= 0 else { throw BenchError("--recover-count needs a count") }
                recover = count
            default: throw BenchError("unknown server argument \(argument)")
            }
        }
        guard let url, let node else { throw BenchError("a cluster node needs --redis URL and --node-id ID") }
        self.init(redisURL: url, nodeID: node, keyPrefix: prefix, recoverCount: recover)
    }

    /// The server arguments that give a server process these settings.
    var arguments: [String] {
        ["--redis", redisURL, "--node-id", nodeID, "--prefix", keyPrefix]
            + (recoverCount > 0 ? ["--recover-count", String(recoverCount)] : [])
    }
}
