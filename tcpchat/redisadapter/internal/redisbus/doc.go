// Package redisbus is the Redis pub/sub transport between wiredojo chat
// nodes: a node publishes bytes (an encoded broadcast, a room lifecycle
// event) on a channel and every node subscribed to that channel receives
// them. The Redis adapter of tcpchat is built on it.
//
// It uses sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7 and later: a
// channel lives on the cluster shard that owns its hash slot, so broadcast
// traffic shards with the rooms) when the server supports it, and plain
// PUBLISH/SUBSCRIBE on older servers; Options.Mode forces either. Channel
// names carry the same hash tags as the store's keys ({room:NS:ROOM},
// {ns:NS}).
//
// Delivery is Redis pub/sub's: at-most-once. A subscription survives a Redis
// restart (go-redis reconnects and subscribes again), but what was published
// while the connection was down is lost; durable delivery is the store's job
// (tcpchat/store). Each Subscription owns one goroutine that calls its
// handler in order; a handler that blocks for a minute makes go-redis drop
// messages, so handlers must hand work off quickly.
//
// On a Redis Cluster in sharded mode a subscription lives on the node that
// owns its channels' slot, so every channel of one Subscription must share a
// slot: use one Subscription per room (a room's channel has one hash tag).
//
// It does not own the adapter's message format or which channels a node
// subscribes to.
package redisbus
