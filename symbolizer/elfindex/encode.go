package elfindex

import (
	"cmp"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"slices"
	"sort"
	"strings"
)

// entryOut is an entry ready to be written: everything it says, names as
// provisional IDs of the name table (final once it is sorted).
type entryOut struct {
	flags   uint64
	name    string
	nameID  uint32
	aliases []uint32
	choice  int // 0: name, k: aliases[k-1] (llvm-symbolizer's pick)
	id      *ident
	linkID  uint32 // the linkage name, unless it is the name (fLinkSame)
	symFile uint32
	rows    rowSpan
	inl     *inlineOut
	calls   []uint64
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
	declFile, declLine          uint32
	callFile, callLine, callCol uint32
	callDisc                    uint32
	low                         uint64 // 1 + offset of DW_AT_low_pc, 0: none
}

// encode writes the index: the entries are prepared first, so that every
// name is known and sorted before IDs are written.
func (b *builder) encode() ([]byte, error) {
	names := newNameTable(len(b.entries) + len(b.entries)/2)
	outs := make([]entryOut, len(b.entries))
	var sc inlineScratch
	for i, e := range b.entries {
		if i%4096 == 0 {
			if err := b.check(); err != nil {
				return nil, err
			}
		}
		b.prepare(&outs[i], e, names, &sc)
	}
	if err := <-b.callsDone; err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	b.addCalls(outs)
	nameSec := names.finish()

	st := newStrtab()
	params := newParamTable()
	n := len(b.entries)
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
	// Room for the records: about 3 bytes a row (4 with checkpoints), the
	// inline tables, the return addresses and the identities.
	est := 24 * n
	for i := range outs {
		o := &outs[i]
		est += 4*o.rows.n + 2*len(o.calls)
		if o.inl != nil {
			est += 2 + inlineNodeSize*len(o.inl.nodes) + inlineSegSize*len(o.inl.segs)
		}
	}
	fdata := enc{b: make([]byte, 0, est)}
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
		if len(fdata.b) > 0xffffffff {
			return nil, formatErr(b.main.role, "", -1, ErrLimit, "the function data exceeds 4 GiB")
		}
		rec := funcs[i*funcRecord:]
		binary.LittleEndian.PutUint32(rec, uint32(size))
		binary.LittleEndian.PutUint32(rec[4:], uint32(len(fdata.b)))
		b.writeEntry(&fdata, st, names, params, i, e, &outs[i])
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
		{secFData, fdata.b},
		{secParams, params.e.b},
		{secFiles, files},
		{secNames, nameSec},
		{secStrings, st.b},
	})
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
		if (a.typ == elf.STT_NOTYPE) != (c.typ == elf.STT_NOTYPE) {
			if c.typ == elf.STT_NOTYPE {
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

// prepare works out what entry e says, and adds its names to the name
// table. File IDs are given in the order prepare meets files.
func (b *builder) prepare(o *entryOut, e *entry, names *nameTable, sc *inlineScratch) {
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
		if pick.file != "" {
			o.symFile = b.files.id(pick.file)
			o.flags |= fSymFile
		}
	}
	if e.parent >= 0 {
		o.flags |= fParent
	}
	if e.root != nil && !e.inherited {
		s := &e.unit.subs[e.root.sub]
		if s.ident == nil {
			v := b.di.resolve(e.unit, s)
			s.ident = &v
		}
		id := s.ident
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
		if o.inl = b.inlineFor(e, names, sc); o.inl != nil {
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

// writeEntry writes one fdata record (layout in the package documentation).
func (b *builder) writeEntry(w *enc, st *strtab, names *nameTable, params *paramTable, i int, e *entry, o *entryOut) {
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
		base := o.name
		if o.flags&fLinkSame == 0 {
			w.u(names.id(o.linkID))
			if base = id.linkage; base == "" && o.flags&fSym != 0 {
				base = o.name
			}
		}
		encodeAffix(w, st, base, id.name, strings.HasSuffix)
		encodeAffix(w, st, base, id.class, strings.HasPrefix)
		w.u(uint64(id.declFile))
		w.u(uint64(id.declLine))
		if o.flags&fParams != 0 {
			if id.paramsOff < 0 {
				id.paramsOff = int64(params.add(st, id.params, id.paramNames))
			}
			w.u(uint64(id.paramsOff))
		}
	}
	if o.flags&fSymFile != 0 {
		w.u(uint64(o.symFile))
	}
	if o.flags&fRows != 0 {
		// Rows, then the checkpoints, each length-prefixed: the rows are
		// written after room for their length, which is moved into place.
		b.rowBuf = b.rowBuf[:0]
		cps := b.encodeRows(&b.rowBuf, e.start, &o.rows, b.cpBuf[:0])
		b.cpBuf = cps
		w.bytes(b.rowBuf)
		if o.flags&fRowIndex != 0 {
			w.bytes(cps)
		}
		b.stats.LineRows += o.rows.n
	}
	if o.flags&fInline != 0 {
		in := enc{b: b.inlBuf[:0]}
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
		b.inlBuf = in.b
		b.stats.InlineNodes += len(o.inl.nodes)
	}
	if o.flags&fCalls != 0 {
		w.u(uint64(len(o.calls)))
		prev := e.start
		for _, c := range o.calls {
			w.u(c - prev)
			prev = c
		}
	}
}

// encodeAffix writes s as a suffix/prefix of base when it is one (mode 1 and
// its length), else as a string (mode 2); mode 0 is "none".
func encodeAffix(w *enc, st *strtab, base, s string, is func(string, string) bool) {
	switch {
	case s == "":
		w.u(0)
	case is(base, s):
		w.u(1)
		w.u(uint64(len(s)))
	default:
		w.u(2)
		w.str(st, s)
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
func (b *builder) inlineFor(e *entry, names *nameTable, sc *inlineScratch) *inlineOut {
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
		id := b.originIdent(n.origin)
		name := id.linkage
		if name == "" {
			name = id.name
		}
		low := uint64(0)
		if n.lowPC && len(n.ranges) > 0 && n.ranges[0][0] >= e.start {
			low = n.ranges[0][0] - e.start + 1
		}
		out.nodes = append(out.nodes, nodeOut{
			parent: parent, nameID: names.add(name), declFile: id.declFile, declLine: id.declLine,
			callFile: b.di.fileID(e.unit, n.callFile), callLine: uint32(max(n.callLine, 0)),
			callCol: uint32(max(n.callCol, 0)), callDisc: uint32(max(n.callDisc, 0)), low: low,
		})
	}
	return out
}

// noIdent names an inlined subroutine whose origin is not a subprogram.
var noIdent = &ident{paramsOff: -1}

// originIdent resolves (once) the subprogram an inlined subroutine's
// DW_AT_abstract_origin names.
func (b *builder) originIdent(off dwarf.Offset) *ident {
	u, s := b.di.sub(off)
	if s == nil {
		return noIdent
	}
	if s.ident == nil {
		v := b.di.resolve(u, s)
		s.ident = &v
	}
	return s.ident
}
