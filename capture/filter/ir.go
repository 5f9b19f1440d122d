package filter

import "golang.org/x/net/bpf"

// The parser turns an expression into a small tree: boolean nodes (bnode)
// over comparisons of arithmetic expressions (arith). emit.go lowers that
// tree to classic BPF with short-circuit jumps.

// bnode is a boolean node: bTrue, bFalse, *bAnd, *bOr, *bNot or *bCmp.
type bnode interface{ isBool() }

type bTrue struct{}
type bFalse struct{}
type bAnd struct{ l, r bnode }
type bOr struct{ l, r bnode }
type bNot struct{ x bnode }

// bCmp compares a with b: a OP b, where OP is one of the four positive BPF
// jump tests (eq, gt, ge, bits set). Negations are bNot around it.
type bCmp struct {
	a, b arith
	op   bpf.JumpTest
}

func (bTrue) isBool()  {}
func (bFalse) isBool() {}
func (*bAnd) isBool()  {}
func (*bOr) isBool()   {}
func (*bNot) isBool()  {}
func (*bCmp) isBool()  {}

// arith is an arithmetic expression: aConst, aLen, *aLoad, *aBin or *aNeg.
type arith interface{ isArith() }

type aConst uint32
type aLen struct{}

// aLoad loads size bytes at off; with idx, at off+idx; with msh, at
// off + 4*(pkt[mshOff]&0xf) (+idx): the IPv4 header length trick.
type aLoad struct {
	off    uint32
	size   int
	idx    arith
	msh    bool
	mshOff uint32
}

type aBin struct {
	op   bpf.ALUOp
	l, r arith
}

type aNeg struct{ x arith }

func (aConst) isArith() {}
func (aLen) isArith()   {}
func (*aLoad) isArith() {}
func (*aBin) isArith()  {}
func (*aNeg) isArith()  {}

// and returns the conjunction of nodes, simplifying constants.
func and(nodes ...bnode) bnode {
	var out bnode = bTrue{}
	for _, n := range nodes {
		switch {
		case isFalse(out) || isFalse(n):
			out = bFalse{}
		case isTrue(out):
			out = n
		case isTrue(n):
		default:
			out = &bAnd{out, n}
		}
	}
	return out
}

// or returns the disjunction of nodes, simplifying constants.
func or(nodes ...bnode) bnode {
	var out bnode = bFalse{}
	for _, n := range nodes {
		switch {
		case isTrue(out) || isTrue(n):
			out = bTrue{}
		case isFalse(out):
			out = n
		case isFalse(n):
		default:
			out = &bOr{out, n}
		}
	}
	return out
}

// not negates n, simplifying constants and double negation.
func not(n bnode) bnode {
	switch n := n.(type) {
	case bTrue:
		return bFalse{}
	case bFalse:
		return bTrue{}
	case *bNot:
		return n.x
	}
	return &bNot{n}
}

func isTrue(n bnode) bool  { _, ok := n.(bTrue); return ok }
func isFalse(n bnode) bool { _, ok := n.(bFalse); return ok }

// cmpK compares a with the constant k.
func cmpK(a arith, op bpf.JumpTest, k uint32) bnode { return &bCmp{a: a, b: aConst(k), op: op} }

// eqK is a == k.
func eqK(a arith, k uint32) bnode { return cmpK(a, bpf.JumpEqual, k) }

// ld loads size bytes at the absolute offset off.
func ld(off uint32, size int) arith { return &aLoad{off: off, size: size} }

// maskK is a & m (or a itself when m is all ones).
func maskK(a arith, m uint32) arith {
	if m == 0xffffffff {
		return a
	}
	return &aBin{op: bpf.ALUOpAnd, l: a, r: aConst(m)}
}
