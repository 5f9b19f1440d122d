package filter

import (
	"fmt"

	"golang.org/x/net/bpf"
)

var aluNames = map[bpf.ALUOp]string{
	bpf.ALUOpAdd: "add", bpf.ALUOpSub: "sub", bpf.ALUOpMul: "mul", bpf.ALUOpDiv: "div",
	bpf.ALUOpOr: "or", bpf.ALUOpAnd: "and", bpf.ALUOpShiftLeft: "lsh", bpf.ALUOpShiftRight: "rsh",
	bpf.ALUOpMod: "mod", bpf.ALUOpXor: "xor",
}

var jumpNames = map[bpf.JumpTest]string{
	bpf.JumpEqual: "jeq", bpf.JumpGreaterThan: "jgt", bpf.JumpGreaterOrEqual: "jge", bpf.JumpBitsSet: "jset",
}

var loadNames = map[int]string{1: "ldb", 2: "ldh", 4: "ld"}

// formatIns formats instruction n like bpf_image (tcpdump -d).
func formatIns(n int, ins bpf.Instruction) string {
	plain := func(op, operand string) string { return fmt.Sprintf("(%03d) %-8s %s", n, op, operand) }
	jump := func(op, operand string, st, sf uint8) string {
		return fmt.Sprintf("(%03d) %-8s %-16s jt %d\tjf %d", n, op, operand, n+1+int(st), n+1+int(sf))
	}
	switch i := ins.(type) {
	case bpf.LoadAbsolute:
		return plain(loadNames[i.Size], fmt.Sprintf("[%d]", i.Off))
	case bpf.LoadIndirect:
		return plain(loadNames[i.Size], fmt.Sprintf("[x + %d]", i.Off))
	case bpf.LoadMemShift:
		return plain("ldxb", fmt.Sprintf("4*([%d]&0xf)", i.Off))
	case bpf.LoadConstant:
		if i.Dst == bpf.RegX {
			return plain("ldx", fmt.Sprintf("#0x%x", i.Val))
		}
		return plain("ld", fmt.Sprintf("#0x%x", i.Val))
	case bpf.LoadExtension:
		if i.Num == bpf.ExtLen {
			return plain("ld", "#pktlen")
		}
	case bpf.LoadScratch:
		if i.Dst == bpf.RegX {
			return plain("ldx", fmt.Sprintf("M[%d]", i.N))
		}
		return plain("ld", fmt.Sprintf("M[%d]", i.N))
	case bpf.StoreScratch:
		if i.Src == bpf.RegX {
			return plain("stx", fmt.Sprintf("M[%d]", i.N))
		}
		return plain("st", fmt.Sprintf("M[%d]", i.N))
	case bpf.ALUOpConstant:
		if name, ok := aluNames[i.Op]; ok {
			return plain(name, fmt.Sprintf("#0x%x", i.Val))
		}
	case bpf.ALUOpX:
		if name, ok := aluNames[i.Op]; ok {
			return plain(name, "x")
		}
	case bpf.NegateA:
		return plain("neg", "")
	case bpf.Jump:
		return plain("ja", fmt.Sprintf("%d", n+1+int(i.Skip)))
	case bpf.JumpIf:
		if name, ok := jumpNames[i.Cond]; ok {
			return jump(name, fmt.Sprintf("#0x%x", i.Val), i.SkipTrue, i.SkipFalse)
		}
	case bpf.JumpIfX:
		if name, ok := jumpNames[i.Cond]; ok {
			return jump(name, "x", i.SkipTrue, i.SkipFalse)
		}
	case bpf.RetConstant:
		return plain("ret", fmt.Sprintf("#%d", i.Val))
	case bpf.RetA:
		return plain("ret", "a")
	case bpf.TAX:
		return plain("tax", "")
	case bpf.TXA:
		return plain("txa", "")
	}
	return fmt.Sprintf("(%03d) %s", n, ins)
}
