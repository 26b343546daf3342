package elfindex

import (
	"cmp"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// entryOut is an entry ready to be written: everything it says, names as
// provisional IDs of the name table of the worker w that prepared it
// (final once the tables are merged and sorted).
type entryOut struct {
	flags    uint64
	w        uint8
	name     string
	nameID   uint32
	aliases  []uint32
	choice   int // 0: name, k: aliases[k-1] (llvm-symbolizer's pick)
	id       *ident
	linkID   uint32 // the linkage name, unless it is the name (fLinkSame)
	pickFile string // the STT_FILE name of llvm-symbolizer's pick
	symFile  uint32
	rows     rowSpan
	inl      *inlineOut
	calls    []uint64
	// The short name and the class: mode (0 none, 1 affix, 2 string) and
	// the affix length or the string ref (encodeAffix).
	short, class [3]uint64
}

type inlineOut struct {
	segs  []inlineSeg
	nodes []nodeOut
}

type inlineSeg struct {
	lo, hi uint64
	node   int
}

type nodeOut struct {
	parent                      int // -1: the function
	nameID                      uint32
	id                          *ident
	callIdx                     int32 // line-table index of the call file
	declFile, declLine          uint32
	callFile, callLine, callCol uint32
	callDisc                    uint32
	low                         uint64 // 1 + offset of DW_AT_low_pc, 0: none
}

// encWorker is what one goroutine of the encoder keeps: its name table,
// caches and scratch memory.
type encWorker struct {
	names                 *nameTable
	sc                    inlineScratch
	rc                    resolveCache
	rowBuf, cpBuf, inlBuf []byte
}

// encode writes the index, in phases:
//
//  1. (parallel) each entry's names, identity, rows and inline ranges;
//  2. (in order) file IDs, in the order the entries meet the files;
//  3. the return addresses, once the call sweep is done;
//  4. the name tables merged and sorted: the final name IDs;
//  5. (in order) the strings and parameter lists, which get offsets;
//  6. (parallel) the records, in chunks then put end to end.
//
// The bytes are the same whatever the number of goroutines.
func (b *builder) encode() ([]byte, error) {
	n := len(b.entries)
	outs := make([]entryOut, n)
	if b.di != nil {
		b.buildSeqIndex()
	}
	b.noIdent = &ident{paramsOff: -1, declIdx: -1}
	nw := max(1, min(runtime.GOMAXPROCS(0), n/256, 255))
	ws := make([]*encWorker, nw)
	for i := range ws {
		ws[i] = &encWorker{names: newNameTable((n + n/2) / nw)}
	}
	err := b.inChunks(n, 512, nw, b.encodePanic, func(w, lo, hi int) error {
		for i := lo; i < hi; i++ {
			b.shape(&outs[i], b.entries[i], ws[w], w)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range outs {
		b.assignFiles(&outs[i], b.entries[i])
	}
	if err := <-b.callsDone; err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	b.addCalls(outs)
	tables := make([]*nameTable, nw)
	for i, w := range ws {
		tables[i] = w.names
	}
	nameSec := finishNames(tables)

	st := newStrtab()
	params := newParamTable()
	for i := range outs {
		b.addStrings(&outs[i], st, params)
	}
	var minAddr, maxAddr uint64
	if n > 0 {
		minAddr, maxAddr = b.entries[0].start, b.entries[n-1].start
	}
	wide := maxAddr-minAddr > 0xffffffff
	aw := 4
	if wide {
		aw = 8
	}
	addrs := make([]byte, n*aw)
	funcs := make([]byte, n*funcRecord)
	for i, e := range b.entries {
		if wide {
			binary.LittleEndian.PutUint64(addrs[i*8:], e.start-minAddr)
		} else {
			binary.LittleEndian.PutUint32(addrs[i*4:], uint32(e.start-minAddr))
		}
		size := e.end - e.start
		if size > 0xffffffff {
			return nil, formatErr(b.main.role, "", -1, nil, "function at %#x is %d bytes long; at most 4 GiB is supported", e.start, size)
		}
		binary.LittleEndian.PutUint32(funcs[i*funcRecord:], uint32(size))
	}
	// The records, in chunks of entries written in parallel, each into its
	// own buffer (with offsets from its start), then put end to end.
	const chunk = 1024
	type written struct {
		b           []byte
		rows, nodes int
	}
	chunks := make([]written, (n+chunk-1)/chunk)
	err = b.inChunks(n, chunk, nw, b.encodePanic, func(w, lo, hi int) error {
		// Room for about 3 bytes a row (4 with checkpoints), the inline
		// tables, the return addresses and the identities.
		est := 24 * (hi - lo)
		for i := lo; i < hi; i++ {
			o := &outs[i]
			est += 4*o.rows.n + 2*len(o.calls)
			if o.inl != nil {
				est += 2 + inlineNodeSize*len(o.inl.nodes) + inlineSegSize*len(o.inl.segs)
			}
		}
		c := &chunks[lo/chunk]
		out := enc{b: make([]byte, 0, est)}
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint32(funcs[i*funcRecord+4:], uint32(min(len(out.b), 0xffffffff)))
			rows, nodes := b.writeEntry(&out, tables, ws[w], i, b.entries[i], &outs[i])
			c.rows += rows
			c.nodes += nodes
		}
		c.b = out.b
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := 0
	for _, c := range chunks {
		total += len(c.b)
	}
	if uint64(total) > 0xffffffff {
		return nil, formatErr(b.main.role, "", -1, ErrLimit, "the function data exceeds 4 GiB")
	}
	fdata := make([]byte, 0, total)
	for k, c := range chunks {
		base := uint32(len(fdata))
		for i := k * chunk; i < min(n, (k+1)*chunk); i++ {
			rec := funcs[i*funcRecord+4:]
			binary.LittleEndian.PutUint32(rec, base+binary.LittleEndian.Uint32(rec))
		}
		fdata = append(fdata, c.b...)
		b.stats.LineRows += c.rows
		b.stats.InlineNodes += c.nodes
	}
	// Files last: rows and inline records have named all of theirs.
	files := make([]byte, 8*len(b.files.names))
	for i, name := range b.files.names {
		binary.LittleEndian.PutUint32(files[i*8:], st.add(name))
		binary.LittleEndian.PutUint32(files[i*8+4:], uint32(len(name)))
	}
	b.stats.Files = len(b.files.names) - 1
	if uint64(len(st.b)) > 0xffffffff || uint64(len(nameSec)) > 0xffffffff {
		return nil, formatErr(b.main.role, "", -1, ErrLimit, "the string tables exceed 4 GiB")
	}
	var meta enc
	meta.u(uint64(b.main.f.Machine))
	meta.bytes([]byte(b.info.Arch))
	meta.bytes([]byte(b.info.BuildID))
	meta.bytes([]byte(b.info.GoBuildID))
	meta.bytes([]byte(b.info.DebugLink))
	meta.u(b.info.ImageBase)
	meta.u(minAddr)
	flags := uint64(0)
	if b.stats.HasCode {
		flags |= metaHasCode
	}
	if wide {
		flags |= metaAddr64
	}
	if b.lookupOnly {
		flags |= metaLookupOnly
	}
	meta.u(flags)
	meta.u(uint64(n))
	meta.u(uint64(len(b.files.names)))
	meta.u(uint64(b.stats.LineRows))
	meta.u(uint64(b.stats.InlineNodes))
	meta.u(uint64(b.stats.Symbols))
	meta.u(uint64(b.stats.CompileUnits))
	return writeIndex([]section{
		{secMeta, meta.b},
		{secAddrs, addrs},
		{secFuncs, funcs},
		{secFData, fdata},
		{secParams, params.e.b},
		{secFiles, files},
		{secNames, nameSec},
		{secStrings, st.b},
	})
}

// encodePanic is the error of a panic while writing the index.
func (b *builder) encodePanic(p any) error {
	return formatErr(b.main.role, "", -1, nil, "cannot be indexed: unexpected failure while writing the index (%v); please report this with the file", p)
}

// inChunks calls fn for the chunks [lo, hi) of n items, size at a time,
// from nw goroutines (w is the goroutine's number). It stops at the first
// error or when the build is cancelled; a panic becomes the error onPanic
// makes of it.
func (b *builder) inChunks(n, size, nw int, onPanic func(p any) error, fn func(w, lo, hi int) error) error {
	var next atomic.Int64
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					recoveredPanics.Add(1)
					errs[w] = onPanic(p)
				}
			}()
			for {
				lo := int(next.Add(int64(size))) - size
				if lo >= n {
					return
				}
				if err := b.check(); err != nil {
					errs[w] = err
					next.Store(int64(n))
					return
				}
				if err := fn(w, lo, min(n, lo+size)); err != nil {
					errs[w] = err
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// nameOrder sorts the symbols at one address so that the most qualified
// comes first: sized before size 0, FUNC before NOTYPE, longer names, then
// alphabetical.
func nameOrder(syms []symbol) {
	if len(syms) < 2 {
		return
	}
	slices.SortStableFunc(syms, func(a, c symbol) int {
		if (a.size > 0) != (c.size > 0) {
			if a.size > 0 {
				return -1
			}
			return 1
		}
		if (a.typ == uint8(elf.STT_NOTYPE)) != (c.typ == uint8(elf.STT_NOTYPE)) {
			if c.typ == uint8(elf.STT_NOTYPE) {
				return -1
			}
			return 1
		}
		if len(a.name) != len(c.name) {
			return cmp.Compare(len(c.name), len(a.name))
		}
		return strings.Compare(a.name, c.name)
	})
}

// llvmChoice returns the symbol llvm-symbolizer names an address by when
// several start there: the largest, then the last in the symbol table.
func llvmChoice(syms []symbol) int {
	best := 0
	for i, s := range syms {
		c := syms[best]
		if s.size > c.size || (s.size == c.size && s.index > c.index) {
			best = i
		}
	}
	return best
}

// shape works out what entry e says, apart from its file IDs and string
// offsets (given in order by assignFiles and addStrings): its names (in
// w's name table), identity, rows and inline ranges.
func (b *builder) shape(o *entryOut, e *entry, w *encWorker, wi int) {
	o.w = uint8(wi)
	names := w.names
	if len(e.syms) > 0 {
		o.flags |= fSym
		nameOrder(e.syms)
		o.name = e.syms[0].name
		pick := e.syms[llvmChoice(e.syms)]
		var kept []string
		for _, s := range e.syms[1:] {
			if s.name == o.name || slices.Contains(kept, s.name) {
				continue
			}
			kept = append(kept, s.name)
			o.aliases = append(o.aliases, names.add(s.name))
			if s.name == pick.name {
				o.choice = len(o.aliases)
			}
		}
		if len(o.aliases) > 0 {
			o.flags |= fAliases
		}
		if pick.file > 0 {
			o.pickFile = b.symFiles[pick.file-1]
			o.flags |= fSymFile
		}
	}
	if e.parent >= 0 {
		o.flags |= fParent
	}
	if e.root != nil && !e.inherited {
		id := b.identOf(e.unit, int(e.root.sub), &w.rc)
		o.id = id
		o.flags |= fDWARF
		if o.name == "" {
			if o.name = id.linkage; o.name == "" {
				o.name = id.name
			}
		}
		if o.flags&fSym != 0 && id.linkage == o.name {
			o.flags |= fLinkSame
		} else {
			o.linkID = names.add(id.linkage)
		}
		if len(id.params) > 0 {
			o.flags |= fParams
		}
		if id.hasThis {
			o.flags |= fThis
		}
		if e.root.lowPC && o.flags&fSym == 0 {
			o.flags |= fLowPC
		}
	}
	o.nameID = names.add(o.name)
	if e.inherited {
		o.flags |= fInherited
	}
	if o.rows = b.rowsFor(e); o.rows.n > 0 {
		o.flags |= fRows
		if o.rows.n > rowIndexMin && e.end-e.start <= 0xffffffff {
			o.flags |= fRowIndex
		}
	}
	if e.root != nil && len(e.root.nodes) > 0 {
		if o.inl = b.inlineFor(e, names, &w.sc, &w.rc); o.inl != nil {
			o.flags |= fInline
		}
	}
}

// addCalls gives the entries their return addresses, once the sweep is
// done.
func (b *builder) addCalls(outs []entryOut) {
	if !b.stats.HasCode {
		return
	}
	for i, e := range b.entries {
		o := &outs[i]
		o.flags |= fCalls
		lo := sort.Search(len(b.calls), func(i int) bool { return b.calls[i] > e.start })
		hi := sort.Search(len(b.calls), func(i int) bool { return b.calls[i] > e.end })
		o.calls = b.calls[lo:hi]
	}
}

// assignFiles gives the files entry e names their IDs, in the order the
// entries are written: its symbol's file, its declaration's, its rows',
// then each inlined subroutine's declaration and call site.
func (b *builder) assignFiles(o *entryOut, e *entry) {
	if o.pickFile != "" {
		o.symFile = b.files.id(o.pickFile)
	}
	if o.id != nil {
		b.identFile(o.id)
	}
	if o.rows.n > 0 {
		if o.rows.hasLead {
			b.rowFile(o.rows.u, o.rows.lead.file)
		}
		for k := range o.rows.rows {
			b.rowFile(o.rows.u, o.rows.rows[k].file)
		}
	}
	if o.inl != nil {
		for k := range o.inl.nodes {
			nd := &o.inl.nodes[k]
			b.identFile(nd.id)
			nd.declFile = nd.id.declFile
			nd.callFile = b.di.fileID(e.unit, nd.callIdx)
		}
	}
}

// identFile gives an identity's declaration file its ID, once.
func (b *builder) identFile(id *ident) {
	if !id.fileDone {
		id.fileDone = true
		if id.declUnit != nil {
			id.declFile = b.di.fileID(id.declUnit, id.declIdx)
		}
	}
}

// addStrings gives the short name, the class and the parameter list of
// entry e their offsets in the string and parameter tables, in the order
// the entries are written.
func (b *builder) addStrings(o *entryOut, st *strtab, params *paramTable) {
	if o.flags&fDWARF == 0 {
		return
	}
	id := o.id
	base := o.name
	if o.flags&fLinkSame == 0 {
		if base = id.linkage; base == "" && o.flags&fSym != 0 {
			base = o.name
		}
	}
	o.short = affix(st, base, id.name, strings.HasSuffix)
	o.class = affix(st, base, id.class, strings.HasPrefix)
	if o.flags&fParams != 0 && id.paramsOff < 0 {
		id.paramsOff = int64(params.add(st, id.params, id.paramNames))
	}
}

// writeEntry writes one fdata record (layout in the package documentation)
// and returns the rows and inline nodes it holds.
func (b *builder) writeEntry(w *enc, tables []*nameTable, ew *encWorker, i int, e *entry, o *entryOut) (rows, nodes int) {
	names := tables[o.w]
	w.u(o.flags)
	if o.flags&fParent != 0 {
		w.u(uint64(i - e.parent))
	}
	if o.flags&fSym != 0 {
		w.u(names.id(o.nameID))
	}
	if o.flags&fAliases != 0 {
		w.u(uint64(len(o.aliases)))
		for _, a := range o.aliases {
			w.u(names.id(a))
		}
		w.u(uint64(o.choice))
	}
	if o.flags&fDWARF != 0 {
		id := o.id
		if o.flags&fLinkSame == 0 {
			w.u(names.id(o.linkID))
		}
		writeAffix(w, o.short)
		writeAffix(w, o.class)
		w.u(uint64(id.declFile))
		w.u(uint64(id.declLine))
		if o.flags&fParams != 0 {
			w.u(uint64(id.paramsOff))
		}
	}
	if o.flags&fSymFile != 0 {
		w.u(uint64(o.symFile))
	}
	if o.flags&fRows != 0 {
		ew.rowBuf = ew.rowBuf[:0]
		ew.cpBuf = b.encodeRows(&ew.rowBuf, e.start, &o.rows, ew.cpBuf[:0])
		w.bytes(ew.rowBuf)
		if o.flags&fRowIndex != 0 {
			w.bytes(ew.cpBuf)
		}
		rows = o.rows.n
	}
	if o.flags&fInline != 0 {
		in := enc{b: ew.inlBuf[:0]}
		in.u(uint64(len(o.inl.nodes)))
		in.u(uint64(len(o.inl.segs)))
		for _, n := range o.inl.nodes {
			for _, v := range [inlineNodeFields]uint32{uint32(n.parent + 1), uint32(names.id(n.nameID)), n.declFile, n.declLine,
				n.callFile, n.callLine, n.callCol, n.callDisc, uint32(n.low)} {
				in.b = binary.LittleEndian.AppendUint32(in.b, v)
			}
		}
		for _, sg := range o.inl.segs {
			in.b = binary.LittleEndian.AppendUint32(in.b, uint32(sg.lo-e.start))
			in.b = binary.LittleEndian.AppendUint32(in.b, uint32(sg.hi-e.start))
			in.b = binary.LittleEndian.AppendUint32(in.b, uint32(sg.node))
		}
		w.bytes(in.b)
		ew.inlBuf = in.b
		nodes = len(o.inl.nodes)
	}
	if o.flags&fCalls != 0 {
		w.u(uint64(len(o.calls)))
		prev := e.start
		for _, c := range o.calls {
			w.u(c - prev)
			prev = c
		}
	}
	return rows, nodes
}

// affix returns how a short name or class s is written: as a suffix
// (resp. prefix) of base when it is one (mode 1 and its length), else as a
// string (mode 2 and its ref); mode 0 is "none".
func affix(st *strtab, base, s string, is func(string, string) bool) [3]uint64 {
	switch {
	case s == "":
		return [3]uint64{0}
	case is(base, s):
		return [3]uint64{1, uint64(len(s))}
	}
	return [3]uint64{2, uint64(st.add(s)), uint64(len(s))}
}

func writeAffix(w *enc, a [3]uint64) {
	w.u(a[0])
	switch a[0] {
	case 1:
		w.u(a[1])
	case 2:
		w.u(a[1])
		w.u(a[2])
	}
}

// inlineScratch is memory inlineFor reuses from one entry to the next.
type inlineScratch struct {
	items  []inlineItem
	bounds []uint64
	heap   []heapItem
	used   []bool
	newIdx []int32
}

type inlineItem struct {
	lo, hi uint64
	k      int
}

// heapItem is an active inline range; the heap keeps the latest in DWARF
// order on top.
type heapItem struct {
	k  int
	hi uint64
}

func heapPush(h []heapItem, x heapItem) []heapItem {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].k >= h[i].k {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func heapPop(h []heapItem) []heapItem {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].k > h[m].k {
			m = l
		}
		if r < n && h[r].k > h[m].k {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h
}

// inlineFor works out an entry's inline ranges: the disjoint intervals where
// an inlined subroutine is innermost (the last one in DWARF order that
// covers an address, as llvm-symbolizer resolves overlaps), and the nodes
// they name with their ancestors, parents first.
func (b *builder) inlineFor(e *entry, names *nameTable, sc *inlineScratch, rc *resolveCache) *inlineOut {
	nodes := e.root.nodes
	items := sc.items[:0]
	for k, n := range nodes {
		for _, r := range n.ranges {
			lo, hi := max(r[0], e.start), min(r[1], e.end)
			if lo < hi {
				items = append(items, inlineItem{lo, hi, k})
			}
		}
	}
	sc.items = items
	if len(items) == 0 {
		return nil
	}
	slices.SortFunc(items, func(a, c inlineItem) int { return cmp.Compare(a.lo, c.lo) })
	bounds := sc.bounds[:0]
	for _, it := range items {
		bounds = append(bounds, it.lo, it.hi)
	}
	slices.Sort(bounds)
	sc.bounds = bounds
	var segs []inlineSeg
	h := sc.heap[:0]
	p := 0
	for bi := 0; bi+1 < len(bounds); bi++ {
		lo, hi := bounds[bi], bounds[bi+1]
		if lo == hi {
			continue
		}
		for p < len(items) && items[p].lo <= lo {
			h = heapPush(h, heapItem{items[p].k, items[p].hi})
			p++
		}
		for len(h) > 0 && h[0].hi <= lo {
			h = heapPop(h)
		}
		if len(h) == 0 {
			continue
		}
		k := h[0].k
		if n := len(segs); n > 0 && segs[n-1].hi == lo && segs[n-1].node == k {
			segs[n-1].hi = hi
		} else {
			segs = append(segs, inlineSeg{lo, hi, k})
		}
	}
	sc.heap = h
	if len(segs) == 0 {
		return nil
	}
	// The nodes named and their ancestors, in DWARF order (parents first).
	if cap(sc.used) < len(nodes) {
		sc.used, sc.newIdx = make([]bool, len(nodes)), make([]int32, len(nodes))
	}
	used, newIdx := sc.used[:len(nodes)], sc.newIdx[:len(nodes)]
	clear(used)
	for _, s := range segs {
		for k := s.node; k >= 0 && !used[k]; k = int(nodes[k].parent) {
			used[k] = true
		}
	}
	count := 0
	for k := range nodes {
		if used[k] {
			newIdx[k] = int32(count)
			count++
		}
	}
	out := &inlineOut{segs: segs, nodes: make([]nodeOut, 0, count)}
	for i := range out.segs {
		out.segs[i].node = int(newIdx[out.segs[i].node])
	}
	for k := range nodes {
		if !used[k] {
			continue
		}
		n := &nodes[k]
		parent := -1
		if n.parent >= 0 {
			parent = int(newIdx[n.parent])
		}
		id := b.originIdent(n.origin, rc)
		name := id.linkage
		if name == "" {
			name = id.name
		}
		low := uint64(0)
		if n.lowPC && len(n.ranges) > 0 && n.ranges[0][0] >= e.start {
			low = n.ranges[0][0] - e.start + 1
		}
		out.nodes = append(out.nodes, nodeOut{
			parent: parent, nameID: names.add(name), id: id, declLine: id.declLine, callIdx: n.callFile,
			callLine: uint32(max(n.callLine, 0)), callCol: uint32(max(n.callCol, 0)), callDisc: uint32(max(n.callDisc, 0)), low: low,
		})
	}
	return out
}

// originIdent resolves (once) the subprogram an inlined subroutine's
// DW_AT_abstract_origin names; b.noIdent when it names none.
func (b *builder) originIdent(off dwarf.Offset, rc *resolveCache) *ident {
	u, i := b.di.subIndex(off)
	if u == nil {
		return b.noIdent
	}
	return b.identOf(u, i, rc)
}

// identOf resolves subprogram i of u once, whichever goroutine asks first.
func (b *builder) identOf(u *cuData, i int, rc *resolveCache) *ident {
	slot := &u.idents[i]
	if id := slot.Load(); id != nil {
		return id
	}
	v := b.di.resolve(u, &u.subs[i], rc)
	if slot.CompareAndSwap(nil, &v) {
		return &v
	}
	return slot.Load()
}
