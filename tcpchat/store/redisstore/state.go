package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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

func subMember(sub store.Sub) string { return sub.Namespace + "\x00" + sub.Room }

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, client string, sub store.Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	pipe := s.rdb.Pipeline()
	pipe.SAdd(ctx, s.roomKey(sub), client)
	pipe.SAdd(ctx, s.clientKey(client, "rooms"), subMember(sub))
	_, err := pipe.Exec(ctx)
	return wrap("subscribe", err)
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, client string, sub store.Sub) error {
	if err := validSub(client, sub); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	pipe := s.rdb.Pipeline()
	pipe.SRem(ctx, s.clientKey(client, "rooms"), subMember(sub))
	pipe.SRem(ctx, s.roomKey(sub), client)
	_, err := pipe.Exec(ctx)
	return wrap("unsubscribe", err)
}

// Members implements store.Store.
func (s *Store) Members(ctx context.Context, sub store.Sub) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m, err := s.rdb.SMembers(ctx, s.roomKey(sub)).Result()
	sort.Strings(m)
	return m, wrap("members", err)
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context, client string) ([]store.Sub, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m, err := s.rdb.SMembers(ctx, s.clientKey(client, "rooms")).Result()
	if err != nil {
		return nil, wrap("subscriptions", err)
	}
	out := make([]store.Sub, 0, len(m))
	for _, v := range m {
		if ns, room, ok := strings.Cut(v, "\x00"); ok {
			out = append(out, store.Sub{Namespace: ns, Room: room})
		}
	}
	store.SortSubs(out)
	return out, nil
}

// AppendReplay implements store.Store.
func (s *Store) AppendReplay(ctx context.Context, m store.Message) (store.ID, uint64, error) {
	if err := store.ValidMessage(&m); err != nil {
		return store.ID{}, 0, err
	}
	if err := s.check(); err != nil {
		return store.ID{}, 0, err
	}
	now := s.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.ID = s.ids.New(now)
	m.Offset = 0
	size := store.ReplayEntrySize(len(m.Payload), m.Rooms, m.Except)
	call := []scripted{{script: replayAppendScript,
		keys: []string{s.nsKey(m.Namespace, "replay"), s.nsKey(m.Namespace, "rmeta")},
		args: []any{store.AppendMessage(nil, &m), s.limits.ReplayMax, m.Created.UnixMilli(), size, s.limits.ReplayMaxBytes}}}
	if err := s.runScripts(ctx, call); err != nil {
		return store.ID{}, 0, wrap("append to replay log", err)
	}
	r, _ := call[0].cmd.Slice()
	off, ok1 := int64At(r, 0)
	trimmed, ok2 := int64At(r, 1)
	if !ok1 || !ok2 || len(r) != 5 {
		return store.ID{}, 0, wrap("append to replay log", errors.New("unexpected script reply"))
	}
	st, err := parseLogState(r[2:])
	if err != nil {
		return store.ID{}, 0, wrap("append to replay log", err)
	}
	s.count(func(st *store.Stats) { st.ReplayAppended++; st.ReplayTrimmed += uint64(trimmed) })
	if off == 1 {
		if err := s.rdb.SAdd(ctx, s.logs(), m.Namespace).Err(); err != nil {
			return store.ID{}, 0, wrap("append to replay log", err)
		}
	}
	if s.noteSeen(m.Namespace, st.bytes) {
		if err := s.reportLog(ctx, m.Namespace, st); err != nil {
			return store.ID{}, 0, wrap("append to replay log: bound the replay logs' total bytes", err)
		}
	}
	return m.ID, uint64(off), nil
}

