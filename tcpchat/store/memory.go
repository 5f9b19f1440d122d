package store

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Memory is the in-memory Store: fast, shared by the goroutines of one
// process, lost when the process ends. It is safe for concurrent use.
type Memory struct {
	limits Limits
	now    func() time.Time
	ids    *IDGen

	mu       sync.Mutex // guards every field below
	closed   bool
	queues   map[string]*memQueue
	members  map[Sub]map[string]struct{}
	rooms    map[string]map[Sub]struct{}
	logs     map[string]*memLog
	sessions map[string]memSession
	stats    Stats
	// Sessions in saving order (which is expiry order: one window for
	// all), for SessionTotalBytes: the ids from sessOrder[sessHead] on;
	// one taken, expired or saved again since is skipped when reached
	// (its seq differs), and the order is compacted when such entries
	// outnumber the live sessions. sessionBytes is what the live
	// sessions count (SessionSize).
	sessOrder    []sessRef
	sessHead     int
	sessSeq      uint64
	sessionBytes int64
	// Replay logs: bytes held by all of them, and payload buffers of
	// trimmed entries kept for the next appends (recording allocates
	// nothing in steady state).
	replayBytes int64
	spare       [][]byte
	// The log appended to last and its namespace: a server records one
	// namespace's broadcasts many times in a row (logs are never removed).
	lastNS  string
	lastLog *memLog
	// Replay entries are stamped in nanoseconds since epoch (the clock
	// reading of NewMemory), epochNano is epoch in Unix nanoseconds (for
	// the ids), and callerEpoch is the epoch of RecordReplayAt's last
	// caller, callerDelta its distance from epoch.
	epoch       time.Time
	epochNano   int64
	callerEpoch time.Time
	callerDelta int64
}

// memSession is a saved session with what it counts against
// SessionTotalBytes and its place in the saving order.
type memSession struct {
	Session
	size int64
	seq  uint64
}

// sessRef is a place in the saving order of sessions.
type sessRef struct {
	id  string
	seq uint64
}

// SessionSize is what a session counts against Limits.SessionTotalBytes:
// its id, client id, namespace and room names, SessionOverhead, and 16
// bytes more a room. Every store that applies the bound counts so.
func SessionSize(s *Session) int64 {
	n := int64(SessionOverhead + len(s.ID) + len(s.Client) + len(s.Namespace))
	for _, r := range s.Rooms {
		n += int64(len(r)) + 16
	}
	return n
}

type memQueue struct {
	msgs     []Message // pending, by offset
	index    map[ID]uint64
	next     uint64 // next offset to assign
	lastSeen time.Time
	token    string // resume token (Claim)
}

// memLog is one namespace's replay log: n live entries in offset order
// (consecutive: the last has offset next-1), in chunks of replayChunkLen,
// the oldest at head of chunks[0]. A log grows and shrinks a chunk at a
// time: no append copies the entries, and no array of the whole log is
// made (one array that grew by append and moved its live entries to the
// front held up to twice the log and allocated about 5 MB filling a log of
// 10,000 entries, in allocations big enough that the garbage collector
// made the appending reader help it mark for milliseconds).
type memLog struct {
	ns     string
	chunks []*replayChunk
	head   int          // position of the oldest live entry in chunks[0]
	n      int          // live entries
	spare  *replayChunk // a chunk emptied at the head, for the next at the tail: a log at its bound allocates nothing
	next   uint64
	bytes  int64
}

// replayChunkLen entries make a chunk: 8 KiB.
const replayChunkLen = 128

type replayChunk [replayChunkLen]replayEntry

// at returns the i-th live entry, 0 the oldest.
func (l *memLog) at(i int) *replayEntry {
	i += l.head
	return &l.chunks[i/replayChunkLen][i%replayChunkLen]
}

// offset returns the offset of the i-th live entry.
func (l *memLog) offset(i int) uint64 { return l.next - uint64(l.n-i) }

// push adds a zero entry after the last and returns it.
func (l *memLog) push() *replayEntry {
	i := l.head + l.n
	if i/replayChunkLen == len(l.chunks) {
		c := l.spare
		if c == nil {
			c = new(replayChunk)
		}
		l.spare = nil
		l.chunks = append(l.chunks, c)
	}
	l.n++
	return &l.chunks[i/replayChunkLen][i%replayChunkLen]
}

