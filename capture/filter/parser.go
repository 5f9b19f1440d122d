package filter

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/wiredojo/wiredojo/internal/editdist"
)

// qual is the qualifier set of a primitive: [proto] [dir] [addr]. ok is
// false where tcpdump has none to carry over to a bare address.
type qual struct {
	proto, dir, addr string
	ok               bool
}

// parser is a recursive-descent parser for tcpdump's grammar (libpcap's
// grammar.y), building the tree with a builder as it goes.
type parser struct {
	src  string
	toks []token
	pos  int
	b    *builder
	// lead is the leftmost number of the arithmetic expression arith or
	// unary last returned (-1 if it starts otherwise): libpcap's checks for
	// shifts and divisions look at it (it is the first instruction of
	// the operand's code there, an index included: "x >> ip[40]" is an error).
	lead int64
}

// protocol names that may start a primitive or an accessor.
var pnames = map[string]bool{
	"ether": true, "link": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "icmp": true, "icmp6": true, "sctp": true, "igmp": true,
}

var addrKw = map[string]bool{"host": true, "net": true, "port": true, "portrange": true, "gateway": true}

// namedConsts are the names tcpdump's lexer turns into numbers.
var namedConsts = map[string]uint32{
	"icmptype": 0, "icmpcode": 1,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8,
	"icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12,
	"icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16,
	"icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6type": 0, "icmp6code": 1,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3, "icmp6-parameterproblem": 4,
	"icmp6-echo": 128, "icmp6-echoreply": 129, "icmp6-multicastlistenerquery": 130,
	"icmp6-multicastlistenerreportv1": 131, "icmp6-multicastlistenerdone": 132,
	"icmp6-routersolicit": 133, "icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135,
	"icmp6-neighboradvert": 136, "icmp6-redirect": 137,
	"tcpflags": 13, "tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08,
	"tcp-ack": 0x10, "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

func parse(src string, b *builder) (bnode, error) {
	toks, serr := lex(src)
	if serr != nil {
		return nil, serr
	}
	p := &parser{src: src, toks: toks, b: b}
	if p.peek().kind == tEOF {
		return bTrue{}, nil
	}
	n, _, err := p.expr(qual{})
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s; expected and, or, or the end%s", describe(t), suggest(t))
	}
	return n, nil
}

// suggestable are the keywords suggest proposes: the supported ones.
var suggestable = []string{"and", "or", "not", "host", "net", "mask", "port", "portrange", "proto", "src", "dst",
	"ether", "link", "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "less", "greater",
	"len", "broadcast", "multicast", "vlan", "inbound", "outbound"}

