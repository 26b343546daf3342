package storetest

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// ELFSpec describes a minimal ELF file for SyntheticELF.
type ELFSpec struct {
	BuildID []byte      // the NT_GNU_BUILD_ID descriptor; none when empty
	Machine elf.Machine // 0 means EM_X86_64
	Code    bool        // .text holds code (an executable) rather than NOBITS (a .dbg)
	Comment []byte      // content of a .comment section, to vary the bytes
}

// SyntheticELF returns a small valid ELF64 little-endian file: a build ID
// note, a .text section, an optional .comment and the section name table.
// debug/elf, readelf and file read it; tests use it where they need many
// distinct builds (a thousand builds for the List benchmark) or a build ID
// clash no real toolchain produces on purpose.
func SyntheticELF(spec ELFSpec) []byte {
	if spec.Machine == 0 {
		spec.Machine = elf.EM_X86_64
	}
	le := binary.LittleEndian
	type section struct {
		name              string
		typ               elf.SectionType
		flags             elf.SectionFlag
		data              []byte
		size, addr, align uint64
	}
	var secs []section
	if len(spec.BuildID) > 0 {
		note := make([]byte, 16, 16+len(spec.BuildID)+3)
		le.PutUint32(note, 4)
		le.PutUint32(note[4:], uint32(len(spec.BuildID)))
		le.PutUint32(note[8:], 3) // NT_GNU_BUILD_ID
		copy(note[12:], "GNU\x00")
		note = append(note, spec.BuildID...)
		for len(note)%4 != 0 {
			note = append(note, 0)
		}
		secs = append(secs, section{name: ".note.gnu.build-id", typ: elf.SHT_NOTE, flags: elf.SHF_ALLOC, data: note, addr: 0x200, align: 4})
	}
	text := section{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x1000, align: 16}
	code := []byte{0x55, 0x48, 0x89, 0xe5, 0x90, 0x5d, 0xc3, 0xcc} // push rbp; mov rbp,rsp; nop; pop rbp; ret; int3
	if spec.Code {
		text.data = code
	} else {
		text.typ, text.size = elf.SHT_NOBITS, uint64(len(code))
	}
	secs = append(secs, text)
	if len(spec.Comment) > 0 {
		secs = append(secs, section{name: ".comment", typ: elf.SHT_PROGBITS, data: spec.Comment, align: 1})
	}
	shstr := []byte{0}
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(len(shstr))
		shstr = append(append(shstr, s.name...), 0)
	}
	nameOff[len(secs)] = uint32(len(shstr))
	shstr = append(append(shstr, ".shstrtab"...), 0)
	secs = append(secs, section{name: ".shstrtab", typ: elf.SHT_STRTAB, data: shstr, align: 1})

	out := make([]byte, 64)
	offs := make([]uint64, len(secs))
	for i, s := range secs {
		for s.align > 1 && uint64(len(out))%s.align != 0 {
			out = append(out, 0)
		}
		offs[i] = uint64(len(out))
		out = append(out, s.data...)
	}
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	out = append(out, make([]byte, 64)...) // SHN_UNDEF
	for i, s := range secs {
		sh := make([]byte, 64)
		le.PutUint32(sh, nameOff[i])
		le.PutUint32(sh[4:], uint32(s.typ))
		le.PutUint64(sh[8:], uint64(s.flags))
		le.PutUint64(sh[16:], s.addr)
		le.PutUint64(sh[24:], offs[i])
		size := uint64(len(s.data))
		if s.typ == elf.SHT_NOBITS {
			size = s.size
		}
		le.PutUint64(sh[32:], size)
		le.PutUint64(sh[48:], max(s.align, 1))
		out = append(out, sh...)
	}
	h := out[:64]
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(h[16:], uint16(elf.ET_DYN))
	le.PutUint16(h[18:], uint16(spec.Machine))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(h[40:], shoff)
	le.PutUint16(h[52:], 64)                  // e_ehsize
	le.PutUint16(h[54:], 56)                  // e_phentsize
	le.PutUint16(h[58:], 64)                  // e_shentsize
	le.PutUint16(h[60:], uint16(len(secs)+1)) // e_shnum
	le.PutUint16(h[62:], uint16(len(secs)))   // e_shstrndx: the last section
	return out
}

// SyntheticBuildID returns a distinct 20-byte build ID for build number n of
// a test.
func SyntheticBuildID(n int) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("aotsym storetest build %d", n)))
	return h[:20]
}
