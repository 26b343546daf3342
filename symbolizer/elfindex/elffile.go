package elfindex

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// elfFile is one ELF file opened for indexing: debug/elf for the headers, and
// bounded reads of section contents (decompressed when needed).
type elfFile struct {
	role string // "debug file" or "executable", for messages
	r    io.ReaderAt
	size int64
	f    *elf.File
	lim  Limits
	read atomic.Int64 // bytes of section data held, against lim.MaxDebugSize
}

// openELF reads the ELF headers of r. It reads no section contents.
func openELF(r io.ReaderAt, size int64, role string, lim Limits) (ef *elfFile, err error) {
	if size < 0 {
		return nil, formatErr(role, "", -1, nil, "negative size")
	}
	if size > lim.MaxInputSize {
		return nil, formatErr(role, "", -1, ErrLimit, "file is %d bytes, over the limit of %d bytes", size, lim.MaxInputSize)
	}
	var magic [4]byte
	if n, _ := r.ReadAt(magic[:], 0); n < 4 || string(magic[:]) != elf.ELFMAG {
		return nil, formatErr(role, "", -1, ErrNotELF, "not an ELF file (no \\x7fELF magic): give the executable or its .dbg/.debug file")
	}
	defer func() {
		if p := recover(); p != nil {
			recoveredPanics.Add(1)
			ef, err = nil, formatErr(role, "", -1, nil, "malformed ELF headers (%v)", p)
		}
	}()
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		if what, off, end, ok := tablesPastEnd(r, size); ok {
			return nil, formatErr(role, "", off, err, "truncated: the %s [%#x, %#x) end past the end of the file (%d bytes)", what, off, end, size)
		}
		return nil, formatErr(role, "", -1, err, "malformed ELF headers: %v", err)
	}
	return &elfFile{role: role, r: r, size: size, f: f, lim: lim}, nil
}

