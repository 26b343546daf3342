package elfindex

import (
	"container/heap"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"sort"
	"strings"
)

// entryOut is an entry ready to be written: everything it says, before the
// names have IDs.
type entryOut struct {
	flags   uint64
	name    string
	aliases []string
	choice  int // 0: name, k: aliases[k-1] (llvm-symbolizer's pick)
	id      *ident
	symFile uint32
	rows    []outRow
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
	name                        string
	declFile, declLine          uint32
	callFile, callLine, callCol uint32
	callDisc                    uint32
	low                         uint64 // 1 + offset of DW_AT_low_pc, 0: none
}

// encode writes the index: the entries are prepared first, so that every
// name is known and sorted before IDs are written.
func (b *builder) encode() ([]byte, error) {
	names := newNameTable()
	idents := make(map[*rootRec]*ident)
	inlineIDs := make(map[dwarf.Offset]*ident)
	outs := make([]entryOut, len(b.entries))
	for i, e := range b.entries {
		if i%4096 == 0 {
			if err := b.check(); err != nil {
				return nil, err
			}
		}
		o := &outs[i]
		b.prepare(o, e, idents, inlineIDs)
		names.add(o.name)
		for _, a := range o.aliases {
			names.add(a)
		}
		if o.id != nil && o.flags&fLinkSame == 0 {
			names.add(o.id.linkage)
		}
		if o.inl != nil {
			for _, n := range o.inl.nodes {
				names.add(n.name)
			}
		}
	}
	nameSec := names.finish()

	st := newStrtab()
	params := &paramTable{off: make(map[string]uint32)}
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
	var fdata enc
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
	sort.SliceStable(syms, func(i, j int) bool {
		a, c := syms[i], syms[j]
		if (a.size > 0) != (c.size > 0) {
			return a.size > 0
		}
		if (a.typ == elf.STT_NOTYPE) != (c.typ == elf.STT_NOTYPE) {
			return c.typ == elf.STT_NOTYPE
		}
		if len(a.name) != len(c.name) {
			return len(a.name) > len(c.name)
		}
		return a.name < c.name
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

// prepare works out what entry e says.
func (b *builder) prepare(o *entryOut, e *entry, idents map[*rootRec]*ident, inlineIDs map[dwarf.Offset]*ident) {
	if len(e.syms) > 0 {
		o.flags |= fSym
		nameOrder(e.syms)
		o.name = e.syms[0].name
		pick := e.syms[llvmChoice(e.syms)]
		seen := map[string]bool{o.name: true}
		for _, s := range e.syms[1:] {
			if !seen[s.name] {
				seen[s.name] = true
				o.aliases = append(o.aliases, s.name)
				if s.name == pick.name {
					o.choice = len(o.aliases)
				}
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
		id := idents[e.root]
		if id == nil {
			v := b.di.resolve(e.unit, &e.unit.subs[e.root.sub])
			id = &v
			idents[e.root] = id
		}
		o.id = id
		o.flags |= fDWARF
		if o.name == "" {
			if o.name = id.linkage; o.name == "" {
				o.name = id.name
			}
		}
		if o.flags&fSym != 0 && id.linkage == o.name {
			o.flags |= fLinkSame
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
	if e.inherited {
		o.flags |= fInherited
	}
	if o.rows = b.rowsFor(e); len(o.rows) > 0 {
		o.flags |= fRows
		if len(o.rows) > rowIndexMin && e.end-e.start <= 0xffffffff {
			o.flags |= fRowIndex
		}
	}
	if e.root != nil && len(e.root.nodes) > 0 {
		if o.inl = b.inlineFor(e, inlineIDs); o.inl != nil {
			o.flags |= fInline
		}
	}
	if b.stats.HasCode {
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
		w.u(names.id(o.name))
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
			w.u(names.id(id.linkage))
			if base = id.linkage; base == "" && o.flags&fSym != 0 {
				base = o.name
			}
		}
		encodeAffix(w, st, base, id.name, strings.HasSuffix)
		encodeAffix(w, st, base, id.class, strings.HasPrefix)
		w.u(uint64(id.declFile))
		w.u(uint64(id.declLine))
		if o.flags&fParams != 0 {
			w.u(uint64(params.add(st, id.params, id.paramNames)))
		}
	}
	if o.flags&fSymFile != 0 {
		w.u(uint64(o.symFile))
	}
	if o.flags&fRows != 0 {
		var r enc
		cps := encodeRows(&r, e.start, o.rows)
		w.bytes(r.b)
		if o.flags&fRowIndex != 0 {
			w.bytes(cps)
		}
		b.stats.LineRows += len(o.rows)
	}
	if o.flags&fInline != 0 {
		var in enc
		in.u(uint64(len(o.inl.nodes)))
		in.u(uint64(len(o.inl.segs)))
		for _, n := range o.inl.nodes {
			for _, v := range [inlineNodeFields]uint32{uint32(n.parent + 1), uint32(names.id(n.name)), n.declFile, n.declLine,
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

// inlineFor works out an entry's inline ranges: the disjoint intervals where
// an inlined subroutine is innermost (the last one in DWARF order that
// covers an address, as llvm-symbolizer resolves overlaps), and the nodes
// they name with their ancestors, parents first.
func (b *builder) inlineFor(e *entry, ids map[dwarf.Offset]*ident) *inlineOut {
	type item struct {
		lo, hi uint64
		k      int
	}
	var items []item
	for k, n := range e.root.nodes {
		for _, r := range n.ranges {
			lo, hi := max(r[0], e.start), min(r[1], e.end)
			if lo < hi {
				items = append(items, item{lo, hi, k})
			}
		}
	}
	if len(items) == 0 {
		return nil
	}
	sort.Slice(items, func(i, j int) bool { return items[i].lo < items[j].lo })
	bounds := make([]uint64, 0, 2*len(items))
	for _, it := range items {
		bounds = append(bounds, it.lo, it.hi)
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i] < bounds[j] })
	var segs []inlineSeg
	h := &itemHeap{}
	p := 0
	for bi := 0; bi+1 < len(bounds); bi++ {
		lo, hi := bounds[bi], bounds[bi+1]
		if lo == hi {
			continue
		}
		for p < len(items) && items[p].lo <= lo {
			heap.Push(h, heapItem{items[p].k, items[p].hi})
			p++
		}
		for h.Len() > 0 && (*h)[0].hi <= lo {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			continue
		}
		k := (*h)[0].k
		if n := len(segs); n > 0 && segs[n-1].hi == lo && segs[n-1].node == k {
			segs[n-1].hi = hi
		} else {
			segs = append(segs, inlineSeg{lo, hi, k})
		}
	}
	if len(segs) == 0 {
		return nil
	}
	used := make(map[int]bool)
	for _, s := range segs {
		for k := s.node; k >= 0 && !used[k]; k = int(e.root.nodes[k].parent) {
			used[k] = true
		}
	}
	order := make([]int, 0, len(used))
	for k := range used {
		order = append(order, k)
	}
	sort.Ints(order)
	newIdx := make(map[int]int, len(order))
	for i, k := range order {
		newIdx[k] = i
	}
	out := &inlineOut{segs: segs}
	for i := range out.segs {
		out.segs[i].node = newIdx[out.segs[i].node]
	}
	for _, k := range order {
		n := &e.root.nodes[k]
		parent := -1
		if n.parent >= 0 {
			parent = newIdx[int(n.parent)]
		}
		id := ids[n.origin]
		if id == nil {
			id = &ident{}
			if u, s := b.di.sub(n.origin); s != nil {
				v := b.di.resolve(u, s)
				id = &v
			}
			ids[n.origin] = id
		}
		name := id.linkage
		if name == "" {
			name = id.name
		}
		low := uint64(0)
		if n.lowPC && len(n.ranges) > 0 && n.ranges[0][0] >= e.start {
			low = n.ranges[0][0] - e.start + 1
		}
		out.nodes = append(out.nodes, nodeOut{
			parent: parent, name: name, declFile: id.declFile, declLine: id.declLine,
			callFile: b.di.fileID(e.unit, n.callFile), callLine: uint32(max(n.callLine, 0)),
			callCol: uint32(max(n.callCol, 0)), callDisc: uint32(max(n.callDisc, 0)), low: low,
		})
	}
	return out
}
