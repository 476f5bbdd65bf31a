import PrimusCore
public import PrimusRedis

/// How a node joins a cluster through Redis (``RedisClusterAdapter``): which Redis, under which
/// key prefix, as which node, and how fast a dead node is forgotten.
public struct RedisClusterConfiguration: Sendable {
    /// The Redis server (URL, password, database, TLS, timeouts).
    public var redis: RedisConfiguration
    /// Prefix of every key and channel (default `primus`): several Primus clusters can share one
    /// Redis under different prefixes.
    public var keyPrefix: String = "primus"
    /// This node's name in the registry (default: random); unique per running process.
    public var nodeID: String = SparkIdentifier.random()
    /// How often a node says it is alive (default 2 s).
    public var nodeHeartbeat: Duration = .seconds(2)
    /// How long a node may stay silent before the others forget it and its sparks (default 10 s).
    public var nodeExpiry: Duration = .seconds(10)

    /// A configuration for `redis`.
    public init(redis: RedisConfiguration) {
        self.redis = redis
    }

    /// A configuration for the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://` for TLS).
    public init(url: String) throws {
        self.redis = try RedisConfiguration(url: url)
    }

    /// The names of the keys and channels, derived from the prefix.
    var keys: ClusterKeys { ClusterKeys(prefix: keyPrefix, nodeID: nodeID) }
}

/// The Redis keys and channels of a cluster.
struct ClusterKeys: Sendable {
    let prefix: String
    let nodeID: String

    /// Every broadcast and room write, for every node, in sequence order.
    var broadcastChannel: String { "\(prefix):broadcast" }
    /// Writes and ends for the sparks this node holds.
    var ownChannel: String { channel(of: nodeID) }
    /// The recovery backlog (a stream; entry ids are the sequences).
    var backlog: String { "\(prefix):backlog" }
    /// Spark id → node id.
    var sparks: String { "\(prefix):sparks" }
    /// Node id → last heartbeat (ms), a sorted set.
    var nodes: String { "\(prefix):nodes" }
    /// The spark ids of this node (purged with it).
    var ownSparks: String { "\(prefix):node:\(nodeID):sparks" }

    func channel(of node: String) -> String { "\(prefix):node:\(node)" }
}