// pop clears the oldest entry and removes it, keeping an emptied chunk as
// the spare.
func (l *memLog) pop() {
	*l.at(0) = replayEntry{}
	l.head++
	l.n--
	if l.head == replayChunkLen || l.n == 0 {
		if l.head == replayChunkLen || len(l.chunks) == 1 {
			c := l.chunks[0]
			copy(l.chunks, l.chunks[1:])
			l.chunks[len(l.chunks)-1] = nil
			l.chunks = l.chunks[:len(l.chunks)-1]
			l.spare = c
		}
		l.head = 0
	}
}

// replayEntry is one entry of a memory replay log: 64 bytes, one cache
// line, where a Message is 152, so that appending to a log at its bound (a
// new entry written, the oldest cleared, both out of the cache by then)
// touches few cache lines. Its offset follows from its place in the log,
// its namespace from the log; its creation time is nanoseconds since the
// store's epoch (an integer to compare, not a time.Time to subtract, on
// every append), and it keeps what it counts against the byte bounds.
type replayEntry struct {
	id      ID
	payload []byte
	names   *replayNames // nil: no event name, rooms or except
	at      int64        // created, in nanoseconds since Memory.epoch
	size    int64        // replaySize
}

// replayNames are the names of a replay entry besides its namespace,
// shared by consecutive entries with the same (entries are read-only).
type replayNames struct {
	event         string
	rooms, except []string
}

// message returns the i-th live entry as a Message, its times counted
// from epoch.
func (l *memLog) message(i int, epoch time.Time) Message {
	e := l.at(i)
	m := Message{ID: e.id, Offset: l.offset(i), Namespace: l.ns, Created: epoch.Add(time.Duration(e.at)), Payload: e.payload}
	if n := e.names; n != nil {
		m.Event, m.Rooms, m.Except = n.event, n.rooms, n.except
	}
	return m
}

// namesOf returns prev's names when they equal event, rooms and except,
// else new ones with copies of rooms and except, whose names it checks
// (ValidName) first; nil for none.
func namesOf(event string, rooms, except []string, prev *replayEntry) (*replayNames, error) {
	if event == "" && len(rooms) == 0 && len(except) == 0 {
		return nil, nil
	}
	if prev != nil && prev.names != nil && prev.names.event == event && slices.Equal(prev.names.rooms, rooms) && slices.Equal(prev.names.except, except) {
		return prev.names, nil
	}
	for _, r := range rooms {
		if err := ValidName(r); err != nil {
			return nil, err
		}
	}
	for _, r := range except {
		if err := ValidName(r); err != nil {
			return nil, err
		}
	}
	n := &replayNames{event: event}
	if len(rooms) > 0 {
		n.rooms = slices.Clone(rooms)
	}
	if len(except) > 0 {
		n.except = slices.Clone(except)
	}
	return n, nil
}

// replaySize is what an entry counts against the byte bounds.
func replaySize(e *replayEntry) int64 {
	if e.names == nil {
		return ReplayEntrySize(len(e.payload), nil, nil)
	}
	return ReplayEntrySize(len(e.payload), e.names.rooms, e.names.except)
}

// ReplayEntrySize is what a replay entry of payloadLen bytes broadcast to
// rooms except except counts against Limits.ReplayMaxBytes and
// ReplayTotalBytes: the payload, ReplayEntryOverhead, and each room name
// plus 16 bytes. Every store that applies the bounds counts so.
func ReplayEntrySize(payloadLen int, rooms, except []string) int64 {
	n := int64(payloadLen + ReplayEntryOverhead)
	for _, r := range rooms {
		n += int64(len(r)) + 16
	}
	for _, r := range except {
		n += int64(len(r)) + 16
	}
	return n
}

// Bounds of the spare payload buffers a Memory keeps.
const (
	maxSpare      = 64
	maxSpareBytes = 64 << 10
)

