-- Forgets the nodes whose last heartbeat is older than the cutoff, and every spark they held.
-- KEYS: nodes sorted set, sparks hash. ARGV: cutoff (ms), key prefix. Returns the nodes purged.
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
