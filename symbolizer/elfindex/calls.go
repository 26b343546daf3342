package elfindex

import (
	"debug/elf"
	"encoding/binary"
)

// Return addresses. A stack frame's address is a return address (the
// instruction before it is a call, so the frame's line is that of addr−1)
// except in the leaf frame of a hardware fault, where it is the faulting
// instruction itself. The index records, for every function whose code it
// was given, where each call instruction ends, so that ReturnAddressAt can
// answer for any address.

// canFindCalls reports whether call instructions of m are recognised.
func canFindCalls(m elf.Machine) bool {
	return m == elf.EM_X86_64 || m == elf.EM_AARCH64
}

// callEnds appends to out the address just past every call instruction in
// code, whose first byte is at addr.
//
// x86-64 is swept linearly from the function's start (instruction lengths
// vary, so only a sweep from a known boundary finds them) with x86Len,
// which decodes lengths only: CALL in all its forms (E8 rel32, FF /2 and
// /3 with any ModRM/SIB/displacement, REX and prefixes). A byte that does
// not decode is skipped, as objdump does.
//
// arm64 instructions are 4 bytes and aligned: BL, BLR, and the pointer-
// authenticating BLRAA, BLRAAZ, BLRAB, BLRABZ.
func callEnds(m elf.Machine, code []byte, addr uint64, out []uint64) []uint64 {
	switch m {
	case elf.EM_X86_64:
		for off := 0; off < len(code); {
			n, call := x86Len(code[off:])
			if n <= 0 {
				off++
				continue
			}
			off += n
			if call {
				out = append(out, addr+uint64(off))
			}
		}
	case elf.EM_AARCH64:
		skip := (4 - addr%4) % 4
		for off := skip; off+4 <= uint64(len(code)); off += 4 {
			if isArm64Call(binary.LittleEndian.Uint32(code[off:])) {
				out = append(out, addr+off+4)
			}
		}
	}
	return out
}

// isArm64Call reports whether w is a branch with link.
func isArm64Call(w uint32) bool {
	switch {
	case w&0xFC000000 == 0x94000000: // BL imm26
		return true
	case w&0xFFFFFC1F == 0xD63F0000: // BLR Xn
		return true
	case w&0xFEFFF800 == 0xD63F0800: // BLRAA, BLRAAZ, BLRAB, BLRABZ
		return true
	}
	return false
}