// dropOldestLocked removes the oldest entry of l, keeping its payload
// buffer when it is small.
func (s *Memory) dropOldestLocked(l *memLog) {
	e := l.at(0)
	size := e.size
	l.bytes -= size
	s.replayBytes -= size
	if c := cap(e.payload); c > 0 && c <= maxSpareBytes && len(s.spare) < maxSpare {
		s.spare = append(s.spare, e.payload[:0])
	}
	l.pop()
	s.stats.ReplayTrimmed++
}

// payloadLocked returns a copy of p, in a spare buffer when one fits.
func (s *Memory) payloadLocked(p []byte) []byte {
	if n := len(s.spare); n > 0 && cap(s.spare[n-1]) >= len(p) {
		b := append(s.spare[n-1], p...)
		s.spare[n-1] = nil
		s.spare = s.spare[:n-1]
		return b
	}
	return slices.Clone(p)
}

// trimReplayLocked applies the replay bounds after an append to l at now
// (nanoseconds since s.epoch): age and entries and bytes of l, then the
// total over every log (oldest entry of any log first).
func (s *Memory) trimReplayLocked(l *memLog, now int64) {
	lim := &s.limits
	for l.n > 0 && now-l.at(0).at > int64(lim.ReplayWindow) {
		s.dropOldestLocked(l)
	}
	for max := lim.ReplayMax; max > 0 && l.n > max; {
		s.dropOldestLocked(l)
	}
	for max := lim.ReplayMaxBytes; max > 0 && l.bytes > max && l.n > 0; {
		s.dropOldestLocked(l)
	}
	for max := lim.ReplayTotalBytes; max > 0 && s.replayBytes > max; {
		var oldest *memLog
		for _, x := range s.logs {
			if x.n > 0 && (oldest == nil || x.at(0).at < oldest.at(0).at) {
				oldest = x
			}
		}
		if oldest == nil {
			break
		}
		s.dropOldestLocked(oldest)
	}
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts Options) *Memory {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	epoch := opts.Now()
	return &Memory{
		epoch:     epoch,
		epochNano: epoch.UnixNano(),
		limits:    opts.Limits.WithDefaults(),
		now:       opts.Now,
		ids:       NewIDGen(opts.Node),
		queues:    make(map[string]*memQueue),
		members:   make(map[Sub]map[string]struct{}),
		rooms:     make(map[string]map[Sub]struct{}),
		logs:      make(map[string]*memLog),
		sessions:  make(map[string]memSession),
	}
}

func (s *Memory) queueLocked(client string, now time.Time) *memQueue {
	q := s.queues[client]
	if q == nil {
		q = &memQueue{index: make(map[ID]uint64), next: 1, lastSeen: now}
		s.queues[client] = q
	}
	return q
}

// Append implements Store.
func (s *Memory) Append(ctx context.Context, m Message, to []string, offsets []uint64) (ID, []uint64, error) {
	if err := ValidMessage(&m); err != nil {
		return ID{}, offsets, err
	}
	to, err := Dedupe(to)
	if err != nil {
		return ID{}, offsets, err
	}
	now := s.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.ID = s.ids.New(now)
	m.Payload = slices.Clone(m.Payload) // the one allocation per message: the store owns its copy
	if len(m.Rooms) > 0 {
		m.Rooms = slices.Clone(m.Rooms)
	}
	if len(m.Except) > 0 {
		m.Except = slices.Clone(m.Except)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ID{}, offsets, ErrClosed
	}
	var full []string
	for _, c := range to {
		q := s.queueLocked(c, now)
		if max := s.limits.MaxMessages; max > 0 && len(q.msgs) >= max {
			full = append(full, c)
			s.stats.RefusedFull++
			offsets = append(offsets, 0)
			continue
		}
		off := q.next
		q.next++
		q.msgs = append(q.msgs, m) // a copy per recipient (its own offset) sharing the payload
		q.msgs[len(q.msgs)-1].Offset = off
		q.index[m.ID] = off
		s.stats.Appended++
		offsets = append(offsets, off)
	}
	if full != nil {
		return m.ID, offsets, &QueueFullError{Clients: full, Max: s.limits.MaxMessages}
	}
	return m.ID, offsets, nil
}

