package elfindex

import (
	"fmt"
	"sort"
	"sync/atomic"
)

// The line-number program of a compile unit (DWARF 2–5), run straight into
// the unit's sequences: no row is materialised beyond the one kept. The
// state machine follows DWARF 5 section 6.2 as debug/dwarf's LineReader
// ran it (same rows, same file of each row), so that the index is the same
// as when it was built on that reader. File names come from lineFileNames
// (linehdr.go), joined as llvm-symbolizer joins them.

// lineHeader is what running a line program needs from its header.
type lineHeader struct {
	version    uint16
	addrSize   int
	minInst    int
	maxOps     int
	lineBase   int
	lineRange  int
	opcodeBase int
	opLengths  [256]uint8 // arguments of each standard opcode
	program    int        // first byte of the program in .debug_line
	end        int        // first byte after it
	// The file table: entry i is file i of the rows (index 0 is none
	// before DWARF 5). Names are kept in pieces and joined only where
	// lineFileNames cannot read them (DW_LNE_define_file).
	files []lineFile
	dirs  []string // the include directories as written
}

type lineFile struct {
	name  string
	dir   uint64 // directory index as written
	valid bool   // false for entry 0 before DWARF 5
}

func (u *cuData) lineErr(d *dwarfData, off int, format string, args ...any) error {
	return formatErr(d.role, ".debug_line", int64(off), nil, "line table of compile unit at %#x: %s", u.off, fmt.Sprintf(format, args...))
}

// readLineHeader reads the header at off.
func readLineHeader(d *dwarfData, u *cuData, off uint64, compDir string) (*lineHeader, error) {
	if off > uint64(len(d.line)) {
		return nil, u.lineErr(d, -1, "DW_AT_stmt_list %#x is past the end of .debug_line (%d bytes)", off, len(d.line))
	}
	hdrOff := int(off)
	r := secReader{b: d.line, p: hdrOff, end: len(d.line)}
	h := &lineHeader{}
	length := r.uint(4, d.order)
	dwarf64 := false
	if length == 0xffffffff {
		length, dwarf64 = r.uint(8, d.order), true
	} else if length >= 0xfffffff0 {
		return nil, u.lineErr(d, hdrOff, "reserved unit length %#x", length)
	}
	if r.bad || length > uint64(r.end-r.p) {
		return nil, u.lineErr(d, hdrOff, "line table of %d bytes extends past the end of the section (%d bytes)", length, len(d.line))
	}
	h.end = r.p + int(length)
	r.end = h.end
	h.version = uint16(r.uint(2, d.order))
	if r.bad {
		return nil, u.lineErr(d, hdrOff, "truncated header")
	}
	if h.version < 2 || h.version > 5 {
		return nil, u.lineErr(d, hdrOff, "unknown line table version %d", h.version)
	}
	if h.version >= 5 {
		h.addrSize = int(r.u8())
		r.u8() // segment selector size
	} else {
		h.addrSize = int(u.addrSize)
	}
	var hdrLen uint64
	if dwarf64 {
		hdrLen = r.uint(8, d.order)
	} else {
		hdrLen = r.uint(4, d.order)
	}
	if r.bad || hdrLen > uint64(h.end-r.p) {
		return nil, u.lineErr(d, hdrOff, "malformed header: the program would start past the end of the table")
	}
	h.program = r.p + int(hdrLen)
	h.minInst = int(r.u8())
	h.maxOps = 1
	if h.version >= 4 {
		h.maxOps = int(r.u8())
	}
	r.u8() // default is_stmt
	h.lineBase = int(int8(r.u8()))
	h.lineRange = int(r.u8())
	if r.bad {
		return nil, u.lineErr(d, hdrOff, "truncated header")
	}
	if h.maxOps == 0 {
		return nil, u.lineErr(d, hdrOff, "invalid maximum operations per instruction: 0")
	}
	if h.lineRange == 0 {
		return nil, u.lineErr(d, hdrOff, "invalid line range: 0")
	}
	h.opcodeBase = int(r.u8())
	for i := 1; i < h.opcodeBase; i++ {
		h.opLengths[i] = r.u8()
	}
	if r.bad {
		return nil, u.lineErr(d, hdrOff, "truncated header")
	}
	// The standard opcodes' argument counts are fixed (DW_LNS_fixed_advance_pc
	// excepted, whose argument is no LEB128).
	known := [13]int8{-1, 0, 1, 1, 1, 1, 0, 0, 0, -1, 0, 0, 1}
	for i := 1; i < h.opcodeBase && i < len(known); i++ {
		if known[i] >= 0 && int(h.opLengths[i]) != int(known[i]) {
			return nil, u.lineErr(d, hdrOff, "opcode %d expected to have length %d, but has length %d", i, known[i], h.opLengths[i])
		}
	}
	if h.version < 5 {
		for {
			dir := r.cstr()
			if r.bad {
				return nil, u.lineErr(d, r.p, "truncated include directories")
			}
			if dir == "" {
				break
			}
			h.dirs = append(h.dirs, dir)
		}
		h.files = append(h.files, lineFile{})
		for {
			done, err := h.readFileEntry(d, u, &r)
			if err != nil {
				return nil, err
			}
			if done {
				break
			}
		}
	} else {
		dirFormat, err := readEntryFormat(d, u, &r)
		if err != nil {
			return nil, err
		}
		n := r.uleb()
		if r.bad || n > uint64(r.end-r.p) {
			return nil, u.lineErr(d, r.p, "%d directories cannot fit in the header", n)
		}
		h.dirs = make([]string, n)
		for i := range h.dirs {
			f, err := h.readEntry(d, u, &r, dirFormat, dwarf64)
			if err != nil {
				return nil, err
			}
			h.dirs[i] = f.name
		}
		fileFormat, err := readEntryFormat(d, u, &r)
		if err != nil {
			return nil, err
		}
		n = r.uleb()
		if r.bad || n > uint64(r.end-r.p) {
			return nil, u.lineErr(d, r.p, "%d files cannot fit in the header", n)
		}
		h.files = make([]lineFile, n)
		for i := range h.files {
			f, err := h.readEntry(d, u, &r, fileFormat, dwarf64)
			if err != nil {
				return nil, err
			}
			f.valid = true
			h.files[i] = f
		}
	}
	return h, nil
}

