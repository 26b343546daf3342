package elfindex

// The length of an x86-64 instruction, and whether it is a call: all the
// call sweep needs from a disassembler. Prefixes (legacy, REX, VEX, EVEX,
// XOP), the opcode maps (one-byte, 0F, 0F38, 0F3A, 3DNow!), ModRM, SIB,
// displacement and immediate sizes follow the Intel and AMD manuals for
// 64-bit mode; the linear sweep that uses it is checked against
// llvm-objdump's instruction boundaries (x86len_test.go).

// Operand kinds of an opcode: whether a ModRM byte follows and what
// immediate comes after it.
const (
	xBad    = iota // not an instruction in 64-bit mode
	xNone          // opcode alone
	xM             // ModRM
	xMIb           // ModRM, imm8
	xMIz           // ModRM, imm16/32 (operand size)
	xIb            // imm8 (or rel8)
	xIw            // imm16
	xIz            // imm16/32 (operand size)
	xRel32         // rel32 (near branches are 32-bit in 64-bit mode)
	xIv            // imm16/32/64 (MOV r, imm: REX.W gives 64)
	xMoffs         // 64-bit address (32-bit with 0x67)
	xIwIb          // ENTER: imm16, imm8
	xGrp3b         // F6: ModRM, imm8 for TEST (/0, /1)
	xGrp3v         // F7: ModRM, imm16/32 for TEST (/0, /1)
	xPrefix        // a legacy prefix, REX, VEX, EVEX or escape: handled apart
)

// oneByte gives the operand kind of each one-byte opcode.
var oneByte = [256]uint8{
	// 00-0F: ADD, OR (06/07/0E: PUSH/POP segment; 0F: escape)
	xM, xM, xM, xM, xIb, xIz, xBad, xBad, xM, xM, xM, xM, xIb, xIz, xBad, xPrefix,
	// 10-1F: ADC, SBB
	xM, xM, xM, xM, xIb, xIz, xBad, xBad, xM, xM, xM, xM, xIb, xIz, xBad, xBad,
	// 20-2F: AND, ES:, DAA, SUB, CS:, DAS
	xM, xM, xM, xM, xIb, xIz, xPrefix, xBad, xM, xM, xM, xM, xIb, xIz, xPrefix, xBad,
	// 30-3F: XOR, SS:, AAA, CMP, DS:, AAS
	xM, xM, xM, xM, xIb, xIz, xPrefix, xBad, xM, xM, xM, xM, xIb, xIz, xPrefix, xBad,
	// 40-4F: REX
	xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix,
	xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix, xPrefix,
	// 50-5F: PUSH, POP
	xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone,
	// 60-6F: (PUSHA, POPA), EVEX, MOVSXD, FS:, GS:, 66, 67, PUSH, IMUL, PUSH, IMUL, INS, OUTS
	xBad, xBad, xPrefix, xM, xPrefix, xPrefix, xPrefix, xPrefix, xIz, xMIz, xIb, xMIb, xNone, xNone, xNone, xNone,
	// 70-7F: Jcc rel8
	xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb,
	// 80-8F: group 1, TEST, XCHG, MOV, LEA, MOV Sreg, POP (8F: or XOP)
	xMIb, xMIz, xBad, xMIb, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xPrefix,
	// 90-9F: NOP/XCHG, CBW, CWD, (CALLF), FWAIT, PUSHF, POPF, SAHF, LAHF
	xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xBad, xNone, xNone, xNone, xNone, xNone,
	// A0-AF: MOV moffs, MOVS, CMPS, TEST, STOS, LODS, SCAS
	xMoffs, xMoffs, xMoffs, xMoffs, xNone, xNone, xNone, xNone, xIb, xIz, xNone, xNone, xNone, xNone, xNone, xNone,
	// B0-BF: MOV r, imm
	xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIv, xIv, xIv, xIv, xIv, xIv, xIv, xIv,
	// C0-CF: shifts, RET, VEX, VEX, MOV, ENTER, LEAVE, RETF, INT3, INT, (INTO), IRET
	xMIb, xMIb, xIw, xNone, xPrefix, xPrefix, xMIb, xMIz, xIwIb, xNone, xIw, xNone, xNone, xIb, xBad, xNone,
	// D0-DF: shifts, (AAM, AAD, SALC), XLAT, x87
	xM, xM, xM, xM, xBad, xBad, xBad, xNone, xM, xM, xM, xM, xM, xM, xM, xM,
	// E0-EF: LOOPcc, JrCXZ, IN, OUT, CALL, JMP, (JMPF), JMP rel8, IN, OUT
	xIb, xIb, xIb, xIb, xIb, xIb, xIb, xIb, xRel32, xRel32, xBad, xIb, xNone, xNone, xNone, xNone,
	// F0-FF: LOCK, INT1, REPNE, REP, HLT, CMC, group 3, CLC…STD, group 4, group 5
	xPrefix, xNone, xPrefix, xPrefix, xNone, xNone, xGrp3b, xGrp3v, xNone, xNone, xNone, xNone, xNone, xNone, xM, xM,
}

