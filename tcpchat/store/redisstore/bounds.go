package redisstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// The byte bounds across keys of different slots (ReplayTotalBytes over
// every namespace's log, SessionTotalBytes over every session) cannot be
// kept by one script in a Redis Cluster, whose scripts touch one slot. So
// the totals live in keys of their own slot ({replay}, {sessions}), kept
// by a second script after the one that changed a log or saved a
// session:
//
//   - a log's script returns the log's state (its bytes, the created time
//     of its oldest entry, a version bumped by every change) and the
//     total script takes it unless it took a newer one, so the total is
//     the sum of each log's latest reported bytes and cannot drift (a
//     counter of deltas would: a node that ends between the two scripts
//     would leave it wrong for ever). Over the bound the Go side drops
//     the oldest entries of the log whose oldest entry is oldest (a
//     sorted set of the logs by that time) and reports again.
//   - a session's size and expiry go into a hash and a sorted set by
//     expiry when it is saved; its take (GETDEL) forgets it, and every
//     call forgets the sessions whose time passed (their keys go by their
//     TTL, silently), so what Redis removes gives its bytes back. Over
//     the bound the script pops the sessions that expire first and the Go
//     side deletes their keys.
//
// A total is over its bound at most by what is in flight between the two
// scripts: the entries of AppendReplay calls (or the sessions of
// SaveSession calls) running on every node at that moment, each at most
// its own size, and the last change of a node that stopped between the
// two scripts until the next change of that log or the next Expire sweep
// (which reports every log; a session saved so lives at most its TTL).

// replayTotalKeys are the keys of the total over every replay log.
func (s *Store) replayTotalKeys() []string {
	p := s.prefix + ":{replay}:"
	return []string{p + "bytes", p + "vers", p + "total", p + "heads"}
}

// sessionTotalKeys are the keys of the total over every session.
func (s *Store) sessionTotalKeys() []string {
	p := s.prefix + ":{sessions}:"
	return []string{p + "sizes", p + "order", p + "total"}
}

// logState is a replay log's state as its scripts return it: what its
// entries count, the created time (ms) of its oldest entry (-1: empty)
// and its version.
type logState struct{ bytes, head, ver int64 }

func parseLogState(r []any) (logState, error) {
	var v [3]int64
	if len(r) != 3 {
		return logState{}, fmt.Errorf("unexpected script reply %v", r)
	}
	for i, x := range r {
		n, ok := x.(int64)
		if !ok {
			return logState{}, fmt.Errorf("unexpected script reply %v", r)
		}
		v[i] = n
	}
	return logState{bytes: v[0], head: v[1], ver: v[2]}, nil
}

// reportStep is how far a log's bytes move before an append reports them
// to the total over every log: 1/64 of Limits.ReplayTotalBytes, at most
// 64 KiB (64 KiB for the gauge alone when there is no bound). The report
// is a second round trip to Redis; made at every append it more than
// doubled an append's time (51 µs to 115-140 µs on loopback). So the
// total may pass its bound by up to a step per namespace and node besides
// what is in flight; the Expire sweep reports every log.
func reportStep(total int64) int64 {
	const most = 64 << 10
	if total <= 0 {
		return most
	}
	return max(min(total/64, most), 1)
}

// logReport is what this node reported of a log's bytes and what it saw
// since.
type logReport struct{ reported, seen int64 }

// noteSeen records that an append left ns's log at bytes and reports
// whether the append should report it to the total: the first time, and
// when it moved by reportStep since this node's last report. Otherwise
// the ReplayBytes gauge counts the move here.
func (s *Store) noteSeen(ns string, bytes int64) (due bool) {
	s.repMu.Lock()
	defer s.repMu.Unlock()
	e, ok := s.reported[ns]
	if !ok {
		return true
	}
	s.unreported += bytes - e.seen
	e.seen = bytes
	s.reported[ns] = e
	step := reportStep(s.limits.ReplayTotalBytes)
	if d := bytes - e.reported; d >= step || -d >= step {
		return true
	}
	gauge := max(s.lastTotal+s.unreported, 0)
	s.count(func(x *store.Stats) { x.ReplayBytes = uint64(gauge) })
	return false
}

// noteReported records that ns's log was reported at bytes and the total
// over every log was then total; it returns the ReplayBytes gauge: the
// total and what this node saw of other logs since it reported them.
func (s *Store) noteReported(ns string, bytes, total int64) int64 {
	s.repMu.Lock()
	defer s.repMu.Unlock()
	if e, ok := s.reported[ns]; ok {
		s.unreported -= e.seen - e.reported
	}
	if bytes > 0 {
		s.reported[ns] = logReport{reported: bytes, seen: bytes}
	} else {
		delete(s.reported, ns)
	}
	s.lastTotal = total
	return max(total+s.unreported, 0)
}