// Replay implements store.Store.
func (s *Store) Replay(ctx context.Context, ns string, after uint64, limit int, dst []store.Message) ([]store.Message, error) {
	if err := s.check(); err != nil {
		return dst, err
	}
	now := s.now()
	key := s.nsKey(ns, "replay")
	nextS, err := s.rdb.HGet(ctx, s.nsKey(ns, "rmeta"), "next").Result()
	if errors.Is(err, redis.Nil) {
		nextS, err = "0", nil
	}
	if err != nil {
		return dst, wrap("replay", err)
	}
	last, _ := strconv.ParseUint(nextS, 10, 64)
	if after > last {
		return dst, store.ErrReplayGap
	}
	if after == last {
		return dst, nil
	}
	// the first entry inside the window must be at most after+1
	start := "-"
	first := uint64(0)
	for first == 0 {
		xs, err := s.rdb.XRangeN(ctx, key, start, "+", 100).Result()
		if err != nil {
			return dst, wrap("replay", err)
		}
		for _, x := range xs {
			m, err := decodeEntry(x)
			if err != nil {
				return dst, err
			}
			if now.Sub(m.Created) <= s.limits.ReplayWindow {
				first = m.Offset
				break
			}
			start = strconv.FormatUint(m.Offset+1, 10) + "-0"
		}
		if len(xs) < 100 {
			break
		}
	}
	if first == 0 || first > after+1 {
		return dst, store.ErrReplayGap
	}
	start = strconv.FormatUint(after+1, 10) + "-0"
	n := 0
	for limit <= 0 || n < limit {
		count := int64(500)
		if limit > 0 && int64(limit-n) < count {
			count = int64(limit - n)
		}
		xs, err := s.rdb.XRangeN(ctx, key, start, "+", count).Result()
		if err != nil {
			return dst, wrap("replay", err)
		}
		for _, x := range xs {
			m, err := decodeEntry(x)
			if err != nil {
				return dst, err
			}
			dst = append(dst, m)
			n++
			start = strconv.FormatUint(m.Offset+1, 10) + "-0"
		}
		if int64(len(xs)) < count {
			break
		}
	}
	return dst, nil
}

// ReplayHead implements store.Store.
func (s *Store) ReplayHead(ctx context.Context, ns string) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	v, err := s.rdb.HGet(ctx, s.nsKey(ns, "rmeta"), "next").Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, wrap("replay head", err)
}

// sessionSlack keeps a session key a little past its window so that the
// store's clock, not Redis's, decides expiry at the edge.
const sessionSlack = 5 * time.Second

// SaveSession implements store.Store.
func (s *Store) SaveSession(ctx context.Context, sess store.Session) error {
	if err := store.ValidName(sess.ID); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	sess.Expires = s.now().Add(s.limits.SessionWindow)
	err := s.rdb.Set(ctx, s.sessionKey(sess.ID), store.AppendSession(nil, &sess), s.limits.SessionWindow+sessionSlack).Err()
	if err != nil {
		return wrap("save session", err)
	}
	s.count(func(st *store.Stats) { st.SessionsSaved++ })
	_, err = s.reportSession(ctx, sess.ID, store.SessionSize(&sess), sess.Expires)
	return wrap("save session: bound the sessions' bytes", err)
}

// TakeSession implements store.Store.
func (s *Store) TakeSession(ctx context.Context, id string) (store.Session, error) {
	if store.ValidName(id) != nil {
		return store.Session{}, store.ErrSessionNotFound
	}
	if err := s.check(); err != nil {
		return store.Session{}, err
	}
	v, err := s.rdb.GetDel(ctx, s.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.Session{}, store.ErrSessionNotFound
	}
	if err != nil {
		return store.Session{}, wrap("take session", err)
	}
	// The session is taken (GETDEL) whether or not its bytes are given
	// back: if that fails, they come back when its time passes.
	_, _ = s.reportSession(ctx, id, -1, time.Time{})
	var sess store.Session
	if err := store.DecodeSession(v, &sess); err != nil || !s.now().Before(sess.Expires) {
		s.count(func(st *store.Stats) { st.SessionsExpired++ })
		return store.Session{}, store.ErrSessionNotFound
	}
	s.count(func(st *store.Stats) { st.SessionsTaken++ })
	return sess, nil
}

