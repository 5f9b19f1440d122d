package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// DefaultPrefix starts every key.
const DefaultPrefix = "wiredojo"

// Store keeps the chat's durable state in Redis. It is safe for concurrent
// use and starts no goroutines of its own (go-redis owns its connection
// pool).
type Store struct {
	rdb    redis.UniversalClient
	own    bool
	prefix string
	limits store.Limits
	now    func() time.Time
	ids    *store.IDGen

	mu     sync.Mutex // guards closed and stats
	closed bool
	stats  store.Stats

	// What this node reported of each namespace's log to the total over
	// every log, and saw since (bounds.go, reportStep).
	repMu      sync.Mutex
	reported   map[string]logReport // guarded by repMu; logs with entries only
	unreported int64                // guarded by repMu: seen less reported, summed
	lastTotal  int64                // guarded by repMu: the total at the last report
}

// Open connects to the Redis server at url (redis://host:port/db) and checks
// that it answers. Close closes the connection.
func Open(ctx context.Context, url string, opts store.Options) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: bad Redis URL %q (want redis://host:port/db): %w", url, err)
	}
	rdb := redis.NewClient(o)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("%w: Redis at %s: %w", store.ErrUnreachable, o.Addr, err)
	}
	s := New(rdb, DefaultPrefix, opts)
	s.own = true
	return s, nil
}

// New returns a store on an existing client (a *redis.Client or a
// *redis.ClusterClient); Close does not close it. prefix starts every key
// ("" means DefaultPrefix), so several stores can share one Redis.
func New(rdb redis.UniversalClient, prefix string, opts store.Options) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, limits: opts.Limits.WithDefaults(), now: opts.Now, ids: store.NewIDGen(opts.Node), reported: map[string]logReport{}}
}

// Prefix returns the prefix of every key of this store.
func (s *Store) Prefix() string { return s.prefix }

// Keys.
func (s *Store) clientKey(c, what string) string { return s.prefix + ":{client:" + c + "}:" + what }
func (s *Store) roomKey(sub store.Sub) string {
	return s.prefix + ":{room:" + sub.Namespace + ":" + sub.Room + "}:members"
}
func (s *Store) nsKey(ns, what string) string { return s.prefix + ":{ns:" + ns + "}:" + what }
func (s *Store) sessionKey(id string) string  { return s.prefix + ":{session:" + id + "}" }
func (s *Store) queueKeys(c string) []string {
	return []string{s.clientKey(c, "q"), s.clientKey(c, "meta"), s.clientKey(c, "ids")}
}
func (s *Store) registry() string { return s.prefix + ":queues" }
func (s *Store) logs() string     { return s.prefix + ":logs" }

func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

