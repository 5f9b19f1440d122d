package boltstore

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

func validSub(client string, sub store.Sub) error {
	if err := store.ValidName(client); err != nil {
		return err
	}
	if err := store.ValidName(sub.Namespace); err != nil {
		return err
	}
	return store.ValidName(sub.Room)
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, client string, sub store.Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		if err := tx.Bucket(bRooms).Put(join(client, sub.Namespace, sub.Room), nil); err != nil {
			return err
		}
		return tx.Bucket(bMembers).Put(join(sub.Namespace, sub.Room, client), nil)
	})
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, client string, sub store.Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		return unsubscribe(tx, client, sub)
	})
}

func unsubscribe(tx *bolt.Tx, client string, sub store.Sub) error {
	if err := tx.Bucket(bRooms).Delete(join(client, sub.Namespace, sub.Room)); err != nil {
		return err
	}
	return tx.Bucket(bMembers).Delete(join(sub.Namespace, sub.Room, client))
}

// scanPrefix calls fn with the rest of every key of b that starts with
// prefix+NUL, in key order.
func scanPrefix(b *bolt.Bucket, prefix []byte, fn func(rest []byte)) {
	prefix = append(prefix, 0)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		fn(k[len(prefix):])
	}
}

// Members implements store.Store.
func (s *Store) Members(ctx context.Context, sub store.Sub) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		scanPrefix(tx.Bucket(bMembers), join(sub.Namespace, sub.Room), func(rest []byte) {
			out = append(out, string(rest))
		})
		return nil
	})
	return out, err
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, client string) ([]store.Sub, error) {
	var out []store.Sub
	err := s.view(func(tx *bolt.Tx) error {
		scanPrefix(tx.Bucket(bRooms), []byte(client), func(rest []byte) {
			if ns, room, ok := bytes.Cut(rest, []byte{0}); ok {
				out = append(out, store.Sub{Namespace: string(ns), Room: string(room)})
			}
		})
		return nil
	})
	store.SortSubs(out)
	return out, err
}

// AppendReplay implements store.Store.
func (s *Store) AppendReplay(ctx context.Context, m store.Message) (store.ID, uint64, error) {
	if err := store.ValidMessage(&m); err != nil {
		return store.ID{}, 0, err
	}
	now := s.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.ID = s.ids.New(now)
	m.Offset = 0
	rec := store.AppendMessage(nil, &m)
	size := store.ReplayEntrySize(len(m.Payload), m.Rooms, m.Except)
	var off uint64
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		lb, err := tx.Bucket(bReplay).CreateBucketIfNotExists([]byte(m.Namespace))
		if err != nil {
			return err
		}
		mb, err := lb.CreateBucketIfNotExists(kMsgs)
		if err != nil {
			return err
		}
		off = max(getU64(lb, kNext), 1)
		if err := mb.Put(u64(off), rec); err != nil {
			return err
		}
		if err := lb.Put(kNext, u64(off+1)); err != nil {
			return err
		}
		if lb.Get(kFirst) == nil {
			if err := lb.Put(kFirst, u64(1)); err != nil {
				return err
			}
		}
		if err := addU64(lb, kBytes, size); err != nil {
			return err
		}
		if err := addU64(tx.Bucket(bMeta), kReplayBytes, size); err != nil {
			return err
		}
		d.ReplayAppended++
		for limit := s.limits.ReplayMax; limit > 0 && off+1-max(getU64(lb, kFirst), 1) > uint64(limit); {
			if ok, err := dropOldest(tx, lb, mb, d); !ok || err != nil {
				return err
			}
		}
		return s.trimReplayBytes(tx, lb, mb, d)
	})
	if err != nil {
		return store.ID{}, 0, err
	}
	return m.ID, off, nil
}

// Replay implements store.Store.
func (s *Store) Replay(ctx context.Context, ns string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	now := s.now()
	err := s.view(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bReplay).Bucket([]byte(ns))
		if lb == nil {
			if after > 0 {
				return store.ErrReplayGap
			}
			return nil
		}
		next := max(getU64(lb, kNext), 1)
		if after >= next {
			return store.ErrReplayGap
		}
		if after+1 == next {
			return nil
		}
		c := lb.Bucket(kMsgs).Cursor()
		// the first entry inside the window must be at most after+1
		k, v := c.First()
		for ; k != nil; k, v = c.Next() {
			m, err := decodeAt(k, v)
			if err != nil {
				return err
			}
			if now.Sub(m.Created) <= s.limits.ReplayWindow {
				break
			}
		}
		if k == nil || be(k) > after+1 {
			return store.ErrReplayGap
		}
		n := 0
		for k, v := c.Seek(u64(after + 1)); k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
			m, err := decodeAt(k, v)
			if err != nil {
				return err
			}
			dst = append(dst, m)
			n++
		}
		return nil
	})
	return dst, err
}

