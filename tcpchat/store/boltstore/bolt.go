package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Top-level buckets and keys of the file.
var (
	bQMsg     = []byte("qmsg") // see queue.go
	bQIdx     = []byte("qidx")
	bQMeta    = []byte("qmeta")
	bRooms    = []byte("rooms")    // client\0ns\0room -> ""
	bMembers  = []byte("members")  // ns\0room\0client -> ""
	bReplay   = []byte("replay")   // ns -> {m: offset->record, next, first, bytes}
	bSessions = []byte("sessions") // id -> session record (bSessOrder: bounds.go)
	bMeta     = []byte("meta")     // version, replay-bytes, session-bytes
	bTokens   = []byte("tokens")   // client -> resume token (Claim)

	kMsgs  = []byte("m")
	kNext  = []byte("next")
	kFirst = []byte("first")
)

const fileVersion = 2

// maxGroup bounds how many writes share one transaction.
const maxGroup = 1024

// Store is the bbolt store. It is safe for concurrent use; it owns one
// goroutine (the committer), which Close ends.
type Store struct {
	db     *bolt.DB
	path   string
	limits store.Limits
	now    func() time.Time
	ids    *store.IDGen

	closeMu sync.RWMutex // held for reading while a write is queued; Close takes it for writing
	closed  bool         // guarded by closeMu
	ops     chan *op     // writes for the committer
	done    chan struct{}
	// lazyWait is the package's lazyWait; tests set another before the
	// write that should see it.
	lazyWait func(last time.Duration) time.Duration

	mu    sync.Mutex           // guards stats and seen
	stats store.Stats          // guarded by mu
	seen  map[string]time.Time // last-seen marks not yet written; guarded by mu
}

// op is one queued write. fn may run twice (grouped, then alone after a
// failed group) and must reset what it reports.
type op struct {
	fn    func(tx *bolt.Tx) error
	delta store.Stats // counters to add once committed
	err   chan error
	lazy  bool // may wait a little for another write to share its commit (writeLazy)
}

var opPool = sync.Pool{New: func() any { return &op{err: make(chan error, 1)} }}

// Open opens (creating if needed) the bolt file at path. A file that another
// process holds open, or that is corrupted, is reported with its path.
func Open(path string, opts store.Options) (s *Store, err error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	defer func() {
		// bbolt panics on some corrupted pages; a file is input, never a panic.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: bolt file %s is unreadable (%v); move it aside or restore a backup", store.ErrCorrupt, path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("boltstore: %s is locked by another process: %w", path, err)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, fmt.Errorf("%w: %s is not a valid bolt file (%v); move it aside or restore a backup", store.ErrCorrupt, path, err)
		case errors.Is(err, syscall.ENOSPC):
			return nil, fmt.Errorf("%w: opening %s: %w", store.ErrDiskFull, path, err)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bQMsg, bQIdx, bQMeta, bRooms, bMembers, bReplay, bSessions, bMeta, bTokens, bSessOrder} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if v := meta.Get([]byte("version")); v == nil {
			return meta.Put([]byte("version"), u64(fileVersion))
		} else if len(v) != 8 || binary.BigEndian.Uint64(v) != fileVersion {
			return fmt.Errorf("%w: %s has file version %x, this build reads %d", store.ErrCorrupt, path, v, fileVersion)
		}
		return nil
	})
	if err == nil {
		err = db.View(func(tx *bolt.Tx) error {
			var first error
			for cerr := range tx.Check() { // drain: the checker stops when the channel is read to the end
				if first == nil {
					first = fmt.Errorf("%w: %s failed its consistency check: %v; move it aside or restore a backup", store.ErrCorrupt, path, cerr)
				}
			}
			return first
		})
	}
	if err != nil {
		_ = db.Close()
		if errors.Is(err, store.ErrCorrupt) {
			return nil, err
		}
		return nil, wrapWrite(path, err)
	}
	s = &Store{
		db:     db,
		path:   path,
		limits: opts.Limits.WithDefaults(),
		now:    opts.Now,
		ids:    store.NewIDGen(opts.Node),
		ops:    make(chan *op, maxGroup),
		done:   make(chan struct{}),
		seen:   make(map[string]time.Time),

		lazyWait: lazyWait,
	}
	go s.commitLoop()
	return s, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

func wrapWrite(path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: writing %s (the write was rolled back; free space and retry): %w", store.ErrDiskFull, path, err)
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return fmt.Errorf("boltstore: write to %s: %w", path, err)
}

// write queues fn for the committer and waits for its commit.
func (s *Store) write(ctx context.Context, fn func(tx *bolt.Tx, d *store.Stats) error) error {
	return s.queueWrite(ctx, false, fn)
}

// writeLazy is write for a write nobody waits on to go on (an ack: lost in
// a crash, it means a redelivery): when only such writes are waiting, the
// committer waits up to one commit's duration (at most maxLazyWait) for
// another write to share their commit and its fsyncs, so that a stream of
// appends and the acks of their consumer take one commit, not two.
func (s *Store) writeLazy(ctx context.Context, fn func(tx *bolt.Tx, d *store.Stats) error) error {
	return s.queueWrite(ctx, true, fn)
}

