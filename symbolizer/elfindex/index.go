package elfindex

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/aotsym/aotsym"
)

// Index is an opened index: views over its bytes, never a copy. It is safe
// for concurrent use. The bytes must not change while it (or any string it
// returned) is in use.
type Index struct {
	data      []byte
	machine   elf.Machine
	arch      string
	buildID   aotsym.BuildID
	goBuildID string
	debugLink string
	imageBase uint64
	addrBase  uint64
	flags     uint64
	n         int
	nfiles    int
	counts    [4]int // line rows, inline nodes, symbols, compile units
	addrWidth int

	dir                                      []section
	strs, files, addrs, funcs, fdata, params []byte
	names                                    nameReader

	// pages narrows FunctionAt's search: pages[p] is the first function
	// whose start (relative to addrBase) >> pageShift is at least p; the
	// last entry is n. Built by Open, at most 2n+2 entries.
	pages     []uint32
	pageShift uint
}

// Function is one entry of the function table, decoded.
type Function struct {
	Index      int
	Start, End uint64 // [Start, End)
	// Parent is the enclosing function of a nested entry (a label inside a
	// function), -1 for most.
	Parent int
	// Name is the most qualified symbol at Start (sized before size 0, FUNC
	// before NOTYPE, then the longest name), or the DWARF linkage name (else
	// DW_AT_name) of a function without a symbol.
	Name string
	// Aliases are the other symbols at Start.
	Aliases []string
	// Symbol is the name llvm-symbolizer reports for the function: of the
	// symbols at Start the largest, then the last in the symbol table;
	// "" without symbols.
	Symbol string
	// From DWARF (through DW_AT_specification and DW_AT_abstract_origin):
	// the linkage name, DW_AT_name (the short method name of Native AOT), the
	// enclosing class or namespace ("::"-joined), and the formal parameters'
	// type names in order. An artificial parameter (C++ and Native AOT
	// `this`) is left out of Params and marked by HasThis.
	LinkageName string
	ShortName   string
	Class       string
	Params      []string
	ParamNames  []string
	HasThis     bool
	DeclFile    string
	DeclLine    int
	// HasDWARF is true when a DWARF subprogram starts at Start.
	HasDWARF bool
	// HasLines is true when line rows cover some of the function.
	HasLines bool
	// HasCode is true when the function's call instructions were recorded.
	HasCode bool
}

// Answer is everything the index knows about one address.
type Answer struct {
	// Function is the innermost function holding the address, -1 for none.
	Function int
	// Frames are innermost first, like llvm-symbolizer --inlines: the inlined
	// subroutines, then the function itself. Empty when Function is -1.
	Frames []Frame
	// NoLine is true when the function is known but no line row of it covers
	// the address (Frames[0] then has no File and Line 0). This includes the
	// addresses before a function's first row, where llvm-symbolizer
	// repeats the previous function's line.
	NoLine bool
	// RowAddress is where the row that answered starts (when !NoLine).
	RowAddress uint64
}

// Frame is one function of an answer: where the address is in it.
type Frame struct {
	FunctionName  string // linkage (mangled) name; see Answer
	File          string
	Line, Column  int
	Discriminator int
	// StartFile and StartLine are DW_AT_decl_file and DW_AT_decl_line of
	// the function; StartAddress its start (HasStartAddress false when DWARF
	// gives none), as llvm-symbolizer's JSON reports them.
	StartFile       string
	StartLine       int
	StartAddress    uint64
	HasStartAddress bool
	Inlined         bool // an inlined subroutine, not the outermost frame
}