// tablesPastEnd reads the ELF header itself to tell a truncated file from a
// malformed one: whether the program or section header table ends past
// the end of the file.
func tablesPastEnd(r io.ReaderAt, size int64) (what string, off, end int64, ok bool) {
	var h [64]byte
	if n, _ := r.ReadAt(h[:], 0); n < 52 {
		return "ELF header", 0, 64, true
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if h[5] == 2 {
		bo = binary.BigEndian
	}
	var phoff, shoff uint64
	var phent, phnum, shent, shnum uint16
	if h[4] == 2 { // ELFCLASS64
		phoff, shoff = bo.Uint64(h[32:]), bo.Uint64(h[40:])
		phent, phnum, shent, shnum = bo.Uint16(h[54:]), bo.Uint16(h[56:]), bo.Uint16(h[58:]), bo.Uint16(h[60:])
	} else {
		phoff, shoff = uint64(bo.Uint32(h[28:])), uint64(bo.Uint32(h[32:]))
		phent, phnum, shent, shnum = bo.Uint16(h[42:]), bo.Uint16(h[44:]), bo.Uint16(h[46:]), bo.Uint16(h[48:])
	}
	if e := shoff + uint64(shent)*uint64(shnum); shnum > 0 && e > uint64(size) {
		return "section headers", int64(shoff), int64(e), true
	}
	if e := phoff + uint64(phent)*uint64(phnum); phnum > 0 && e > uint64(size) {
		return "program headers", int64(phoff), int64(e), true
	}
	return "", 0, 0, false
}

// section returns the section of the given name, or its legacy compressed
// .zdebug_ twin for a .debug_ name. Sections of type NOBITS (the code of a
// --only-keep-debug file) are returned too; callers check.
func (e *elfFile) section(name string) *elf.Section {
	if s := e.f.Section(name); s != nil {
		return s
	}
	if rest, ok := strings.CutPrefix(name, ".debug_"); ok {
		return e.f.Section(".zdebug_" + rest)
	}
	return nil
}

// hasData reports whether s holds bytes in the file.
func hasData(s *elf.Section) bool {
	return s != nil && s.Type != elf.SHT_NOBITS && s.FileSize > 0
}

// data reads the contents of s, decompressing SHF_COMPRESSED (zlib, zstd)
// and legacy .zdebug_ (zlib) sections. Every size is checked against the
// file and the limits before anything is allocated.
func (e *elfFile) data(s *elf.Section) ([]byte, error) {
	if !hasData(s) {
		return nil, nil
	}
	name := s.Name
	if s.Offset > uint64(e.size) || s.FileSize > uint64(e.size)-s.Offset {
		return nil, formatErr(e.role, name, int64(s.Offset), nil,
			"section of %d bytes at file offset %#x extends past the end of the file (%d bytes): the file is truncated or corrupt", s.FileSize, s.Offset, e.size)
	}
	if s.FileSize > uint64(e.lim.MaxSectionSize) {
		return nil, formatErr(e.role, name, int64(s.Offset), ErrLimit, "section is %d bytes, over the limit of %d bytes", s.FileSize, e.lim.MaxSectionSize)
	}
	raw := make([]byte, s.FileSize)
	if _, err := e.r.ReadAt(raw, int64(s.Offset)); err != nil && !(errors.Is(err, io.EOF) && len(raw) == 0) {
		return nil, formatErr(e.role, name, int64(s.Offset), err, "cannot read the section: %v", err)
	}
	switch {
	case s.Flags&elf.SHF_COMPRESSED != 0:
		return e.decompressChdr(name, int64(s.Offset), raw)
	case strings.HasPrefix(name, ".zdebug_"):
		return e.decompressZdebug(name, int64(s.Offset), raw)
	}
	if err := e.account(name, int64(len(raw))); err != nil {
		return nil, err
	}
	return raw, nil
}

// account charges n bytes against MaxDebugSize.
func (e *elfFile) account(name string, n int64) error {
	if total := e.read.Add(n); total > e.lim.MaxDebugSize {
		return formatErr(e.role, name, -1, ErrLimit, "the sections read so far hold %d bytes, over the limit of %d bytes", total, e.lim.MaxDebugSize)
	}
	return nil
}

// Compression types of the ELF compression header (ch_type).
const (
	chZlib = 1
	chZstd = 2
)

func (e *elfFile) decompressChdr(name string, off int64, raw []byte) ([]byte, error) {
	bo := e.f.ByteOrder
	var typ uint32
	var size uint64
	var hdr int
	if e.f.Class == elf.ELFCLASS64 {
		hdr = 24
		if len(raw) < hdr {
			return nil, formatErr(e.role, name, off, nil, "compressed section of %d bytes is shorter than its 24-byte compression header", len(raw))
		}
		typ, size = bo.Uint32(raw), bo.Uint64(raw[8:])
	} else {
		hdr = 12
		if len(raw) < hdr {
			return nil, formatErr(e.role, name, off, nil, "compressed section of %d bytes is shorter than its 12-byte compression header", len(raw))
		}
		typ, size = bo.Uint32(raw), uint64(bo.Uint32(raw[4:]))
	}
	var kind string
	switch typ {
	case chZlib:
		kind = "zlib"
	case chZstd:
		kind = "zstd"
	default:
		return nil, formatErr(e.role, name, off, nil, "unknown compression type %d (known: 1 zlib, 2 zstd)", typ)
	}
	return e.inflate(name, off, kind, raw[hdr:], size)
}

func (e *elfFile) decompressZdebug(name string, off int64, raw []byte) ([]byte, error) {
	if len(raw) < 12 || string(raw[:4]) != "ZLIB" {
		return nil, formatErr(e.role, name, off, nil, "a .zdebug section must start with \"ZLIB\" and an 8-byte size")
	}
	return e.inflate(name, off, "zlib", raw[12:], binary.BigEndian.Uint64(raw[4:12]))
}

// compressionSlack is what any compressed section may claim beyond
// MaxCompressionRatio times its size: small sections (an abbreviation table,
// a few strings) compress further than big ones.
const compressionSlack = 1 << 20

// inflate decompresses src, which its header says holds size bytes: the claim
// is checked against the limits before the output is allocated, and the
// stream must produce exactly that many bytes.
func (e *elfFile) inflate(name string, off int64, kind string, src []byte, size uint64) ([]byte, error) {
	if size > uint64(e.lim.MaxSectionSize) {
		return nil, formatErr(e.role, name, off, ErrLimit,
			"compressed section claims %d bytes uncompressed, over the limit of %d bytes", size, e.lim.MaxSectionSize)
	}
	if allowed := uint64(len(src))*uint64(e.lim.MaxCompressionRatio) + compressionSlack; size > allowed {
		return nil, formatErr(e.role, name, off, ErrLimit,
			"compressed section of %d bytes claims %d bytes uncompressed, %d times its size, over the limit of %d times (real debug sections compress 2 to 15 times): the file is damaged or built to exhaust memory",
			len(src), size, size/uint64(max(len(src), 1)), e.lim.MaxCompressionRatio)
	}
	if err := e.account(name, int64(size)); err != nil {
		return nil, err
	}
	var zr io.Reader
	switch kind {
	case "zlib":
		r, err := zlib.NewReader(bytes.NewReader(src))
		if err != nil {
			return nil, formatErr(e.role, name, off, err, "bad zlib stream: %v", err)
		}
		defer r.Close()
		zr = r
	case "zstd":
		// The output is bounded by out below; the window a frame asks for
		// is bounded here (a section needs no window larger than itself).
		window := min(max(size, 1<<20), zstd.MaxWindowSize)
		r, err := zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(window), zstd.WithDecoderMaxMemory(2*window+size))
		if err != nil {
			return nil, formatErr(e.role, name, off, err, "bad zstd stream: %v", err)
		}
		defer r.Close()
		zr = r
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, formatErr(e.role, name, off, err, "%s stream ends before the %d bytes its header claims: %v", kind, size, err)
	}
	var one [1]byte
	if n, _ := zr.Read(one[:]); n > 0 {
		return nil, formatErr(e.role, name, off, nil, "%s stream holds more than the %d bytes its header claims", kind, size)
	}
	return out, nil
}

