package elfindex

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// row is one line-table row: from addr on, until the next row, the code is
// line:col of file (an index into the unit's line-table file list; noFile
// when the row names no file).
type row struct {
	addr uint64
	file uint32
	line uint32
	col  uint32
	disc uint32
}

const noFile = ^uint32(0)

// sequence is one DW_LNE_end_sequence-terminated run of rows: [lo, hi).
// Rows are sorted by address, one per address (the last row the program
// emitted for an address wins, as in llvm-symbolizer).
type sequence struct {
	lo, hi uint64
	rows   []row
}

// subRec is a DW_TAG_subprogram entry (declaration, abstract instance or
// concrete code): what names it and where to find more.
type subRec struct {
	off           dwarf.Offset
	name, linkage string
	spec, origin  dwarf.Offset // 0: none
	declFile      int32        // line-table index, -1: none
	declLine      int32
	scope         int32 // enclosing class/namespace, -1: none
	params        int32 // first of its formal parameters in cuData.params, -1: none
	lastParam     int32 // the last one
}

type paramRec struct {
	next       int32 // the subprogram's next parameter, -1: none
	name       string
	typ        dwarf.Offset // 0: none
	artificial bool
}

// typeRec is a type entry, enough to print a parameter's type.
type typeRec struct {
	tag   dwarf.Tag
	name  string
	typ   dwarf.Offset
	scope int32
}

// scopeRec is a namespace, class, structure, union or interface.
type scopeRec struct {
	name   string
	parent int32
}

// rootRec is a subprogram with code, and the inlined subroutines below it.
type rootRec struct {
	sub    int32 // index into cuData.subs
	ranges [][2]uint64
	lowPC  bool // has DW_AT_low_pc (llvm-symbolizer's StartAddress)
	nodes  []inlineRec
}

// inlineRec is a DW_TAG_inlined_subroutine under a root, in pre-order.
type inlineRec struct {
	origin   dwarf.Offset
	ranges   [][2]uint64
	parent   int32 // index in rootRec.nodes, -1: the root
	depth    int32
	callFile int32 // line-table index, -1: none
	callLine int32
	callCol  int32
	callDisc int32
	lowPC    bool
}

// cuData is what one compile unit yields.
type cuData struct {
	off, end     dwarf.Offset // the unit's span in .debug_info
	entryOff     dwarf.Offset // its first entry (the compile unit DIE)
	version      int
	dwarf64      bool
	addrSize     uint8
	abbrevs      *abbrevTable
	abbrevOffset uint64
	err          error // the unit header or its entry cannot be read

	// From the compile unit's entry.
	name                       string
	compDir                    string
	stmtList                   int64
	hasStmt                    bool
	children                   bool
	firstChild                 dwarf.Offset
	strBase, addrBase, rngBase uint64
	baseAddr                   uint64 // for range lists: DW_AT_entry_pc, else DW_AT_low_pc
	pc                         pcAttrs

	ranges [][2]uint64

	fileNames []string // line-table file index → path
	seqs      []sequence

	subs     []subRec                // by offset
	idents   []atomic.Pointer[ident] // subs[i] resolved, once needed
	params   []paramRec
	typeOffs []dwarf.Offset
	types    []typeRec // by offset, as typeOffs
	scopes   []scopeRec
	roots    []rootRec

	typeNames  map[dwarf.Offset]string // memo of rendered type names
	scopeNames []string                // memo of qualifiedScope
	scopeDone  []bool
	fileIDs    []uint32 // fileNames index → global file ID (after merge)
}

// dwarfInfo is the DWARF of one file, walked.
type dwarfInfo struct {
	units []*cuData // by offset
	files *fileTable
}

// fileTable gives every path used by the index a small ID; 0 is "no file".
type fileTable struct {
	names []string
	ids   map[string]uint32
}

func newFileTable() *fileTable { return &fileTable{names: []string{""}, ids: map[string]uint32{"": 0}} }

func (t *fileTable) id(name string) uint32 {
	if id, ok := t.ids[name]; ok {
		return id
	}
	id := uint32(len(t.names))
	t.names = append(t.names, name)
	t.ids[name] = id
	return id
}

// fileID returns the global ID of the unit's line-table file idx, 0 when
// there is no such file.
func (di *dwarfInfo) fileID(u *cuData, idx int32) uint32 {
	if idx < 0 || int(idx) >= len(u.fileNames) || u.fileNames[idx] == "" {
		return 0
	}
	if u.fileIDs == nil {
		u.fileIDs = make([]uint32, len(u.fileNames))
	}
	if id := u.fileIDs[idx]; id != 0 {
		return id
	}
	id := di.files.id(u.fileNames[idx])
	u.fileIDs[idx] = id
	return id
}