// maxLazyWait bounds how long lazy writes wait for company.
const maxLazyWait = 2 * time.Millisecond

// lazyWait is how long a group of lazy writes waits for another write,
// given the last commit's duration: as long as a commit takes (what
// committing them alone would hold up the next write for), at most
// maxLazyWait.
func lazyWait(last time.Duration) time.Duration { return min(last, maxLazyWait) }

func (s *Store) queueWrite(ctx context.Context, lazy bool, fn func(tx *bolt.Tx, d *store.Stats) error) error {
	o := opPool.Get().(*op)
	o.lazy = lazy
	o.fn = func(tx *bolt.Tx) error {
		o.delta = store.Stats{}
		return fn(tx, &o.delta)
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued, the write will be committed or fail; wait for the answer
	// so that a caller never sees success for an unsynced write.
	err := <-o.err
	o.fn = nil
	opPool.Put(o)
	return err
}

// commitLoop commits the queued writes in groups: what is waiting when a
// commit ends shares the next one. A group of lazy writes only waits up to
// the last commit's duration for another write to join it.
func (s *Store) commitLoop() {
	defer close(s.done)
	group := make([]*op, 0, maxGroup)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last time.Duration // how long the last commit took
	for o := range s.ops {
		group = s.gather(append(group[:0], o))
		if wait := s.lazyWait(last); wait > 0 && lazyOnly(group) {
			timer.Reset(wait)
		wait:
			for len(group) < maxGroup {
				select {
				case o, ok := <-s.ops:
					if !ok {
						break wait
					}
					group = append(group, o)
					if !o.lazy {
						group = s.gather(group)
						break wait
					}
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		start := time.Now()
		s.commit(group)
		last = time.Since(start)
	}
}

// gather adds the writes waiting now to group, up to maxGroup.
func (s *Store) gather(group []*op) []*op {
	for len(group) < maxGroup {
		select {
		case o, ok := <-s.ops:
			if !ok {
				return group
			}
			group = append(group, o)
		default:
			return group
		}
	}
	return group
}

func lazyOnly(group []*op) bool {
	for _, o := range group {
		if !o.lazy {
			return false
		}
	}
	return true
}

func (s *Store) commit(group []*op) {
	s.mu.Lock()
	seen := s.seen
	if len(seen) > 0 {
		s.seen = make(map[string]time.Time)
	} else {
		seen = nil // never iterate the live map: markSeen writes to it unlocked by us
	}
	s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := writeSeen(tx, seen); err != nil {
			return err
		}
		for _, o := range group {
			if err := o.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.mu.Lock()
		s.stats.Commits++
		for _, o := range group {
			add(&s.stats, &o.delta)
		}
		s.mu.Unlock()
		for _, o := range group {
			o.err <- nil
		}
		return
	}
	s.mu.Lock()
	for c, t := range seen {
		if t.After(s.seen[c]) {
			s.seen[c] = t
		}
	}
	s.mu.Unlock()
	for _, o := range group {
		var oerr error
		if len(group) == 1 {
			oerr = err
		} else {
			oerr = s.db.Update(o.fn)
		}
		if oerr != nil {
			oerr = wrapWrite(s.path, oerr)
		} else {
			s.mu.Lock()
			s.stats.Commits++
			add(&s.stats, &o.delta)
			s.mu.Unlock()
		}
		o.err <- oerr
	}
}

func add(s, d *store.Stats) {
	s.Appended += d.Appended
	s.Acked += d.Acked
	s.AckNotPending += d.AckNotPending
	s.RefusedFull += d.RefusedFull
	s.DroppedAge += d.DroppedAge
	s.Purged += d.Purged
	s.ExpiredQueues += d.ExpiredQueues
	s.ReplayAppended += d.ReplayAppended
	s.ReplayTrimmed += d.ReplayTrimmed
	s.SessionsSaved += d.SessionsSaved
	s.SessionsTaken += d.SessionsTaken
	s.SessionsExpired += d.SessionsExpired
	s.SessionsDropped += d.SessionsDropped
}

// Close waits for queued writes, stops the committer and closes the file.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.closeMu.Unlock()
	<-s.done
	s.mu.Lock()
	seen := s.seen
	s.seen = nil
	s.mu.Unlock()
	var err error
	if len(seen) > 0 {
		err = s.db.Update(func(tx *bolt.Tx) error { return writeSeen(tx, seen) })
	}
	if cerr := s.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("boltstore: close %s: %w", s.path, cerr)
	}
	return err
}

func (s *Store) isClosed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}

// view runs a read-only transaction, converting a panic on a corrupted page
// into an error that names the file.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	if s.isClosed() {
		return store.ErrClosed
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: reading %s: %v", store.ErrCorrupt, s.path, r)
		}
	}()
	err = s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// Stats implements store.Store; ReplayBytes and SessionBytes are read
// from the file (what its logs and sessions count now).
func (s *Store) Stats() store.Stats {
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	s.gauges(&st)
	return st
}

func (s *Store) markSeen(client string, t time.Time) {
	s.mu.Lock()
	if s.seen != nil && t.After(s.seen[client]) {
		s.seen[client] = t
	}
	s.mu.Unlock()
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func join(parts ...string) []byte {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.Bytes()
}