func (s *Store) count(f func(st *store.Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrClosed) {
		return err
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// runScripts runs scripted commands in one pipeline with EVALSHA and
// re-runs, with EVAL, those Redis did not know (NOSCRIPT: after a restart or
// on a fresh cluster node; such a command did not run, so re-running is
// safe).
type scripted struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

func (s *Store) runScripts(ctx context.Context, calls []scripted) error {
	pipe := s.rdb.Pipeline()
	for i := range calls {
		calls[i].cmd = calls[i].script.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
	}
	_, _ = pipe.Exec(ctx)
	var retry []int
	for i := range calls {
		if err := calls[i].cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe = s.rdb.Pipeline()
		for _, i := range retry {
			calls[i].cmd = calls[i].script.Eval(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx)
	}
	for i := range calls {
		if err := calls[i].cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Append implements store.Store.
func (s *Store) Append(ctx context.Context, m store.Message, to []string, offsets []uint64) (store.ID, []uint64, error) {
	b := [1]store.Appending{{Message: m, To: to}}
	s.AppendBatch(ctx, b[:])
	return b[0].ID, append(offsets, b[0].Offsets...), b[0].Err
}

// AppendBatch implements store.Store: the appends of every entry, to every
// recipient, go to Redis in one pipeline (one round trip, in the batch's
// order, so that a recipient's offsets follow it), plus one SADD for the
// queues that were new.
func (s *Store) AppendBatch(ctx context.Context, batch []store.Appending) {
	if err := s.check(); err != nil {
		for i := range batch {
			batch[i].ID, batch[i].Offsets, batch[i].Err = store.ID{}, batch[i].Offsets[:0], err
		}
		return
	}
	now := s.now()
	// first[i] is the index of entry i's first call; its calls follow it
	first := make([]int, len(batch)+1)
	var calls []scripted
	for i := range batch {
		first[i] = len(calls)
		a := &batch[i]
		a.ID, a.Offsets, a.Err = store.ID{}, a.Offsets[:0], nil
		m := a.Message
		if err := store.ValidMessage(&m); err != nil {
			a.Err = err
			continue
		}
		to, err := store.Dedupe(a.To)
		if err != nil {
			a.Err = err
			continue
		}
		a.To = to
		if m.Created.IsZero() {
			m.Created = now
		}
		m.ID = s.ids.New(now)
		m.Offset = 0
		a.ID = m.ID
		rec := store.AppendMessage(nil, &m)
		for _, c := range to {
			calls = append(calls, scripted{script: appendScript, keys: s.queueKeys(c),
				args: []any{m.ID[:], rec, s.limits.MaxMessages, now.UnixNano(), m.Created.UnixMilli()}})
		}
	}
	first[len(batch)] = len(calls)
	if len(calls) > 0 {
		_ = s.runScripts(ctx, calls) // each call's error is its entry's
	}
	var refused, appended uint64
	var fresh []any
	freshOf := make([]bool, len(batch)) // the entry made a queue that the registry must list
	full := make([][]string, len(batch))
	for i := range batch {
		a := &batch[i]
		if a.Err != nil {
			continue
		}
		for j, c := range calls[first[i]:first[i+1]] {
			if err := c.cmd.Err(); err != nil {
				if a.Err == nil {
					a.Err = err
				}
				continue
			}
			r, _ := c.cmd.Int64Slice()
			if len(r) != 3 {
				a.Err = fmt.Errorf("unexpected script reply %v", c.cmd.Val())
				break
			}
			if r[1] == 1 {
				refused++
				full[i] = append(full[i], a.To[j])
				a.Offsets = append(a.Offsets, 0)
				continue
			}
			appended++
			if r[2] == 1 {
				fresh = append(fresh, a.To[j])
				freshOf[i] = true
			}
			a.Offsets = append(a.Offsets, uint64(r[0]))
		}
	}
	s.count(func(st *store.Stats) { st.Appended += appended; st.RefusedFull += refused })
	var serr error
	if len(fresh) > 0 {
		serr = s.rdb.SAdd(ctx, s.registry(), fresh...).Err()
	}
	for i := range batch {
		a := &batch[i]
		if a.Err == nil && freshOf[i] {
			a.Err = serr
		}
		switch {
		case a.Err != nil:
			a.ID, a.Offsets = store.ID{}, a.Offsets[:0]
			if first[i] < first[i+1] || freshOf[i] { // a store error, not a refused message
				a.Err = wrap("append", a.Err)
			}
		case full[i] != nil:
			a.Err = &store.QueueFullError{Clients: full[i], Max: s.limits.MaxMessages}
		}
	}
}

func parseOffset(streamID string) uint64 {
	i := strings.IndexByte(streamID, '-')
	if i < 0 {
		i = len(streamID)
	}
	v, _ := strconv.ParseUint(streamID[:i], 10, 64)
	return v
}

func decodeEntry(x redis.XMessage) (store.Message, error) {
	var m store.Message
	rec, _ := x.Values["r"].(string)
	if err := store.DecodeMessage([]byte(rec), &m); err != nil {
		return m, fmt.Errorf("redisstore: entry %s: %w", x.ID, err)
	}
	m.Offset = parseOffset(x.ID)
	return m, nil
}

func (s *Store) tooOld(created, now time.Time) bool {
	return s.limits.MaxAge > 0 && now.Sub(created) > s.limits.MaxAge
}

// Pending implements store.Store.
func (s *Store) Pending(ctx context.Context, client string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	return s.pending(ctx, client, after, limit, dst, true)
}

// Peek implements store.Store.
func (s *Store) Peek(ctx context.Context, client string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	return s.pending(ctx, client, after, limit, dst, false)
}

func (s *Store) pending(ctx context.Context, client string, after uint64, limit int, dst []store.Message, mark bool) ([]store.Message, error) {
	if err := store.ValidName(client); err != nil {
		return dst, err
	}
	if err := s.check(); err != nil {
		return dst, err
	}
	now := s.now()
	q := s.clientKey(client, "q")
	start := strconv.FormatUint(after+1, 10) + "-0"
	const batch = 500
	count := int64(batch)
	if limit > 0 && limit < batch {
		count = int64(limit)
	}
	// first batch and the last-seen mark in one round trip
	seen := []scripted{{script: seenScript, keys: []string{s.clientKey(client, "meta")}, args: []any{now.UnixNano()}}}
	pipe := s.rdb.Pipeline()
	xr := pipe.XRangeN(ctx, q, start, "+", count)
	if mark {
		seen[0].cmd = seen[0].script.EvalSha(ctx, pipe, seen[0].keys, seen[0].args...)
	}
	_, _ = pipe.Exec(ctx)
	if mark {
		if err := seen[0].cmd.Err(); err != nil {
			if !redis.HasErrorPrefix(err, "NOSCRIPT") {
				return dst, wrap("pending", err)
			}
			if err := s.runScripts(ctx, seen); err != nil {
				return dst, wrap("pending", err)
			}
		}
	}
	xs, err := xr.Result()
	n := 0
	for {
		if err != nil {
			return dst, wrap("pending", err)
		}
		for _, x := range xs {
			m, err := decodeEntry(x)
			if err != nil {
				return dst, err
			}
			start = strconv.FormatUint(m.Offset+1, 10) + "-0"
			if s.tooOld(m.Created, now) {
				continue
			}
			dst = append(dst, m)
			n++
		}
		if int64(len(xs)) < count || (limit > 0 && n >= limit) {
			return dst, nil
		}
		count = batch
		if limit > 0 && limit-n < batch {
			count = int64(limit - n)
		}
		xs, err = s.rdb.XRangeN(ctx, q, start, "+", count).Result()
	}
}

// AckBatch implements store.Store: one script call (one round trip) for
// all of ids.
func (s *Store) AckBatch(ctx context.Context, client string, ids []store.ID) (int, error) {
	if err := store.ValidName(client); err != nil {
		return 0, err
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	args := make([]any, 1, 1+len(ids))
	args[0] = s.now().UnixNano()
	for i := range ids {
		args = append(args, ids[i][:])
	}
	call := []scripted{{script: ackScript, keys: s.queueKeys(client), args: args}}
	if err := s.runScripts(ctx, call); err != nil {
		return 0, wrap("ack", err)
	}
	v, _ := call[0].cmd.Int64()
	n := int(min(max(v, 0), int64(len(ids))))
	s.count(func(st *store.Stats) {
		st.Acked += uint64(n)
		st.AckNotPending += uint64(len(ids) - n)
	})
	return n, nil
}

// Touch implements store.Store.
func (s *Store) Touch(ctx context.Context, client string) error {
	if err := store.ValidName(client); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, s.clientKey(client, "meta"), "seen", s.now().UnixNano())
	pipe.SAdd(ctx, s.registry(), client)
	_, err := pipe.Exec(ctx)
	return wrap("touch", err)
}

// Claim implements store.Store: the token is field "token" of the
// client's meta hash, set if absent and read in one transaction, and
// compared here in constant time.
func (s *Store) Claim(ctx context.Context, client, token string) (string, error) {
	if err := store.ValidName(client); err != nil {
		return "", err
	}
	if err := s.check(); err != nil {
		return "", err
	}
	if err := s.roomForClient(ctx, client); err != nil {
		return "", err
	}
	candidate := token
	if candidate == "" {
		candidate = store.NewToken()
	}
	key := s.clientKey(client, "meta")
	tx := s.rdb.TxPipeline()
	tx.HSetNX(ctx, key, "token", candidate)
	held := tx.HGet(ctx, key, "token")
	if _, err := tx.Exec(ctx); err != nil {
		return "", wrap("claim", err)
	}
	tok, err := store.ClaimToken(held.Val(), candidate) // candidate: token, or the fresh one just set
	if err != nil {
		return "", err
	}
	return tok, s.Touch(ctx, client)
}

// roomForClient refuses a client id the registry does not hold when it
// holds Limits.MaxClients already. The count and the claim are two steps
// (the registry and the client's keys are in different cluster slots):
// new ids claimed at the same moment may pass the bound by one each.
func (s *Store) roomForClient(ctx context.Context, client string) error {
	max := s.limits.MaxClients
	if max <= 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	known := pipe.SIsMember(ctx, s.registry(), client)
	n := pipe.SCard(ctx, s.registry())
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("claim", err)
	}
	if !known.Val() && n.Val() >= int64(max) {
		return &store.ClientLimitError{Max: max}
	}
	return nil
}

// Queues implements store.Store.
func (s *Store) Queues(ctx context.Context) ([]store.QueueInfo, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	clients, err := s.rdb.SMembers(ctx, s.registry()).Result()
	if err != nil {
		return nil, wrap("list queues", err)
	}
	sort.Strings(clients)
	type cmds struct {
		n     *redis.IntCmd
		first *redis.XMessageSliceCmd
		meta  *redis.SliceCmd
	}
	cs := make([]cmds, len(clients))
	pipe := s.rdb.Pipeline()
	for i, c := range clients {
		cs[i] = cmds{
			n:     pipe.XLen(ctx, s.clientKey(c, "q")),
			first: pipe.XRangeN(ctx, s.clientKey(c, "q"), "-", "+", 1),
			meta:  pipe.HMGet(ctx, s.clientKey(c, "meta"), "next", "seen"),
		}
	}
	if len(clients) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("list queues", err)
		}
	}
	out := make([]store.QueueInfo, 0, len(clients))
	for i, c := range clients {
		meta := cs[i].meta.Val()
		if len(meta) != 2 || meta[1] == nil {
			continue // expired meanwhile
		}
		next, _ := strconv.ParseUint(fmt.Sprint(meta[0]), 10, 64)
		seen, _ := strconv.ParseInt(fmt.Sprint(meta[1]), 10, 64)
		qi := store.QueueInfo{Client: c, Depth: int(cs[i].n.Val()), NextOffset: next + 1, LastSeen: time.Unix(0, seen)}
		if xs := cs[i].first.Val(); len(xs) == 1 {
			m, err := decodeEntry(xs[0])
			if err != nil {
				return nil, err
			}
			qi.Oldest = m.Created
		}
		out = append(out, qi)
	}
	return out, nil
}

// Purge implements store.Store.
func (s *Store) Purge(ctx context.Context, client string) (int, error) {
	if err := store.ValidName(client); err != nil {
		return 0, err
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	call := []scripted{{script: purgeScript, keys: []string{s.clientKey(client, "q"), s.clientKey(client, "ids")}}}
	if err := s.runScripts(ctx, call); err != nil {
		return 0, wrap("purge", err)
	}
	n, _ := call[0].cmd.Int64()
	s.count(func(st *store.Stats) { st.Purged += uint64(n) })
	return int(n), nil
}

// Stats implements store.Store (counters of this process).
func (s *Store) Stats() store.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close implements store.Store; it closes the client when Open made it.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.own {
		return s.rdb.Close()
	}
	return nil
}
