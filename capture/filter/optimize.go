package filter

import "golang.org/x/net/bpf"

// A small data-flow optimizer over the emitter's code: it removes loads
// whose value is already in the register on every path, and threads jumps
// whose outcome is known on the edge that reaches them (after "ldh [12];
// jeq #0x86dd" succeeds, a later "jeq #0x800" on the same load fails). It
// never skips a load that was not already done on the same path, so a
// packet too short for a load is rejected exactly as before.

type symKind uint8

const (
	sNone symKind = iota
	sAbs          // ld{b,h,} [off]
	sInd          // ld{b,h,} [x + off] with X = 4*([xoff]&0xf)
	sMsh          // X = 4*([off]&0xf)
)

// sym names what a register holds.
type sym struct {
	kind symKind
	off  uint32
	size int
	xoff uint32
}

// fact is what a path knows of a load: "s == k" or "s != k" (cond
// JumpEqual), "s & k != 0" or "s & k == 0" (cond JumpBitsSet).
type fact struct {
	s    sym
	k    uint32
	cond bpf.JumpTest
	eq   bool // the test held
}

// factList is an immutable list of facts; paths share their common tails.
type factList struct {
	f    fact
	next *factList
	n    int
}

// with returns l with f in front.
func (l *factList) with(f fact) *factList { return &factList{f: f, next: l, n: l.len() + 1} }

func (l *factList) len() int {
	if l == nil {
		return 0
	}
	return l.n
}

// common returns the longest tail a and b share: facts known on both paths.
func common(a, b *factList) *factList {
	for a.len() > b.len() {
		a = a.next
	}
	for b.len() > a.len() {
		b = b.next
	}
	for a != b {
		a, b = a.next, b.next
	}
	return a
}

type flowState struct {
	a, x  sym
	facts *factList
	seen  bool
}

// merge intersects st with o (the state of another incoming edge).
func (st *flowState) merge(o flowState) {
	if !st.seen {
		*st = o
		st.seen = true
		return
	}
	if st.a != o.a {
		st.a = sym{}
	}
	if st.x != o.x {
		st.x = sym{}
	}
	st.facts = common(st.facts, o.facts)
}

// known evaluates "s cond k" from facts; ok is false if they do not tell.
func known(facts *factList, s sym, cond bpf.JumpTest, k uint32) (result, ok bool) {
	if s.kind == sNone {
		return false, false
	}
	for l := facts; l != nil; l = l.next {
		f := l.f
		if f.s != s {
			continue
		}
		if f.cond == bpf.JumpBitsSet {
			if cond == bpf.JumpBitsSet && f.k == k {
				return f.eq, true
			}
			continue
		}
		if f.eq {
			switch cond {
			case bpf.JumpEqual:
				return f.k == k, true
			case bpf.JumpGreaterThan:
				return f.k > k, true
			case bpf.JumpGreaterOrEqual:
				return f.k >= k, true
			case bpf.JumpBitsSet:
				return f.k&k != 0, true
			}
		} else if cond == bpf.JumpEqual && f.k == k {
			return false, true
		}
	}
	return false, false
}

// hasEq reports whether the value of s is known exactly (nothing more
// can be learnt about it).
func hasEq(facts *factList, s sym) bool {
	for l := facts; l != nil; l = l.next {
		f := l.f
		if f.s == s && f.eq && f.cond == bpf.JumpEqual {
			return true
		}
	}
	return false
}

func hasFact(facts *factList, s sym) bool {
	for l := facts; l != nil; l = l.next {
		if l.f.s == s {
			return true
		}
	}
	return false
}

// loadSym is what a load instruction puts in its register given X's
// content, and whether it loads A (true) or X (false).
func loadSym(ins bpf.Instruction, x sym) (sym, bool, bool) {
	switch i := ins.(type) {
	case bpf.LoadAbsolute:
		return sym{kind: sAbs, off: i.Off, size: i.Size}, true, true
	case bpf.LoadIndirect:
		if x.kind == sMsh {
			return sym{kind: sInd, off: i.Off, size: i.Size, xoff: x.off}, true, true
		}
	case bpf.LoadMemShift:
		return sym{kind: sMsh, off: i.Off}, false, true
	}
	return sym{}, false, false
}

// flow computes the state at the entry of every instruction.
func (e *emitter) flow() []flowState {
	in := make([]flowState, len(e.code)+1)
	if len(e.code) > 0 {
		in[0].seen = true
	}
	for i, p := range e.code {
		st := in[i]
		if !st.seen {
			continue
		}
		out := flowState{a: st.a, x: st.x, facts: st.facts, seen: true}
		switch p.kind {
		case pPlain:
			if s, isA, ok := loadSym(p.ins, st.x); ok {
				if isA {
					out.a = s
				} else {
					out.x = s
				}
			} else {
				switch p.ins.(type) {
				case bpf.RetConstant, bpf.RetA:
					continue
				case bpf.StoreScratch, bpf.Jump:
				case bpf.TAX, bpf.LoadScratch:
					out.x = sym{}
					if ls, ok := p.ins.(bpf.LoadScratch); ok && ls.Dst == bpf.RegA {
						out.a, out.x = sym{}, st.x
					}
				case bpf.LoadConstant:
					if p.ins.(bpf.LoadConstant).Dst == bpf.RegX {
						out.x = sym{}
					} else {
						out.a = sym{}
					}
				default: // ALU, TXA, len, ...
					out.a = sym{}
				}
			}
			in[i+1].merge(out)
		case pJa:
			in[e.labels[p.t]].merge(out)
		case pCond:
			tOut, fOut := out, out
			if !p.x && st.a.kind != sNone && (p.cond == bpf.JumpEqual || p.cond == bpf.JumpBitsSet) &&
				st.facts.len() < maxFacts && !hasEq(st.facts, st.a) {
				tOut.facts = st.facts.with(fact{s: st.a, k: p.k, cond: p.cond, eq: true})
				fOut.facts = st.facts.with(fact{s: st.a, k: p.k, cond: p.cond})
			}
			in[e.labels[p.t]].merge(tOut)
			in[e.labels[p.f]].merge(fOut)
		}
	}
	return in[:len(e.code)]
}