// unitSpans lists the compile units of .debug_info from their headers, so
// that they can be walked in parallel: the span of each unit and the offset of
// its first entry. Type units are left out (they hold only types).
func unitSpans(info []byte, bo binary.ByteOrder, role string) ([]*cuData, error) {
	var out []*cuData
	off := uint64(0)
	for off+4 <= uint64(len(info)) {
		start := off
		length := uint64(bo.Uint32(info[off:]))
		off += 4
		dwarf64 := false
		if length == 0xffffffff {
			if off+8 > uint64(len(info)) {
				return nil, formatErr(role, ".debug_info", int64(start), nil, "truncated 64-bit unit length")
			}
			length = bo.Uint64(info[off:])
			off += 8
			dwarf64 = true
		} else if length >= 0xfffffff0 {
			return nil, formatErr(role, ".debug_info", int64(start), nil, "reserved unit length %#x", length)
		}
		if length > uint64(len(info))-off {
			return nil, formatErr(role, ".debug_info", int64(start), nil, "unit of %d bytes extends past the end of the section (%d bytes)", length, len(info))
		}
		end := off + length
		if length < 2 {
			off = end
			continue
		}
		r := secReader{b: info, p: int(off), end: int(end)}
		vers := r.uint(2, bo)
		offSize := 4
		if dwarf64 {
			offSize = 8
		}
		u := &cuData{off: dwarf.Offset(start), end: dwarf.Offset(end), version: int(vers), dwarf64: dwarf64}
		utype := uint8(1) // DW_UT_compile
		var abbrevOff uint64
		switch {
		case vers >= 2 && vers <= 4:
			abbrevOff = r.uint(offSize, bo)
			u.addrSize = r.u8()
		case vers == 5:
			utype = r.u8()
			u.addrSize = r.u8()
			abbrevOff = r.uint(offSize, bo)
			switch utype {
			case 4, 5: // skeleton, split compile: dwo id
				r.skip(8)
			case 2, 6: // type, split type: signature and type offset
				r.skip(8 + uint64(offSize))
			}
		default:
			return nil, formatErr(role, ".debug_info", int64(start), nil, "unsupported DWARF version %d", vers)
		}
		if r.bad {
			return nil, formatErr(role, ".debug_info", int64(start), nil, "truncated unit header")
		}
		if utype != 2 && utype != 6 {
			u.entryOff = dwarf.Offset(r.p)
			u.abbrevOffset = abbrevOff
			out = append(out, u)
		}
		off = end
	}
	if uint64(len(info)) > 1<<32-1 {
		return nil, formatErr(role, ".debug_info", -1, ErrLimit, "the section holds %d bytes; at most 4 GiB is supported", len(info))
	}
	return out, nil
}

// prepare reads the unit's abbreviation table and its compile unit entry:
// the DWARF 5 base offsets, the name, the line table's offset and
// directory, and the unit's address ranges' attributes.
func (d *dwarfData) prepare(u *cuData) {
	t, err := d.abbrevTableAt(u.abbrevOffset)
	if err != nil {
		u.err = formatErr(d.role, ".debug_abbrev", int64(u.abbrevOffset), err, "abbreviations of compile unit at %#x: %v", u.off, err)
		return
	}
	u.abbrevs = t
	ur := d.unitReader(u, u.entryOff)
	a, _, err := ur.next()
	if err == nil && a == nil {
		err = ur.errorf(int(u.entryOff), "empty compile unit")
	}
	if err != nil {
		u.err = err
		return
	}
	// The base offsets first: the other attributes' values depend on them.
	if u.version >= 5 {
		for i := range a.attrs {
			s := &a.attrs[i]
			var v attrVal
			switch s.attr {
			case dwarf.AttrStrOffsetsBase, dwarf.AttrAddrBase, dwarf.AttrRnglistsBase:
				v, err = ur.value(s)
			default:
				err = ur.skipValue(s)
			}
			if err != nil {
				u.err = err
				return
			}
			if x, ok := v.int(); ok {
				switch s.attr {
				case dwarf.AttrStrOffsetsBase:
					u.strBase = uint64(x)
				case dwarf.AttrAddrBase:
					u.addrBase = uint64(x)
				case dwarf.AttrRnglistsBase:
					u.rngBase = uint64(x)
				}
			}
		}
		ur = d.unitReader(u, u.entryOff)
		ur.next()
	}
	var seen uint16
	first := func(bit uint16) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	var entryPC, lowPC attrVal
	for i := range a.attrs {
		s := &a.attrs[i]
		var bit uint16
		switch s.attr {
		case dwarf.AttrName:
			bit = 1
		case dwarf.AttrCompDir:
			bit = 2
		case dwarf.AttrStmtList:
			bit = 4
		case dwarf.AttrEntrypc:
			bit = 8
		case dwarf.AttrLowpc:
			bit = 16
		case dwarf.AttrHighpc:
			bit = 32
		case dwarf.AttrRanges:
			bit = 64
		}
		if bit == 0 || !first(bit) {
			if err := ur.skipValue(s); err != nil {
				u.err = err
				return
			}
			continue
		}
		v, err := ur.value(s)
		if err != nil {
			u.err = err
			return
		}
		switch s.attr {
		case dwarf.AttrName:
			u.name = v.str()
		case dwarf.AttrCompDir:
			u.compDir = v.str()
		case dwarf.AttrStmtList:
			u.stmtList, u.hasStmt = v.int()
		case dwarf.AttrEntrypc:
			entryPC = v
		case dwarf.AttrLowpc:
			lowPC = v
			u.pc.setLow(v)
		case dwarf.AttrHighpc:
			u.pc.setHigh(v)
		case dwarf.AttrRanges:
			u.pc.setRanges(v)
		}
	}
	if x, ok := entryPC.uint(); ok {
		u.baseAddr = x
	} else if x, ok := lowPC.uint(); ok {
		u.baseAddr = x
	}
	u.children = a.children
	u.firstChild = dwarf.Offset(ur.r.p)
}

