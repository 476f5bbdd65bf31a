-- Appends a broadcast to the backlog and publishes it with its id in one step, so the order
-- nodes receive broadcasts in is the backlog's order (the sequence recovery relies on).
-- KEYS: backlog stream, broadcast channel. ARGV: max entries kept, message bytes.
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[2])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2])
return id
