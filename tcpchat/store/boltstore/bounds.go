package boltstore

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// The byte bounds of the recovery state (store.Limits.ReplayMaxBytes,
// ReplayTotalBytes, SessionTotalBytes) are kept in the transaction that
// appends an entry or saves a session: a log's bucket holds what its
// entries count (kBytes), bMeta what all logs and all sessions count, and
// bSessOrder the sessions by expiry (saving order: one window for all),
// so that the oldest go first. A session counts iff it has its place in
// bSessOrder, and an entry iff it was appended by a build that counts (a
// file written before counts what it held as 0, never below 0).
var (
	bSessOrder     = []byte("sessorder") // expires (Unix ns, 8 bytes BE) + id -> ""
	kBytes         = []byte("bytes")
	kReplayBytes   = []byte("replay-bytes")
	kSessionsBytes = []byte("session-bytes")
)

// addU64 adds delta to the counter k of bucket b, never below 0.
func addU64(b *bolt.Bucket, k []byte, delta int64) error {
	v := int64(getU64(b, k)) + delta
	return b.Put(k, u64(uint64(max(v, 0))))
}

// dropOldest removes the oldest entry of the log lb (its entries mb),
// giving its bytes back; it reports false when the log is empty.
func dropOldest(tx *bolt.Tx, lb, mb *bolt.Bucket, d *store.Stats) (bool, error) {
	c := mb.Cursor()
	k, v := c.First()
	if k == nil {
		return false, nil
	}
	var size int64
	var m store.Message
	if store.DecodeMessage(v, &m) == nil {
		size = store.ReplayEntrySize(len(m.Payload), m.Rooms, m.Except)
	}
	first := be(k) + 1
	if err := c.Delete(); err != nil {
		return false, err
	}
	d.ReplayTrimmed++
	if err := lb.Put(kFirst, u64(first)); err != nil {
		return false, err
	}
	if err := addU64(lb, kBytes, -size); err != nil {
		return false, err
	}
	return true, addU64(tx.Bucket(bMeta), kReplayBytes, -size)
}

// trimReplayBytes drops the oldest entries of the log lb over
// ReplayMaxBytes, then the oldest of any log while all of them count more
// than ReplayTotalBytes.
func (s *Store) trimReplayBytes(tx *bolt.Tx, lb, mb *bolt.Bucket, d *store.Stats) error {
	for limit := s.limits.ReplayMaxBytes; limit > 0 && int64(getU64(lb, kBytes)) > limit; {
		if ok, err := dropOldest(tx, lb, mb, d); !ok || err != nil {
			return err
		}
	}
	meta, rb := tx.Bucket(bMeta), tx.Bucket(bReplay)
	for limit := s.limits.ReplayTotalBytes; limit > 0 && int64(getU64(meta, kReplayBytes)) > limit; {
		// the log whose oldest entry is oldest (namespaces are few)
		var oldest []byte
		var at int64
		err := rb.ForEachBucket(func(ns []byte) error {
			k, v := rb.Bucket(ns).Bucket(kMsgs).Cursor().First()
			var m store.Message
			if k == nil || store.DecodeMessage(v, &m) != nil {
				return nil
			}
			if c := m.Created.UnixNano(); oldest == nil || c < at {
				oldest, at = ns, c
			}
			return nil
		})
		if err != nil || oldest == nil {
			return err
		}
		ob := rb.Bucket(oldest)
		if _, err := dropOldest(tx, ob, ob.Bucket(kMsgs), d); err != nil {
			return err
		}
	}
	return nil
}

// sessOrderKey is a session's place in bSessOrder.
func sessOrderKey(sess *store.Session) []byte {
	return append(u64(uint64(sess.Expires.UnixNano())), sess.ID...)
}

// forgetSession gives the bytes of the stored session rec back and removes
// its place in bSessOrder (the caller deletes the session itself).
func forgetSession(tx *bolt.Tx, rec []byte) error {
	var sess store.Session
	if store.DecodeSession(rec, &sess) != nil {
		return nil
	}
	ob := tx.Bucket(bSessOrder)
	k := sessOrderKey(&sess)
	if ob.Get(k) == nil {
		return nil // not counted (saved by a build that did not count)
	}
	if err := ob.Delete(k); err != nil {
		return err
	}
	return addU64(tx.Bucket(bMeta), kSessionsBytes, -store.SessionSize(&sess))
}

// countSession counts the session sess just put and drops the oldest
// sessions while all of them count more than SessionTotalBytes.
func (s *Store) countSession(tx *bolt.Tx, sess *store.Session, d *store.Stats) error {
	meta, ob, sb := tx.Bucket(bMeta), tx.Bucket(bSessOrder), tx.Bucket(bSessions)
	if err := ob.Put(sessOrderKey(sess), nil); err != nil {
		return err
	}
	if err := addU64(meta, kSessionsBytes, store.SessionSize(sess)); err != nil {
		return err
	}
	for limit := s.limits.SessionTotalBytes; limit > 0 && int64(getU64(meta, kSessionsBytes)) > limit; {
		k, _ := ob.Cursor().First()
		if len(k) < 8 {
			return nil
		}
		k = bytes.Clone(k) // the page it is on changes below
		id := k[8:]
		if rec := sb.Get(id); rec != nil {
			if err := forgetSession(tx, rec); err != nil {
				return err
			}
			if err := sb.Delete(id); err != nil {
				return err
			}
			d.SessionsDropped++
		}
		if err := ob.Delete(k); err != nil { // a place left by a session gone
			return err
		}
	}
	return nil
}

// gauges reads what the replay logs and the sessions count now.
func (s *Store) gauges(st *store.Stats) {
	_ = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		st.ReplayBytes, st.SessionBytes = getU64(meta, kReplayBytes), getU64(meta, kSessionsBytes)
		return nil
	})
}