// ReplayHead implements store.Store.
func (s *Store) ReplayHead(ctx context.Context, ns string) (uint64, error) {
	var head uint64
	err := s.view(func(tx *bolt.Tx) error {
		if lb := tx.Bucket(bReplay).Bucket([]byte(ns)); lb != nil {
			head = max(getU64(lb, kNext), 1) - 1
		}
		return nil
	})
	return head, err
}

// SaveSession implements store.Store.
func (s *Store) SaveSession(ctx context.Context, sess store.Session) error {
	if err := store.ValidName(sess.ID); err != nil {
		return err
	}
	sess.Expires = s.now().Add(s.limits.SessionWindow)
	rec := store.AppendSession(nil, &sess)
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		d.SessionsSaved++
		sb := tx.Bucket(bSessions)
		if old := sb.Get([]byte(sess.ID)); old != nil { // saved again: its bytes and place go
			if err := forgetSession(tx, old); err != nil {
				return err
			}
		}
		if err := sb.Put([]byte(sess.ID), rec); err != nil {
			return err
		}
		return s.countSession(tx, &sess, d)
	})
}

// TakeSession implements store.Store.
func (s *Store) TakeSession(ctx context.Context, id string) (store.Session, error) {
	if store.ValidName(id) != nil {
		return store.Session{}, store.ErrSessionNotFound
	}
	now := s.now()
	var sess store.Session
	var found bool
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		found = false
		b := tx.Bucket(bSessions)
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		derr := store.DecodeSession(v, &sess)
		if err := forgetSession(tx, v); err != nil {
			return err
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		if derr != nil || !now.Before(sess.Expires) {
			d.SessionsExpired++
			return nil
		}
		d.SessionsTaken++
		found = true
		return nil
	})
	if err != nil {
		return store.Session{}, err
	}
	if !found {
		return store.Session{}, store.ErrSessionNotFound
	}
	return sess, nil
}

// Expire implements store.Store. It runs as one transaction.
func (s *Store) Expire(ctx context.Context) error {
	now := s.now()
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		if err := s.expireQueues(tx, now, d); err != nil {
			return err
		}
		if err := s.expireReplay(tx, now, d); err != nil {
			return err
		}
		sb := tx.Bucket(bSessions)
		c := sb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var sess store.Session
			if store.DecodeSession(v, &sess) != nil || !now.Before(sess.Expires) {
				if err := forgetSession(tx, v); err != nil {
					return err
				}
				if err := c.Delete(); err != nil {
					return err
				}
				d.SessionsExpired++
			}
		}
		return nil
	})
}

func (s *Store) expireQueues(tx *bolt.Tx, now time.Time, d *store.Stats) error {
	q := queues(tx)
	var idle []string
	type aged struct {
		client string
		meta   qmeta
	}
	var old []aged
	err := q.meta.ForEach(func(k, v []byte) error {
		meta, ok := getMeta(q.meta, k)
		if !ok {
			return nil
		}
		if s.limits.QueueTTL > 0 && now.Sub(time.Unix(0, meta.seen)) > s.limits.QueueTTL {
			idle = append(idle, string(k))
		} else if s.limits.MaxAge > 0 && meta.count > 0 {
			old = append(old, aged{string(k), meta})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range old {
		dropped, err := q.dropOldest(a.client, 0, func(rec []byte) bool {
			var m store.Message
			return store.DecodeMessage(rec, &m) == nil && !s.tooOld(m.Created, now)
		})
		if err != nil {
			return err
		}
		if dropped > 0 {
			d.DroppedAge += dropped
			a.meta.count -= dropped
			if err := putMeta(q.meta, []byte(a.client), a.meta); err != nil {
				return err
			}
		}
	}
	for _, client := range idle {
		n, err := deleteAll(q.msgs, client)
		if err != nil {
			return err
		}
		if _, err := deleteAll(q.idx, client); err != nil {
			return err
		}
		if err := q.meta.Delete([]byte(client)); err != nil {
			return err
		}
		if err := tx.Bucket(bTokens).Delete([]byte(client)); err != nil {
			return err
		}
		d.DroppedAge += uint64(n)
		var subs []store.Sub
		scanPrefix(tx.Bucket(bRooms), []byte(client), func(rest []byte) {
			if ns, room, ok := bytes.Cut(rest, []byte{0}); ok {
				subs = append(subs, store.Sub{Namespace: string(ns), Room: string(room)})
			}
		})
		for _, sub := range subs {
			if err := unsubscribe(tx, client, sub); err != nil {
				return err
			}
		}
		d.ExpiredQueues++
	}
	return nil
}

func (s *Store) expireReplay(tx *bolt.Tx, now time.Time, d *store.Stats) error {
	rb := tx.Bucket(bReplay)
	return rb.ForEachBucket(func(k []byte) error {
		lb := rb.Bucket(k)
		mb := lb.Bucket(kMsgs)
		for {
			k, v := mb.Cursor().First()
			var m store.Message
			if k == nil || (store.DecodeMessage(v, &m) == nil && now.Sub(m.Created) <= s.limits.ReplayWindow) {
				return nil
			}
			if _, err := dropOldest(tx, lb, mb, d); err != nil {
				return err
			}
		}
	})
}
