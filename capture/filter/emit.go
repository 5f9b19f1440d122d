package filter

import (
	"golang.org/x/net/bpf"
)

// maxInstructions is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const maxInstructions = 4096

// maxSkip is the longest forward distance of a conditional jump.
const maxSkip = 255

const (
	pPlain = iota // ins
	pCond         // if A <cond> k (or X) goto t else goto f
	pJa           // goto t
)

// pins is an instruction whose jump targets are still labels.
type pins struct {
	kind int
	ins  bpf.Instruction
	cond bpf.JumpTest
	k    uint32
	x    bool
	t, f int
}

// emitter lowers the boolean tree to instructions with symbolic labels.
type emitter struct {
	code   []pins
	labels []int // label -> index of the instruction it is bound to
	mem    int   // scratch slots in use (a stack)
}

func (e *emitter) newLabel() int {
	e.labels = append(e.labels, -1)
	return len(e.labels) - 1
}

func (e *emitter) bind(l int) { e.labels[l] = len(e.code) }

func (e *emitter) emit(ins ...bpf.Instruction) {
	for _, i := range ins {
		e.code = append(e.code, pins{kind: pPlain, ins: i})
	}
}

func (e *emitter) alloc() (uint32, error) {
	if e.mem >= 16 {
		return 0, errf("expression too deeply nested: it needs more than 16 scratch memory slots")
	}
	e.mem++
	return uint32(e.mem - 1), nil
}

// genBool emits code that jumps to label t if n holds and to f if not.
func (e *emitter) genBool(n bnode, t, f int) error {
	switch n := n.(type) {
	case bTrue:
		e.code = append(e.code, pins{kind: pJa, t: t})
	case bFalse:
		e.code = append(e.code, pins{kind: pJa, t: f})
	case *bAnd:
		m := e.newLabel()
		if err := e.genBool(n.l, m, f); err != nil {
			return err
		}
		e.bind(m)
		return e.genBool(n.r, t, f)
	case *bOr:
		m := e.newLabel()
		if err := e.genBool(n.l, t, m); err != nil {
			return err
		}
		e.bind(m)
		return e.genBool(n.r, t, f)
	case *bNot:
		return e.genBool(n.x, f, t)
	case *bCmp:
		if err := e.genArith(n.a); err != nil {
			return err
		}
		if k, ok := n.b.(aConst); ok {
			e.code = append(e.code, pins{kind: pCond, cond: n.op, k: uint32(k), t: t, f: f})
			return nil
		}
		slot, err := e.alloc()
		if err != nil {
			return err
		}
		e.emit(bpf.StoreScratch{Src: bpf.RegA, N: int(slot)})
		if err := e.genArith(n.b); err != nil {
			return err
		}
		e.emit(bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: int(slot)})
		e.mem--
		e.code = append(e.code, pins{kind: pCond, cond: n.op, x: true, t: t, f: f})
	}
	return nil
}

// genArith emits code that leaves the value of a in register A. It may
// change X and the scratch slots above those in use.
func (e *emitter) genArith(a arith) error {
	switch a := a.(type) {
	case aConst:
		e.emit(bpf.LoadConstant{Dst: bpf.RegA, Val: uint32(a)})
	case aLen:
		e.emit(bpf.LoadExtension{Num: bpf.ExtLen})
	case *aLoad:
		switch {
		case a.idx == nil && !a.msh:
			e.emit(bpf.LoadAbsolute{Off: a.off, Size: a.size})
		case a.idx == nil:
			e.emit(bpf.LoadMemShift{Off: a.mshOff}, bpf.LoadIndirect{Off: a.off, Size: a.size})
		default:
			if err := e.genArith(a.idx); err != nil {
				return err
			}
			if a.msh {
				e.emit(bpf.LoadMemShift{Off: a.mshOff}, bpf.ALUOpX{Op: bpf.ALUOpAdd})
			}
			e.emit(bpf.TAX{}, bpf.LoadIndirect{Off: a.off, Size: a.size})
		}
	case *aBin:
		if err := e.genArith(a.l); err != nil {
			return err
		}
		if k, ok := a.r.(aConst); ok {
			e.emit(bpf.ALUOpConstant{Op: a.op, Val: uint32(k)})
			return nil
		}
		slot, err := e.alloc()
		if err != nil {
			return err
		}
		e.emit(bpf.StoreScratch{Src: bpf.RegA, N: int(slot)})
		if err := e.genArith(a.r); err != nil {
			return err
		}
		e.emit(bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: int(slot)}, bpf.ALUOpX{Op: a.op})
		e.mem--
	case *aNeg:
		// x/net/bpf's VM has no NegateA: compute 0 - A instead.
		if err := e.genArith(a.x); err != nil {
			return err
		}
		e.emit(bpf.TAX{}, bpf.LoadConstant{Dst: bpf.RegA, Val: 0}, bpf.ALUOpX{Op: bpf.ALUOpSub})
	}
	return nil
}

