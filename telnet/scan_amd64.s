//go:build !purego

#include "textflag.h"

// func indexIACOrNUL(b []byte) int
//
// 64 bytes at a time while that many are left, then 32, each byte
// compared with 0xFF and with 0x00; the last block overlaps the one
// before it rather than reading past the end. Slices shorter than 32
// bytes go byte by byte.
TEXT ·indexIACOrNUL(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	CMPQ BX, $32
	JB   short

	MOVQ     SI, DI
	LEAQ     -32(SI)(BX*1), R11 // the last 32-byte block
	LEAQ     -64(SI)(BX*1), R12 // the last 64-byte block
	VPCMPEQB Y0, Y0, Y0         // 0xFF in every byte
	VPXOR    Y1, Y1, Y1         // 0x00 in every byte
	CMPQ     BX, $64
	JB       loop

loop64:
	VMOVDQU  (DI), Y2
	VMOVDQU  32(DI), Y5
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPOR     Y3, Y4, Y3         // the first half's
	VPCMPEQB Y0, Y5, Y6
	VPCMPEQB Y1, Y5, Y7
	VPOR     Y6, Y7, Y6         // the second half's
	VPOR     Y3, Y6, Y7
	VPTEST   Y7, Y7
	JNZ      found64
	ADDQ     $64, DI
	CMPQ     DI, R12
	JBE      loop64
	CMPQ     DI, R11
	JBE      loop
	MOVQ     R11, DI
	JMP      loop

found64:
	VPTEST  Y3, Y3
	JNZ     found
	ADDQ    $32, DI
	VMOVDQU Y6, Y3
	JMP     found

loop:
	VMOVDQU  (DI), Y2
	VPCMPEQB Y0, Y2, Y3
	VPCMPEQB Y1, Y2, Y4
	VPOR     Y3, Y4, Y3
	VPTEST   Y3, Y3
	JNZ      found
	CMPQ     DI, R11
	JAE      notfound           // that was the last block
	ADDQ     $32, DI
	CMPQ     DI, R11
	JB       loop
	MOVQ     R11, DI
	JMP      loop

notfound:
	VZEROUPPER
	MOVQ $-1, ret+24(FP)
	RET

found:
	VPMOVMSKB Y3, DX
	BSFL      DX, DX
	SUBQ      SI, DI
	ADDQ      DI, DX
	MOVQ      DX, ret+24(FP)
	VZEROUPPER
	RET

short:
	XORQ AX, AX

shortloop:
	CMPQ    AX, BX
	JAE     none
	MOVBLZX (SI)(AX*1), CX
	INCQ    AX
	CMPL    CX, $0xFF
	JEQ     shortfound
	TESTL   CX, CX
	JNE     shortloop

shortfound:
	DECQ AX
	MOVQ AX, ret+24(FP)
	RET

none:
	MOVQ $-1, ret+24(FP)
	RET