// walkDWARF reads every compile unit's entries and line table, using up to
// GOMAXPROCS goroutines; the row and inline budgets are shared by all units.
// A unit that cannot be decoded is left out and reported in warnings (its
// error is returned only when no unit could be read); going over a limit
// stops everything.
func walkDWARF(d *dwarfData, units []*cuData, lim Limits) (warnings []error, err error) {
	var rows, nodes, records atomic.Int64
	type task struct {
		u     *cuData
		lines bool
	}
	tasks := make([]task, 0, 2*len(units))
	for _, u := range units {
		tasks = append(tasks, task{u, false}, task{u, true})
	}
	// Biggest units first, so that the managed unit of a Native AOT file does
	// not start last.
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].u.end-tasks[i].u.off > tasks[j].u.end-tasks[j].u.off })
	workers := min(runtime.GOMAXPROCS(0), len(tasks))
	var next atomic.Int64
	var stop atomic.Bool
	var mu sync.Mutex
	var firstErr error
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) {
					return
				}
				t := tasks[i]
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							recoveredPanics.Add(1)
							err = formatErr(d.role, ".debug_info", int64(t.u.off), nil, "malformed compile unit (%v)", p)
						}
					}()
					if t.lines {
						err = readLines(d, t.u, &rows, int64(lim.MaxLineRows))
					} else {
						err = walkUnit(d, t.u, &nodes, &records, lim)
					}
				}()
				if err != nil {
					if errors.Is(err, ErrLimit) {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						stop.Store(true)
					}
					errs[i] = err
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	failed := map[*cuData]bool{}
	for i, e := range errs {
		if e != nil {
			if !failed[tasks[i].u] || tasks[i].u.err == nil {
				warnings = append(warnings, e)
			}
			failed[tasks[i].u] = true
		}
	}
	if len(units) > 0 && len(failed) == len(units) {
		return nil, warnings[0]
	}
	return warnings, nil
}

// pcAttrs are the attributes that give an entry's addresses.
type pcAttrs struct {
	low, high                     uint64
	hasLow, hasHigh, highIsOffset bool
	hasRanges                     bool
	ranges                        attrVal
}

func (p *pcAttrs) setLow(v attrVal) {
	if x, ok := v.uint(); ok {
		p.low, p.hasLow = x, true
	}
}

func (p *pcAttrs) setHigh(v attrVal) {
	switch v.kind {
	case vUint:
		p.high, p.hasHigh, p.highIsOffset = v.v, true, false
	case vInt:
		p.high, p.hasHigh, p.highIsOffset = v.v, true, true
	}
}

func (p *pcAttrs) setRanges(v attrVal) { p.hasRanges, p.ranges = true, v }

// pcRange returns [low_pc, high_pc) when the entry has both.
func (p *pcAttrs) pcRange() [][2]uint64 {
	if !p.hasLow || !p.hasHigh {
		return nil
	}
	hi := p.high
	if p.highIsOffset {
		hi = p.low + p.high
		if hi < p.low {
			return nil
		}
	}
	return [][2]uint64{{p.low, hi}}
}

