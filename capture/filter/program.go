package filter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Program is a compiled filter. It is immutable: Match, Dump and
// RawInstructions may be called from several goroutines at once.
type Program struct {
	expr    string
	ins     []bpf.Instruction
	vm      *bpf.VM
	raw     []bpf.RawInstruction
	usesLen bool // the program reads the packet length ("len", less, greater)
}

// Compile compiles a tcpdump filter expression for captures of the given
// link type (Ethernet, LinuxSLL, LinuxSLL2, Null, Loop, Raw, IPv4, IPv6)
// with the given snapshot length (the value the program returns on a match;
// 0, less, or more than 1<<30 means 262144). An empty expression matches
// everything.
//
// Errors in the expression are *SyntaxError; an unsupported link type is
// ErrLinkType.
func Compile(expr string, link layers.LinkType, snaplen int) (*Program, error) {
	return compile(expr, link, snaplen, true)
}

func compile(expr string, link layers.LinkType, snaplen int, dataflow bool) (*Program, error) {
	b, err := newBuilder(link)
	if err != nil {
		return nil, err
	}
	if snaplen <= 0 || snaplen > 1<<30 {
		snaplen = 262144
	}
	tree, err := parse(expr, b)
	if err != nil {
		return nil, err
	}
	ins, err := compileTree(tree, uint32(snaplen), dataflow)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			se = &SyntaxError{Expr: expr, Col: 1, Msg: err.Error()}
		}
		return nil, se
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		return nil, fmt.Errorf("filter: compiled an invalid program for %q: %w", expr, err)
	}
	raw, err := bpf.Assemble(ins)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble: %w", err)
	}
	p := &Program{expr: expr, ins: ins, vm: vm, raw: raw}
	for _, i := range ins {
		if e, ok := i.(bpf.LoadExtension); ok && e.Num == bpf.ExtLen {
			p.usesLen = true
		}
	}
	return p, nil
}

// Expr returns the expression the program was compiled from.
func (p *Program) Expr() string { return p.expr }

// Instructions returns the program. The caller must not modify the slice.
func (p *Program) Instructions() []bpf.Instruction { return p.ins }

// RawInstructions assembles the program for the kernel (SO_ATTACH_FILTER).
// Its "len" is then the length on the wire, as with MatchWire.
func (p *Program) RawInstructions() ([]bpf.RawInstruction, error) {
	raw, err := bpf.Assemble(p.ins)
	if err != nil {
		return nil, fmt.Errorf("filter: assemble: %w", err)
	}
	return raw, nil
}

// Match runs the program on one packet (its captured bytes, starting at
// the link-layer header) in a BPF virtual machine and reports whether it
// matches. It does not allocate. "len" is the captured length here; use
// MatchWire for packets the snapshot length may have cut.
func (p *Program) Match(pkt []byte) bool {
	n, err := p.vm.Run(pkt)
	return err == nil && n > 0
}

// MatchWire is Match for a packet whose length on the wire was wireLen
// (more than len(pkt) when the snapshot length cut it): "len", "less" and
// "greater" see wireLen, as in tcpdump, while loads still stop at the
// captured bytes. It does not allocate.
func (p *Program) MatchWire(pkt []byte, wireLen int) bool {
	if !p.usesLen || wireLen == len(pkt) || wireLen < 0 || wireLen > 1<<30 {
		return p.Match(pkt)
	}
	return runWire(p.raw, pkt, uint32(wireLen)) > 0
}

// Dump returns the program in the format of `tcpdump -d`, one instruction a
// line.
func (p *Program) Dump() string {
	var sb strings.Builder
	for i, ins := range p.ins {
		sb.WriteString(formatIns(i, ins))
		sb.WriteByte('\n')
	}
	return sb.String()
}