// readFileEntry reads a DWARF 2–4 file entry (of the header or of
// DW_LNE_define_file); done at the empty name that ends the list.
func (h *lineHeader) readFileEntry(d *dwarfData, u *cuData, r *secReader) (done bool, err error) {
	name := r.cstr()
	if r.bad {
		return false, u.lineErr(d, r.p, "truncated file entry")
	}
	if name == "" {
		return true, nil
	}
	at := r.p
	dirIdx := r.uleb()
	f := lineFile{name: name, dir: dirIdx, valid: true}
	// Index 0 is the compilation directory.
	if !pathIsAbs(name) && dirIdx > uint64(len(h.dirs)) {
		return false, u.lineErr(d, at, "directory index %d too large", dirIdx)
	}
	r.uleb() // modification time
	r.uleb() // length
	if r.bad {
		return false, u.lineErr(d, at, "truncated file entry")
	}
	h.files = append(h.files, f)
	return false, nil
}

type entryFormat struct{ content, form uint64 }

func readEntryFormat(d *dwarfData, u *cuData, r *secReader) ([]entryFormat, error) {
	n := int(r.u8())
	fs := make([]entryFormat, 0, n)
	for i := 0; i < n; i++ {
		fs = append(fs, entryFormat{r.uleb(), r.uleb()})
	}
	if r.bad {
		return nil, u.lineErr(d, r.p, "truncated entry format")
	}
	return fs, nil
}