// suggest names the keyword a misspelt name is closest to, if any.
func suggest(t token) string {
	if t.kind != tID {
		return ""
	}
	best, bestD := "", 3
	for _, kw := range suggestable {
		if d := editdist.Distance(t.text, kw); d < bestD || d == bestD && kw < best {
			best, bestD = kw, d
		}
	}
	limit := 1 // one edit for short words, two for longer ones
	if len(t.text) > 5 {
		limit = 2
	}
	if best == "" || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekN(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func isKw(t token, kws ...string) bool {
	if t.kind != tKw {
		return false
	}
	for _, k := range kws {
		if t.text == k {
			return true
		}
	}
	return false
}

func isOp(t token, ops ...string) bool {
	if t.kind != tOp {
		return false
	}
	for _, o := range ops {
		if t.text == o {
			return true
		}
	}
	return false
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tOp:
		return fmt.Sprintf("%q", t.text)
	case tKw:
		return fmt.Sprintf("keyword %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// errAt makes a SyntaxError pointing at t.
func (p *parser) errAt(t token, format string, args ...any) *SyntaxError {
	return &SyntaxError{Expr: p.src, Col: t.pos + 1, Msg: fmt.Sprintf(format, args...)}
}

// at gives a position to a builder error.
func (p *parser) at(t token, err error) error {
	if err == nil {
		return nil
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return se
	}
	return &SyntaxError{Expr: p.src, Col: t.pos + 1, Msg: err.Error()}
}

// further returns the error that got further into the expression.
func further(a, b error) error {
	var sa, sb *SyntaxError
	if !errors.As(a, &sa) {
		return b
	}
	if !errors.As(b, &sb) {
		return a
	}
	if sa.Col > sb.Col {
		return a
	}
	return b
}

func (p *parser) expect(op string) error {
	t := p.peek()
	if !isOp(t, op) {
		return p.errAt(t, "expected %q, found %s", op, describe(t))
	}
	p.next()
	return nil
}

// expr: term { (and|or) (term | id) }; and and or have equal precedence
// and associate to the left, as in tcpdump.
func (p *parser) expr(outer qual) (bnode, qual, error) {
	n, q, err := p.term(outer)
	if err != nil {
		return nil, q, err
	}
	for {
		t := p.peek()
		if !isKw(t, "and", "or") {
			return n, q, nil
		}
		p.next()
		var rhs bnode
		rhs, q, err = p.termOrID(q)
		if err != nil {
			return nil, q, err
		}
		if t.text == "and" {
			n = and(n, rhs)
		} else {
			n = or(n, rhs)
		}
	}
}

// termOrID parses what follows and/or: a bare address taking the
// qualifiers of the primitive before it ("host a or b"), or a term.
func (p *parser) termOrID(q qual) (bnode, qual, error) {
	t := p.peek()
	if q.ok && (t.kind == tNum || t.kind == tHID || t.kind == tHID6 || t.kind == tEID || t.kind == tID ||
		isKw(t, "not") || isOp(t, "!", "(")) {
		save, saveB := p.pos, *p.b
		n, q2, err := p.id(q)
		if err == nil {
			if f := p.peek(); f.kind == tEOF || isOp(f, ")") || isKw(f, "and", "or") {
				return n, q2, nil
			}
			err = p.errAt(p.peek(), "unexpected %s", describe(p.peek()))
		}
		p.pos, *p.b = save, saveB
		n, q2, err2 := p.term(q)
		if err2 != nil {
			return nil, q2, further(err, err2)
		}
		return n, q2, nil
	}
	return p.term(q)
}

// id: not id | ( pid ) | nid — an address with qualifiers carried over.
func (p *parser) id(q qual) (bnode, qual, error) {
	t := p.peek()
	switch {
	case isKw(t, "not") || isOp(t, "!"):
		p.next()
		n, q2, err := p.id(q)
		if err != nil {
			return nil, q2, err
		}
		return not(n), q2, nil
	case isOp(t, "("):
		p.next()
		n, q2, err := p.id(q)
		if err != nil {
			return nil, q2, err
		}
		for isKw(p.peek(), "and", "or") {
			op := p.next()
			var rhs bnode
			rhs, q2, err = p.id(q2)
			if err != nil {
				return nil, q2, err
			}
			if op.text == "and" {
				n = and(n, rhs)
			} else {
				n = or(n, rhs)
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, q2, err
		}
		return n, q2, nil
	}
	n, err := p.nid(q)
	return n, q, err
}

// term: not term | rterm.
func (p *parser) term(outer qual) (bnode, qual, error) {
	if t := p.peek(); isKw(t, "not") || isOp(t, "!") {
		p.next()
		n, q, err := p.term(outer)
		if err != nil {
			return nil, q, err
		}
		return not(n), q, nil
	}
	return p.rterm(outer)
}

// rterm: head id | ( expr ) | pname | relation | other.
func (p *parser) rterm(outer qual) (bnode, qual, error) {
	t := p.peek()
	switch {
	case t.kind == tKw && pnames[t.text]:
		nt := p.peekN(1)
		switch {
		case isOp(nt, "["):
			n, err := p.relation()
			return n, qual{}, err
		case isKw(nt, "src", "dst", "proto") || (nt.kind == tKw && addrKw[nt.text]):
			return p.head()
		case isKw(nt, "broadcast", "multicast"):
			p.next()
			return p.other(t.text)
		}
		p.next()
		n, err := p.b.protoAbbrev(t.text)
		return n, qual{}, p.at(t, err)
	case isKw(t, "src", "dst", "proto") || (t.kind == tKw && addrKw[t.text]):
		return p.head()
	case isKw(t, "broadcast", "multicast", "less", "greater"):
		return p.other("")
	case isKw(t, "inbound", "outbound"):
		p.next()
		n, err := p.b.direction(t.text == "outbound")
		return n, qual{}, p.at(t, err)
	case isKw(t, "vlan"):
		p.next()
		id := -1
		if v := p.peek(); v.kind == tNum {
			p.next()
			id = int(v.num)
		}
		n, err := p.b.vlan(id)
		return n, qual{}, p.at(t, err)
	case isOp(t, "("):
		save, saveB := p.pos, *p.b
		n, err := p.relation()
		if err == nil {
			return n, qual{}, nil
		}
		p.pos, *p.b = save, saveB
		p.next()
		n, _, err2 := p.expr(outer)
		if err2 == nil {
			err2 = p.expect(")")
		}
		if err2 != nil {
			return nil, outer, further(err, err2)
		}
		return n, outer, nil
	case t.kind == tKw && !isKw(t, "len"):
		return nil, qual{}, p.errAt(t, "%q is not supported here%s", t.text, unsupportedHint(t.text))
	case t.kind == tHID || t.kind == tHID6 || t.kind == tEID || t.kind == tID && !isNamedConst(t.text):
		if hint := suggest(t); hint != "" && p.peekN(1).kind != tEOF {
			return nil, qual{}, p.errAt(t, "unknown keyword %s%s", describe(t), hint)
		}
		return nil, qual{}, p.errAt(t, "%s needs a qualifier in front of it, such as host, net, port or ether host", describe(t))
	}
	n, err := p.relation()
	return n, qual{}, err
}

func isNamedConst(s string) bool { _, ok := namedConsts[s]; return ok }

func unsupportedHint(kw string) string {
	switch kw {
	case "and", "or":
		return ": it needs a primitive on its left"
	case "mask":
		return ": it follows a network (net 10.0.0.0 mask 255.0.0.0)"
	case "len":
		return ""
	}
	if keywords[kw] && !pnames[kw] {
		return " (this tcpdump primitive is not supported by wiredojo's compiler)"
	}
	return ""
}

// head: [pname] [src|dst|src or dst|src and dst] [host|net|port|portrange|gateway|proto], then an id.
func (p *parser) head() (bnode, qual, error) {
	q := qual{ok: true}
	if t := p.peek(); t.kind == tKw && pnames[t.text] {
		q.proto = p.next().text
	}
	if t := p.peek(); isKw(t, "src", "dst") {
		q.dir = p.next().text
		if c := p.peek(); isKw(c, "and", "or") {
			if o := p.peekN(1); isKw(o, "src", "dst") && o.text != q.dir {
				p.next()
				p.next()
				q.dir = "src " + c.text + " dst"
			}
		}
	}
	if t := p.peek(); t.kind == tKw && (addrKw[t.text] || t.text == "proto") {
		if q.dir != "" && t.text == "proto" {
			return nil, q, p.errAt(t, "a direction (src, dst) cannot be applied to 'proto'")
		}
		q.addr = p.next().text
		if q.addr == "gateway" {
			return nil, q, p.errAt(t, "'gateway' is not supported (it needs host name lookups)")
		}
	}
	n, q2, err := p.id(q)
	return n, q2, err
}

// other: [pname] broadcast | [pname] multicast | less NUM | greater NUM.
func (p *parser) other(proto string) (bnode, qual, error) {
	t := p.next()
	switch t.text {
	case "broadcast":
		n, err := p.b.broadcast(proto)
		return n, qual{}, p.at(t, err)
	case "multicast":
		n, err := p.b.multicast(proto)
		return n, qual{}, p.at(t, err)
	}
	v := p.peek()
	if v.kind != tNum {
		return nil, qual{}, p.errAt(v, "%q needs a number (a length in bytes), found %s", t.text, describe(v))
	}
	p.next()
	if t.text == "less" {
		return not(cmpK(aLen{}, bpf.JumpGreaterThan, v.num)), qual{}, nil
	}
	return cmpK(aLen{}, bpf.JumpGreaterOrEqual, v.num), qual{}, nil
}

// relation: arith relop arith.
func (p *parser) relation() (bnode, error) {
	a, apre, err := p.arith(1)
	if err != nil {
		return nil, err
	}
	opTok := p.peek()
	if !isOp(opTok, ">", ">=", "=", "<=", "<", "!=") {
		return nil, p.errAt(opTok, "expected a comparison (=, !=, <, <=, >, >=), found %s", describe(opTok))
	}
	p.next()
	b, bpre, err := p.arith(1)
	if err != nil {
		return nil, err
	}
	var rel bnode
	if ka, ok := a.(aConst); ok {
		if kb, ok := b.(aConst); ok {
			if compareConst(uint32(ka), opTok.text, uint32(kb)) {
				rel = bTrue{}
			} else {
				rel = bFalse{}
			}
			return and(apre, bpre, rel), nil
		}
	}
	// x & k != 0 is "jset #k"
	if kb, ok := b.(aConst); ok && kb == 0 && (opTok.text == "=" || opTok.text == "!=") {
		if ab, ok := a.(*aBin); ok && ab.op == bpf.ALUOpAnd {
			if k, ok := ab.r.(aConst); ok {
				rel = &bCmp{a: ab.l, b: k, op: bpf.JumpBitsSet}
				if opTok.text == "=" {
					rel = not(rel)
				}
				return and(apre, bpre, rel), nil
			}
		}
	}
	switch opTok.text {
	case ">":
		rel = &bCmp{a: a, b: b, op: bpf.JumpGreaterThan}
	case ">=":
		rel = &bCmp{a: a, b: b, op: bpf.JumpGreaterOrEqual}
	case "=":
		rel = &bCmp{a: a, b: b, op: bpf.JumpEqual}
	case "<=":
		rel = not(&bCmp{a: a, b: b, op: bpf.JumpGreaterThan})
	case "<":
		rel = not(&bCmp{a: a, b: b, op: bpf.JumpGreaterOrEqual})
	case "!=":
		rel = not(&bCmp{a: a, b: b, op: bpf.JumpEqual})
	}
	return and(apre, bpre, rel), nil
}

func compareConst(a uint32, op string, b uint32) bool {
	switch op {
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "=":
		return a == b
	case "<=":
		return a <= b
	case "<":
		return a < b
	}
	return a != b
}

// binary operator precedence, lowest first; '^' and '%' are handled apart:
// like in libpcap's grammar (where they have no precedence) each takes
// everything to its right ("a * b % c + d" is "a * (b % (c + d))").
var precedence = map[string]int{"|": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5}

var aluOps = map[string]bpf.ALUOp{
	"|": bpf.ALUOpOr, "&": bpf.ALUOpAnd, "<<": bpf.ALUOpShiftLeft, ">>": bpf.ALUOpShiftRight,
	"+": bpf.ALUOpAdd, "-": bpf.ALUOpSub, "*": bpf.ALUOpMul, "/": bpf.ALUOpDiv, "%": bpf.ALUOpMod, "^": bpf.ALUOpXor,
}

// arith parses an arithmetic expression whose operators bind at least as
// tightly as minPrec. It returns the value and the precondition of its
// packet accesses.
func (p *parser) arith(minPrec int) (arith, bnode, error) {
	l, pre, err := p.unary()
	if err != nil {
		return nil, nil, err
	}
	lead := p.lead
	for {
		t := p.peek()
		if t.kind != tOp {
			return l, pre, nil
		}
		var prec int
		if t.text == "^" || t.text == "%" {
			prec = 1
		} else {
			prec = precedence[t.text]
			if prec == 0 || prec < minPrec {
				return l, pre, nil
			}
		}
		p.next()
		next := prec + 1
		if t.text == "^" || t.text == "%" {
			next = 1
		}
		r, rpre, err := p.arith(next)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case (t.text == "<<" || t.text == ">>") && p.lead > 31:
			return nil, nil, p.errAt(t, "shift by more than 31 bits")
		case t.text == "/" && p.lead == 0:
			return nil, nil, p.errAt(t, "division by zero")
		case t.text == "%" && p.lead == 0:
			return nil, nil, p.errAt(t, "modulus by zero")
		}
		p.lead = lead
		l, err = fold(aluOps[t.text], l, r)
		if err != nil {
			return nil, nil, p.at(t, err)
		}
		// Like libpcap's gen_arth, keep only the left operand's
		// precondition: "ip[0] + tcp[0] = 1" does not check for TCP.
		_ = rpre
	}
}

// fold builds l op r, computing it when both are constants.
func fold(op bpf.ALUOp, l, r arith) (arith, error) {
	kr, rConst := r.(aConst)
	if rConst && kr == 0 && (op == bpf.ALUOpDiv || op == bpf.ALUOpMod) {
		return nil, errf("division by zero")
	}
	kl, lConst := l.(aConst)
	if !lConst || !rConst {
		return &aBin{op: op, l: l, r: r}, nil
	}
	a, b := uint32(kl), uint32(kr)
	switch op {
	case bpf.ALUOpAdd:
		return aConst(a + b), nil
	case bpf.ALUOpSub:
		return aConst(a - b), nil
	case bpf.ALUOpMul:
		return aConst(a * b), nil
	case bpf.ALUOpDiv:
		return aConst(a / b), nil
	case bpf.ALUOpMod:
		return aConst(a % b), nil
	case bpf.ALUOpOr:
		return aConst(a | b), nil
	case bpf.ALUOpAnd:
		return aConst(a & b), nil
	case bpf.ALUOpXor:
		return aConst(a ^ b), nil
	case bpf.ALUOpShiftLeft: // by 32 or more is 0, as in libpcap's interpreter
		return aConst(a << b), nil
	case bpf.ALUOpShiftRight:
		return aConst(a >> b), nil
	}
	return &aBin{op: op, l: l, r: r}, nil
}

// unary: - arith | NUM | len | name | pname [ arith [: size] ] | ( arith ).
func (p *parser) unary() (arith, bnode, error) {
	t := p.peek()
	switch {
	case isOp(t, "-"):
		p.next()
		x, pre, err := p.arith(6)
		if err != nil {
			return nil, nil, err
		}
		if k, ok := x.(aConst); ok {
			return aConst(-uint32(k)), pre, nil
		}
		return &aNeg{x}, pre, nil
	case t.kind == tNum:
		p.next()
		p.lead = int64(t.num)
		return aConst(t.num), bTrue{}, nil
	case isKw(t, "len"):
		p.next()
		p.lead = -1
		return aLen{}, bTrue{}, nil
	case t.kind == tID && isNamedConst(t.text):
		p.next()
		p.lead = int64(namedConsts[t.text])
		return aConst(namedConsts[t.text]), bTrue{}, nil
	case t.kind == tKw && pnames[t.text]:
		p.next()
		if err := p.expect("["); err != nil {
			return nil, nil, err
		}
		idx, ipre, err := p.arith(1)
		if err != nil {
			return nil, nil, err
		}
		size := 1
		if isOp(p.peek(), ":") {
			p.next()
			st := p.peek()
			if st.kind != tNum {
				return nil, nil, p.errAt(st, "expected a size (1, 2 or 4) after ':', found %s", describe(st))
			}
			p.next()
			if st.num != 1 && st.num != 2 && st.num != 4 {
				return nil, nil, p.errAt(st, "data size must be 1, 2, or 4, not %d", st.num)
			}
			size = int(st.num)
		}
		if err := p.expect("]"); err != nil {
			return nil, nil, err
		}
		pre, load, err := p.b.accessor(t.text, idx, size)
		if err != nil {
			return nil, nil, p.at(t, err)
		}
		return load, and(ipre, pre), nil
	case isOp(t, "("):
		p.next()
		x, pre, err := p.arith(1)
		if err != nil {
			return nil, nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, nil, err
		}
		return x, pre, nil
	case t.kind == tID:
		return nil, nil, p.errAt(t, "unknown name %q (expected a number, len, a packet access such as tcp[13], or a named constant such as tcp-syn)", t.text)
	}
	return nil, nil, p.errAt(t, "expected a primitive or a value, found %s", describe(t))
}

// nid is one address, number or name with the qualifiers q.
func (p *parser) nid(q qual) (bnode, error) {
	t := p.peek()
	switch t.kind {
	case tNum:
		p.next()
		n, err := p.number(q, t.num)
		return n, p.at(t, err)
	case tHID:
		p.next()
		return p.dotted(q, t)
	case tHID6:
		p.next()
		masklen := 128
		if isOp(p.peek(), "/") {
			p.next()
			m := p.peek()
			if m.kind != tNum {
				return nil, p.errAt(m, "expected a prefix length after '/', found %s", describe(m))
			}
			p.next()
			if m.num > 128 {
				return nil, p.errAt(m, "IPv6 prefix length must be at most 128, not %d", m.num)
			}
			masklen = int(m.num)
		}
		n, err := p.ipv6(q, t, masklen)
		return n, p.at(t, err)
	case tEID:
		p.next()
		if q.proto != "ether" && q.proto != "link" {
			return nil, p.errAt(t, "Ethernet address used in a non-Ethernet expression; write ether host %s", t.text)
		}
		if q.addr != "" && q.addr != "host" {
			return nil, p.errAt(t, "Ethernet address used with '%s'; write ether host %s", q.addr, t.text)
		}
		n, err := p.b.etherHost(t.mac, q.dir)
		return n, p.at(t, err)
	case tID:
		p.next()
		n, err := p.name(q, t.text)
		return n, p.at(t, err)
	}
	if !q.ok {
		return nil, p.errAt(t, "expected a primitive, found %s", describe(t))
	}
	return nil, p.errAt(t, "expected an address, number or name after the qualifiers, found %s", describe(t))
}

func addrWhat(addr string) string {
	if addr == "" {
		return "host"
	}
	return addr
}

// number is a bare number with qualifiers: a host (32-bit), a short
// network number, a port or a protocol.
func (p *parser) number(q qual, v uint32) (bnode, error) {
	switch q.addr {
	case "", "host", "net":
		if q.proto == "ether" || q.proto == "link" {
			return nil, errf("illegal link layer address %d", v)
		}
		mask := uint32(0xffffffff)
		if q.addr == "net" {
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		}
		return p.b.host4(v, mask, q.proto, q.dir, addrWhat(q.addr))
	case "port", "portrange":
		if v > 65535 {
			return nil, errf("illegal port number %d > 65535", v)
		}
		return p.b.ports(v, v, q.proto, q.dir)
	case "proto":
		return p.b.protoNum(v, q.proto)
	}
	return nil, errf("'%s' is not supported", q.addr)
}

// atoin parses a dotted IPv4 address or prefix of one (decimal parts).
func atoin(s string) (v uint32, bits int, err error) {
	parts := strings.Split(s, ".")
	for _, part := range parts {
		n, perr := strconv.ParseUint(part, 10, 8)
		if perr != nil {
			return 0, 0, errf("invalid IPv4 address %q", s)
		}
		v = v<<8 | uint32(n)
	}
	return v, 8 * len(parts), nil
}

// dotted is an IPv4 address or network, optionally /len or mask M.
func (p *parser) dotted(q qual, t token) (bnode, error) {
	v, bits, err := atoin(t.text)
	if err != nil {
		return nil, p.at(t, err)
	}
	v <<= 32 - bits
	mask := uint32(0xffffffff) << (32 - bits)
	if bits == 32 {
		mask = 0xffffffff
	}
	masked := false
	switch next := p.peek(); {
	case isOp(next, "/"):
		p.next()
		m := p.peek()
		if m.kind != tNum {
			return nil, p.errAt(m, "expected a prefix length after '/', found %s", describe(m))
		}
		p.next()
		if m.num > 32 {
			return nil, p.errAt(m, "mask length must be at most 32, not %d", m.num)
		}
		mask = 0
		if m.num > 0 {
			mask = 0xffffffff << (32 - m.num)
		}
		if v&^mask != 0 {
			return nil, p.errAt(t, "non-network bits set in \"%s/%d\"", t.text, m.num)
		}
		masked = true
	case isKw(next, "mask"):
		p.next()
		m := p.peek()
		if m.kind != tHID {
			return nil, p.errAt(m, "expected a dotted netmask after 'mask', found %s", describe(m))
		}
		p.next()
		mv, mbits, err := atoin(m.text)
		if err != nil {
			return nil, p.at(m, err)
		}
		mask = mv << (32 - mbits)
		if v&^mask != 0 {
			return nil, p.errAt(t, "non-network bits set in \"%s mask %s\"", t.text, m.text)
		}
		masked = true
	}
	switch q.addr {
	case "", "host", "net":
		if masked && q.addr != "net" {
			return nil, p.errAt(t, "mask syntax is for networks only; write net %s", t.text)
		}
		if q.proto == "ether" || q.proto == "link" {
			return nil, p.errAt(t, "illegal link layer address %s", t.text)
		}
		n, err := p.b.host4(v, mask, q.proto, q.dir, addrWhat(q.addr))
		return n, p.at(t, err)
	}
	return nil, p.errAt(t, "an IPv4 address cannot follow '%s'", q.addr)
}

// ipv6 is an IPv6 host or network.
func (p *parser) ipv6(q qual, t token, masklen int) (bnode, error) {
	addr := t.ip.To16()
	mask := net.CIDRMask(masklen, 128)
	for i := range addr {
		if addr[i]&^mask[i] != 0 {
			return nil, errf("non-network bits set in \"%s/%d\"", t.text, masklen)
		}
	}
	switch q.addr {
	case "", "host":
		if masklen != 128 {
			return nil, errf("mask syntax is for networks only; write net %s/%d", t.text, masklen)
		}
	case "net":
	default:
		return nil, errf("an IPv6 address cannot follow '%s'", q.addr)
	}
	if q.proto == "ether" || q.proto == "link" {
		return nil, errf("illegal link layer address %s", t.text)
	}
	return p.b.host6(addr, mask, q.proto, q.dir, addrWhat(q.addr))
}

// portNum is a port number or service name, and the transport protocol
// the name is restricted to ("" for numbers and names of both TCP and UDP).
func portNum(s string) (uint32, string, error) {
	if v, ok, err := parseNum(s); ok {
		if err != nil {
			return 0, "", err
		}
		if v > 65535 {
			return 0, "", errf("illegal port number %d > 65535", v)
		}
		return v, "", nil
	}
	if sp, ok := portNames[s]; ok {
		return sp.port, sp.proto, nil
	}
	return 0, "", errf("unknown port %q (use a number; known service names include http, https, ssh, domain)", s)
}

// portProto combines the qualifier with the protocol a service name is
// restricted to, as libpcap does: "udp port http" is an error.
func portProto(q qual, name, real string) (string, error) {
	if real == "" {
		return q.proto, nil
	}
	if q.proto == "" {
		return real, nil
	}
	if (q.proto == "tcp" || q.proto == "udp" || q.proto == "sctp") && q.proto != real {
		return "", errf("port '%s' is %s", name, real)
	}
	return q.proto, nil
}

// name is a name with qualifiers: a port or service, a protocol, or a host
// name (which this compiler does not resolve).
func (p *parser) name(q qual, s string) (bnode, error) {
	switch q.addr {
	case "port":
		v, real, err := portNum(s)
		if err != nil {
			return nil, err
		}
		proto, err := portProto(q, s, real)
		if err != nil {
			return nil, err
		}
		return p.b.ports(v, v, proto, q.dir)
	case "portrange":
		lo, hi, ok := strings.Cut(s, "-")
		if !ok {
			lo, hi = s, s
		}
		l, realL, err := portNum(lo)
		if err != nil {
			return nil, err
		}
		h, realH, err := portNum(hi)
		if err != nil {
			return nil, err
		}
		real := realL
		if realL != realH {
			real = ""
		}
		proto, err := portProto(q, s, real)
		if err != nil {
			return nil, err
		}
		return p.b.ports(l, h, proto, q.dir)
	case "proto":
		if q.proto == "ether" || q.proto == "link" {
			if v, ok := etherProtoNames[s]; ok {
				return p.b.protoNum(v, q.proto)
			}
			return nil, errf("unknown Ethernet protocol %q (known: ip, ip6, arp, rarp, or a number)", s)
		}
		if v, ok := ipProtoNames[s]; ok {
			return p.b.protoNum(v, q.proto)
		}
		return nil, errf("unknown IP protocol %q (known: icmp, igmp, tcp, udp, icmp6, sctp, gre, esp, ah, ..., or a number)", s)
	case "net":
		return nil, errf("network names are not resolved: %q; use an address such as net 10.0.0.0/8", s)
	}
	if _, ok := namedConsts[s]; ok {
		return nil, errf("%q is a constant for packet accesses (tcp[tcpflags] & tcp-syn != 0), not an address", s)
	}
	if q.proto == "ether" || q.proto == "link" {
		return nil, errf("Ethernet host names are not resolved: %q; use an address such as 01:02:03:04:05:06", s)
	}
	return nil, errf("host names are not resolved: %q; use an IP address", s)
}