// Open reads an index without copying it. It checks the header, the
// version, the directory and the bounds and order of the tables; a wrong
// version gives an error wrapping ErrVersion.
func Open(data []byte) (*Index, error) {
	bad := func(sec string, off int64, format string, args ...any) error {
		return formatErr("index", sec, off, nil, format, args...)
	}
	if len(data) < headerSize {
		return nil, bad("", -1, "%d bytes is shorter than the %d-byte header", len(data), headerSize)
	}
	if string(data[:8]) != magic {
		return nil, bad("", 0, "not an aotsym index (magic %q)", data[:8])
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != Version {
		return nil, &FormatError{File: "index", Offset: 8, Problem: fmt.Sprintf("format version %d; this release reads version %d: rebuild the index from the build's files", v, Version), Err: ErrVersion}
	}
	count := uint64(binary.LittleEndian.Uint32(data[12:]))
	if total := binary.LittleEndian.Uint64(data[16:]); total != uint64(len(data)) {
		return nil, bad("", 16, "the header says %d bytes but there are %d: the index is truncated or padded", total, len(data))
	}
	if count > uint64(len(data)-headerSize)/dirEntry {
		return nil, bad("", 12, "%d sections do not fit in %d bytes", count, len(data))
	}
	x := &Index{data: data}
	dirEnd := uint64(headerSize + count*dirEntry)
	for i := uint64(0); i < count; i++ {
		d := data[headerSize+i*dirEntry:]
		name := string(bytes.TrimRight(d[:nameSize], "\x00"))
		off, n := binary.LittleEndian.Uint64(d[16:]), binary.LittleEndian.Uint64(d[24:])
		if off < dirEnd || off > uint64(len(data)) || n > uint64(len(data))-off {
			return nil, bad(name, int64(headerSize+i*dirEntry), "section [%#x, +%d) is outside the index (%d bytes)", off, n, len(data))
		}
		x.dir = append(x.dir, section{name, data[off : off+n : off+n]})
	}
	get := func(name string) ([]byte, error) {
		for _, s := range x.dir {
			if s.name == name {
				return s.data, nil
			}
		}
		return nil, bad(name, -1, "missing section")
	}
	var err error
	for _, p := range []struct {
		name string
		dst  *[]byte
	}{{secStrings, &x.strs}, {secFiles, &x.files}, {secAddrs, &x.addrs}, {secFuncs, &x.funcs}, {secFData, &x.fdata}, {secParams, &x.params}} {
		if *p.dst, err = get(p.name); err != nil {
			return nil, err
		}
	}
	nameSec, err := get(secNames)
	if err != nil {
		return nil, err
	}
	var ok bool
	if x.names, ok = newNameReader(nameSec); !ok {
		return nil, bad(secNames, -1, "malformed header or block offsets")
	}
	meta, err := get(secMeta)
	if err != nil {
		return nil, err
	}
	if err := x.readMeta(meta); err != nil {
		return nil, err
	}
	if uint64(len(x.addrs)) != uint64(x.n)*uint64(x.addrWidth) {
		return nil, bad(secAddrs, -1, "%d bytes for %d functions of %d bytes", len(x.addrs), x.n, x.addrWidth)
	}
	if uint64(len(x.funcs)) != uint64(x.n)*funcRecord {
		return nil, bad(secFuncs, -1, "%d bytes for %d functions", len(x.funcs), x.n)
	}
	if uint64(len(x.files)) != uint64(x.nfiles)*8 {
		return nil, bad(secFiles, -1, "%d bytes for %d files", len(x.files), x.nfiles)
	}
	for i := 0; i < x.nfiles; i++ {
		off, n := binary.LittleEndian.Uint32(x.files[i*8:]), binary.LittleEndian.Uint32(x.files[i*8+4:])
		if uint64(off)+uint64(n) > uint64(len(x.strs)) {
			return nil, bad(secFiles, int64(i*8), "file %d is outside the string table", i)
		}
	}
	prev := uint64(0)
	for i := 0; i < x.n; i++ {
		a := x.startRel(i)
		if i > 0 && a <= prev {
			return nil, bad(secAddrs, int64(i*x.addrWidth), "function %d does not start after function %d", i, i-1)
		}
		prev = a
		rec := x.funcs[i*funcRecord:]
		if o := binary.LittleEndian.Uint32(rec[4:]); o >= uint32(len(x.fdata)) {
			return nil, bad(secFuncs, int64(i*funcRecord+4), "function %d data offset %#x is outside its section (%d bytes)", i, o, len(x.fdata))
		}
		if binary.LittleEndian.Uint32(rec) == 0 {
			return nil, bad(secFuncs, int64(i*funcRecord), "function %d is empty", i)
		}
	}
	x.buildPages()
	return x, nil
}

// buildPages builds the page index over the sorted function starts, with
// pages large enough that there are at most about two per function.
func (x *Index) buildPages() {
	if x.n == 0 {
		return
	}
	last := x.startRel(x.n - 1)
	shift := uint(0)
	for last>>shift >= uint64(2*x.n) {
		shift++
	}
	np := int(last>>shift) + 1
	pages := make([]uint32, np+1)
	i := 0
	for p := range pages {
		for i < x.n && x.startRel(i)>>shift < uint64(p) {
			i++
		}
		pages[p] = uint32(i)
	}
	x.pages, x.pageShift = pages, shift
}

func (x *Index) readMeta(meta []byte) error {
	d := dec{b: meta}
	x.machine = elf.Machine(d.u())
	x.arch = string(d.bytes())
	id := d.bytes()
	x.goBuildID = string(d.bytes())
	x.debugLink = string(d.bytes())
	x.imageBase = d.u()
	x.addrBase = d.u()
	x.flags = d.u()
	n, nfiles := d.u(), d.u()
	for i := range x.counts {
		x.counts[i] = int(min(d.u(), 1<<40))
	}
	if d.bad {
		return formatErr("index", secMeta, int64(d.p), nil, "truncated")
	}
	if len(id) > 0 {
		bid, err := aotsym.ParseBuildID(string(id))
		if err != nil {
			return formatErr("index", secMeta, -1, err, "bad build ID: %v", err)
		}
		x.buildID = bid
	}
	x.addrWidth = 4
	if x.flags&metaAddr64 != 0 {
		x.addrWidth = 8
	}
	if n > uint64(len(x.data)) || nfiles > uint64(len(x.data)) {
		return formatErr("index", secMeta, -1, nil, "%d functions and %d files cannot fit in %d bytes", n, nfiles, len(x.data))
	}
	x.n, x.nfiles = int(n), int(nfiles)
	return nil
}

// BuildID returns the GNU build ID of the indexed files.
func (x *Index) BuildID() aotsym.BuildID { return x.buildID }

// GoBuildID returns the Go build ID, "" for programs not written in Go.
func (x *Index) GoBuildID() string { return x.goBuildID }

// Arch returns "x86_64", "aarch64", ….
func (x *Index) Arch() string { return x.arch }

// Machine returns the ELF machine.
func (x *Index) Machine() elf.Machine { return x.machine }

// DebugLink returns the .gnu_debuglink file name of the indexed file.
func (x *Index) DebugLink() string { return x.debugLink }

// ImageBase returns the unrelocated address of the file's first byte:
// address = ImageBase + RVA, where RVA = IP − the module's load address.
func (x *Index) ImageBase() uint64 { return x.imageBase }

// HasCode reports whether the executable's code was read, so that
// ReturnAddressAt knows.
func (x *Index) HasCode() bool { return x.flags&metaHasCode != 0 }

// LookupOnly reports whether the index was built with Options.LookupOnly:
// lookups are complete, Function's parameters and classes are not.
func (x *Index) LookupOnly() bool { return x.flags&metaLookupOnly != 0 }

// NumFunctions returns the number of functions.
func (x *Index) NumFunctions() int { return x.n }

// LineRows returns the number of line rows stored.
func (x *Index) LineRows() int { return x.counts[0] }

// InlineNodes returns the number of inlined subroutines stored.
func (x *Index) InlineNodes() int { return x.counts[1] }

// Size returns the bytes the index holds, for a byte-budget cache.
func (x *Index) Size() int {
	return len(x.data) + int(unsafe.Sizeof(*x)) + len(x.dir)*int(unsafe.Sizeof(section{})) + 4*len(x.pages) + x.names.cacheBytes()
}

// Bytes returns the index's bytes.
func (x *Index) Bytes() []byte { return x.data }

// Extension returns the bytes an Extension of that name stored, nil when
// there are none.
func (x *Index) Extension(name string) []byte {
	for _, s := range x.dir {
		if s.name == extPrefix+name {
			return s.data
		}
	}
	return nil
}

func (x *Index) sections() []section {
	return append([]section(nil), x.dir...)
}

func (x *Index) startRel(i int) uint64 {
	if x.addrWidth == 8 {
		return binary.LittleEndian.Uint64(x.addrs[i*8:])
	}
	return uint64(binary.LittleEndian.Uint32(x.addrs[i*4:]))
}

func (x *Index) start(i int) uint64 { return x.addrBase + x.startRel(i) }

func (x *Index) size(i int) uint64 { return uint64(binary.LittleEndian.Uint32(x.funcs[i*funcRecord:])) }

// parent returns the enclosing function of a nested function, -1 for none.
func (x *Index) parent(i int) int {
	d := dec{b: x.fdata, p: int(binary.LittleEndian.Uint32(x.funcs[i*funcRecord+4:]))}
	if d.u()&fParent == 0 {
		return -1
	}
	back := d.u()
	if d.bad || back == 0 || back > uint64(i) {
		return -1
	}
	return i - int(back)
}

// Range returns function i's [start, end) and its enclosing function (-1
// for none) without decoding its names: the cheap way to walk or search
// the table. An i out of range gives 0, 0, -1.
func (x *Index) Range(i int) (start, end uint64, parent int) {
	if i < 0 || i >= x.n {
		return 0, 0, -1
	}
	start = x.start(i)
	return start, start + x.size(i), x.parent(i)
}

// FunctionAt returns the innermost function holding addr. Functions are
// sorted by start; a function of size 0 in the symbol table (the
// compiler-generated thunks of Native AOT, assembly labels) was given the
// range up to the next function, the end of its section, or the end of the
// function it is nested in, whichever comes first.
func (x *Index) FunctionAt(addr uint64) (int, bool) {
	if x.n == 0 || addr < x.addrBase {
		return -1, false
	}
	rel := addr - x.addrBase
	// Every function before pages[p] starts before rel, every one from
	// pages[p+1] on after it: search between.
	lo, hi := x.n, x.n
	if p := rel >> x.pageShift; p < uint64(len(x.pages)-1) {
		lo, hi = int(x.pages[p]), int(x.pages[p+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.startRel(m) <= rel {
			lo = m + 1
		} else {
			hi = m
		}
	}
	// Nesting is shallow (a label in a function); the walk is capped so
	// that a hostile index cannot make one lookup slow.
	for i, steps := lo-1, 0; i >= 0 && steps < maxNesting; steps++ {
		if rel < x.startRel(i)+x.size(i) {
			return i, true
		}
		p := x.parent(i)
		if p >= i {
			break
		}
		i = p
	}
	return -1, false
}

func (x *Index) str(off, n uint64) string {
	if n == 0 || off > uint64(len(x.strs)) || n > uint64(len(x.strs))-off {
		return ""
	}
	return unsafe.String(&x.strs[off], int(n))
}

func (x *Index) file(id uint64) string {
	if id == 0 || id >= uint64(x.nfiles) {
		return ""
	}
	off, n := binary.LittleEndian.Uint32(x.files[id*8:]), binary.LittleEndian.Uint32(x.files[id*8+4:])
	return x.str(uint64(off), uint64(n))
}

// funcData is a function's fdata record, decoded. Names are kept as IDs
// and decoded only when asked for (names are front-coded: decoding one
// costs a block scan and an allocation).
type funcData struct {
	flags                uint64
	nameID, symbolID     uint64 // most qualified symbol; llvm-symbolizer's pick
	linkageID            uint64
	aliases              dec // positioned at the alias list
	shortMode, classMode uint64
	shortLen, classLen   uint64    // affix lengths (mode 1)
	shortRef, classRef   [2]uint64 // string refs (mode 2)
	declFile, declLine   uint64
	paramsOff            uint64
	symFile              uint64
	rows, rowIndex       []byte
	inline               []byte
	calls                dec
}

func (x *Index) decodeFunc(i int) funcData {
	var f funcData
	d := dec{b: x.fdata, p: int(binary.LittleEndian.Uint32(x.funcs[i*funcRecord+4:]))}
	f.flags = d.u()
	if f.flags&fParent != 0 {
		d.u()
	}
	if f.flags&fSym != 0 {
		f.nameID = d.u()
	}
	f.symbolID = f.nameID
	if f.flags&fAliases != 0 {
		f.aliases = d
		n := d.u()
		at := d.p
		for k := uint64(0); k < n && !d.bad; k++ {
			d.u()
		}
		if c := d.u(); c > 0 && c <= n {
			e := dec{b: d.b, p: at}
			for k := uint64(0); k < c; k++ {
				f.symbolID = e.u()
			}
		}
	}
	if f.flags&fDWARF != 0 {
		if f.flags&fLinkSame != 0 {
			f.linkageID = f.nameID
		} else {
			f.linkageID = d.u()
		}
		f.shortMode, f.shortLen, f.shortRef = decodeAffix(&d)
		f.classMode, f.classLen, f.classRef = decodeAffix(&d)
		f.declFile, f.declLine = d.u(), d.u()
		if f.flags&fParams != 0 {
			f.paramsOff = d.u()
		}
	}
	if f.flags&fSymFile != 0 {
		f.symFile = d.u()
	}
	if f.flags&fRows != 0 {
		f.rows = d.bytes()
		if f.flags&fRowIndex != 0 {
			f.rowIndex = d.bytes()
		}
	}
	if f.flags&fInline != 0 {
		f.inline = d.bytes()
	}
	if f.flags&fCalls != 0 {
		f.calls = d
	}
	return f
}

func decodeAffix(d *dec) (mode, n uint64, ref [2]uint64) {
	switch mode = d.u(); mode {
	case 1:
		n = d.u()
	case 2:
		ref[0] = d.u()
		ref[1] = d.u()
	}
	return
}

// funcNames decodes the function's names: the most qualified symbol (or
// the DWARF name without one), the linkage name, the short name and the
// class.
func (x *Index) funcNames(f *funcData) (name, linkage, short, class string) {
	if f.flags&fSym != 0 {
		name = x.names.name(f.nameID)
	}
	if f.flags&fDWARF == 0 {
		return name, "", "", ""
	}
	linkage = name
	if f.flags&fLinkSame == 0 {
		linkage = x.names.name(f.linkageID)
	}
	base := linkage
	if base == "" && f.flags&fSym != 0 {
		base = name
	}
	short = x.affix(base, f.shortMode, f.shortLen, f.shortRef, true)
	class = x.affix(base, f.classMode, f.classLen, f.classRef, false)
	if f.flags&fSym == 0 {
		name = linkage
		if name == "" {
			name = short
		}
	}
	return name, linkage, short, class
}

// frameName is the name llvm-symbolizer gives the outermost frame.
func (x *Index) frameName(f *funcData) string {
	if f.flags&fSym != 0 {
		return x.names.name(f.symbolID)
	}
	name, _, _, _ := x.funcNames(f)
	return name
}

func (x *Index) dstr(d *dec) string {
	off := d.u()
	return x.str(off, d.u())
}

func (x *Index) affix(base string, mode, n uint64, ref [2]uint64, suffix bool) string {
	switch mode {
	case 1:
		if n > uint64(len(base)) {
			return ""
		}
		if suffix {
			return base[uint64(len(base))-n:]
		}
		return base[:n]
	case 2:
		return x.str(ref[0], ref[1])
	}
	return ""
}

// Function returns function i (0 ≤ i < NumFunctions; others give a zero
// Function with Index -1).
func (x *Index) Function(i int) Function {
	if i < 0 || i >= x.n {
		return Function{Index: -1, Parent: -1}
	}
	f := x.decodeFunc(i)
	start := x.start(i)
	name, linkage, short, class := x.funcNames(&f)
	fn := Function{
		Index: i, Start: start, End: start + x.size(i), Parent: x.parent(i),
		Name: name, LinkageName: linkage, ShortName: short, Class: class,
		HasThis:  f.flags&fThis != 0,
		DeclFile: x.file(f.declFile), DeclLine: int(min(f.declLine, 1<<31-1)),
		HasDWARF: f.flags&fDWARF != 0,
		HasLines: hasLines(f.rows),
		HasCode:  f.flags&fCalls != 0,
	}
	fn.Symbol, fn.Aliases = x.symbolNames(&f, name)
	if f.flags&fParams != 0 {
		d := dec{b: x.params, p: int(min(f.paramsOff, uint64(len(x.params))))}
		n := d.u()
		for k := uint64(0); k < n && !d.bad; k++ {
			fn.Params = append(fn.Params, x.dstr(&d))
			fn.ParamNames = append(fn.ParamNames, x.dstr(&d))
		}
	}
	return fn
}

// Names are the fields of Function that name it.
type Names struct {
	Name, Symbol, LinkageName, ShortName, Class string
	Aliases                                     []string
}

// Names returns what names function i (the same as its Function's fields)
// without decoding its parameters or declaration: a cheap first test when
// matching printed frames against many functions. An i out of range gives
// zero Names.
func (x *Index) Names(i int) Names {
	if i < 0 || i >= x.n {
		return Names{}
	}
	f := x.decodeFunc(i)
	var n Names
	n.Name, n.LinkageName, n.ShortName, n.Class = x.funcNames(&f)
	n.Symbol, n.Aliases = x.symbolNames(&f, n.Name)
	return n
}

// symbolNames decodes a function's symbol (name when the name is its
// symbol's) and the other symbols at its address.
func (x *Index) symbolNames(f *funcData, name string) (symbol string, aliases []string) {
	if f.flags&fSym != 0 {
		symbol = name
	}
	if f.flags&fAliases != 0 {
		d := f.aliases
		k := d.u()
		for j := uint64(0); j < k && !d.bad && j < 1<<16; j++ {
			id := d.u()
			aliases = append(aliases, x.names.name(id))
			if id == f.symbolID {
				symbol = aliases[len(aliases)-1]
			}
		}
	}
	return symbol, aliases
}

// Lookup returns the answer at addr: the innermost function, its inlined
// subroutines and the line of each. Rows never leak across functions: when
// no row of the function starts at or before addr, NoLine is set instead of
// answering with the previous function's row.
//
// Names follow llvm-symbolizer: the outermost frame is named by the symbol
// table (Function.Symbol) when a symbol starts the function, else by its
// DWARF linkage name (else DW_AT_name); inlined frames by their DWARF
// linkage name (else DW_AT_name). Names are not demangled.
func (x *Index) Lookup(addr uint64) Answer { return x.lookup(addr, nil) }

// LookupAppend is Lookup appending the frames to buf, to reuse memory.
func (x *Index) LookupAppend(addr uint64, buf []Frame) Answer {
	return x.lookup(addr, buf[:0])
}

func (x *Index) lookup(addr uint64, buf []Frame) Answer {
	i, ok := x.FunctionAt(addr)
	if !ok {
		return Answer{Function: -1}
	}
	start := x.start(i)
	f := x.decodeFunc(i)
	a := Answer{Function: i}

	// The row in force.
	row, found := rowAt(f.rows, f.rowIndex, start, addr)

	// The inlined subroutines around addr, innermost first.
	var nodes []inlineNode
	var nodeBuf [8]inlineNode
	if f.inline != nil {
		nodes = x.inlineChain(f.inline, start, addr, nodeBuf[:0])
	}

	frames := buf
	if cap(frames)-len(frames) < len(nodes)+1 {
		frames = append(make([]Frame, 0, len(frames)+len(nodes)+1), frames...)
	}
	for _, n := range nodes {
		fr := Frame{FunctionName: x.names.name(n.nameID), StartFile: x.file(n.declFile), StartLine: clampInt(n.declLine), Inlined: true}
		if n.low > 0 {
			fr.StartAddress, fr.HasStartAddress = start+n.low-1, true
		}
		frames = append(frames, fr)
	}
	outer := Frame{FunctionName: x.frameName(&f), StartFile: x.file(f.declFile), StartLine: clampInt(f.declLine)}
	if f.flags&(fSym|fLowPC) != 0 {
		outer.StartAddress, outer.HasStartAddress = start, true
	}
	frames = append(frames, outer)
	if found && row.file != 0 {
		frames[0].File = x.file(row.file)
		frames[0].Line, frames[0].Column, frames[0].Discriminator = clampInt(row.line), clampInt(row.col), clampInt(row.disc)
		a.RowAddress = row.addr
	} else {
		a.NoLine = true
	}
	for j := 1; j < len(frames); j++ {
		n := nodes[j-1]
		frames[j].File = x.file(n.callFile)
		frames[j].Line, frames[j].Column, frames[j].Discriminator = clampInt(n.callLine), clampInt(n.callCol), clampInt(n.callDisc)
	}
	if last := &frames[len(frames)-1]; last.File == "" && f.flags&fSymFile != 0 {
		last.File = x.file(f.symFile)
	}
	a.Frames = frames
	return a
}

// lineRow is a decoded row.
type lineRow struct {
	addr                  uint64
	file, line, col, disc uint64
}

// rowAt decodes rows (see the package documentation) up to addr and returns
// the last one starting at or before it. It is the hot loop of Lookup: the
// one-byte varints are read inline.
func rowAt(b, index []byte, start, addr uint64) (lineRow, bool) {
	var cur lineRow
	cur.addr = start
	found := false
	p := 0
	// With a row index, start from the last checkpoint at or before addr.
	if n := len(index) / rowCheckpoint; n > 0 && addr >= start {
		off := addr - start
		lo, hi := 0, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if uint64(binary.LittleEndian.Uint32(index[m*rowCheckpoint:])) <= off {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo > 0 {
			c := index[(lo-1)*rowCheckpoint:]
			if q := int(binary.LittleEndian.Uint32(c[4:])); q <= len(b) {
				cur = lineRow{
					addr: start + uint64(binary.LittleEndian.Uint32(c)),
					file: uint64(binary.LittleEndian.Uint32(c[8:])), line: uint64(binary.LittleEndian.Uint32(c[12:])),
					col: uint64(binary.LittleEndian.Uint32(c[16:])), disc: uint64(binary.LittleEndian.Uint32(c[20:])),
				}
				p, found = q, true
			}
		}
	}
	next := func() (uint64, bool) {
		if p < len(b) && b[p] < 0x80 {
			p++
			return uint64(b[p-1]), true
		}
		if p >= len(b) {
			return 0, false
		}
		v, n := binary.Uvarint(b[p:])
		if n <= 0 {
			return 0, false
		}
		p += n
		return v, true
	}
	for p < len(b) {
		h, ok1 := next()
		delta, ok2 := next()
		a := cur.addr + delta
		if !ok1 || !ok2 || a > addr || a < cur.addr {
			break
		}
		cur.addr = a
		cur.line = uint64(int64(cur.line) + unzigzag(h>>3))
		if h&7 != 0 {
			var ok bool
			if h&1 != 0 {
				if cur.file, ok = next(); !ok {
					break
				}
			}
			if h&2 != 0 {
				if cur.col, ok = next(); !ok {
					break
				}
			}
			cur.disc = 0
			if h&4 != 0 {
				if cur.disc, ok = next(); !ok {
					break
				}
			}
		} else {
			cur.disc = 0
		}
		found = true
	}
	return cur, found
}

// inlineNode is one inlined subroutine record.
type inlineNode struct {
	parent                      uint64 // 0: the function itself
	nameID                      uint64
	declFile, declLine          uint64
	callFile, callLine, callCol uint64
	callDisc                    uint64
	low                         uint64 // 1 + offset of DW_AT_low_pc, 0: none
}

// inlineChain finds the interval holding addr and returns its node and the
// node's ancestors, innermost first.
func (x *Index) inlineChain(b []byte, start, addr uint64, out []inlineNode) []inlineNode {
	d := dec{b: b}
	nnodes, nsegs := d.u(), d.u()
	if d.bad || addr < start || nnodes > uint64(len(b)) || nsegs > uint64(len(b)) ||
		nnodes*inlineNodeSize+nsegs*inlineSegSize > uint64(len(b)-d.p) {
		return out
	}
	nodes := b[d.p : d.p+int(nnodes)*inlineNodeSize]
	segs := b[d.p+len(nodes) : d.p+len(nodes)+int(nsegs)*inlineSegSize]
	off := addr - start
	lo, hi := 0, int(nsegs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint64(binary.LittleEndian.Uint32(segs[m*inlineSegSize:])) <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return out
	}
	sg := segs[(lo-1)*inlineSegSize:]
	if off >= uint64(binary.LittleEndian.Uint32(sg[4:])) {
		return out
	}
	k := uint64(binary.LittleEndian.Uint32(sg[8:]))
	for steps := 0; k < nnodes && steps < 256; steps++ {
		r := nodes[k*inlineNodeSize:]
		field := func(i int) uint64 { return uint64(binary.LittleEndian.Uint32(r[4*i:])) }
		n := inlineNode{parent: field(0), nameID: field(1), declFile: field(2), declLine: field(3),
			callFile: field(4), callLine: field(5), callCol: field(6), callDisc: field(7), low: field(8)}
		out = append(out, n)
		if n.parent == 0 || n.parent-1 >= k {
			break
		}
		k = n.parent - 1
	}
	return out
}

// ReturnAddressAt reports whether the instruction that ends at addr is a
// call, so that addr is a return address (look up addr−1) rather than a
// faulting instruction (look up addr). known is false when the index was
// built without the executable's code, or addr follows no indexed function.
func (x *Index) ReturnAddressAt(addr uint64) (known, isReturn bool) {
	if x.flags&metaHasCode == 0 || addr == 0 {
		return false, false
	}
	i, ok := x.FunctionAt(addr - 1)
	if !ok {
		return false, false
	}
	f := x.decodeFunc(i)
	if f.flags&fCalls == 0 {
		return false, false
	}
	d := f.calls
	n := d.u()
	c := x.start(i)
	for k := uint64(0); k < n && !d.bad; k++ {
		c += d.u()
		if c == addr {
			return true, true
		}
		if c > addr {
			break
		}
	}
	return true, false
}

// hasLines reports whether some row names a file.
func hasLines(rows []byte) bool {
	d := dec{b: rows}
	for d.p < len(d.b) && !d.bad {
		h := d.u()
		d.u()
		if h&1 != 0 && d.u() != 0 {
			return true
		}
		if h&2 != 0 {
			d.u()
		}
		if h&4 != 0 {
			d.u()
		}
	}
	return false
}

// maxNesting bounds how many enclosing functions FunctionAt looks through.
const maxNesting = 64

func clampInt(v uint64) int { return int(min(v, 1<<31-1)) }

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// dec decodes varints and strings; on malformed input it sets bad and
// returns zeros instead of panicking.
type dec struct {
	b   []byte
	p   int
	bad bool
}

func (d *dec) u() uint64 {
	if d.p < len(d.b) {
		if c := d.b[d.p]; c < 0x80 {
			d.p++
			return uint64(c)
		}
	}
	if d.p >= len(d.b) || d.p < 0 {
		d.bad = true
		return 0
	}
	v, n := binary.Uvarint(d.b[d.p:])
	if n <= 0 {
		d.bad = true
		d.p = len(d.b)
		return 0
	}
	d.p += n
	return v
}

func (d *dec) bytes() []byte {
	n := d.u()
	if d.bad || n > uint64(len(d.b)-d.p) {
		d.bad = true
		return nil
	}
	b := d.b[d.p : d.p+int(n) : d.p+int(n)]
	d.p += int(n)
	return b
}
