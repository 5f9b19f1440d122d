package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Queues share three flat buckets (one B+tree each, so a fan-out to many
// clients rewrites few pages): client ids never contain NUL, so "client\0"
// prefixes one client's keys.
//
//	qmsg:  client\0 offset(8)  -> message record (offset 0: the key holds it)
//	qidx:  client\0 id(16)     -> offset(8)
//	qmeta: client              -> next offset(8) count(8) last seen ns(8)

type qmeta struct {
	next, count uint64
	seen        int64
}

func getMeta(b *bolt.Bucket, client []byte) (qmeta, bool) {
	v := b.Get(client)
	if len(v) != 24 {
		return qmeta{}, false
	}
	return qmeta{
		next:  binary.BigEndian.Uint64(v),
		count: binary.BigEndian.Uint64(v[8:]),
		seen:  int64(binary.BigEndian.Uint64(v[16:])),
	}, true
}

func putMeta(b *bolt.Bucket, client []byte, m qmeta) error {
	v := make([]byte, 24)
	binary.BigEndian.PutUint64(v, m.next)
	binary.BigEndian.PutUint64(v[8:], m.count)
	binary.BigEndian.PutUint64(v[16:], uint64(m.seen))
	return b.Put(client, v)
}

func prefix(client string) []byte {
	p := make([]byte, len(client)+1, len(client)+17)
	copy(p, client)
	return p
}

func msgKey(client string, off uint64) []byte {
	return binary.BigEndian.AppendUint64(prefix(client), off)
}

func idxKey(client string, id store.ID) []byte {
	return append(prefix(client), id[:]...)
}

type queueTx struct{ msgs, idx, meta *bolt.Bucket }

// queueFill is how full the message and index pages are left when they
// split (bbolt's default is half): their keys grow at the end (offsets,
// then time-ordered ids, per client), so fuller pages mean fewer pages
// for a commit to write before its fsync (BenchmarkAppendAckPages).
const queueFill = 0.9

func queues(tx *bolt.Tx) queueTx {
	q := queueTx{tx.Bucket(bQMsg), tx.Bucket(bQIdx), tx.Bucket(bQMeta)}
	q.msgs.FillPercent, q.idx.FillPercent = queueFill, queueFill
	return q
}

// dropOldest deletes the n oldest messages of client (or, with keep set,
// the oldest ones for which keep returns false, stopping at the first it
// keeps) and returns how many it deleted.
func (q queueTx) dropOldest(client string, n uint64, keep func(rec []byte) bool) (uint64, error) {
	p := prefix(client)
	c := q.msgs.Cursor()
	var dropped uint64
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && (keep != nil || dropped < n); k, v = c.Seek(p) {
		if keep != nil && keep(v) {
			break
		}
		if len(v) >= 17 {
			if err := q.idx.Delete(append(p[:len(p):len(p)], v[1:17]...)); err != nil {
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

// deleteAll removes every key of client from b and returns how many.
func deleteAll(b *bolt.Bucket, client string) (int, error) {
	p := prefix(client)
	c := b.Cursor()
	n := 0
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
		if err := c.Delete(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// appending is a message ready for its transaction: recipients
// deduplicated, id given, record encoded.
type appending struct {
	to  []string
	id  store.ID
	rec []byte
	now int64 // unix ns: the last-seen mark of a new queue
}

func (s *Store) prepare(m store.Message, to []string) (appending, error) {
	if err := store.ValidMessage(&m); err != nil {
		return appending{}, err
	}
	to, err := store.Dedupe(to)
	if err != nil {
		return appending{}, err
	}
	now := s.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.ID = s.ids.New(now)
	m.Offset = 0 // the key holds each recipient's offset
	return appending{to: to, id: m.ID, rec: store.AppendMessage(nil, &m), now: now.UnixNano()}, nil
}

// put appends a to its recipients' queues and their offsets to offsets;
// a recipient whose queue is full gets offset 0 and is listed in full.
func (s *Store) put(q queueTx, d *store.Stats, a *appending, offsets []uint64) (_ []uint64, full []string, err error) {
	max := s.limits.MaxMessages
	for _, c := range a.to {
		meta, ok := getMeta(q.meta, []byte(c))
		if !ok {
			meta = qmeta{next: 1, seen: a.now}
		}
		if max > 0 && meta.count >= uint64(max) {
			full = append(full, c)
			d.RefusedFull++
			offsets = append(offsets, 0)
			continue
		}
		off := meta.next
		if err := q.msgs.Put(msgKey(c, off), a.rec); err != nil {
			return offsets, nil, err
		}
		if err := q.idx.Put(idxKey(c, a.id), u64(off)); err != nil {
			return offsets, nil, err
		}
		meta.next++
		meta.count++
		d.Appended++
		if err := putMeta(q.meta, []byte(c), meta); err != nil {
			return offsets, nil, err
		}
		offsets = append(offsets, off)
	}
	return offsets, full, nil
}

// queueFull is the error of an append that some full queues refused.
func (s *Store) queueFull(full []string) error {
	if full == nil {
		return nil
	}
	return &store.QueueFullError{Clients: full, Max: s.limits.MaxMessages}
}

// Append implements store.Store: one transaction for every recipient.
func (s *Store) Append(ctx context.Context, m store.Message, to []string, offsets []uint64) (store.ID, []uint64, error) {
	a, err := s.prepare(m, to)
	if err != nil {
		return store.ID{}, offsets, err
	}
	base := len(offsets)
	var full []string
	err = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) (err error) {
		offsets, full, err = s.put(queues(tx), d, &a, offsets[:base])
		return err
	})
	if err != nil {
		return store.ID{}, offsets[:base], err
	}
	return a.id, offsets, s.queueFull(full)
}

// AppendBatch implements store.Store: one transaction for the whole batch
// (and the committer groups it with other writes, so one fsync). When that
// transaction fails, the entries are written one by one, so that only
// those that fail alone report an error.
func (s *Store) AppendBatch(ctx context.Context, batch []store.Appending) {
	prep := make([]appending, len(batch))
	valid := 0
	for i := range batch {
		b := &batch[i]
		b.ID, b.Offsets = store.ID{}, b.Offsets[:0]
		if prep[i], b.Err = s.prepare(b.Message, b.To); b.Err == nil {
			valid++
		}
	}
	if valid == 0 {
		return
	}
	full := make([][]string, len(batch))
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		q := queues(tx)
		for i := range batch {
			if b := &batch[i]; b.Err == nil {
				var err error
				if b.Offsets, full[i], err = s.put(q, d, &prep[i], b.Offsets[:0]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	alone := err != nil && valid > 1 && ctx.Err() == nil && !errors.Is(err, store.ErrClosed)
	for i := range batch {
		b := &batch[i]
		if b.Err != nil {
			continue
		}
		switch {
		case err == nil:
			b.ID, b.Err = prep[i].id, s.queueFull(full[i])
		case alone:
			b.Err = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) (err error) {
				b.Offsets, full[i], err = s.put(queues(tx), d, &prep[i], b.Offsets[:0])
				return err
			})
			if b.Err == nil {
				b.ID, b.Err = prep[i].id, s.queueFull(full[i])
			} else {
				b.Offsets = b.Offsets[:0]
			}
		default:
			b.Err, b.Offsets = err, b.Offsets[:0]
		}
	}
}

func decodeAt(k, v []byte) (store.Message, error) {
	var m store.Message
	if err := store.DecodeMessage(v, &m); err != nil {
		return m, err
	}
	m.Offset = be(k)
	return m, nil
}

// be reads the big-endian uint64 at the end of key k.
func be(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

func (s *Store) tooOld(created, now time.Time) bool {
	return s.limits.MaxAge > 0 && now.Sub(created) > s.limits.MaxAge
}

// Pending implements store.Store.
func (s *Store) Pending(ctx context.Context, client string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	return s.pending(client, after, limit, dst, true)
}

// Peek implements store.Store.
func (s *Store) Peek(ctx context.Context, client string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	return s.pending(client, after, limit, dst, false)
}

func (s *Store) pending(client string, after uint64, limit int, dst []store.Message, seen bool) ([]store.Message, error) {
	if err := store.ValidName(client); err != nil {
		return dst, err
	}
	now := s.now()
	err := s.view(func(tx *bolt.Tx) error {
		p := prefix(client)
		c := tx.Bucket(bQMsg).Cursor()
		n := 0
		for k, v := c.Seek(msgKey(client, after+1)); k != nil && bytes.HasPrefix(k, p) && (limit <= 0 || n < limit); k, v = c.Next() {
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
	if err == nil && seen {
		s.markSeen(client, now)
	}
	return dst, err
}

// AckBatch implements store.Store: one lazy write (writeLazy) for all of
// ids, so one commit and its fsyncs. When only acks are waiting, they wait
// up to one commit's duration (at most 2 ms) for another write to share
// its commit and its fsyncs.
func (s *Store) AckBatch(ctx context.Context, client string, ids []store.ID) (int, error) {
	if err := store.ValidName(client); err != nil {
		return 0, err
	}
	now := s.now()
	var found int
	err := s.writeLazy(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		found = 0
		q := queues(tx)
		meta, ok := getMeta(q.meta, []byte(client))
		if !ok {
			d.AckNotPending += uint64(len(ids))
			return nil
		}
		meta.seen = now.UnixNano()
		for _, id := range ids {
			ik := idxKey(client, id)
			off := q.idx.Get(ik)
			if len(off) != 8 {
				d.AckNotPending++
				continue
			}
			if err := q.msgs.Delete(msgKey(client, binary.BigEndian.Uint64(off))); err != nil {
				return err
			}
			if err := q.idx.Delete(ik); err != nil {
				return err
			}
			meta.count--
			d.Acked++
			found++
		}
		return putMeta(q.meta, []byte(client), meta)
	})
	if err != nil {
		return 0, err
	}
	return found, nil
}

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, client string) error {
	if err := store.ValidName(client); err != nil {
		return err
	}
	now := s.now()
	return s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		b := tx.Bucket(bQMeta)
		meta, ok := getMeta(b, []byte(client))
		if !ok {
			meta.next = 1
		}
		meta.seen = now.UnixNano()
		return putMeta(b, []byte(client), meta)
	})
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, client, token string) (string, error) {
	if err := store.ValidName(client); err != nil {
		return "", err
	}
	now := s.now()
	var tok string
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		b := tx.Bucket(bQMeta)
		if max := s.limits.MaxClients; max > 0 && b.Get([]byte(client)) == nil && b.Stats().KeyN >= max {
			return &store.ClientLimitError{Max: max} // KeyN walks the bucket's pages: only for a new id
		}
		tb := tx.Bucket(bTokens)
		var err error
		if tok, err = store.ClaimToken(string(tb.Get([]byte(client))), token); err != nil {
			return err
		}
		if err := tb.Put([]byte(client), []byte(tok)); err != nil {
			return err
		}
		meta, ok := getMeta(b, []byte(client))
		if !ok {
			meta.next = 1
		}
		meta.seen = now.UnixNano()
		return putMeta(b, []byte(client), meta)
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// writeSeen writes last-seen marks kept in memory (by Pending) into their
// queues' meta records.
func writeSeen(tx *bolt.Tx, seen map[string]time.Time) error {
	b := tx.Bucket(bQMeta)
	for c, t := range seen {
		if meta, ok := getMeta(b, []byte(c)); ok && t.UnixNano() > meta.seen {
			meta.seen = t.UnixNano()
			if err := putMeta(b, []byte(c), meta); err != nil {
				return err
			}
		}
	}
	return nil
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
		q := queues(tx)
		mc := q.msgs.Cursor()
		return q.meta.ForEach(func(k, v []byte) error {
			meta, ok := getMeta(q.meta, k)
			if !ok {
				return nil
			}
			qi := store.QueueInfo{
				Client:     string(k),
				Depth:      int(meta.count),
				NextOffset: meta.next,
				LastSeen:   time.Unix(0, meta.seen),
			}
			if t := seen[qi.Client]; t.After(qi.LastSeen) {
				qi.LastSeen = t
			}
			p := prefix(qi.Client)
			if k, v := mc.Seek(p); k != nil && bytes.HasPrefix(k, p) {
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
	return out, err // ForEach walks keys in order: sorted by client id
}

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, client string) (int, error) {
	if err := store.ValidName(client); err != nil {
		return 0, err
	}
	var n int
	err := s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
		n = 0
		q := queues(tx)
		meta, ok := getMeta(q.meta, []byte(client))
		if !ok {
			return nil
		}
		var err error
		if n, err = deleteAll(q.msgs, client); err != nil {
			return err
		}
		if _, err := deleteAll(q.idx, client); err != nil {
			return err
		}
		d.Purged += uint64(n)
		meta.count = 0
		return putMeta(q.meta, []byte(client), meta)
	})
	return n, err
}