// twoByte gives the operand kind of each 0F-prefixed opcode (38 and 3A
// are three-byte escapes; 0F is 3DNow!, with an imm8 suffix).
var twoByte = [256]uint8{
	// 00-0F
	xM, xM, xM, xM, xBad, xNone, xNone, xNone, xNone, xNone, xBad, xNone, xBad, xM, xNone, xMIb,
	// 10-1F
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	// 20-2F
	xM, xM, xM, xM, xBad, xBad, xBad, xBad, xM, xM, xM, xM, xM, xM, xM, xM,
	// 30-3F: WRMSR, RDTSC, RDMSR, RDPMC, SYSENTER, SYSEXIT, -, GETSEC, 38, -, 3A
	xNone, xNone, xNone, xNone, xNone, xNone, xBad, xNone, xPrefix, xBad, xPrefix, xBad, xBad, xBad, xBad, xBad,
	// 40-4F: CMOVcc
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	// 50-5F
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	// 60-6F
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	// 70-7F: PSHUF*, shift groups, PCMPEQ*, EMMS, VMREAD, VMWRITE, -, -, HADD, HSUB, MOVD, MOVQ
	xMIb, xMIb, xMIb, xMIb, xM, xM, xM, xNone, xM, xM, xBad, xBad, xM, xM, xM, xM,
	// 80-8F: Jcc rel32
	xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32, xRel32,
	// 90-9F: SETcc
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	// A0-AF: PUSH/POP FS, CPUID, BT, SHLD, -, -, PUSH/POP GS, RSM, BTS, SHRD, group 15, IMUL
	xNone, xNone, xNone, xM, xMIb, xM, xBad, xBad, xNone, xNone, xNone, xM, xMIb, xM, xM, xM,
	// B0-BF: CMPXCHG, LSS, BTR, LFS, LGS, MOVZX, POPCNT, UD1, group 8, BTC, BSF, BSR, MOVSX
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xMIb, xM, xM, xM, xM, xM,
	// C0-CF: XADD, CMPPS, MOVNTI, PINSRW, PEXTRW, SHUFPS, group 9, BSWAP
	xM, xM, xMIb, xM, xMIb, xMIb, xMIb, xM, xNone, xNone, xNone, xNone, xNone, xNone, xNone, xNone,
	// D0-FF
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
	xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM, xM,
}

// Prefix classes (prefixClass): what a byte is before an opcode.
const (
	pNone   = iota // not a prefix: the opcode
	p66            // operand size
	p67            // address size
	pRep           // F2, F3
	pLegacy        // LOCK, segment overrides
	pREX           // 40-4F
)

