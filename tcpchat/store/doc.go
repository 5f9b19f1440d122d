// Package store owns wiredojo's durable state for the event chat: per-client
// message queues (durable emits), durable room subscriptions of client ids,
// the per-namespace replay log and the session records used by connection
// state recovery. It defines the Store interface, the types it moves, the
// binary record codec the persistent stores share, and the in-memory store.
//
// It does not own the chat server, its packets or its adapters: a message's
// payload is opaque bytes (the encoded event packet) plus metadata, and the
// server (tcpchat) depends on this package, never the reverse. The persistent
// stores live in sub-packages: boltstore (embedded bbolt, the default) and
// redisstore (Redis Streams, for several nodes); storeopen maps the
// command line's --store/--redis to one of them. storetest is the
// conformance kit and benchmark every store passes. ExpireEvery runs the
// retention sweep. The pub/sub between nodes is not a store: it belongs to
// tcpchat/redisadapter.
//
// # Delivery model
//
// Append writes one message to the queue of every recipient client id (one
// call for a room's fan-out). Each message gets one ID (the same for every
// recipient; unique per store, time-ordered per node) and, in each queue, an
// offset: a per-client number that only grows (1, 2, 3, ...; never reused,
// not even after Purge). Pending reads a queue in offset order; AckBatch removes
// the messages acknowledged (AckOne one message). A message stays pending until it is acknowledged, purged,
// dropped by retention, or its queue expires.
//
// # Retention policy
//
// Limits.MaxMessages bounds each queue: a full queue refuses new messages
// (Append returns a *QueueFullError, counted in Stats.RefusedFull) and
// never drops pending ones to make room, so nothing a sender was told is
// queued is lost to a flood. A
// message older than Limits.MaxAge is never returned by Pending and is
// removed by Expire (counted in Stats.DroppedAge). A queue whose client id
// was not seen (its creation, Touch, Pending and AckBatch count; Append to an
// existing queue does not) for
// Limits.QueueTTL is removed by Expire together with its room subscriptions
// (Stats.ExpiredQueues). Replay logs keep at most Limits.ReplayMax entries per
// namespace and none older than Limits.ReplayWindow (the memory store also
// at most Limits.ReplayMaxBytes per namespace and Limits.ReplayTotalBytes in
// all, dropping the oldest first); sessions expire after
// Limits.SessionWindow (default 2 minutes), and the memory store keeps at
// most Limits.SessionTotalBytes of them, dropping the oldest saved first
// (bolt keeps them until the window ends, Redis until its keys' TTL).
//
// Example:
//
//	st := store.NewMemory(store.Options{})
//	defer st.Close()
//	id, offs, err := st.Append(ctx, store.Message{Namespace: "/chat", Event: "news", Payload: pkt}, []string{"alice", "bob"}, nil)
//	msgs, err := st.Pending(ctx, "alice", 0, 100, nil)
//	n, err := st.AckBatch(ctx, "alice", []store.ID{id})
package store
