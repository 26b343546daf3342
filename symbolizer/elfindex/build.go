package elfindex

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
)

// SizedReaderAt is a file Build reads: an *os.File section, a
// *bytes.Reader, a store.File. It has the method set of store.SizedReaderAt.
type SizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// Extension adds a named section to an index. Build calls it after the core
// index is built and stores the bytes it returns under its name;
// Index.Extension returns them.
type Extension interface {
	// Name names the section: 1 to MaxExtensionName bytes.
	Name() string
	Build(core *Index) ([]byte, error)
}

// Options tune Build.
type Options struct {
	// Code is the executable whose instructions tell return addresses from
	// faulting ones. When nil, Build's exe argument is used; when that is nil
	// too (or has no code), ReturnAddressAt answers known=false.
	Code SizedReaderAt
	// Extensions are built after the core index and stored in it.
	Extensions []Extension
	// Limits cap what is read; zero fields take the defaults.
	Limits Limits
	// LookupOnly builds an index for lookups alone, as a one-shot
	// `aotsym lookup` does: Lookup, FunctionAt, Range and ReturnAddressAt
	// answer exactly as from a full index, but Function leaves Params,
	// ParamNames, HasThis and Class empty (parameter types, classes and
	// namespaces are not read, which is most of the DWARF entries kept).
	// Index.LookupOnly tells such an index apart. Do not store one: the
	// symbolizer matches .NET frames by parameters and classes.
	LookupOnly bool
}

// Stats describe a built index.
type Stats struct {
	Functions       int // entries of the function table
	Symbols         int // code symbols read (.symtab, else .dynsym)
	DWARFFunctions  int // subprograms with code
	CompileUnits    int
	LineRows        int // rows stored (bounded by function)
	InlineNodes     int // inlined subroutines stored
	Files           int // distinct source paths stored
	ReturnAddresses int // call instructions found in the code
	HasCode         bool
	Bytes           int
	// Warnings name compile units left out because they could not be
	// decoded.
	Warnings []string
	Elapsed  time.Duration
}

// Build reads an executable and/or its debug file (either may be nil, not
// both) and returns the index bytes. DWARF comes from the debug file when it
// has any, else from the executable; symbols from .symtab (debug file first),
// else .dynsym; code from opts.Code or exe. The two files must have the same
// build ID. Errors carry aotsym codes: EINVALID for a malformed or unusable
// file, ETOOLARGE over a limit.
func Build(debug, exe SizedReaderAt, opts Options) ([]byte, Stats, error) {
	return BuildContext(context.Background(), debug, exe, opts)
}

// BuildContext is Build with a context that can stop it between phases.
func BuildContext(ctx context.Context, debug, exe SizedReaderAt, opts Options) (out []byte, st Stats, err error) {
	t0 := time.Now()
	defer func() {
		if p := recover(); p != nil {
			recoveredPanics.Add(1)
			out, err = nil, coded(formatErr("input", "", -1, nil, "cannot be indexed: unexpected failure while reading it (%v); please report this with the file", p))
		}
		st.Elapsed = time.Since(t0)
	}()
	if isNil(debug) && isNil(exe) {
		return nil, st, aotsym.Errorf(aotsym.EINVALID, "nothing to index: give a debug file, an executable, or both")
	}
	b := &builder{ctx: ctx, lim: opts.Limits.withDefaults(), files: newFileTable(), lookupOnly: opts.LookupOnly}
	if err := b.open(debug, exe, opts.Code); err != nil {
		return nil, st, coded(err)
	}
	data, err := b.build()
	if err != nil {
		return nil, b.stats, coded(err)
	}
	if len(opts.Extensions) > 0 {
		if data, err = addExtensions(data, opts.Extensions); err != nil {
			return nil, b.stats, err
		}
	}
	b.stats.Bytes = len(data)
	return data, b.stats, nil
}

// isNil reports whether r is nil or a typed nil pointer.
func isNil(r SizedReaderAt) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

