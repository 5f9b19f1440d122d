package redisstore

import "github.com/redis/go-redis/v9"

// KEYS: q, meta, ids. ARGV: id, record, max messages, now (ns), created (ms).
// Returns {offset, refused (1/0), new queue (1/0)}: a queue that holds max
// messages refuses the new one (offset 0). A retried append (go-redis
// resends a command whose connection broke) finds its id and changes nothing.
var appendScript = redis.NewScript(`
local seen = redis.call('HGET', KEYS[3], ARGV[1])
if seen then return {tonumber(seen), 0, 0} end
local max = tonumber(ARGV[3])
if max > 0 and redis.call('XLEN', KEYS[1]) >= max then return {0, 1, 0} end
local off = redis.call('HINCRBY', KEYS[2], 'next', 1)
local new = 0
if redis.call('HEXISTS', KEYS[2], 'seen') == 0 then
  redis.call('HSET', KEYS[2], 'seen', ARGV[4])
  new = 1
end
redis.call('XADD', KEYS[1], off .. '-1', 'r', ARGV[2], 'i', ARGV[1], 'c', ARGV[5])
redis.call('HSET', KEYS[3], ARGV[1], off)
return {off, 0, new}
`)

// KEYS: q, meta, ids. ARGV: now (ns), then the ids to acknowledge.
// Returns how many of them were pending (removed).
var ackScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], 'seen', ARGV[1])
local n = 0
for i = 2, #ARGV do
  local off = redis.call('HGET', KEYS[3], ARGV[i])
  if off then
    redis.call('XDEL', KEYS[1], off .. '-1')
    redis.call('HDEL', KEYS[3], ARGV[i])
    n = n + 1
  end
end
return n
`)

// KEYS: meta. ARGV: now (ns). Marks an existing queue as seen.
var seenScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
return 0
`)

// KEYS: q, ids. Returns how many messages were removed.
var purgeScript = redis.NewScript(`
local n = redis.call('XLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
`)

// KEYS: q, meta, ids, rooms. ARGV: now (ns), queue ttl (ns, 0 none),
// cutoff created (ms, 0 none). Removes an idle queue (returning {1, n,
// rooms...}) or its messages created before the cutoff ({0, n}).
var expireQueueScript = redis.NewScript(`
local seen = tonumber(redis.call('HGET', KEYS[2], 'seen') or '0')
local ttl = tonumber(ARGV[2])
if ttl > 0 and tonumber(ARGV[1]) - seen > ttl then
  local n = redis.call('XLEN', KEYS[1])
  local rooms = redis.call('SMEMBERS', KEYS[4])
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  local out = {1, n}
  for _, r in ipairs(rooms) do table.insert(out, r) end
  return out
end
local cutoff = tonumber(ARGV[3])
local n = 0
if cutoff > 0 then
  while true do
    local batch = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
    if #batch == 0 then break end
    local stop = false
    for _, e in ipairs(batch) do
      if tonumber(e[2][6]) >= cutoff then stop = true; break end
      redis.call('XDEL', KEYS[1], e[1])
      redis.call('HDEL', KEYS[3], e[2][4])
      n = n + 1
    end
    if stop then break end
  end
end
return {0, n}
`)

// KEYS: replay, rmeta. ARGV: record, max entries, created (ms).
// Returns {offset, trimmed}.
var replayAppendScript = redis.NewScript(`
local off = redis.call('HINCRBY', KEYS[2], 'next', 1)
redis.call('XADD', KEYS[1], off .. '-1', 'r', ARGV[1], 'c', ARGV[3])
local first = tonumber(redis.call('HGET', KEYS[2], 'first') or '1')
local max = tonumber(ARGV[2])
local trimmed = 0
if max > 0 and off + 1 - first > max then
  local nf = off + 1 - max
  redis.call('XTRIM', KEYS[1], 'MINID', nf .. '-1')
  trimmed = nf - first
  first = nf
end
redis.call('HSET', KEYS[2], 'first', first)
return {off, trimmed}
`)

// KEYS: replay, rmeta. ARGV: cutoff (ms). Trims entries created before the
// cutoff; returns how many.
var replayExpireScript = redis.NewScript(`
local cutoff = tonumber(ARGV[1])
local n = 0
local first = tonumber(redis.call('HGET', KEYS[2], 'first') or '1')
while true do
  local batch = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
  if #batch == 0 then break end
  local stop = false
  for _, e in ipairs(batch) do
    if tonumber(e[2][4]) >= cutoff then stop = true; break end
    redis.call('XDEL', KEYS[1], e[1])
    first = tonumber(string.match(e[1], '^(%d+)')) + 1
    n = n + 1
  end
  if stop then break end
end
if n > 0 then redis.call('HSET', KEYS[2], 'first', first) end
return n
`)