// entryRanges returns the address ranges of an entry with DW_AT_ranges:
// [low_pc, high_pc) when it has both, then its range list (DWARF 2–4
// .debug_ranges, DWARF 5 .debug_rnglists).
func (d *dwarfData) entryRanges(u *cuData, p *pcAttrs) ([][2]uint64, error) {
	var ret [][2]uint64
	if p.hasLow && p.hasHigh {
		hi := p.high
		if p.highIsOffset {
			hi = p.low + p.high
		}
		ret = append(ret, [2]uint64{p.low, hi})
	}
	if !p.hasRanges {
		return ret, nil
	}
	if u.version >= 5 && d.rnglists != nil {
		switch p.ranges.form {
		case formSecOffset:
			return d.rnglist(u, p.ranges.v, ret)
		case formRnglistx:
			return d.rnglist(u, p.ranges.v, ret)
		}
		return ret, nil
	}
	if off, ok := p.ranges.int(); ok && d.ranges != nil {
		return d.rangeList(u, off, ret)
	}
	return ret, nil
}

// rangeList reads a DWARF 2–4 range list at off in .debug_ranges.
func (d *dwarfData) rangeList(u *cuData, off int64, ret [][2]uint64) ([][2]uint64, error) {
	if off < 0 || off > int64(len(d.ranges)) {
		return nil, formatErr(d.role, ".debug_ranges", off, nil, "range list of compile unit at %#x is past the end of the section (%d bytes)", u.off, len(d.ranges))
	}
	n := int(u.addrSize)
	if n != 1 && n != 2 && n != 4 && n != 8 {
		return ret, nil
	}
	maxAddr := ^uint64(0) >> uint((8-n)*8)
	base := u.baseAddr
	r := secReader{b: d.ranges, p: int(off), end: len(d.ranges)}
	for r.p < r.end {
		lo, hi := r.uint(n, d.order), r.uint(n, d.order)
		if r.bad || lo == 0 && hi == 0 {
			break
		}
		if lo == maxAddr {
			base = hi
			continue
		}
		ret = append(ret, [2]uint64{base + lo, base + hi})
	}
	return ret, nil
}

// rnglist reads a DWARF 5 range list at off in .debug_rnglists.
func (d *dwarfData) rnglist(u *cuData, off uint64, ret [][2]uint64) ([][2]uint64, error) {
	if off > uint64(len(d.rnglists)) {
		return nil, formatErr(d.role, ".debug_rnglists", int64(min(off, 1<<62)), nil, "range list of compile unit at %#x is past the end of the section (%d bytes)", u.off, len(d.rnglists))
	}
	n := int(u.addrSize)
	base := u.baseAddr
	r := secReader{b: d.rnglists, p: int(off), end: len(d.rnglists)}
	addr := func() uint64 {
		if n != 1 && n != 2 && n != 4 && n != 8 {
			r.bad = true
			return 0
		}
		return r.uint(n, d.order)
	}
	index := func(i uint64) (uint64, error) { return d.debugAddr(u, u.addrBase, i) }
	for {
		at := r.p
		op := r.u8()
		if r.bad {
			return nil, formatErr(d.role, ".debug_rnglists", int64(at), nil, "range list of compile unit at %#x is not terminated", u.off)
		}
		switch op {
		case 0: // DW_RLE_end_of_list
			return ret, nil
		case 1: // DW_RLE_base_addressx
			a, err := index(r.uleb())
			if err != nil {
				return nil, err
			}
			base = a
		case 2: // DW_RLE_startx_endx
			i, j := r.uleb(), r.uleb()
			lo, err := index(i)
			if err != nil {
				return nil, err
			}
			hi, err := index(j)
			if err != nil {
				return nil, err
			}
			ret = append(ret, [2]uint64{lo, hi})
		case 3: // DW_RLE_startx_length
			i, n := r.uleb(), r.uleb()
			lo, err := index(i)
			if err != nil {
				return nil, err
			}
			ret = append(ret, [2]uint64{lo, lo + n})
		case 4: // DW_RLE_offset_pair
			a, b := r.uleb(), r.uleb()
			ret = append(ret, [2]uint64{base + a, base + b})
		case 5: // DW_RLE_base_address
			base = addr()
		case 6: // DW_RLE_start_end
			a := addr()
			b := addr()
			ret = append(ret, [2]uint64{a, b})
		case 7: // DW_RLE_start_length
			a := addr()
			ret = append(ret, [2]uint64{a, a + r.uleb()})
		default:
			return nil, formatErr(d.role, ".debug_rnglists", int64(at), nil, "unknown range list entry %#x", op)
		}
		if r.bad {
			return nil, formatErr(d.role, ".debug_rnglists", int64(at), nil, "truncated range list entry")
		}
	}
}