// AppendBatch implements Store: each entry in turn, as Append.
func (s *Memory) AppendBatch(ctx context.Context, batch []Appending) {
	for i := range batch {
		a := &batch[i]
		a.ID, a.Offsets, a.Err = s.Append(ctx, a.Message, a.To, a.Offsets[:0])
	}
}

// Pending implements Store.
func (s *Memory) Pending(ctx context.Context, client string, after uint64, limit int, dst []Message) ([]Message, error) {
	return s.pending(client, after, limit, dst, true)
}

// Peek implements Store.
func (s *Memory) Peek(ctx context.Context, client string, after uint64, limit int, dst []Message) ([]Message, error) {
	return s.pending(client, after, limit, dst, false)
}

func (s *Memory) pending(client string, after uint64, limit int, dst []Message, seen bool) ([]Message, error) {
	if err := ValidName(client); err != nil {
		return dst, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return dst, ErrClosed
	}
	q := s.queues[client]
	if q == nil {
		return dst, nil
	}
	if seen {
		q.lastSeen = now
	}
	i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].Offset > after })
	n := 0
	for ; i < len(q.msgs) && (limit <= 0 || n < limit); i++ {
		if s.tooOld(q.msgs[i].Created, now) {
			continue
		}
		dst = append(dst, q.msgs[i])
		n++
	}
	return dst, nil
}

func (s *Memory) tooOld(created, now time.Time) bool {
	return s.limits.MaxAge > 0 && now.Sub(created) > s.limits.MaxAge
}

// ackLocked removes id from q and counts it, with s.mu held; false when
// it was not pending.
func (s *Memory) ackLocked(q *memQueue, id ID) bool {
	off, ok := q.index[id]
	if !ok {
		s.stats.AckNotPending++
		return false
	}
	delete(q.index, id)
	i := sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].Offset >= off })
	if i == 0 && len(q.msgs) > 64 {
		q.msgs[0] = Message{} // long queue: drop the head without copying
		q.msgs = q.msgs[1:]
	} else {
		q.msgs = slices.Delete(q.msgs, i, i+1) // short: copy down, keep the capacity
	}
	s.stats.Acked++
	return true
}

// AckBatch implements Store.
func (s *Memory) AckBatch(ctx context.Context, client string, ids []ID) (int, error) {
	if err := ValidName(client); err != nil {
		return 0, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	q := s.queues[client]
	if q == nil {
		s.stats.AckNotPending += uint64(len(ids))
		return 0, nil
	}
	q.lastSeen = now
	n := 0
	for _, id := range ids {
		if s.ackLocked(q, id) {
			n++
		}
	}
	return n, nil
}

// Touch implements Store.
func (s *Memory) Touch(ctx context.Context, client string) error {
	if err := ValidName(client); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.queueLocked(client, now).lastSeen = now
	return nil
}

// Claim implements Store.
func (s *Memory) Claim(ctx context.Context, client, token string) (string, error) {
	if err := ValidName(client); err != nil {
		return "", err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	if max := s.limits.MaxClients; max > 0 && s.queues[client] == nil && len(s.queues) >= max {
		return "", &ClientLimitError{Max: max}
	}
	q := s.queueLocked(client, now)
	tok, err := ClaimToken(q.token, token)
	if err != nil {
		return "", err
	}
	q.token, q.lastSeen = tok, now
	return tok, nil
}

// Queues implements Store.
func (s *Memory) Queues(ctx context.Context) ([]QueueInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]QueueInfo, 0, len(s.queues))
	for c, q := range s.queues {
		qi := QueueInfo{Client: c, Depth: len(q.msgs), NextOffset: q.next, LastSeen: q.lastSeen}
		if len(q.msgs) > 0 {
			qi.Oldest = q.msgs[0].Created
		}
		out = append(out, qi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out, nil
}

// Purge implements Store.
func (s *Memory) Purge(ctx context.Context, client string) (int, error) {
	if err := ValidName(client); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	q := s.queues[client]
	if q == nil {
		return 0, nil
	}
	n := len(q.msgs)
	q.msgs = nil
	clear(q.index)
	s.stats.Purged += uint64(n)
	return n, nil
}

// Subscribe implements Store.
func (s *Memory) Subscribe(ctx context.Context, client string, sub Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	m := s.members[sub]
	if m == nil {
		m = make(map[string]struct{})
		s.members[sub] = m
	}
	m[client] = struct{}{}
	r := s.rooms[client]
	if r == nil {
		r = make(map[Sub]struct{})
		s.rooms[client] = r
	}
	r[sub] = struct{}{}
	return nil
}

func validSub(client string, sub Sub) error {
	if err := ValidName(client); err != nil {
		return err
	}
	if err := ValidName(sub.Namespace); err != nil {
		return err
	}
	return ValidName(sub.Room)
}

// Unsubscribe implements Store.
func (s *Memory) Unsubscribe(ctx context.Context, client string, sub Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.unsubscribeLocked(client, sub)
	return nil
}

func (s *Memory) unsubscribeLocked(client string, sub Sub) {
	if m := s.members[sub]; m != nil {
		delete(m, client)
		if len(m) == 0 {
			delete(s.members, sub)
		}
	}
	if r := s.rooms[client]; r != nil {
		delete(r, sub)
		if len(r) == 0 {
			delete(s.rooms, client)
		}
	}
}

// Members implements Store.
func (s *Memory) Members(ctx context.Context, sub Sub) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]string, 0, len(s.members[sub]))
	for c := range s.members[sub] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// Subscriptions implements Store.
