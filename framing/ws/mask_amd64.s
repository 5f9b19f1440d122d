#include "textflag.h"

// func maskBlocksSSE2(b []byte, key uint64) int
// XORs key, repeated, into b 64 bytes at a time and returns the number of
// bytes done (len(b) rounded down to a multiple of 64).
TEXT ·maskBlocksSSE2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVQ key+24(FP), AX
	ANDQ $-64, DX
	MOVQ DX, ret+32(FP)
	JZ   done
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0
	LEAQ (SI)(DX*1), DI

loop:
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, 0(SI)
	MOVOU X2, 16(SI)
	MOVOU X3, 32(SI)
	MOVOU X4, 48(SI)
	ADDQ  $64, SI
	CMPQ  SI, DI
	JB    loop

done:
	RET

// func maskBlocksAVX2(b []byte, key uint64) int
// As maskBlocksSSE2, 128 bytes per loop turn with AVX2, then a last 64.
TEXT ·maskBlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVQ key+24(FP), AX
	ANDQ $-64, DX
	MOVQ DX, ret+32(FP)
	JZ   done2
	MOVQ AX, X0
	VPBROADCASTQ X0, Y0
	LEAQ (SI)(DX*1), DI
	MOVQ DX, CX
	ANDQ $-128, CX
	JZ   tail64
	LEAQ (SI)(CX*1), BX

loop128:
	VPXOR   0(SI), Y0, Y1
	VPXOR   32(SI), Y0, Y2
	VPXOR   64(SI), Y0, Y3
	VPXOR   96(SI), Y0, Y4
	VMOVDQU Y1, 0(SI)
	VMOVDQU Y2, 32(SI)
	VMOVDQU Y3, 64(SI)
	VMOVDQU Y4, 96(SI)
	ADDQ    $128, SI
	CMPQ    SI, BX
	JB      loop128

tail64:
	CMPQ    SI, DI
	JAE     vdone
	VPXOR   0(SI), Y0, Y1
	VPXOR   32(SI), Y0, Y2
	VMOVDQU Y1, 0(SI)
	VMOVDQU Y2, 32(SI)

vdone:
	VZEROUPPER

done2:
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv0() uint32
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, ret+0(FP)
	RET