var prefixClass = func() (t [256]uint8) {
	t[0x66], t[0x67], t[0xF2], t[0xF3] = p66, p67, pRep, pRep
	for _, c := range []byte{0xF0, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65} {
		t[c] = pLegacy
	}
	for c := 0x40; c <= 0x4F; c++ {
		t[c] = pREX
	}
	return t
}()

// x86Len returns the length of the instruction at the start of code (0
// when it is not a valid 64-bit instruction or is cut off) and whether it
// is a call: CALL rel32, or CALL/CALLF through a register or memory (FF /2,
// FF /3).
func x86Len(code []byte) (n int, call bool) {
	const maxLen = 15
	i := 0
	opsize16, addr32, rexW := false, false, false
	var mandatory byte // the last of 66, F2, F3
	// Legacy prefixes and REX, which counts only right before the opcode.
	for {
		if i >= len(code) || i >= maxLen {
			return 0, false
		}
		c := code[i]
		switch prefixClass[c] {
		case pNone:
			goto opcode
		case p66:
			opsize16, mandatory = true, c
		case p67:
			addr32 = true
		case pRep:
			mandatory = c
		case pREX:
			if i+1 < len(code) && prefixClass[code[i+1]] == pNone {
				rexW = c&8 != 0
				i++
				goto opcode
			}
		}
		i++
	}
opcode:
	op := code[i]
	i++
	var kind uint8
	switch op {
	case 0x0F:
		if i >= len(code) {
			return 0, false
		}
		op2 := code[i]
		i++
		switch op2 {
		case 0x38:
			if i >= len(code) {
				return 0, false
			}
			i++
			kind = xM
		case 0x3A:
			if i >= len(code) {
				return 0, false
			}
			i++
			kind = xMIb
		case 0x78:
			// VMREAD, or with 66/F2 SSE4a's EXTRQ/INSERTQ: ModRM, imm8, imm8.
			kind = xM
			if mandatory == 0x66 || mandatory == 0xF2 {
				n, _ := modrmEnd(code, i)
				return finish(n, 2, maxLen, len(code)), false
			}
		default:
			kind = twoByte[op2]
		}
	case 0xC4, 0xC5, 0x62: // VEX (3- and 2-byte), EVEX
		return vexLen(code, i-1, op)
	case 0x8F: // POP r/m, or XOP when ModRM.reg is not 0
		if i < len(code) && code[i]&0x38 != 0 {
			return xopLen(code, i-1)
		}
		kind = xM
	default:
		kind = oneByte[op]
	}
	immZ := 4
	if opsize16 {
		immZ = 2
	}
	imm := 0
	switch kind {
	case xM:
	case xMIb:
		imm = 1
	case xMIz:
		imm = immZ
	case xGrp3b, xGrp3v:
		if i < len(code) && code[i]>>3&7 <= 1 { // TEST
			imm = 1
			if kind == xGrp3v {
				imm = immZ
			}
		}
	case xNone:
		return finish(i, 0, maxLen, len(code)), false
	case xIb:
		return finish(i, 1, maxLen, len(code)), false
	case xRel32:
		n := finish(i, 4, maxLen, len(code))
		return n, n > 0 && op == 0xE8
	case xIz:
		return finish(i, immZ, maxLen, len(code)), false
	case xIv:
		if rexW {
			return finish(i, 8, maxLen, len(code)), false
		}
		return finish(i, immZ, maxLen, len(code)), false
	case xIw:
		return finish(i, 2, maxLen, len(code)), false
	case xIwIb:
		return finish(i, 3, maxLen, len(code)), false
	case xMoffs:
		if addr32 {
			return finish(i, 4, maxLen, len(code)), false
		}
		return finish(i, 8, maxLen, len(code)), false
	default: // xBad, xPrefix
		return 0, false
	}
	// ModRM, SIB and displacement (modrmEnd, inline).
	if i >= len(code) {
		return 0, false
	}
	modrm := code[i]
	end := i + 1
	if mod := modrm >> 6; mod != 3 {
		rm := modrm & 7
		if rm == 4 {
			if end >= len(code) {
				return 0, false
			}
			if mod == 0 && code[end]&7 == 5 {
				end += 4
			}
			end++
		}
		switch mod {
		case 0:
			if rm == 5 {
				end += 4 // RIP-relative
			}
		case 1:
			end++
		case 2:
			end += 4
		}
	}
	n = finish(end, imm, maxLen, len(code))
	if op == 0xFF && n > 0 {
		if reg := modrm >> 3 & 7; reg == 2 || reg == 3 {
			return n, true
		}
	}
	return n, false
}

