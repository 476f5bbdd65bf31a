/// The Lua scripts the cluster adapter runs in Redis, where each runs atomically.
enum ClusterScripts {
    /// Appends a broadcast to the backlog and publishes it with its id in one step, so the order
    /// nodes receive broadcasts in is the backlog's order (the sequence recovery relies on).
    /// KEYS: backlog stream, broadcast channel. ARGV: max entries kept, message bytes.
    static let publishSequenced = """
        local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
        redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2])
        return id
        """

    /// Forgets the nodes whose last heartbeat is older than the cutoff, and every spark they held.
    /// KEYS: nodes sorted set, sparks hash. ARGV: cutoff (ms), key prefix. Returns the nodes purged.
    static let purgeDeadNodes = """
        local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
        for _, node in ipairs(dead) do
          local held = ARGV[2] .. ':node:' .. node .. ':sparks'
          local ids = redis.call('SMEMBERS', held)
          for i = 1, #ids, 500 do
            redis.call('HDEL', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))
          end
          redis.call('DEL', held)
          redis.call('ZREM', KEYS[1], node)
        end
        return dead
        """
}
