// Package boltstore is the embedded, durable store.Store of wiredojo: one
// bbolt file on local disk, the default of `chat serve`.
//
// Every write (Append, AckBatch, Touch, Purge, subscriptions, replay log,
// sessions, Expire) returns after its transaction is fsynced. Writes are
// group-committed: one goroutine owned by the Store takes every write queued
// while the previous commit was running and applies them in one transaction
// with one fsync, so throughput grows with the number of concurrent writers
// while a lone writer waits for no timer. If a grouped transaction fails,
// each write of the group is retried alone, so one failure never fails its
// neighbours. A full disk returns an error matching store.ErrDiskFull and the
// transaction is rolled back whole: no queue is left half-written.
//
// The recovery state (replay logs, sessions) is bounded by bytes as
// store.Limits says, in the transaction that appends or saves: the file
// keeps what each log and all logs and sessions count, and the sessions by
// expiry, oldest dropped first (bounds.go). A file written by a build that
// did not count holds entries and sessions that count 0 until they go.
//
// Open checks the file (every page reachable and consistent) and reports a
// corrupted or unreadable file with its path (errors.Is store.ErrCorrupt).
//
// It does not own the chat protocol or the record format (tcpchat/store
// does); Pending's "last seen" marks are kept in memory and written with the
// next transaction.
//
// Example:
//
//	st, err := boltstore.Open("/var/lib/wiredojo/queues.db", store.Options{})
//	if err != nil { ... } // names the file and what to do
//	defer st.Close()
package boltstore