func isLegacyPrefix(c byte) bool {
	switch c {
	case 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65:
		return true
	}
	return false
}

// finish returns end+imm when the instruction fits in code and in 15
// bytes, else 0.
func finish(end, imm, maxLen, n int) int {
	if end <= 0 || end+imm > n || end+imm > maxLen {
		return 0
	}
	return end + imm
}

// modrmEnd returns where the operand bytes that start with the ModRM byte
// at i end: ModRM, SIB and displacement.
func modrmEnd(code []byte, i int) (int, bool) {
	if i >= len(code) {
		return 0, false
	}
	modrm := code[i]
	i++
	mod, rm := modrm>>6, modrm&7
	if mod == 3 {
		return i, true
	}
	disp := 0
	if rm == 4 {
		if i >= len(code) {
			return 0, false
		}
		sib := code[i]
		i++
		if mod == 0 && sib&7 == 5 {
			disp = 4
		}
	}
	switch mod {
	case 0:
		if rm == 5 {
			disp = 4 // RIP-relative
		}
	case 1:
		disp = 1
	case 2:
		disp = 4
	}
	if i+disp > len(code) {
		return 0, false
	}
	return i + disp, true
}

// vexLen decodes a VEX (C4, C5) or EVEX (62) instruction whose prefix is at
// at: a ModRM always follows the opcode (VZEROUPPER/VZEROALL, VEX 0F 77,
// excepted), and an imm8 in map 0F3A and for the 0F opcodes that take one.
func vexLen(code []byte, at int, p byte) (int, bool) {
	i := at + 1
	var m byte
	switch p {
	case 0xC5:
		i++
		m = 1
	case 0xC4:
		if i >= len(code) {
			return 0, false
		}
		m = code[i] & 0x1F
		i += 2
	case 0x62:
		if i >= len(code) {
			return 0, false
		}
		m = code[i] & 0x07
		i += 3
	}
	if i >= len(code) {
		return 0, false
	}
	op := code[i]
	i++
	switch m {
	case 1:
		if op == 0x77 && p != 0x62 {
			return finish(i, 0, 15, len(code)), false
		}
	case 2, 3, 5, 6:
	default:
		return 0, false
	}
	if p != 0x62 && (m == 5 || m == 6) {
		return 0, false
	}
	end, ok := modrmEnd(code, i)
	if !ok {
		return 0, false
	}
	imm := 0
	if m == 3 || (m == 1 && (op >= 0x70 && op <= 0x73 || op == 0xC2 || op == 0xC4 || op == 0xC5 || op == 0xC6)) {
		imm = 1
	}
	return finish(end, imm, 15, len(code)), false
}

// xopLen decodes an AMD XOP instruction (8F, map 8: imm8, 9: none, 10:
// imm32) whose prefix is at at.
func xopLen(code []byte, at int) (int, bool) {
	i := at + 1
	if i+2 >= len(code) {
		return 0, false
	}
	m := code[i] & 0x1F
	i += 3 // the two XOP bytes and the opcode
	imm := 0
	switch m {
	case 8:
		imm = 1
	case 9:
	case 10:
		imm = 4
	default:
		return 0, false
	}
	end, ok := modrmEnd(code, i)
	if !ok {
		return 0, false
	}
	return finish(end, imm, 15, len(code)), false
}
