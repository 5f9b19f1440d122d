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

// replayLog is the Lua shared by the scripts on one namespace's replay
// log (KEYS[1] the stream, KEYS[2] its rmeta hash). An entry's fields are
// r (record), c (created, ms) and s (what it counts against the byte
// bounds; an entry written before s existed counts 0). rmeta holds next
// (last offset issued), first (oldest offset kept), bytes (what the log's
// entries count) and ver (bumped by every change, so that the totals
// across namespaces take a log's newest state only).
//
// drop_oldest removes the oldest entry and returns its created time (ms),
// or nil when the log is empty. state returns {bytes, head created (ms),
// -1 when empty, ver}.
const replayLog = `
local function drop_oldest()
  local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not e then return nil end
  redis.call('XDEL', KEYS[1], e[1])
  redis.call('HINCRBY', KEYS[2], 'bytes', -tonumber(e[2][6] or '0'))
  redis.call('HSET', KEYS[2], 'first', tonumber(string.match(e[1], '^(%d+)')) + 1)
  return tonumber(e[2][4])
end
local function state()
  local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  local head = -1
  if e then head = tonumber(e[2][4]) end
  local v = redis.call('HMGET', KEYS[2], 'bytes', 'ver')
  return {tonumber(v[1] or '0'), head, tonumber(v[2] or '0')}
end
`

// KEYS: replay, rmeta. ARGV: record, max entries, created (ms), size,
// max bytes (0 or less: none). Appends, then drops the oldest entries over
// max entries or max bytes. Returns {offset, trimmed, bytes, head, ver}.
var replayAppendScript = redis.NewScript(replayLog + `
local off = redis.call('HINCRBY', KEYS[2], 'next', 1)
redis.call('XADD', KEYS[1], off .. '-1', 'r', ARGV[1], 'c', ARGV[3], 's', ARGV[4])
if not redis.call('HGET', KEYS[2], 'first') then redis.call('HSET', KEYS[2], 'first', 1) end
local bytes = redis.call('HINCRBY', KEYS[2], 'bytes', tonumber(ARGV[4]))
local max, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[5])
local trimmed = 0
while true do
  local first = tonumber(redis.call('HGET', KEYS[2], 'first'))
  if not ((max > 0 and off + 1 - first > max) or (maxBytes > 0 and bytes > maxBytes)) then break end
  if not drop_oldest() then break end
  trimmed = trimmed + 1
  bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes'))
end
redis.call('HINCRBY', KEYS[2], 'ver', 1)
local st = state()
return {off, trimmed, st[1], st[2], st[3]}
`)

// KEYS: replay, rmeta. ARGV: cutoff (ms). Drops entries created before the
// cutoff. Returns {dropped, bytes, head, ver}.
var replayExpireScript = redis.NewScript(replayLog + `
local cutoff = tonumber(ARGV[1])
local n = 0
while true do
  local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not e or tonumber(e[2][4]) >= cutoff then break end
  drop_oldest()
  n = n + 1
end
if n > 0 then redis.call('HINCRBY', KEYS[2], 'ver', 1) end
local st = state()
return {n, st[1], st[2], st[3]}
`)

// KEYS: replay, rmeta. ARGV: bytes to free, created (ms) up to which
// entries may go. Drops the oldest entry, and more while fewer than the
// bytes to free went and the next is not newer than that time (the head
// of the next oldest log, for ReplayTotalBytes). Returns {dropped, bytes,
// head, ver}.
var replayDropScript = redis.NewScript(replayLog + `
local need, upto = tonumber(ARGV[1]), tonumber(ARGV[2])
local before = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0')
local n = 0
while true do
  local at = drop_oldest()
  if not at then break end
  n = n + 1
  local st = state()
  if before - st[1] >= need or st[2] < 0 or st[2] > upto then break end
end
if n > 0 then redis.call('HINCRBY', KEYS[2], 'ver', 1) end
local st = state()
return {n, st[1], st[2], st[3]}
`)

// KEYS: bytes (hash namespace -> what its log counts), vers (hash
// namespace -> ver of that state), total (what all logs count), heads
// (sorted set of namespaces by the created time of their oldest entry),
// all in one slot. ARGV: namespace, bytes, head (-1: empty), ver. Takes
// the state of one log unless a newer one was taken already (in-flight
// scripts of several nodes may report out of order). Returns {total,
// oldest namespace, its head, next oldest namespace, its head} (as many
// of the four as there are logs).
var replayTotalScript = redis.NewScript(`
local ver = tonumber(ARGV[4])
local had = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if ver > had then
  local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  local b = tonumber(ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], ver)
  if b > 0 then redis.call('HSET', KEYS[1], ARGV[1], b) else redis.call('HDEL', KEYS[1], ARGV[1]) end
  redis.call('INCRBY', KEYS[3], b - old)
  if tonumber(ARGV[3]) >= 0 then redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1]) else redis.call('ZREM', KEYS[4], ARGV[1]) end
end
local out = {tonumber(redis.call('GET', KEYS[3]) or '0')}
for _, v in ipairs(redis.call('ZRANGE', KEYS[4], 0, 1, 'WITHSCORES')) do table.insert(out, v) end
return out
`)

// KEYS: sizes (hash session id -> what it counts), order (sorted set of
// session ids by expiry, ms), total (what all count), in one slot. ARGV:
// session id (empty: none), its size (-1: it was taken), its expiry (ms),
// expired before (ms), max bytes (0 or less: none), most expired to
// forget. Forgets the session
// (saved again, or taken) and the sessions that expired before the time
// given (Redis removed their keys by their TTL, or does so soon), records the session saved, then drops
// the sessions that expire first while the total is over max bytes.
// Returns {total, expired, dropped ids...}: the caller deletes the
// dropped sessions' keys.
var sessionTotalScript = redis.NewScript(`
local function forget(id)
  local sz = tonumber(redis.call('HGET', KEYS[1], id) or '0')
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  return sz
end
local delta = 0
if ARGV[1] ~= '' then delta = delta - forget(ARGV[1]) end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4], 'LIMIT', 0, tonumber(ARGV[6]))
for _, id in ipairs(expired) do delta = delta - forget(id) end
local size = tonumber(ARGV[2])
if ARGV[1] ~= '' and size >= 0 then
  redis.call('HSET', KEYS[1], ARGV[1], size)
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  delta = delta + size
end
local total = redis.call('INCRBY', KEYS[3], delta)
local out = {0, #expired}
local max = tonumber(ARGV[5])
while max > 0 and total > max do
  local p = redis.call('ZPOPMIN', KEYS[2])
  if #p == 0 then break end
  local sz = tonumber(redis.call('HGET', KEYS[1], p[1]) or '0')
  redis.call('HDEL', KEYS[1], p[1])
  total = redis.call('INCRBY', KEYS[3], -sz)
  table.insert(out, p[1])
end
out[1] = total
return out
`)
