// Package redisadapter spreads a tcpchat server's rooms and broadcasts over
// many servers (nodes) that share a Redis:
//
//	cl, err := redisadapter.Open(ctx, "redis://127.0.0.1:6379/0", redisadapter.Options{})
//	srv := tcpchat.NewServer(tcpchat.Options{Adapter: cl.Adapter, Store: st})
//	... // serve; then srv.Close() and cl.Close()
//
// Every node keeps its own sockets and rooms in a tcpchat.MemoryAdapter and
// forwards each broadcast and each room lifecycle event over Redis pub/sub
// to the other nodes, which deliver broadcasts to their local members and
// report room events to their observers. An event of another node comes
// with RoomEvent.Node set to that node's Options.Node: it is that node's
// room that was created, joined, left or deleted; the receiving node's own
// room of the same name, and its members, are left as they are.
//
// It also carries "wake" notices: after a durable emit a node tells the
// others which client ids have new queued messages, so that a recipient
// connected to another node is sent them at once (the messages themselves
// live in the shared Redis store, tcpchat/store/redisstore, which the
// caller opens and gives as tcpchat.Options.Store).
//
// Delivery between nodes is Redis pub/sub's: at most once. What a node
// publishes while Redis is down is lost for the other nodes (plain emits
// are at-most-once anyway); durable emits are not, since a client fetches
// its queue from the store when it (re)connects.
//
// Each namespace subscribes to one channel (a single hash tag per
// namespace), so on Redis Cluster a namespace's broadcasts go through one
// shard; the pub/sub transport is the internal package redisbus. It does
// not own the message format of the store.
package redisadapter