// targets returns the indexes instruction i may continue at.
func (e *emitter) targets(i int) []int {
	p := e.code[i]
	switch p.kind {
	case pCond:
		return []int{e.labels[p.t], e.labels[p.f]}
	case pJa:
		return []int{e.labels[p.t]}
	}
	if _, ok := p.ins.(bpf.RetConstant); ok {
		return nil
	}
	return []int{i + 1}
}

// remove deletes instruction i, moving the labels after it.
func (e *emitter) remove(i int) {
	e.code = append(e.code[:i], e.code[i+1:]...)
	for l, idx := range e.labels {
		if idx > i {
			e.labels[l] = idx - 1
		}
	}
}

// insert puts p at index i and returns a label bound to it.
func (e *emitter) insert(i int, p pins) int {
	e.code = append(e.code, pins{})
	copy(e.code[i+1:], e.code[i:])
	e.code[i] = p
	for l, idx := range e.labels {
		if idx >= i {
			e.labels[l] = idx + 1
		}
	}
	e.labels = append(e.labels, i)
	return len(e.labels) - 1
}

// optimize threads jumps through unconditional jumps, drops unreachable
// code and jumps to the next instruction. It changes no result.
func (e *emitter) optimize() {
	for changed := true; changed; {
		changed = false
		// thread: a jump to a "ja L" jumps to L
		for i := range e.code {
			p := &e.code[i]
			for _, lp := range []*int{&p.t, &p.f} {
				if p.kind == pPlain || (lp == &p.f && p.kind != pCond) {
					continue
				}
				for n := 0; n < len(e.code); n++ {
					tgt := e.code[e.labels[*lp]]
					if tgt.kind != pJa || tgt.t == *lp {
						break
					}
					*lp = tgt.t
				}
			}
		}
		// drop unreachable code
		reach := make([]bool, len(e.code))
		stack := []int{0}
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if i >= len(e.code) || reach[i] {
				continue
			}
			reach[i] = true
			stack = append(stack, e.targets(i)...)
		}
		for i := len(e.code) - 1; i >= 0; i-- {
			if !reach[i] {
				e.remove(i)
				changed = true
			}
		}
		// drop "ja next"
		for i := len(e.code) - 1; i >= 0; i-- {
			if e.code[i].kind == pJa && e.labels[e.code[i].t] == i+1 {
				e.remove(i)
				changed = true
			}
		}
	}
}

// fixLongJumps inserts unconditional jumps where a conditional jump would
// skip more than 255 instructions.
func (e *emitter) fixLongJumps() {
	for again := true; again; {
		again = false
		for i := range e.code {
			p := e.code[i]
			if p.kind != pCond {
				continue
			}
			if e.labels[p.t]-i-1 > maxSkip {
				l := e.insert(i+1, pins{kind: pJa, t: p.t})
				e.code[i].t = l
				again = true
				break
			}
			if e.labels[p.f]-i-1 > maxSkip {
				l := e.insert(i+1, pins{kind: pJa, t: p.f})
				e.code[i].f = l
				again = true
				break
			}
		}
	}
}

// compileTree lowers n to a finished program returning snaplen on a match.
// dataflow enables the data-flow optimizer (tests compare with it off).
func compileTree(n bnode, snaplen uint32, dataflow bool) ([]bpf.Instruction, error) {
	e := &emitter{}
	accept, reject := e.newLabel(), e.newLabel()
	if err := e.genBool(n, accept, reject); err != nil {
		return nil, err
	}
	e.bind(accept)
	e.emit(bpf.RetConstant{Val: snaplen})
	e.bind(reject)
	e.emit(bpf.RetConstant{Val: 0})
	e.optimize()
	if len(e.code) > 3*maxInstructions {
		return nil, errf("expression too long: %d BPF instructions before optimization, the limit is %d after", len(e.code), maxInstructions)
	}
	if dataflow {
		e.dataflowOptimize()
	}
	e.fixLongJumps()
	if len(e.code) > maxInstructions {
		return nil, errf("expression too long: %d BPF instructions, the limit is %d", len(e.code), maxInstructions)
	}
	out := make([]bpf.Instruction, len(e.code))
	for i, p := range e.code {
		switch p.kind {
		case pPlain:
			out[i] = p.ins
		case pJa:
			out[i] = bpf.Jump{Skip: uint32(e.labels[p.t] - i - 1)}
		case pCond:
			st, sf := uint8(e.labels[p.t]-i-1), uint8(e.labels[p.f]-i-1)
			if p.x {
				out[i] = bpf.JumpIfX{Cond: p.cond, SkipTrue: st, SkipFalse: sf}
			} else {
				out[i] = bpf.JumpIf{Cond: p.cond, Val: p.k, SkipTrue: st, SkipFalse: sf}
			}
		}
	}
	return out, nil
}