// notes calls fn for every ELF note of the file: the SHT_NOTE sections, or the
// PT_NOTE segments of a file without section headers.
func (e *elfFile) notes(fn func(name string, typ uint32, desc []byte)) {
	const maxNotes = 1 << 20
	read := func(off, size uint64) {
		if size == 0 || size > maxNotes || off > uint64(e.size) || size > uint64(e.size)-off {
			return
		}
		b := make([]byte, size)
		if _, err := e.r.ReadAt(b, int64(off)); err != nil {
			return
		}
		parseNotes(b, e.f.ByteOrder, fn)
	}
	found := false
	for _, s := range e.f.Sections {
		if s.Type == elf.SHT_NOTE && s.Flags&elf.SHF_COMPRESSED == 0 {
			found = true
			read(s.Offset, s.FileSize)
		}
	}
	if found {
		return
	}
	for _, p := range e.f.Progs {
		if p.Type == elf.PT_NOTE {
			read(p.Off, p.Filesz)
		}
	}
}

// parseNotes walks an ELF note area: namesz, descsz, type, then the name and
// the descriptor, each padded to 4 bytes.
func parseNotes(b []byte, bo binary.ByteOrder, fn func(name string, typ uint32, desc []byte)) {
	for len(b) >= 12 {
		namesz, descsz, typ := uint64(bo.Uint32(b)), uint64(bo.Uint32(b[4:])), bo.Uint32(b[8:])
		b = b[12:]
		np := (namesz + 3) &^ 3
		dp := (descsz + 3) &^ 3
		if np > uint64(len(b)) || descsz > uint64(len(b))-np {
			return
		}
		name := string(bytes.TrimRight(b[:namesz], "\x00"))
		fn(name, typ, b[np:np+descsz])
		if dp > uint64(len(b))-np {
			return
		}
		b = b[np+dp:]
	}
}

// symbol is one entry of .symtab or .dynsym that can name code.
// It is 40 bytes: a symbol table of millions is the biggest thing a build
// holds while indexing.
type symbol struct {
	name  string
	value uint64
	size  uint64
	index int32 // position in the symbol table (llvm-symbolizer breaks ties by it)
	// file is, for a local symbol, 1 + the index in the table's file names
	// (builder.symFiles) of the STT_FILE symbol before it; 0 for none.
	file int32
	typ  uint8 // elf.SymType: 4 bits
}

