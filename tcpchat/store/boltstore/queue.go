package boltstore

import (
	"bytes"
	"context"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Append implements store.Store: one transaction for every recipient.
func (s *Store) Append(ctx context.Context, m store.Message, to []string, offsets []uint64) (store.ID, []uint64, error) {
	if err := store.ValidMessage(&m); err != nil {
		return store.ID{}, offsets, err
	}
	to, err := store.Dedupe(to)
	if err != nil {
		return store.ID{}, offsets, err
	}
	now := s.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.ID = s.ids.New(now)
	m.Offset = 0 // the key holds each recipient's offset
	rec := store.AppendMessage(nil, &m)
	base := len(offsets)
	err = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		offsets = offsets[:base]
		qs := tx.Bucket(bQueues)
		for _, c := range to {
			cb, mb, ib, err := queueBuckets(qs, c, now, true)
			if err != nil {
				return err
			}
			next := max(getU64(cb, kNext), 1)
			n := getU64(cb, kCount) + 1
			if err := mb.Put(u64(next), rec); err != nil {
				return err
			}
			if err := ib.Put(m.ID[:], u64(next)); err != nil {
				return err
			}
			if err := cb.Put(kNext, u64(next+1)); err != nil {
				return err
			}
			d.Appended++
			if max := s.limits.MaxMessages; max > 0 && n > uint64(max) {
				drop := n - uint64(max)
				if _, err := dropOldest(mb, ib, drop, nil); err != nil {
					return err
				}
				n -= drop
				d.DroppedOverflow += drop
			}
			if err := cb.Put(kCount, u64(n)); err != nil {
				return err
			}
			offsets = append(offsets, next)
		}
		return nil
	})
	if err != nil {
		return store.ID{}, offsets[:base], err
	}
	return m.ID, offsets, nil
}

// queueBuckets returns client's bucket and its message and index buckets,
// creating them (with a last-seen mark of now) when create is set; nil
// buckets when absent and create is not set.
func queueBuckets(qs *bolt.Bucket, client string, now time.Time, create bool) (cb, mb, ib *bolt.Bucket, err error) {
	cb = qs.Bucket([]byte(client))
	if cb == nil {
		if !create {
			return nil, nil, nil, nil
		}
		if cb, err = qs.CreateBucket([]byte(client)); err != nil {
			return nil, nil, nil, err
		}
		if err = cb.Put(kSeen, u64(uint64(now.UnixNano()))); err != nil {
			return nil, nil, nil, err
		}
		if mb, err = cb.CreateBucket(kMsgs); err != nil {
			return nil, nil, nil, err
		}
		if ib, err = cb.CreateBucket(kIndex); err != nil {
			return nil, nil, nil, err
		}
		return cb, mb, ib, nil
	}
	return cb, cb.Bucket(kMsgs), cb.Bucket(kIndex), nil
}

// dropOldest deletes the n oldest messages (or, with keep set, the oldest
// messages for which keep returns false, stopping at the first it keeps).
func dropOldest(mb, ib *bolt.Bucket, n uint64, keep func(rec []byte) bool) (uint64, error) {
	c := mb.Cursor()
	var dropped uint64
	for k, v := c.First(); k != nil && (keep != nil || dropped < n); k, v = c.First() {
		if keep != nil && keep(v) {
			break
		}
		if len(v) >= 17 {
			if err := ib.Delete(v[1:17]); err != nil {
				return dropped, err
			}
		}
		if err := c.Delete(); err != nil {
			return dropped, err
		}
		dropped++
	}
	return dropped, nil
}

func decodeAt(k, v []byte) (store.Message, error) {
	var m store.Message
	if err := store.DecodeMessage(v, &m); err != nil {
		return m, err
	}
	m.Offset = be(k)
	return m, nil
}

func be(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
		uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
}

func (s *Store) tooOld(created, now time.Time) bool {
	return s.limits.MaxAge > 0 && now.Sub(created) > s.limits.MaxAge
}

// Pending implements store.Store.
func (s *Store) Pending(ctx context.Context, client string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	if err := store.ValidName(client); err != nil {
		return dst, err
	}
	now := s.now()
	err := s.view(func(tx *bolt.Tx) error {
		cb, mb, _, _ := queueBuckets(tx.Bucket(bQueues), client, now, false)
		if cb == nil {
			return nil
		}
		c := mb.Cursor()
		n := 0
		for k, v := c.Seek(u64(after + 1)); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
			m, err := decodeAt(k, v)
			if err != nil {
				return err
			}
			if s.tooOld(m.Created, now) {
				continue
			}
			dst = append(dst, m)
			n++
		}
		return nil
	})
	if err == nil {
		s.markSeen(client, now)
	}
	return dst, err
}

// Ack implements store.Store.
func (s *Store) Ack(ctx context.Context, client string, id store.ID) error {
	if err := store.ValidName(client); err != nil {
		return err
	}
	now := s.now()
	var found bool
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		found = false
		cb, mb, ib, _ := queueBuckets(tx.Bucket(bQueues), client, now, false)
		if cb == nil {
			d.AckNotPending++
			return nil
		}
		if err := cb.Put(kSeen, u64(uint64(now.UnixNano()))); err != nil {
			return err
		}
		off := ib.Get(id[:])
		if off == nil {
			d.AckNotPending++
			return nil
		}
		off = bytes.Clone(off)
		if err := ib.Delete(id[:]); err != nil {
			return err
		}
		if err := mb.Delete(off); err != nil {
			return err
		}
		if err := cb.Put(kCount, u64(getU64(cb, kCount)-1)); err != nil {
			return err
		}
		d.Acked++
		found = true
		return nil
	})
	if err == nil && !found {
		return store.ErrNotPending
	}
	return err
}

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, client string) error {
	if err := store.ValidName(client); err != nil {
		return err
	}
	now := s.now()
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		cb, _, _, err := queueBuckets(tx.Bucket(bQueues), client, now, true)
		if err != nil {
			return err
		}
		return cb.Put(kSeen, u64(uint64(now.UnixNano())))
	})
}

// Queues implements store.Store.
func (s *Store) Queues(ctx context.Context) ([]store.QueueInfo, error) {
	s.mu.Lock()
	seen := make(map[string]time.Time, len(s.seen))
	for c, t := range s.seen {
		seen[c] = t
	}
	s.mu.Unlock()
	var out []store.QueueInfo
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bQueues).ForEachBucket(func(k []byte) error {
			cb := tx.Bucket(bQueues).Bucket(k)
			qi := store.QueueInfo{
				Client:     string(k),
				Depth:      int(getU64(cb, kCount)),
				NextOffset: max(getU64(cb, kNext), 1),
				LastSeen:   time.Unix(0, i64(cb.Get(kSeen))),
			}
			if t := seen[qi.Client]; t.After(qi.LastSeen) {
				qi.LastSeen = t
			}
			if k, v := cb.Bucket(kMsgs).Cursor().First(); k != nil {
				m, err := decodeAt(k, v)
				if err != nil {
					return err
				}
				qi.Oldest = m.Created
			}
			out = append(out, qi)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out, err
}

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, client string) (int, error) {
	if err := store.ValidName(client); err != nil {
		return 0, err
	}
	var n int
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		n = 0
		cb := tx.Bucket(bQueues).Bucket([]byte(client))
		if cb == nil {
			return nil
		}
		n = int(getU64(cb, kCount))
		for _, b := range [][]byte{kMsgs, kIndex} {
			if err := cb.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := cb.CreateBucket(b); err != nil {
				return err
			}
		}
		d.Purged += uint64(n)
		return cb.Put(kCount, u64(0))
	})
	return n, err
}