func (s *Memory) Subscriptions(ctx context.Context, client string) ([]Sub, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]Sub, 0, len(s.rooms[client]))
	for sub := range s.rooms[client] {
		out = append(out, sub)
	}
	SortSubs(out)
	return out, nil
}

// SortSubs sorts subscriptions by namespace, then room.
func SortSubs(subs []Sub) {
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].Namespace != subs[j].Namespace {
			return subs[i].Namespace < subs[j].Namespace
		}
		return subs[i].Room < subs[j].Room
	})
}

// AppendReplay implements Store.
func (s *Memory) AppendReplay(ctx context.Context, m Message) (ID, uint64, error) {
	return s.appendReplay(m.Namespace, m.Event, m.Payload, m.Rooms, m.Except, m.Created, 0)
}

// RecordReplay is AppendReplay of a Message{Namespace: ns, Payload:
// payload, Rooms: rooms, Except: except, Created: created} for a caller
// that needs neither the entry's id and offset nor a context (the memory
// store never waits): the server, once per broadcast. The entry is built
// field by field in the log, with a copy of the payload: no Message is
// built and copied on the way (a Message is 152 bytes; building and
// copying it cost about a tenth of the server's CPU per event at one
// subscriber).
func (s *Memory) RecordReplay(ns string, payload []byte, rooms, except []string, created time.Time) error {
	_, _, err := s.appendReplay(ns, "", payload, rooms, except, created, 0)
	return err
}

// RecordReplayAt is RecordReplay with the entry created at epoch+at, for a
// caller that keeps its clock readings as durations since an epoch of its
// own (the server: the monotonic clock since its start): no time.Time is
// built per entry. A caller should keep to one epoch (the store notes the
// last one); epoch must not be the zero Time.
func (s *Memory) RecordReplayAt(ns string, payload []byte, rooms, except []string, epoch time.Time, at time.Duration) error {
	_, _, err := s.appendReplay(ns, "", payload, rooms, except, epoch, int64(at))
	return err
}