// symbols reads a symbol table and keeps the symbols that can name code:
// FUNC, GNU_IFUNC and NOTYPE symbols defined in an executable section (NOTYPE
// covers assembly labels and the size-0 thunks of Native AOT), except section
// symbols and ARM mapping symbols ($x, $d, …).
func (e *elfFile) symbols(s *elf.Section) ([]symbol, []string, error) {
	if !hasData(s) {
		return nil, nil, nil
	}
	name := s.Name
	entSize := uint64(24)
	if e.f.Class == elf.ELFCLASS32 {
		entSize = 16
	}
	if s.FileSize%entSize != 0 {
		return nil, nil, formatErr(e.role, name, int64(s.Offset), nil, "size %d is not a multiple of the %d-byte symbol entry", s.FileSize, entSize)
	}
	if n := s.FileSize / entSize; n > uint64(e.lim.MaxSymbols) {
		return nil, nil, formatErr(e.role, name, int64(s.Offset), ErrLimit, "%d symbols, over the limit of %d", n, e.lim.MaxSymbols)
	}
	if int(s.Link) >= len(e.f.Sections) || s.Link == 0 {
		return nil, nil, formatErr(e.role, name, int64(s.Offset), nil, "its string table index %d is not a section", s.Link)
	}
	strSec := e.f.Sections[s.Link]
	if strSec.Flags&elf.SHF_COMPRESSED != 0 || strSec.Type == elf.SHT_NOBITS {
		return nil, nil, formatErr(e.role, strSec.Name, int64(strSec.Offset), nil, "string table of %s has no data", name)
	}
	syms, err := e.data(s)
	if err != nil {
		return nil, nil, err
	}
	strs, err := e.data(strSec)
	if err != nil {
		return nil, nil, err
	}
	// Names are views of strs, which is never modified.
	var strtab string
	if len(strs) > 0 {
		strtab = unsafe.String(&strs[0], len(strs))
	}
	str := func(off uint32) string {
		if int(off) >= len(strtab) {
			return ""
		}
		t := strtab[off:]
		if i := strings.IndexByte(t, 0); i >= 0 {
			return t[:i]
		}
		return t
	}
	exec := make([]bool, len(e.f.Sections))
	for i, sec := range e.f.Sections {
		exec[i] = sec.Flags&elf.SHF_EXECINSTR != 0 && sec.Flags&elf.SHF_ALLOC != 0
	}
	arm := e.f.Machine == elf.EM_ARM || e.f.Machine == elf.EM_AARCH64
	bo := e.f.ByteOrder
	// Count the candidates first: the table is mostly data symbols.
	count := 0
	for i := uint64(1); i < uint64(len(syms))/entSize; i++ {
		b := syms[i*entSize:]
		var info uint8
		var shndx uint16
		if entSize == 24 {
			info, shndx = b[4], bo.Uint16(b[6:])
		} else {
			info, shndx = b[12], bo.Uint16(b[14:])
		}
		switch elf.SymType(info & 0xf) {
		case elf.STT_FUNC, elf.STT_GNU_IFUNC, elf.STT_NOTYPE:
			if int(shndx) < len(exec) && exec[shndx] {
				count++
			}
		}
	}
	out := make([]symbol, 0, count)
	var files []string
	file := int32(0)
	for i := uint64(1); i < uint64(len(syms))/entSize; i++ {
		b := syms[i*entSize:]
		var sym symbol
		var nameOff uint32
		var info uint8
		var shndx uint16
		if entSize == 24 {
			nameOff, info, shndx = bo.Uint32(b), b[4], bo.Uint16(b[6:])
			sym.value, sym.size = bo.Uint64(b[8:]), bo.Uint64(b[16:])
		} else {
			nameOff = bo.Uint32(b)
			sym.value, sym.size = uint64(bo.Uint32(b[4:])), uint64(bo.Uint32(b[8:]))
			info, shndx = b[12], bo.Uint16(b[14:])
		}
		sym.typ = info & 0xf
		switch elf.SymType(sym.typ) {
		case elf.STT_FILE:
			if n := str(nameOff); n == "" {
				file = 0
			} else {
				if len(files) == 0 || files[len(files)-1] != n {
					files = append(files, n)
				}
				file = int32(len(files))
			}
			continue
		case elf.STT_FUNC, elf.STT_GNU_IFUNC, elf.STT_NOTYPE:
		default:
			continue
		}
		if shndx == uint16(elf.SHN_UNDEF) || int(shndx) >= len(exec) || !exec[shndx] {
			continue
		}
		sym.name = str(nameOff)
		if sym.name == "" || (arm && sym.name[0] == '$') {
			continue
		}
		sym.index = int32(i) // i ≤ MaxSymbols
		if elf.SymBind(info>>4) == elf.STB_LOCAL {
			sym.file = file
		}
		out = append(out, sym)
	}
	return out, files, nil
}

// execRange is the address range of an executable section.
type execRange struct {
	start, end uint64
	sec        *elf.Section
}

// execSections returns the executable sections' address ranges, sorted.
func (e *elfFile) execSections() []execRange {
	var out []execRange
	for _, s := range e.f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Flags&elf.SHF_ALLOC != 0 && s.Size > 0 && s.Addr+s.Size > s.Addr {
			size := s.Size
			if s.Flags&elf.SHF_COMPRESSED != 0 {
				continue
			}
			out = append(out, execRange{s.Addr, s.Addr + size, s})
		}
	}
	sortExec(out)
	return out
}

func sortExec(r []execRange) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].start < r[j-1].start; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// archName is the architecture name used in builds and indexes.
func archName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_LOONGARCH:
		return "loongarch64"
	}
	return strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))
}

// imageBase returns the address the file's first byte is loaded at, before
// relocation: the lowest PT_LOAD's address minus its file offset (0 for a
// PIE or shared library, 0x400000 for a classic x86-64 executable).
func imageBase(f *elf.File) uint64 {
	found := false
	var base uint64
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		b := p.Vaddr - p.Off
		if p.Off > p.Vaddr {
			b = 0
		}
		if p.Align > 1 && p.Align&(p.Align-1) == 0 {
			b &^= p.Align - 1
		}
		if !found || b < base {
			base, found = b, true
		}
	}
	return base
}

func (e *elfFile) String() string { return fmt.Sprintf("%s (%s)", e.role, archName(e.f.Machine)) }