type builder struct {
	ctx        context.Context
	lim        Limits
	lookupOnly bool
	dbg        *elfFile // either may be nil
	exe        *elfFile
	code       *elfFile // the file whose code is read, or nil
	main       *elfFile // dbg, else exe
	info       Info

	syms []symbol
	// symFiles are the STT_FILE names that symbol.file indexes.
	symFiles []string
	exec     []execRange
	di       *dwarfInfo
	files    *fileTable

	entries []*entry
	calls   []uint64 // sorted return addresses
	stats   Stats

	seqIdx []seqRef // every sequence by lo, built on first need
	cuIdx  []seqRef // every compile unit range by lo

	noIdent *ident // names an inlined subroutine whose origin is no subprogram

	callsDone chan error // the call sweep's outcome, once b.calls is complete
}

// entry is one function of the table being built.
type entry struct {
	start, end uint64
	dwarfEnd   uint64
	syms       []symbol // symbols at start
	unit       *cuData
	root       *rootRec
	inherited  bool // root belongs to the enclosing entry
	parent     int
}

func (b *builder) open(debug, exe, code SizedReaderAt) error {
	var err error
	if !isNil(debug) {
		if b.dbg, err = openELF(debug, debug.Size(), "debug file", b.lim); err != nil {
			return err
		}
	}
	if !isNil(exe) {
		if b.exe, err = openELF(exe, exe.Size(), "executable", b.lim); err != nil {
			return err
		}
	}
	b.main = b.dbg
	if b.main == nil {
		b.main = b.exe
	}
	b.info = b.main.info()
	if b.dbg != nil && b.exe != nil {
		ei := b.exe.info()
		if b.info.BuildID != "" && ei.BuildID != "" && b.info.BuildID != ei.BuildID {
			return aotsym.Errorf(aotsym.EINVALID, "the debug file has build ID %s but the executable %s: they are not from the same build", b.info.BuildID, ei.BuildID)
		}
		if b.dbg.f.Machine != b.exe.f.Machine {
			return aotsym.Errorf(aotsym.EINVALID, "the debug file is for %s but the executable for %s", archName(b.dbg.f.Machine), archName(b.exe.f.Machine))
		}
		if b.info.BuildID == "" {
			b.info.BuildID = ei.BuildID
		}
		if b.info.GoBuildID == "" {
			b.info.GoBuildID = ei.GoBuildID
		}
	}
	switch {
	case !isNil(code) && code != exe:
		if b.code, err = openELF(code, code.Size(), "executable", b.lim); err != nil {
			return err
		}
		if b.code.f.Machine != b.main.f.Machine {
			return aotsym.Errorf(aotsym.EINVALID, "the code file is for %s but the debug file for %s", archName(b.code.f.Machine), archName(b.main.f.Machine))
		}
	case b.exe != nil:
		b.code = b.exe
	}
	if b.code != nil && (!b.code.info().HasCode || !canFindCalls(b.code.f.Machine)) {
		b.code = nil
	}
	return nil
}

func (b *builder) check() error {
	if err := b.ctx.Err(); err != nil {
		return aotsym.Errorf(aotsym.EINTERNAL, "indexing stopped: %v", err)
	}
	return nil
}

func (b *builder) build() ([]byte, error) {
	// Symbols and DWARF sections are read concurrently.
	var wg sync.WaitGroup
	var symErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if p := recover(); p != nil {
				recoveredPanics.Add(1)
				symErr = formatErr("debug file", ".symtab", -1, nil, "malformed symbol table (%v)", p)
			}
		}()
		symErr = b.readSymbols()
	}()
	dwErr := b.readDWARF()
	wg.Wait()
	if symErr != nil {
		return nil, symErr
	}
	if dwErr != nil {
		return nil, dwErr
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	b.exec = b.main.execSections()
	if len(b.exec) == 0 && b.exe != nil {
		b.exec = b.exe.execSections()
	}
	if err := b.makeEntries(); err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	// The call sweep runs on one core while the encoder prepares the
	// entries on the other; encode waits for it before it writes them.
	b.callsDone = make(chan error, 1)
	if b.code == nil {
		b.callsDone <- nil
	} else {
		go func() {
			var err error
			defer func() {
				if p := recover(); p != nil {
					recoveredPanics.Add(1)
					err = formatErr(b.code.role, ".text", -1, nil, "cannot disassemble the code (%v)", p)
				}
				b.callsDone <- err
			}()
			err = b.findCalls()
		}()
	}
	return b.encode()
}