// appendReplay appends an entry created at created+at; a zero created is
// the clock's reading now (at is then 0).
func (s *Memory) appendReplay(ns, event string, payload []byte, rooms, except []string, created time.Time, at int64) (ID, uint64, error) {
	// What ValidMessage checks, in the order of its checks; the names are
	// checked only when new to the log (below): a namespace that has a log
	// and rooms equal to the entry before's were checked when they came.
	if len(ns) == 0 || len(ns) > MaxNameLen || len(event) > MaxNameLen || len(rooms)+len(except) > 1<<16 {
		return ID{}, 0, ErrInvalidName
	}
	if len(payload) > MaxPayload {
		return ID{}, 0, ErrPayloadTooLarge
	}
	// A caller that stamps its entries (the server, with the clock reading
	// of the read that brought the event) saves a clock read per append.
	if created.IsZero() {
		created = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ID{}, 0, ErrClosed
	}
	if created != s.callerEpoch {
		s.callerEpoch, s.callerDelta = created, int64(created.Sub(s.epoch))
	}
	now := s.callerDelta + at
	id := s.ids.newMilli(floorDiv(s.epochNano+now, int64(time.Millisecond)))
	l := s.lastLog
	if l == nil || s.lastNS != ns {
		if l = s.logs[ns]; l == nil {
			if err := ValidName(ns); err != nil {
				return ID{}, 0, err
			}
			l = &memLog{ns: ns, next: 1}
			s.logs[ns] = l
		}
		s.lastNS, s.lastLog = ns, l
	}
	// Entries are read-only: one with the same names as the entry before
	// shares them (a chat broadcasts to one room many times).
	var prev *replayEntry
	if l.n > 0 {
		prev = l.at(l.n - 1)
	}
	names, err := namesOf(event, rooms, except, prev)
	if err != nil {
		return ID{}, 0, err
	}
	// The slots past the end are zero (cleared when dropped, or fresh),
	// so the entry is written field by field in place.
	e := l.push()
	e.id = id
	e.payload = s.payloadLocked(payload)
	e.names = names
	e.at = now
	e.size = replaySize(e)
	off := l.next
	l.next++
	size := e.size
	l.bytes += size
	s.replayBytes += size
	s.stats.ReplayAppended++
	s.trimReplayLocked(l, now)
	return id, off, nil
}

// Replay implements Store.
func (s *Memory) Replay(ctx context.Context, ns string, after uint64, limit int, dst []Message) ([]Message, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return dst, ErrClosed
	}
	l := s.logs[ns]
	if l == nil {
		if after > 0 {
			return dst, ErrReplayGap
		}
		return dst, nil
	}
	if after >= l.next {
		return dst, ErrReplayGap // an offset this log never issued
	}
	// the first entry after 'after' must still be here and not too old
	first := uint64(0)
	since := int64(now.Sub(s.epoch))
	for i := range l.n {
		if since-l.at(i).at <= int64(s.limits.ReplayWindow) {
			first = l.offset(i)
			break
		}
	}
	if after+1 < l.next && (first == 0 || after+1 < first) {
		return dst, ErrReplayGap
	}
	i := sort.Search(l.n, func(i int) bool { return l.offset(i) > after })
	j := i
	size := 0
	for n := 0; j < l.n && (limit <= 0 || n < limit); j, n = j+1, n+1 {
		size += len(l.at(j).payload)
	}
	// The payloads are copied, into one array: a trimmed entry's buffer
	// is reused for a new entry's payload, which would change a replayed
	// message under its caller once the lock is released.
	buf := make([]byte, 0, size)
	for ; i < j; i++ {
		m := l.message(i, s.epoch)
		buf = append(buf, m.Payload...)
		m.Payload = buf[len(buf)-len(m.Payload) : len(buf) : len(buf)]
		dst = append(dst, m)
	}
	return dst, nil
}

// ReplayHead implements Store.
func (s *Memory) ReplayHead(ctx context.Context, ns string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if l := s.logs[ns]; l != nil {
		return l.next - 1, nil
	}
	return 0, nil
}

// SaveSession implements Store. Over Limits.SessionTotalBytes the oldest
// sessions are dropped (this one last).
func (s *Memory) SaveSession(ctx context.Context, sess Session) error {
	if err := ValidName(sess.ID); err != nil {
		return err
	}
	sess.Expires = s.now().Add(s.limits.SessionWindow)
	sess.Rooms = slices.Clone(sess.Rooms)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if old, ok := s.sessions[sess.ID]; ok {
		s.sessionBytes -= old.size // replaced: its place in the order is skipped
	}
	s.sessSeq++
	ms := memSession{Session: sess, size: SessionSize(&sess), seq: s.sessSeq}
	s.sessions[sess.ID] = ms
	s.sessionBytes += ms.size
	s.sessOrder = append(s.sessOrder, sessRef{id: sess.ID, seq: ms.seq})
	s.stats.SessionsSaved++
	for max := s.limits.SessionTotalBytes; max > 0 && s.sessionBytes > max && s.sessHead < len(s.sessOrder); {
		ref := s.sessOrder[s.sessHead]
		s.sessOrder[s.sessHead] = sessRef{}
		s.sessHead++
		if old, ok := s.sessions[ref.id]; ok && old.seq == ref.seq {
			s.removeSessionLocked(ref.id, old)
			s.stats.SessionsDropped++
		}
	}
	s.compactSessionsLocked()
	return nil
}