// readEntry reads a DWARF 5 directory or file entry.
func (h *lineHeader) readEntry(d *dwarfData, u *cuData, r *secReader, format []entryFormat, dwarf64 bool) (lineFile, error) {
	var f lineFile
	offSize := 4
	if dwarf64 {
		offSize = 8
	}
	for _, ef := range format {
		at := r.p
		var str string
		var val uint64
		switch ef.form {
		case formString:
			str = r.cstr()
		case formStrp, formLineStrp:
			off := r.uint(offSize, d.order)
			sec := d.lineStr
			if ef.form == formStrp {
				sec = d.str
			}
			if !r.bad {
				s, ok := strAt(sec, off)
				if !ok {
					return f, u.lineErr(d, at, "file name string at %#x is outside its section (%d bytes)", off, len(sec))
				}
				str = s
			}
		case formStrpSup:
			r.skip(uint64(offSize))
		case formStrx, formUdata:
			val = r.uleb()
			if ef.form == formStrx {
				val = 0
			}
		case formStrx1, formData1:
			val = r.uint(1, d.order)
		case formStrx2, formData2:
			val = r.uint(2, d.order)
		case formStrx3:
			r.skip(3)
		case formStrx4, formData4:
			val = r.uint(4, d.order)
		case formData8:
			val = r.uint(8, d.order)
		case formData16:
			r.skip(16)
		case formBlock:
			r.skip(r.uleb())
		}
		if ef.form >= formStrx1 && ef.form <= formStrx4 {
			val = 0
		}
		if r.bad {
			return f, u.lineErr(d, at, "truncated header entry")
		}
		switch ef.content {
		case 1: // DW_LNCT_path
			f.name = str
		case 2: // DW_LNCT_directory_index
			if val >= uint64(len(h.dirs)) {
				return f, u.lineErr(d, at, "directory index %d out of range", val)
			}
			f.dir = val
		}
	}
	return f, nil
}

// pathIsAbs reports whether a line-table path is absolute: "/…", "\\…" or
// a DOS drive's "C:\…".
func pathIsAbs(p string) bool {
	if len(p) >= 2 && p[1] == ':' && ('a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z') {
		p = p[2:]
	}
	return len(p) > 0 && (p[0] == '/' || p[0] == '\\')
}