// readSymbols reads the first symbol table that names code: .symtab of the
// debug file, of the executable, then .dynsym of each.
func (b *builder) readSymbols() error {
	var files []*elfFile
	for _, f := range []*elfFile{b.dbg, b.exe} {
		if f != nil {
			files = append(files, f)
		}
	}
	for _, typ := range []elf.SectionType{elf.SHT_SYMTAB, elf.SHT_DYNSYM} {
		for _, f := range files {
			for _, s := range f.f.Sections {
				if s.Type != typ || !hasData(s) {
					continue
				}
				syms, files, err := f.symbols(s)
				if err != nil {
					return err
				}
				if len(syms) > 0 {
					b.syms, b.symFiles = syms, files
					b.stats.Symbols = len(syms)
					return nil
				}
			}
		}
	}
	return nil
}

// DWARF sections read; the others (.debug_loc, .debug_frame, …) are not needed.
var dwarfSections = []string{"abbrev", "info", "line", "str", "ranges", "addr", "line_str", "str_offsets", "rnglists"}

func (b *builder) readDWARF() error {
	var src *elfFile
	for _, f := range []*elfFile{b.dbg, b.exe} {
		if f != nil && hasData(f.section(".debug_info")) {
			src = f
			break
		}
	}
	if src == nil {
		return nil
	}
	data := make([][]byte, len(dwarfSections))
	errs := make([]error, len(dwarfSections))
	var wg sync.WaitGroup
	for i, n := range dwarfSections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					recoveredPanics.Add(1)
					errs[i] = formatErr(src.role, ".debug_"+n, -1, nil, "malformed section (%v)", p)
				}
			}()
			data[i], errs[i] = src.data(src.section(".debug_" + n))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	get := func(n string) []byte { return data[indexOf(dwarfSections, n)] }
	d := &dwarfData{role: src.role, order: src.f.ByteOrder, lookupOnly: b.lookupOnly,
		abbrev: get("abbrev"), info: get("info"), line: get("line"), str: get("str"), ranges: get("ranges"),
		addr: get("addr"), lineStr: get("line_str"), strOffsets: get("str_offsets"), rnglists: get("rnglists")}
	d.rowBudget.Store(int64(len(d.line)) / 2)
	units, err := unitSpans(d.info, d.order, src.role)
	if err != nil {
		return err
	}
	for _, u := range units {
		d.prepare(u)
	}
	warnings, err := walkDWARF(d, units, b.lim)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		b.stats.Warnings = append(b.stats.Warnings, w.Error())
	}
	b.di = &dwarfInfo{units: units, files: b.files}
	b.stats.CompileUnits = len(units)
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// radixOrder returns the order that sorts keys, stable: a least
// significant digit radix sort, a byte at a time, skipping the bytes all
// keys share.
// permute reorders a in place so that a[k] becomes the old a[perm[k]],
// following each cycle of the permutation once; perm is used up (its entries
// are overwritten to mark what has moved).
func permute[T any](a []T, perm []int32) {
	for i := range perm {
		if perm[i] < 0 || int(perm[i]) == i {
			continue
		}
		tmp := a[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				a[j] = tmp
				break
			}
			a[j] = a[k]
			j = k
		}
	}
}