// maxTotalRounds bounds the drops one call makes for ReplayTotalBytes;
// the next append or sweep goes on.
const maxTotalRounds = 1000

// reportLog reports the state of ns's log to the total over every log
// and, over Limits.ReplayTotalBytes, drops the oldest entries of any log
// (of the log whose oldest entry is oldest, down to the next oldest log's
// oldest entry, then again).
func (s *Store) reportLog(ctx context.Context, ns string, st logState) error {
	stuck := false
	for round := 0; ; round++ {
		call := []scripted{{script: replayTotalScript, keys: s.replayTotalKeys(),
			args: []any{ns, st.bytes, st.head, st.ver}}}
		if err := s.runScripts(ctx, call); err != nil {
			return err
		}
		r, _ := call[0].cmd.Slice()
		total, ok := int64At(r, 0)
		if !ok {
			return fmt.Errorf("unexpected script reply %v", r)
		}
		gauge := s.noteReported(ns, st.bytes, total)
		s.count(func(x *store.Stats) { x.ReplayBytes = uint64(gauge) })
		limit := s.limits.ReplayTotalBytes
		if limit <= 0 || total <= limit || len(r) < 3 || round >= maxTotalRounds {
			return nil
		}
		oldest, _ := r[1].(string)
		upto := int64(math.MaxInt64 >> 10) // no other log: any entry may go
		if len(r) >= 5 {
			next, _ := r[4].(string)
			f, err := strconv.ParseFloat(next, 64)
			if err != nil {
				return fmt.Errorf("unexpected script reply %v", r)
			}
			upto = int64(f)
		}
		drop := []scripted{{script: replayDropScript, keys: []string{s.nsKey(oldest, "replay"), s.nsKey(oldest, "rmeta")},
			args: []any{total - limit, upto}}}
		if err := s.runScripts(ctx, drop); err != nil {
			return err
		}
		d, _ := drop[0].cmd.Slice()
		n, ok := int64At(d, 0)
		if !ok || len(d) != 4 {
			return fmt.Errorf("unexpected script reply %v", d)
		}
		next, err := parseLogState(d[1:])
		if err != nil {
			return err
		}
		st = next
		s.count(func(x *store.Stats) { x.ReplayTrimmed += uint64(n) })
		ns = oldest
		if n == 0 {
			// The oldest log listed has no entry: its state is
			// reported once more (which fixes the list when a report
			// was missing), then the call gives up (its keys were
			// removed behind the store's back).
			if stuck {
				return nil
			}
			stuck = true
		}
	}
}

func int64At(r []any, i int) (int64, bool) {
	if i >= len(r) {
		return 0, false
	}
	v, ok := r[i].(int64)
	return v, ok
}

// reportSession records a session saved (size >= 0, with its expiry) or
// forgets one taken (size -1) in the total over every session, forgets
// the sessions whose time passed, and over Limits.SessionTotalBytes drops
// the sessions that expire first, deleting their keys. An empty id only
// forgets the expired (the sweep). It returns how many expired sessions
// it forgot (at most maxForget).
func (s *Store) reportSession(ctx context.Context, id string, size int64, expires time.Time) (int, error) {
	now := s.now()
	call := []scripted{{script: sessionTotalScript, keys: s.sessionTotalKeys(),
		args: []any{id, size, expires.UnixMilli(), now.Add(-sessionSlack).UnixMilli(), s.limits.SessionTotalBytes, maxForget}}}
	if err := s.runScripts(ctx, call); err != nil {
		return 0, err
	}
	r, _ := call[0].cmd.Slice()
	total, ok1 := int64At(r, 0)
	expired, ok2 := int64At(r, 1)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("unexpected script reply %v", r)
	}
	var err error
	if dropped := r[2:]; len(dropped) > 0 {
		pipe := s.rdb.Pipeline()
		for _, v := range dropped {
			if sid, ok := v.(string); ok {
				pipe.Del(ctx, s.sessionKey(sid))
			}
		}
		_, err = pipe.Exec(ctx)
	}
	s.count(func(x *store.Stats) {
		x.SessionBytes = uint64(max(total, 0))
		x.SessionsExpired += uint64(expired)
		x.SessionsDropped += uint64(len(r) - 2)
	})
	return int(expired), err
}

// maxForget is how many expired sessions one sessionTotalScript forgets.
const maxForget = 1000