// removeSessionLocked deletes session id (whose entry is ms) and its bytes.
func (s *Memory) removeSessionLocked(id string, ms memSession) {
	delete(s.sessions, id)
	s.sessionBytes -= ms.size
}

// compactSessionsLocked drops the saving order's entries of sessions no
// longer there when they outnumber the live sessions (and 64): the order
// holds at most about twice the sessions, and each entry is copied a
// bounded number of times on average.
func (s *Memory) compactSessionsLocked() {
	if stale := len(s.sessOrder) - s.sessHead - len(s.sessions); stale <= 64 || stale <= len(s.sessions) {
		if s.sessHead > 64 && s.sessHead >= len(s.sessOrder)/2 {
			s.sessOrder = append(s.sessOrder[:0], s.sessOrder[s.sessHead:]...)
			clear(s.sessOrder[len(s.sessOrder):cap(s.sessOrder)])
			s.sessHead = 0
		}
		return
	}
	keep := s.sessOrder[:0]
	for _, ref := range s.sessOrder[s.sessHead:] {
		if ms, ok := s.sessions[ref.id]; ok && ms.seq == ref.seq {
			keep = append(keep, ref)
		}
	}
	clear(s.sessOrder[len(keep):])
	s.sessOrder, s.sessHead = keep, 0
	if cap(s.sessOrder) > 256 && len(s.sessOrder) < cap(s.sessOrder)/4 {
		s.sessOrder = slices.Clip(slices.Clone(s.sessOrder)) // let a burst's array go
	}
}

// TakeSession implements Store.
func (s *Memory) TakeSession(ctx context.Context, id string) (Session, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Session{}, ErrClosed
	}
	ms, ok := s.sessions[id]
	if !ok {
		return Session{}, ErrSessionNotFound
	}
	s.removeSessionLocked(id, ms)
	s.compactSessionsLocked()
	if !now.Before(ms.Expires) {
		s.stats.SessionsExpired++
		return Session{}, ErrSessionNotFound
	}
	s.stats.SessionsTaken++
	return ms.Session, nil
}

// Expire implements Store.
func (s *Memory) Expire(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for c, q := range s.queues {
		if s.limits.QueueTTL > 0 && now.Sub(q.lastSeen) > s.limits.QueueTTL {
			s.stats.ExpiredQueues++
			s.stats.DroppedAge += uint64(len(q.msgs))
			delete(s.queues, c)
			for sub := range s.rooms[c] {
				s.unsubscribeLocked(c, sub)
			}
			continue
		}
		keep := q.msgs[:0]
		for _, m := range q.msgs {
			if s.tooOld(m.Created, now) {
				delete(q.index, m.ID)
				s.stats.DroppedAge++
				continue
			}
			keep = append(keep, m)
		}
		clear(q.msgs[len(keep):])
		q.msgs = keep
	}
	since := int64(now.Sub(s.epoch))
	for _, l := range s.logs {
		for l.n > 0 && since-l.at(0).at > int64(s.limits.ReplayWindow) {
			s.dropOldestLocked(l)
		}
		if l.n == 0 {
			l.chunks, l.spare = nil, nil // an idle log holds no chunk
		}
	}
	for id, ms := range s.sessions {
		if !now.Before(ms.Expires) {
			s.removeSessionLocked(id, ms)
			s.stats.SessionsExpired++
		}
	}
	s.compactSessionsLocked()
	return nil
}

// Stats implements Store.
func (s *Memory) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ReplayBytes = uint64(s.replayBytes)
	st.SessionBytes = uint64(s.sessionBytes)
	return st
}

// Close implements Store.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// floorDiv is a/b rounded down (b > 0), as time.Time.UnixMilli rounds a
// time before 1970.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