// Expire implements store.Store. Sessions expire by themselves (PX);
// Expire gives their bytes back to the sessions' total, and reports every
// replay log's bytes to the logs' total.
func (s *Store) Expire(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	now := s.now()
	clients, err := s.rdb.SMembers(ctx, s.registry()).Result()
	if err != nil {
		return wrap("expire", err)
	}
	var cutoff int64
	if s.limits.MaxAge > 0 {
		cutoff = now.Add(-s.limits.MaxAge).UnixMilli()
	}
	ttl := int64(0)
	if s.limits.QueueTTL > 0 {
		ttl = int64(s.limits.QueueTTL)
	}
	var st store.Stats
	const chunk = 1000 // bounded pipelines however many queues there are
	var calls []scripted
	for len(clients) > 0 {
		part := clients[:min(chunk, len(clients))]
		clients = clients[len(part):]
		calls = calls[:0]
		for _, c := range part {
			calls = append(calls, scripted{script: expireQueueScript,
				keys: append(s.queueKeys(c), s.clientKey(c, "rooms")),
				args: []any{now.UnixNano(), ttl, cutoff}})
		}
		if err := s.runScripts(ctx, calls); err != nil {
			return wrap("expire", err)
		}
		for i, c := range calls {
			r, _ := c.cmd.Slice()
			if len(r) < 2 {
				continue
			}
			idle, _ := r[0].(int64)
			n, _ := r[1].(int64)
			st.DroppedAge += uint64(n)
			if idle != 1 {
				continue
			}
			st.ExpiredQueues++
			pipe := s.rdb.Pipeline()
			for _, v := range r[2:] {
				sv, _ := v.(string)
				if ns, room, ok := strings.Cut(sv, "\x00"); ok {
					pipe.SRem(ctx, s.roomKey(store.Sub{Namespace: ns, Room: room}), part[i])
				}
			}
			pipe.SRem(ctx, s.registry(), part[i])
			if _, err := pipe.Exec(ctx); err != nil {
				return wrap("expire", err)
			}
		}
	}
	logs, err := s.rdb.SMembers(ctx, s.logs()).Result()
	if err != nil {
		return wrap("expire", err)
	}
	calls = calls[:0]
	for _, ns := range logs { // one script per namespace; namespaces are few
		calls = append(calls, scripted{script: replayExpireScript,
			keys: []string{s.nsKey(ns, "replay"), s.nsKey(ns, "rmeta")},
			args: []any{now.Add(-s.limits.ReplayWindow).UnixMilli()}})
	}
	if len(calls) > 0 {
		if err := s.runScripts(ctx, calls); err != nil {
			return wrap("expire", err)
		}
	}
	for i, c := range calls {
		r, _ := c.cmd.Slice()
		n, ok := int64At(r, 0)
		if !ok || len(r) != 4 {
			return wrap("expire", fmt.Errorf("unexpected script reply %v", r))
		}
		st.ReplayTrimmed += uint64(n)
		ls, err := parseLogState(r[1:])
		if err != nil {
			return wrap("expire", err)
		}
		// every log's state, changed or not: a report a node did not
		// make (it stopped between its two scripts) is made here
		if err := s.reportLog(ctx, logs[i], ls); err != nil {
			return wrap("expire: replay logs' total bytes", err)
		}
	}
	s.count(func(t *store.Stats) {
		t.DroppedAge += st.DroppedAge
		t.ExpiredQueues += st.ExpiredQueues
		t.ReplayTrimmed += st.ReplayTrimmed
	})
	// sessions expire by themselves (PX); their bytes are given back here
	// (and at every save and take)
	for {
		n, err := s.reportSession(ctx, "", -1, time.Time{})
		if err != nil {
			return wrap("expire: sessions' bytes", err)
		}
		if n < maxForget {
			return nil
		}
	}
}