func radixOrder(keys []uint64) []int32 {
	idx := make([]int32, len(keys))
	for i := range idx {
		idx[i] = int32(i)
	}
	if len(keys) < 2 {
		return idx
	}
	tmp := make([]int32, len(keys))
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for _, k := range keys {
			count[k>>shift&0xff]++
		}
		if count[keys[0]>>shift&0xff] == len(keys) {
			continue // every key has this byte
		}
		pos := 0
		for d := range count {
			c := count[d]
			count[d] = pos
			pos += c
		}
		for _, i := range idx {
			d := keys[i] >> shift & 0xff
			tmp[count[d]] = i
			count[d]++
		}
		idx, tmp = tmp, idx
	}
	return idx
}

// nextStart returns the lower of syms[i]'s and dws[j]'s addresses (either
// may be past its end).
func nextStart[D any](syms []symbol, i int, dws []D, j int, start func(D) uint64) uint64 {
	switch {
	case i == len(syms):
		return start(dws[j])
	case j == len(dws):
		return syms[i].value
	}
	return min(syms[i].value, start(dws[j]))
}

// execAt returns the executable section holding addr.
func (b *builder) execAt(addr uint64) (execRange, bool) {
	i := sort.Search(len(b.exec), func(i int) bool { return b.exec[i].end > addr })
	if i < len(b.exec) && b.exec[i].start <= addr {
		return b.exec[i], true
	}
	return execRange{}, false
}

// makeEntries merges symbols and DWARF subprograms into the function table:
// one entry per start address, sorted, each with its end, its enclosing
// entry (if nested) and its DWARF subprogram.
func (b *builder) makeEntries() error {
	codeAddr := func(a uint64) bool {
		if len(b.exec) == 0 {
			return true
		}
		_, ok := b.execAt(a)
		return ok
	}
	// The symbols and the DWARF ranges in code, each by address (stable:
	// in table order, resp. DWARF order, at one address), then merged.
	// In place: the symbol table is the biggest thing a build holds (64
	// bytes a symbol), so it is filtered and ordered without a copy.
	syms := b.syms[:0]
	for _, s := range b.syms {
		if codeAddr(s.value) {
			syms = append(syms, s)
		}
	}
	clear(b.syms[len(syms):]) // drop the names of the symbols left out
	b.syms = nil
	keys := make([]uint64, len(syms))
	for i := range syms {
		keys[i] = syms[i].value
	}
	permute(syms, radixOrder(keys))
	type dwarfStart struct {
		start, end uint64
		root       *rootRec
		unit       *cuData
	}
	var dws []dwarfStart
	if b.di != nil {
		for _, u := range b.di.units {
			for ri := range u.roots {
				root := &u.roots[ri]
				b.stats.DWARFFunctions++
				for _, r := range root.ranges {
					if !codeAddr(r[0]) {
						continue // a discarded function (address 0 or a tombstone)
					}
					dws = append(dws, dwarfStart{r[0], r[1], root, u})
				}
			}
		}
	}
	keys = keys[:0]
	for _, d := range dws {
		keys = append(keys, d.start)
	}
	sorted := make([]dwarfStart, 0, len(dws))
	for _, k := range radixOrder(keys) {
		sorted = append(sorted, dws[k])
	}
	dws = sorted
	n := 0
	for i, j := 0, 0; i < len(syms) || j < len(dws); n++ {
		a := nextStart(syms, i, dws, j, func(d dwarfStart) uint64 { return d.start })
		for i < len(syms) && syms[i].value == a {
			i++
		}
		for j < len(dws) && dws[j].start == a {
			j++
		}
	}
	if n > b.lim.MaxFunctions {
		return formatErr(b.main.role, "", -1, ErrLimit, "%d functions, over the limit of %d", n, b.lim.MaxFunctions)
	}
	pool := make([]entry, n)
	all := make([]*entry, n)
	for i, j, k := 0, 0, 0; k < n; k++ {
		a := nextStart(syms, i, dws, j, func(d dwarfStart) uint64 { return d.start })
		e := &pool[k]
		*e = entry{start: a, parent: -1}
		from := i
		for i < len(syms) && syms[i].value == a {
			i++
		}
		e.syms = syms[from:i:i]
		if j < len(dws) && dws[j].start == a {
			// The first subprogram in DWARF order that starts here.
			e.root, e.unit, e.dwarfEnd = dws[j].root, dws[j].unit, dws[j].end
			for j < len(dws) && dws[j].start == a {
				j++
			}
		}
		e.end = e.dwarfEnd
		for _, s := range e.syms {
			if end := s.value + s.size; end > e.end && end > s.value {
				e.end = end
			}
		}
		all[k] = e
	}
	// A symbol of size 0 (and no DWARF) runs to the next function or the end
	// of its section, as llvm-symbolizer reads it.
	kept := all[:0]
	for i, e := range all {
		if e.end <= e.start {
			end := uint64(0)
			if sec, ok := b.execAt(e.start); ok {
				end = sec.end
			}
			if i+1 < len(all) && (end == 0 || all[i+1].start < end) {
				end = all[i+1].start
			}
			e.end = end
		}
		if e.end > e.start {
			kept = append(kept, e)
		}
	}
	all = kept
	// Nesting: the parent of an entry is the nearest earlier one that still
	// covers its start. A nested entry of size 0 ends with its parent at
	// the latest, and one without DWARF of its own uses its parent's.
	var stack []int
	for i, e := range all {
		for len(stack) > 0 && all[stack[len(stack)-1]].end <= e.start {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			p := all[stack[len(stack)-1]]
			e.parent = stack[len(stack)-1]
			if e.dwarfEnd == 0 && !e.sized() && e.end > p.end {
				e.end = p.end
			}
			if e.root == nil && p.root != nil {
				e.root, e.unit, e.inherited = p.root, p.unit, true
			}
		}
		stack = append(stack, i)
	}
	b.entries = all
	b.stats.Functions = len(all)
	return nil
}

