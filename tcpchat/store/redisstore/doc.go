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
//	wiredojo:{ns:NS}:rmeta        hash: next, first
//	wiredojo:{session:ID}         string: session record, expires with PX
//	wiredojo:queues, wiredojo:logs  sets of known client ids and namespaces
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
