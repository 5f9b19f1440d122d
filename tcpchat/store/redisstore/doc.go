// Package redisstore is the store.Store of wiredojo for several server
// nodes: queues, replay logs, room subscriptions and sessions live in Redis
// (github.com/redis/go-redis/v9), so a client may resume on any node.
//
// Layout (prefix "wiredojo" by default). Every key carries a hash tag on what
// it belongs to, so each queue and each room lives in one slot of a Redis
// Cluster and every multi-key script touches one slot only:
//
//	wiredojo:{client:ID}:q        stream, one entry per pending message, entry id "<offset>-1"
//	wiredojo:{client:ID}:meta     hash: next (last offset issued), seen (Unix ns)
//	wiredojo:{client:ID}:ids      hash: message id (16 bytes) -> offset
//	wiredojo:{client:ID}:rooms    set of "namespace\x00room"
//	wiredojo:{room:NS:ROOM}:members  set of client ids
//	wiredojo:{ns:NS}:replay       stream, the namespace's replay log, entry id "<offset>-1"
//	wiredojo:{ns:NS}:rmeta        hash: next, first, bytes (what the log counts), ver (bumped by each change)
//	wiredojo:{session:ID}         string: session record, expires with PX
//	wiredojo:queues, wiredojo:logs  sets of known client ids and namespaces
//	wiredojo:{replay}:bytes, :vers  hashes: namespace -> its log's bytes, and the ver they are of
//	wiredojo:{replay}:total       what every log counts (the sum of :bytes)
//	wiredojo:{replay}:heads       sorted set: namespace by the created time (ms) of its oldest entry
//	wiredojo:{sessions}:sizes     hash: session id -> what it counts
//	wiredojo:{sessions}:order     sorted set: session id by expiry (ms)
//	wiredojo:{sessions}:total     what every session counts (the sum of :sizes)
//
// Byte bounds of the recovery state (store.Limits). ReplayMaxBytes is kept
// by the script that appends to a namespace's log, atomically: it drops
// the log's oldest entries over the bound. ReplayTotalBytes (every log)
// and SessionTotalBytes (every session) span keys of many slots, which no
// script of a Redis Cluster may touch together, so their totals live in
// the {replay} and {sessions} slots and a second script keeps them after
// each change: a log's script returns the log's bytes, the age of its
// oldest entry and its version, and the total takes a log's state only
// when newer than the one it has (so the total is the sum of each log's
// latest state, and cannot drift as a counter of deltas would when a
// node stops between the two scripts); over the bound the store drops the
// oldest entries of the log whose oldest entry is oldest. A session's size
// and expiry are recorded when it is saved and forgotten when it is taken
// (GETDEL) or its time passed (its key goes by its TTL, silently; each
// save, take and Expire forgets those), and over the bound the sessions
// that expire first are dropped (their keys deleted). A total may pass
// its bound for a moment, by what is between the two scripts: the entries
// (or sessions) being written on every node at that moment, each one
// entry of at most 16 MiB (chat serve's frames: 1 MiB) or one session.
// A node that stops between the two scripts leaves its last change
// uncounted until the next change of that log or the next Expire sweep
// (which reports every log), or, for a session, until its TTL ends.
// An append reports its log to the total only when the log moved by
// 1/64 of ReplayTotalBytes (at most 64 KiB) since this node last reported
// it, which spares most appends the second round trip: the total may pass
// its bound by that much more per namespace and node.
// An entry or session written by a build that did not count them counts 0.
// Stats.ReplayBytes and SessionBytes are these shared totals as this
// node last saw them (at its last write or sweep); ReplayTrimmed and
// SessionsDropped count this node's drops.
//
// A fan-out Append runs one Lua script per recipient (atomic per queue),
// pipelined in one round trip, and an AppendBatch sends the scripts of all
// its entries in one pipeline (one round trip, so one fsync wait with
// appendfsync always, for the whole batch); recipients are not updated atomically
// together, which Redis Cluster could not do anyway. Durability is what the
// Redis server is configured for: with appendonly yes and appendfsync always
// an acknowledged append survives a kill -9 of Redis; with everysec up to
// one second of appends can be lost.
//
// It does not own the pub/sub transport between nodes (tcpchat/redisadapter)
// nor the record format (tcpchat/store).
package redisstore