func (e *entry) sized() bool {
	for _, s := range e.syms {
		if s.size > 0 {
			return true
		}
	}
	return false
}

// findCalls sweeps the code of every outermost function for call
// instructions, in parallel.
func (b *builder) findCalls() error {
	secData := make(map[*elf.Section][]byte)
	codeExec := b.code.execSections()
	var jobs []struct {
		code []byte
		addr uint64
	}
	for _, e := range b.entries {
		if e.parent >= 0 {
			continue
		}
		i := sort.Search(len(codeExec), func(i int) bool { return codeExec[i].end > e.start })
		if i == len(codeExec) || codeExec[i].start > e.start {
			continue
		}
		sec := codeExec[i]
		if sec.sec.Type != elf.SHT_PROGBITS {
			continue
		}
		data, ok := secData[sec.sec]
		if !ok {
			var err error
			if data, err = b.code.data(sec.sec); err != nil {
				return err
			}
			secData[sec.sec] = data
		}
		lo, hi := e.start-sec.start, min(e.end, sec.end)-sec.start
		if hi > uint64(len(data)) || lo >= hi {
			continue
		}
		jobs = append(jobs, struct {
			code []byte
			addr uint64
		}{data[lo:hi], e.start})
	}
	// One core fewer than there are: the encoder prepares the entries on
	// the other meanwhile.
	workers := max(1, min(runtime.GOMAXPROCS(0)-1, len(jobs)/64+1))
	results := make([][]uint64, workers)
	err := b.inChunks(len(jobs), 16, workers, func(p any) error {
		return formatErr(b.code.role, ".text", -1, nil, "cannot disassemble the code (%v)", p)
	}, func(w, lo, hi int) error {
		for _, j := range jobs[lo:hi] {
			results[w] = callEnds(b.code.f.Machine, j.code, j.addr, results[w])
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range results {
		b.calls = append(b.calls, r...)
	}
	sort.Slice(b.calls, func(i, j int) bool { return b.calls[i] < b.calls[j] })
	b.stats.ReturnAddresses = len(b.calls)
	b.stats.HasCode = true
	return nil
}

// rowSpan is the line rows of one entry, as views of its sequence: a lead
// row (the row in force at the start of a nested entry, moved to its
// start), the rows that start inside the entry, and an end row where the
// sequence ends inside it.
type rowSpan struct {
	u       *cuData
	lead    row
	hasLead bool
	rows    []row
	end     uint64 // 0: none
	n       int    // rows in all
}

// each calls fn for every row with its global file ID (0: no line from
// here on).
func (b *builder) eachRow(s *rowSpan, start uint64, fn func(addr uint64, file uint32, r *row)) {
	if s.hasLead {
		fn(start, b.rowFile(s.u, s.lead.file), &s.lead)
	}
	for i := range s.rows {
		r := &s.rows[i]
		fn(r.addr, b.rowFile(s.u, r.file), r)
	}
	if s.end != 0 {
		fn(s.end, 0, &row{})
	}
}

// encodeRows writes rows relative to the function start: per row a header
// (zigzag line delta << 3 | file, column and discriminator flags), the
// address delta, then the fields that changed. It appends the row index's
// checkpoints to cps.
func (b *builder) encodeRows(out *[]byte, start uint64, s *rowSpan, cps []byte) []byte {
	w := enc{b: *out}
	var prevAddr uint64 = start
	var prevFile, prevLine, prevCol uint32
	i := 0
	b.eachRow(s, start, func(addr uint64, file uint32, r *row) {
		h := zigzag(int64(r.line) - int64(prevLine))
		h <<= 3
		if file != prevFile {
			h |= 1
		}
		if r.col != prevCol {
			h |= 2
		}
		if r.disc != 0 {
			h |= 4
		}
		w.u(h)
		w.u(addr - prevAddr)
		if h&1 != 0 {
			w.u(uint64(file))
		}
		if h&2 != 0 {
			w.u(uint64(r.col))
		}
		if h&4 != 0 {
			w.u(uint64(r.disc))
		}
		prevAddr, prevFile, prevLine, prevCol = addr, file, r.line, r.col
		if s.n > rowIndexMin && i%rowStride == rowStride-1 && i+1 < s.n {
			var c [rowCheckpoint]byte
			binary.LittleEndian.PutUint32(c[0:], uint32(addr-start))
			binary.LittleEndian.PutUint32(c[4:], uint32(len(w.b)))
			binary.LittleEndian.PutUint32(c[8:], file)
			binary.LittleEndian.PutUint32(c[12:], r.line)
			binary.LittleEndian.PutUint32(c[16:], r.col)
			binary.LittleEndian.PutUint32(c[20:], r.disc)
			cps = append(cps, c[:]...)
		}
		i++
	})
	*out = w.b
	return cps
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// rowsFor returns the line rows of an entry: only rows that start inside
// it, so that no row of another function answers for it. A nested entry
// (a label inside a function) also gets the row in force at its start when
// that row starts inside the enclosing function. The rows' files get their
// IDs later (assignFiles), in order.
func (b *builder) rowsFor(e *entry) rowSpan {
	if b.di == nil {
		return rowSpan{}
	}
	u := e.unit
	var s *sequence
	if u != nil {
		s = findSeq(u.seqs, e.start, e.end)
	}
	if s == nil {
		u, s = b.seqAnywhere(e.start, e.end)
	}
	if s == nil {
		return rowSpan{}
	}
	rs := s.rows
	i := firstRowAt(rs, e.start)
	j := i + firstRowAt(rs[i:], e.end)
	span := rowSpan{u: u, rows: rs[i:j:j]}
	if (i == len(rs) || rs[i].addr > e.start) && i > 0 && e.parent >= 0 && rs[i-1].addr >= b.entries[e.parent].start {
		span.lead, span.hasLead = rs[i-1], true
	}
	if s.hi < e.end && s.hi > e.start {
		span.end = s.hi
	}
	span.n = len(span.rows)
	if span.hasLead {
		span.n++
	}
	if span.end != 0 {
		span.n++
	}
	return span
}

func (b *builder) rowFile(u *cuData, f uint32) uint32 {
	if f == noFile {
		return 0
	}
	return b.di.fileID(u, int32(f))
}

// firstRowAt returns the index of the first row at or after addr.
func firstRowAt(rs []row, addr uint64) int {
	lo, hi := 0, len(rs)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); rs[m].addr < addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// findSeq picks the sequence of seqs (sorted by lo) that answers for
// [start, end): one with a row at start, else one containing start, else the
// first that overlaps.
func findSeq(seqs []sequence, start, end uint64) *sequence {
	i, hi := 0, len(seqs) // the first sequence starting after start
	for i < hi {
		if m := int(uint(i+hi) >> 1); seqs[m].lo <= start {
			i = m + 1
		} else {
			hi = m
		}
	}
	var containing *sequence
	for j := i - 1; j >= 0 && j >= i-64; j-- {
		s := &seqs[j]
		if s.hi > start {
			k := firstRowAt(s.rows, start)
			if k < len(s.rows) && s.rows[k].addr == start {
				return s
			}
			if containing == nil {
				containing = s
			}
		}
	}
	if containing != nil {
		return containing
	}
	if i < len(seqs) && seqs[i].lo < end {
		return &seqs[i]
	}
	return nil
}

// seqAnywhere finds the sequence for [start, end) in the unit whose ranges
// hold start, else in any unit.
func (b *builder) seqAnywhere(start, end uint64) (*cuData, *sequence) {
	b.buildSeqIndex()
	i := sort.Search(len(b.cuIdx), func(i int) bool { return b.cuIdx[i].lo > start })
	for j := i - 1; j >= 0 && j >= i-64; j-- {
		if r := b.cuIdx[j]; r.hi > start {
			if s := findSeq(r.u.seqs, start, end); s != nil {
				return r.u, s
			}
		}
	}
	i = sort.Search(len(b.seqIdx), func(i int) bool { return b.seqIdx[i].lo > start })
	for j := i - 1; j >= 0 && j >= i-64; j-- {
		if r := b.seqIdx[j]; r.hi > start {
			return r.u, &r.u.seqs[r.i]
		}
	}
	if i < len(b.seqIdx) && b.seqIdx[i].lo < end {
		return b.seqIdx[i].u, &b.seqIdx[i].u.seqs[b.seqIdx[i].i]
	}
	return nil, nil
}

type seqRef struct {
	lo, hi uint64
	u      *cuData
	i      int
}

func (b *builder) buildSeqIndex() {
	if b.seqIdx != nil {
		return
	}
	b.seqIdx = []seqRef{}
	for _, u := range b.di.units {
		for i, s := range u.seqs {
			b.seqIdx = append(b.seqIdx, seqRef{s.lo, s.hi, u, i})
		}
		for _, r := range u.ranges {
			b.cuIdx = append(b.cuIdx, seqRef{r[0], r[1], u, 0})
		}
	}
	sort.SliceStable(b.seqIdx, func(i, j int) bool { return b.seqIdx[i].lo < b.seqIdx[j].lo })
	sort.SliceStable(b.cuIdx, func(i, j int) bool { return b.cuIdx[i].lo < b.cuIdx[j].lo })
}

// addExtensions builds each extension over the core index and appends its
// section.
func addExtensions(core []byte, exts []Extension) ([]byte, error) {
	x, err := Open(core)
	if err != nil {
		return nil, err
	}
	secs := x.sections()
	seen := map[string]bool{}
	for _, ext := range exts {
		name := ext.Name()
		if name == "" || len(name) > MaxExtensionName || seen[name] {
			return nil, aotsym.Errorf(aotsym.EINTERNAL, "extension name %q: want 1 to %d bytes, unique", name, MaxExtensionName)
		}
		seen[name] = true
		data, err := ext.Build(x)
		if err != nil {
			return nil, fmt.Errorf("building index extension %q: %w", name, err)
		}
		secs = append(secs, section{extPrefix + name, data})
	}
	return writeIndex(secs)
}