// dropRedundantLoads removes loads of what the register already holds.
func (e *emitter) dropRedundantLoads() bool {
	in := e.flow()
	changed := false
	for i := len(e.code) - 1; i >= 0; i-- {
		p := e.code[i]
		if p.kind != pPlain || !in[i].seen {
			continue
		}
		s, isA, ok := loadSym(p.ins, in[i].x)
		if !ok || s.kind == sNone {
			continue
		}
		if (isA && in[i].a == s) || (!isA && in[i].x == s) {
			e.remove(i)
			changed = true
		}
	}
	return changed
}

// threadKnownJumps retargets jump edges past conditional jumps whose
// outcome the edge already knows.
func (e *emitter) threadKnownJumps() bool {
	in := e.flow()
	changed := false
	stale := len(e.code)
	for i := range e.code {
		if i >= stale {
			break
		}
		p := &e.code[i]
		if p.kind != pCond || !in[i].seen {
			continue
		}
		st := in[i]
		for _, edge := range []struct {
			lbl *int
			eq  bool
		}{{&p.t, true}, {&p.f, false}} {
			facts := st.facts
			if !p.x && st.a.kind != sNone && (p.cond == bpf.JumpEqual || p.cond == bpf.JumpBitsSet) {
				facts = st.facts.with(fact{s: st.a, k: p.k, cond: p.cond, eq: edge.eq})
			}
			a, x := st.a, st.x // what the original path would hold
			pos := e.labels[*edge.lbl]
			best := -1
			for steps := 0; steps < 64 && pos < len(e.code); steps++ {
				q := e.code[pos]
				if q.kind == pPlain {
					s, isA, ok := loadSym(q.ins, x)
					if !ok || !hasFact(facts, s) && !(isA && a == s) && !(!isA && x == s) {
						break // a load not known to succeed on this path: keep it
					}
					if isA {
						a = s
					} else {
						x = s
					}
					pos++
					continue
				}
				if q.kind != pCond || q.x {
					break
				}
				res, ok := known(facts, a, q.cond, q.k)
				if !ok {
					break
				}
				if res {
					pos = e.labels[q.t]
				} else {
					pos = e.labels[q.f]
				}
				// skipped loads did not happen: land only where the
				// registers the edge really has are good enough
				if pos < len(e.code) && pos < stale && e.landingOK(pos, st.a, st.x, in[pos]) {
					best = pos
				}
			}
			if best < 0 {
				continue
			}
			pos = best
			e.labels = append(e.labels, pos)
			*edge.lbl = len(e.labels) - 1
			changed = true
			// the new edge changes what is known from pos on: recompute
			// (states up to i are not affected), or on big programs
			// leave the rest of them to the next pass
			if len(e.code) <= 1024 {
				in = e.flow()
				st = in[i]
			} else {
				stale = min(stale, pos)
			}
		}
	}
	return changed
}

// maxFacts bounds the facts kept per path; forgetting facts is always safe.
const maxFacts = 64

// landingOK reports whether jumping to pos with registers (a, x) leaves
// the program computing what it did: the instruction there either
// overwrites A without reading it, or tests an A known to hold the same
// load; and X, where anything is known of it, holds the same.
func (e *emitter) landingOK(pos int, a, x sym, st flowState) bool {
	if st.x.kind != sNone && st.x != x {
		return false
	}
	q := e.code[pos]
	switch q.kind {
	case pCond:
		return !q.x && st.a.kind != sNone && st.a == a
	case pPlain:
		switch i := q.ins.(type) {
		case bpf.LoadAbsolute, bpf.LoadExtension, bpf.RetConstant:
			return true
		case bpf.LoadConstant:
			return i.Dst == bpf.RegA
		}
	}
	return false
}

// foldKnownJumps turns conditional jumps whose outcome every path into
// them knows into unconditional ones.
func (e *emitter) foldKnownJumps() bool {
	in := e.flow()
	changed := false
	for i := range e.code {
		p := &e.code[i]
		if p.kind != pCond || p.x || !in[i].seen {
			continue
		}
		res, ok := known(in[i].facts, in[i].a, p.cond, p.k)
		if !ok {
			continue
		}
		t := p.f
		if res {
			t = p.t
		}
		*p = pins{kind: pJa, t: t}
		changed = true
	}
	return changed
}

// dataflowOptimize runs the passes until nothing changes.
func (e *emitter) dataflowOptimize() {
	// bound the work on huge programs: each round costs about len(e.code)
	rounds := min(64, 1+200000/max(len(e.code), 1))
	for round := 0; round < rounds; round++ {
		c1 := e.dropRedundantLoads()
		if c1 {
			e.optimize()
		}
		c2 := e.threadKnownJumps()
		if c2 {
			e.optimize()
		}
		c3 := e.foldKnownJumps()
		if c3 {
			e.optimize()
		}
		if !c1 && !c2 && !c3 {
			return
		}
	}
}