// readLines runs the unit's line program and keeps its sequences: rows
// sorted by address, one per address (the last row the program emits for
// an address wins), rows at or past a sequence's end dropped.
func readLines(d *dwarfData, u *cuData, total *atomic.Int64, maxRows int64) error {
	if u.err != nil {
		return u.err
	}
	if d.line == nil || !u.hasStmt {
		return nil
	}
	if u.stmtList < 0 {
		return u.lineErr(d, -1, "DW_AT_stmt_list value %d out of range", u.stmtList)
	}
	h, err := readLineHeader(d, u, uint64(u.stmtList), u.compDir)
	if err != nil {
		return err
	}
	r := secReader{b: d.line, p: h.program, end: h.end}
	var (
		all      []row
		seqStart = -1
		counted  int64
		his      []uint64
		spans    [][2]int
	)
	// Reserve room for the rows a program of this length usually has
	// (about one per three bytes), so that they are not copied as they
	// grow; all units together reserve no more than .debug_line could
	// hold, however many units share a program.
	if n := min(int64(h.end-h.program)/3, 1<<22); n > 0 {
		if d.rowBudget.Add(-n) < 0 {
			n = min(n, 4096)
		}
		all = make([]row, 0, n)
	}
	// The state machine.
	var (
		addr      uint64
		opIndex   int
		fileIndex int
		line      int
		col       int
		disc      int
		file      uint32
	)
	updateFile := func() {
		file = noFile
		if fileIndex >= 0 && fileIndex < len(h.files) && h.files[fileIndex].valid {
			file = uint32(fileIndex)
		}
	}
	reset := func() {
		addr, opIndex, line, col, disc, fileIndex = 0, 0, 1, 0, 0, 1
		updateFile()
	}
	advance := func(n int) {
		i := opIndex + n
		addr += uint64(h.minInst * (i / h.maxOps))
		opIndex = i % h.maxOps
	}
	reset()
	bad := func(at int, what string) error { return u.lineErr(d, at, "%s", what) }
	for r.p < r.end {
		at := r.p
		op := int(r.b[r.p])
		r.p++
		endSeq := false
		if op >= h.opcodeBase {
			adj := op - h.opcodeBase
			advance(adj / h.lineRange)
			line += h.lineBase + adj%h.lineRange
		} else {
			switch op {
			case 0: // extended
				length := r.uleb()
				start := r.p
				sub := r.u8()
				if r.bad {
					return bad(at, "truncated extended opcode")
				}
				switch sub {
				case 1: // DW_LNE_end_sequence
					endSeq = true
				case 2: // DW_LNE_set_address
					switch h.addrSize {
					case 1, 2, 4, 8:
						addr = r.uint(h.addrSize, d.order)
					default:
						return bad(at, fmt.Sprintf("unknown address size %d", h.addrSize))
					}
				case 3: // DW_LNE_define_file
					done, err := h.readFileEntry(d, u, &r)
					if err != nil {
						return err
					}
					if done {
						return bad(start, "malformed DW_LNE_define_file operation")
					}
					updateFile()
				case 4: // DW_LNE_set_discriminator
					disc = int(r.uleb())
				}
				if r.bad || uint64(r.p-start) > length || length-uint64(r.p-start) > uint64(r.end-r.p) {
					return bad(at, "extended opcode runs past its length or the table")
				}
				r.p = start + int(length)
				if !endSeq {
					continue
				}
			case 1: // DW_LNS_copy
			case 2: // DW_LNS_advance_pc
				advance(int(r.uleb()))
				continue
			case 3: // DW_LNS_advance_line
				line += int(r.sleb())
				continue
			case 4: // DW_LNS_set_file
				fileIndex = int(r.uleb())
				updateFile()
				continue
			case 5: // DW_LNS_set_column
				col = int(r.uleb())
				continue
			case 6, 7, 10, 11: // negate_stmt, basic_block, prologue_end, epilogue_begin
				continue
			case 8: // DW_LNS_const_add_pc
				advance((255 - h.opcodeBase) / h.lineRange)
				continue
			case 9: // DW_LNS_fixed_advance_pc
				addr += r.uint(2, d.order)
				continue
			case 12: // DW_LNS_set_isa
				r.uleb()
				continue
			default:
				for i := 0; i < int(h.opLengths[op]); i++ {
					r.uleb()
				}
				continue
			}
		}
		if r.bad {
			return bad(at, "truncated opcode")
		}
		// A row.
		if endSeq {
			if seqStart >= 0 && seqStart < len(all) && all[seqStart].addr < addr {
				// Drop rows at or past the end address.
				n := len(all)
				for n > seqStart && all[n-1].addr >= addr {
					n--
				}
				all = all[:n]
				if n > seqStart {
					spans = append(spans, [2]int{seqStart, n})
					his = append(his, addr)
				}
			} else if seqStart >= 0 {
				all = all[:seqStart]
			}
			seqStart = -1
			reset()
			continue
		}
		rw := row{addr: addr, file: file, line: uint32(max(line, 0)), col: uint32(max(col, 0)), disc: uint32(max(disc, 0))}
		disc = 0
		if seqStart < 0 {
			seqStart = len(all)
		}
		if n := len(all); n > seqStart && all[n-1].addr >= rw.addr {
			if all[n-1].addr == rw.addr {
				all[n-1] = rw // the last row at an address wins
				continue
			}
			// Addresses went backwards inside a sequence: keep the rows
			// sorted by dropping the ones now shadowed.
			for n > seqStart && all[n-1].addr >= rw.addr {
				n--
			}
			all = all[:n]
		}
		all = appendGrow(all, rw)
		counted++
		if counted&1023 == 0 {
			if total.Add(1024) > maxRows {
				return formatErr(d.role, ".debug_line", -1, ErrLimit, "more than %d line-table rows", maxRows)
			}
		}
	}
	if r.bad {
		return bad(r.p, "truncated opcode")
	}
	if total.Add(counted&1023) > maxRows {
		return formatErr(d.role, ".debug_line", -1, ErrLimit, "more than %d line-table rows", maxRows)
	}
	u.seqs = make([]sequence, 0, len(spans))
	for i, s := range spans {
		u.seqs = append(u.seqs, sequence{lo: all[s[0]].addr, hi: his[i], rows: all[s[0]:s[1]:s[1]]})
	}
	sort.SliceStable(u.seqs, func(i, j int) bool { return u.seqs[i].lo < u.seqs[j].lo })
	// File names as llvm-symbolizer joins them: from lineFileNames, or
	// joined here for DW_LNE_define_file entries and header forms it does
	// not read.
	ls := &lineSections{line: d.line, str: d.str, lineStr: d.lineStr, order: d.order}
	raw, rawErr := lineFileNames(ls, uint64(u.stmtList), u.compDir)
	u.fileNames = make([]string, len(h.files))
	for i, f := range h.files {
		switch {
		case rawErr == nil && i < len(raw):
			u.fileNames[i] = raw[i]
		case f.valid:
			u.fileNames[i] = llvmFilePath(h.version, f.name, f.dir, h.dirs, u.compDir)
		}
	}
	return nil
}