// walkUnit reads the unit's entries: subprograms, inlined subroutines and
// what names them (scopes, parameter types).
func walkUnit(d *dwarfData, u *cuData, nodes, records *atomic.Int64, lim Limits) error {
	if u.err != nil {
		return u.err
	}
	maxNodes, maxRecords := int64(lim.MaxInlineNodes), int64(lim.MaxDWARFRecords)
	if u.pc.hasLow || u.pc.hasRanges {
		if rs, err := d.entryRanges(u, &u.pc); err == nil {
			u.ranges = nonEmpty(rs)
		}
	}
	if !u.children {
		return nil
	}
	type ctx struct {
		root, inline, scope, paramsOf int32
	}
	cur := ctx{root: -1, inline: -1, scope: -1, paramsOf: -1}
	var stack []ctx
	push := func(next ctx) {
		stack = append(stack, cur)
		cur = next
	}
	var counted, kept int64
	// Room for what a unit of this size usually holds, so that the
	// slices do not grow (and copy) a dozen times.
	// (At most a million of each: beyond, doubling does.)
	size := min(int(u.end-u.off), 40<<20)
	u.subs = make([]subRec, 0, size/80)
	u.roots = make([]rootRec, 0, size/160)
	if !d.lookupOnly {
		u.params = make([]paramRec, 0, size/40)
		u.types = make([]typeRec, 0, size/64)
		u.typeOffs = make([]dwarf.Offset, 0, size/64)
	}
	ur := d.unitReader(u, u.firstChild)
	for ur.r.p < ur.r.end {
		a, at, err := ur.next()
		if err != nil {
			return err
		}
		if a == nil {
			if len(stack) == 0 {
				break // end of the unit
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			continue
		}
		off := dwarf.Offset(at)
		kind := a.kind
		if d.lookupOnly {
			// Types, parameters and scopes only name functions in
			// Function's answers: walk through scopes, skip the rest.
			switch kind {
			case kindType, kindParam:
				kind = kindOther
			case kindScope:
				kind = kindBlock
			}
		}
		switch kind {
		case kindSubprogram, kindScope, kindType:
			if kept++; kept&1023 == 0 && records.Add(1024) > maxRecords {
				return formatErr(d.role, ".debug_info", int64(at), ErrLimit, "more than %d subprogram, type and scope entries", maxRecords)
			}
		}
		switch kind {
		case kindSubprogram:
			var e subAttrs
			if err := ur.subprogram(a, &e); err != nil {
				return err
			}
			idx := int32(len(u.subs))
			u.subs = appendGrow(u.subs, subRec{off: off, name: e.name, linkage: e.linkage, spec: e.spec, origin: e.origin,
				declFile: e.declFile, declLine: e.declLine, scope: cur.scope, params: -1, lastParam: -1})
			// A subprogram without code below a root (a nested declaration)
			// owns none of the root's inlined subroutines.
			next := ctx{root: -1, inline: -1, scope: -1, paramsOf: idx}
			if !e.declaration && (e.pc.hasLow || e.pc.hasRanges) {
				rs := e.pc.pcRange()
				if e.pc.hasRanges {
					rs, _ = d.entryRanges(u, &e.pc)
				}
				if rs = nonEmpty(rs); len(rs) > 0 {
					u.roots = appendGrow(u.roots, rootRec{sub: idx, ranges: rs, lowPC: e.pc.hasLow})
					next.root, next.inline = int32(len(u.roots)-1), -1
				}
			}
			if a.children {
				push(next)
			}
		case kindInlined:
			if cur.root < 0 {
				sib, err := ur.skipEntry(a)
				if err == nil && a.children {
					err = ur.skipChildren(sib)
				}
				if err != nil {
					return err
				}
				continue
			}
			var e subAttrs
			if err := ur.subprogram(a, &e); err != nil {
				return err
			}
			rs := e.pc.pcRange()
			if e.pc.hasRanges {
				rs, _ = d.entryRanges(u, &e.pc)
			}
			root := &u.roots[cur.root]
			depth := int32(0)
			if cur.inline >= 0 {
				depth = root.nodes[cur.inline].depth + 1
			}
			root.nodes = appendGrow(root.nodes, inlineRec{origin: e.origin, ranges: nonEmpty(rs), parent: cur.inline, depth: depth,
				callFile: e.callFile, callLine: e.callLine, callCol: e.callCol, callDisc: e.callDisc, lowPC: e.pc.hasLow})
			counted++
			if counted&1023 == 0 && nodes.Add(1024) > maxNodes {
				return formatErr(d.role, ".debug_info", int64(at), ErrLimit, "more than %d inlined subroutines", maxNodes)
			}
			if a.children {
				push(ctx{root: cur.root, inline: int32(len(root.nodes) - 1), scope: -1, paramsOf: -1})
			}
		case kindBlock:
			if _, err := ur.skipEntry(a); err != nil {
				return err
			}
			if a.children {
				push(ctx{root: cur.root, inline: cur.inline, scope: cur.scope, paramsOf: -1})
			}
		case kindParam:
			var t typeAttrs
			if err := ur.typeEntry(a, &t); err != nil {
				return err
			}
			if cur.paramsOf >= 0 {
				s := &u.subs[cur.paramsOf]
				k := int32(len(u.params))
				u.params = appendGrow(u.params, paramRec{next: -1, name: t.name, typ: t.typ, artificial: t.artificial})
				if s.lastParam >= 0 {
					u.params[s.lastParam].next = k
				} else {
					s.params = k
				}
				s.lastParam = k
			}
			if a.children {
				if err := ur.skipChildren(t.sibling); err != nil {
					return err
				}
			}
		case kindScope:
			var t typeAttrs
			if err := ur.typeEntry(a, &t); err != nil {
				return err
			}
			if a.tag != dwarf.TagNamespace {
				u.typeOffs = appendGrow(u.typeOffs, off)
				u.types = appendGrow(u.types, typeRec{tag: a.tag, name: t.name, typ: t.typ, scope: cur.scope})
			}
			if a.children {
				u.scopes = appendGrow(u.scopes, scopeRec{name: t.name, parent: cur.scope})
				push(ctx{root: cur.root, inline: cur.inline, scope: int32(len(u.scopes) - 1), paramsOf: -1})
			}
		case kindType:
			var t typeAttrs
			if err := ur.typeEntry(a, &t); err != nil {
				return err
			}
			u.typeOffs = appendGrow(u.typeOffs, off)
			u.types = appendGrow(u.types, typeRec{tag: a.tag, name: t.name, typ: t.typ, scope: cur.scope})
			if a.children {
				if err := ur.skipChildren(t.sibling); err != nil {
					return err
				}
			}
		default:
			sib, err := ur.skipEntry(a)
			if err == nil && a.children {
				err = ur.skipChildren(sib)
			}
			if err != nil {
				return err
			}
		}
	}
	u.idents = make([]atomic.Pointer[ident], len(u.subs))
	if nodes.Add(counted&1023) > maxNodes {
		return formatErr(d.role, ".debug_info", -1, ErrLimit, "more than %d inlined subroutines", maxNodes)
	}
	if records.Add(kept&1023) > maxRecords {
		return formatErr(d.role, ".debug_info", -1, ErrLimit, "more than %d subprogram, type and scope entries", maxRecords)
	}
	return nil
}

// subAttrs are the attributes of a subprogram or inlined subroutine entry.
type subAttrs struct {
	name, linkage               string
	spec, origin                dwarf.Offset
	declFile, declLine          int32
	callFile, callLine, callCol int32
	callDisc                    int32
	declaration                 bool
	pc                          pcAttrs
}

// subprogram reads the attributes of a subprogram or inlined subroutine.
func (ur *unitReader) subprogram(a *abbrev, e *subAttrs) error {
	*e = subAttrs{declFile: -1, declLine: -1, callFile: -1}
	for i := range a.attrs {
		s := &a.attrs[i]
		switch s.attr {
		case dwarf.AttrName, dwarf.AttrLinkageName, attrMIPSLinkage, dwarf.AttrSpecification, dwarf.AttrAbstractOrigin,
			dwarf.AttrDeclFile, dwarf.AttrDeclLine, dwarf.AttrCallFile, dwarf.AttrCallLine, dwarf.AttrCallColumn, attrGNUDiscrim,
			dwarf.AttrLowpc, dwarf.AttrHighpc, dwarf.AttrRanges, dwarf.AttrDeclaration:
		default:
			if err := ur.skipValue(s); err != nil {
				return err
			}
			continue
		}
		v, err := ur.value(s)
		if err != nil {
			return err
		}
		switch s.attr {
		case dwarf.AttrName:
			e.name = v.str()
		case dwarf.AttrLinkageName, attrMIPSLinkage:
			if v.kind == vStr && e.linkage == "" {
				e.linkage = v.s
			}
		case dwarf.AttrSpecification:
			e.spec, _ = v.ref()
		case dwarf.AttrAbstractOrigin:
			e.origin, _ = v.ref()
		case dwarf.AttrDeclFile:
			e.declFile = v.toInt32(-1)
		case dwarf.AttrDeclLine:
			e.declLine = v.toInt32(-1)
		case dwarf.AttrCallFile:
			e.callFile = v.toInt32(-1)
		case dwarf.AttrCallLine:
			e.callLine = v.toInt32(0)
		case dwarf.AttrCallColumn:
			e.callCol = v.toInt32(0)
		case attrGNUDiscrim:
			e.callDisc = v.toInt32(0)
		case dwarf.AttrLowpc:
			e.pc.setLow(v)
		case dwarf.AttrHighpc:
			e.pc.setHigh(v)
		case dwarf.AttrRanges:
			e.pc.setRanges(v)
		case dwarf.AttrDeclaration:
			e.declaration = v.flag()
		}
	}
	return nil
}

// typeAttrs are the attributes of a parameter, type or scope entry (the
// first of each, as debug/dwarf's Entry.Val reads them).
type typeAttrs struct {
	name       string
	typ        dwarf.Offset
	artificial bool
	sibling    dwarf.Offset
}

func (ur *unitReader) typeEntry(a *abbrev, t *typeAttrs) error {
	*t = typeAttrs{}
	var seen uint8
	for i := range a.attrs {
		s := &a.attrs[i]
		var bit uint8
		switch s.attr {
		case dwarf.AttrName:
			bit = 1
		case dwarf.AttrType:
			bit = 2
		case dwarf.AttrArtificial:
			bit = 4
		case dwarf.AttrSibling:
			bit = 8
		}
		if bit == 0 || seen&bit != 0 {
			if err := ur.skipValue(s); err != nil {
				return err
			}
			continue
		}
		seen |= bit
		v, err := ur.value(s)
		if err != nil {
			return err
		}
		switch s.attr {
		case dwarf.AttrName:
			t.name = v.str()
		case dwarf.AttrType:
			t.typ, _ = v.ref()
		case dwarf.AttrArtificial:
			t.artificial = v.flag()
		case dwarf.AttrSibling:
			t.sibling, _ = v.ref()
		}
	}
	return nil
}

func nonEmpty(rs [][2]uint64) [][2]uint64 {
	out := rs[:0]
	for _, r := range rs {
		if r[0] < r[1] {
			out = append(out, r)
		}
	}
	return out
}

// unitOf returns the unit holding the entry at off.
func (di *dwarfInfo) unitOf(off dwarf.Offset) *cuData {
	i := sort.Search(len(di.units), func(i int) bool { return di.units[i].end > off })
	if i < len(di.units) && di.units[i].off <= off {
		return di.units[i]
	}
	return nil
}

// subIndex returns the unit and index of the subprogram record at off;
// nil when there is none.
func (di *dwarfInfo) subIndex(off dwarf.Offset) (*cuData, int) {
	u := di.unitOf(off)
	if u == nil {
		return nil, -1
	}
	i := sort.Search(len(u.subs), func(i int) bool { return u.subs[i].off >= off })
	if i == len(u.subs) || u.subs[i].off != off {
		return nil, -1
	}
	return u, i
}

// typeAt returns the type entry at off, which must be in u.
func (u *cuData) typeAt(off dwarf.Offset) (typeRec, bool) {
	i := sort.Search(len(u.typeOffs), func(i int) bool { return u.typeOffs[i] >= off })
	if i == len(u.typeOffs) || u.typeOffs[i] != off {
		return typeRec{}, false
	}
	return u.types[i], true
}

// ident is what names a function or inlined subroutine, gathered by following
// DW_AT_specification and DW_AT_abstract_origin as llvm-symbolizer does.
type ident struct {
	name, linkage string
	declFile      uint32 // global file ID, 0: none (given by the encoder)
	declLine      uint32
	class         string
	params        []string
	paramNames    []string
	hasThis       bool
	paramsOff     int64 // offset of the parameter list once written, -1 before
	// The declaration file: its unit and line-table index, and its global
	// ID once the encoder has given it (fileDone).
	declUnit *cuData
	declIdx  int32
	fileDone bool
}

// resolveCache keeps the type and scope names one goroutine has rendered.
type resolveCache struct {
	types  map[unitOffset]string
	scopes map[unitScope]string
}

type unitOffset struct {
	u   *cuData
	off dwarf.Offset
}

type unitScope struct {
	u *cuData
	i int32
}

// resolve follows a subprogram's specification/origin chain.
func (di *dwarfInfo) resolve(u *cuData, s *subRec, rc *resolveCache) ident {
	id := ident{paramsOff: -1, declIdx: -1}
	haveFile, haveLine, haveParams, haveClass := false, false, false, false
	type step struct {
		u *cuData
		s *subRec
	}
	queue := []step{{u, s}}
	seen := 0
	for len(queue) > 0 && seen < 16 {
		st := queue[0]
		queue = queue[1:]
		seen++
		if id.linkage == "" {
			id.linkage = st.s.linkage
		}
		if id.name == "" {
			id.name = st.s.name
		}
		if !haveFile && st.s.declFile >= 0 {
			haveFile = true
			id.declUnit, id.declIdx = st.u, st.s.declFile
		}
		if !haveLine && st.s.declLine >= 0 {
			haveLine = true
			id.declLine = uint32(st.s.declLine)
		}
		if !haveClass && st.s.scope >= 0 {
			haveClass = true
			id.class = rc.qualifiedScope(st.u, st.s.scope)
		}
		if !haveParams && st.s.params >= 0 {
			haveParams = true
			for k, n := st.s.params, 0; k >= 0 && int(k) < len(st.u.params) && n < len(st.u.params); k, n = st.u.params[k].next, n+1 {
				p := &st.u.params[k]
				if p.artificial {
					id.hasThis = true
					continue
				}
				id.params = append(id.params, di.typeName(st.u, p.typ, 0, rc))
				id.paramNames = append(id.paramNames, p.name)
			}
		}
		for _, ref := range [2]dwarf.Offset{st.s.spec, st.s.origin} {
			if ref == 0 {
				continue
			}
			if nu, ni := di.subIndex(ref); nu != nil {
				queue = append(queue, step{nu, &nu.subs[ni]})
			}
		}
	}
	return id
}

// qualifiedScope returns the "::"-joined names of scope i of u and the
// scopes around it.
func (rc *resolveCache) qualifiedScope(u *cuData, i int32) string {
	if i < 0 || int(i) >= len(u.scopes) {
		return ""
	}
	k := unitScope{u, i}
	if s, ok := rc.scopes[k]; ok {
		return s
	}
	s := u.qualify(i)
	if rc.scopes == nil {
		rc.scopes = make(map[unitScope]string)
	}
	rc.scopes[k] = s
	return s
}

func (u *cuData) qualify(i int32) string {
	var parts []string
	for n := 0; i >= 0 && int(i) < len(u.scopes) && n < 64; n++ {
		name := u.scopes[i].name
		if name == "" {
			name = "(anonymous namespace)"
		}
		parts = append(parts, name)
		i = u.scopes[i].parent
	}
	s := ""
	for j := len(parts) - 1; j >= 0; j-- {
		if s != "" {
			s += "::"
		}
		s += parts[j]
	}
	return s
}

// typeName prints a type the way C++ and llvm-dwarfdump do: "String &",
// "int", "app_MyService_Orders_Order *", "const char *".
func (di *dwarfInfo) typeName(u *cuData, off dwarf.Offset, depth int, rc *resolveCache) string {
	if off == 0 {
		return "void"
	}
	tu := u
	if off < u.off || off >= u.end {
		if tu = di.unitOf(off); tu == nil {
			return "?"
		}
	}
	if s, ok := rc.types[unitOffset{tu, off}]; ok {
		return s
	}
	if depth > 12 {
		return "?"
	}
	t, ok := tu.typeAt(off)
	if !ok {
		return "?"
	}
	var s string
	switch t.tag {
	case dwarf.TagPointerType:
		s = pointerTo(di.typeName(tu, t.typ, depth+1, rc), "*")
	case dwarf.TagReferenceType:
		s = pointerTo(di.typeName(tu, t.typ, depth+1, rc), "&")
	case tagRvalueReference:
		s = pointerTo(di.typeName(tu, t.typ, depth+1, rc), "&&")
	case dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType, tagAtomic, tagImmutable:
		q := map[dwarf.Tag]string{dwarf.TagConstType: "const", dwarf.TagVolatileType: "volatile", dwarf.TagRestrictType: "restrict", tagAtomic: "_Atomic", tagImmutable: "immutable"}[t.tag]
		inner := di.typeName(tu, t.typ, depth+1, rc)
		if it, ok := tu.typeAt(t.typ); ok && (it.tag == dwarf.TagPointerType || it.tag == dwarf.TagReferenceType || it.tag == tagRvalueReference) {
			s = inner + " " + q
		} else {
			s = q + " " + inner
		}
	case dwarf.TagArrayType:
		s = di.typeName(tu, t.typ, depth+1, rc) + "[]"
	case dwarf.TagSubroutineType:
		s = di.typeName(tu, t.typ, depth+1, rc) + " (*)(…)"
	case dwarf.TagPtrToMemberType:
		s = di.typeName(tu, t.typ, depth+1, rc) + " ::*"
	default:
		s = t.name
		if s == "" {
			s = "(anonymous)"
		}
		if t.scope >= 0 {
			s = rc.qualifiedScope(tu, t.scope) + "::" + s
		}
	}
	if rc.types == nil {
		rc.types = make(map[unitOffset]string)
	}
	rc.types[unitOffset{tu, off}] = s
	return s
}

// pointerTo writes "T *", and "T **" for a pointer to a pointer.
func pointerTo(inner, op string) string {
	if strings.HasSuffix(inner, "*") || strings.HasSuffix(inner, "&") {
		return inner + op
	}
	return inner + " " + op
}

func (u *cuData) String() string { return fmt.Sprintf("unit@%#x", u.off) }
