package elfindex

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	name, linkage string
	spec, origin  dwarf.Offset // 0: none
	declFile      int32        // line-table index, -1: none
	declLine      int32
	scope         int32 // enclosing class/namespace, -1: none
	params        []paramRec
}

type paramRec struct {
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
	off, end dwarf.Offset // the unit's span in .debug_info
	entryOff dwarf.Offset // its first entry (the compile unit DIE)
	name     string
	version  int
	ranges   [][2]uint64

	fileNames []string // line-table file index → path
	seqs      []sequence

	subs   []subRec
	subIdx map[dwarf.Offset]int32
	types  map[dwarf.Offset]typeRec
	scopes []scopeRec
	roots  []rootRec

	typeNames map[dwarf.Offset]string // memo of rendered type names
	fileIDs   []uint32                // fileNames index → global file ID (after merge)
}

// dwarfInfo is the DWARF of one file, walked.
type dwarfInfo struct {
	d     *dwarf.Data
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
func unitSpans(info []byte, bo binary.ByteOrder) ([]*cuData, error) {
	var out []*cuData
	off := uint64(0)
	for off+4 <= uint64(len(info)) {
		start := off
		length := uint64(bo.Uint32(info[off:]))
		off += 4
		dwarf64 := false
		if length == 0xffffffff {
			if off+8 > uint64(len(info)) {
				return nil, formatErr("debug file", ".debug_info", int64(start), nil, "truncated 64-bit unit length")
			}
			length = bo.Uint64(info[off:])
			off += 8
			dwarf64 = true
		} else if length >= 0xfffffff0 {
			return nil, formatErr("debug file", ".debug_info", int64(start), nil, "reserved unit length %#x", length)
		}
		if length > uint64(len(info))-off {
			return nil, formatErr("debug file", ".debug_info", int64(start), nil, "unit of %d bytes extends past the end of the section (%d bytes)", length, len(info))
		}
		end := off + length
		if length < 2 {
			off = end
			continue
		}
		vers := bo.Uint16(info[off:])
		hdr := off + 2
		offSize := uint64(4)
		if dwarf64 {
			offSize = 8
		}
		utype := uint8(1) // DW_UT_compile
		switch {
		case vers >= 2 && vers <= 4:
			hdr += offSize + 1
		case vers == 5:
			if hdr+1 > end {
				return nil, formatErr("debug file", ".debug_info", int64(start), nil, "truncated unit header")
			}
			utype = info[hdr]
			hdr += 2 + offSize
			switch utype {
			case 4, 5: // skeleton, split compile: dwo id
				hdr += 8
			case 2, 6: // type, split type: signature and type offset
				hdr += 8 + offSize
			}
		default:
			return nil, formatErr("debug file", ".debug_info", int64(start), nil, "unsupported DWARF version %d", vers)
		}
		if hdr > end {
			return nil, formatErr("debug file", ".debug_info", int64(start), nil, "truncated unit header")
		}
		if utype != 2 && utype != 6 {
			out = append(out, &cuData{off: dwarf.Offset(start), end: dwarf.Offset(end), entryOff: dwarf.Offset(hdr), version: int(vers)})
		}
		off = end
	}
	return out, nil
}

// walkDWARF reads every compile unit's entries and line table, using up to
// GOMAXPROCS goroutines; the row and inline budgets are shared by all units.
// A unit that cannot be decoded is left out and reported in warnings (its
// error is returned only when no unit could be read); going over a limit
// stops everything.
func walkDWARF(d *dwarf.Data, units []*cuData, ls *lineSections, lim Limits) (warnings []error, err error) {
	// debug/dwarf computes a DWARF 5 unit's base offsets the first time a
	// Reader seeks into it, writing them into the shared Data: do that for
	// every unit here, before the goroutines share it.
	for _, u := range units {
		r := d.Reader()
		r.Seek(u.entryOff)
	}
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
	var mu sync.Mutex
	var firstErr error
	errs := make([]error, len(tasks))
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tasks) {
					return
				}
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				t := tasks[i]
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							recoveredPanics.Add(1)
							err = formatErr("debug file", ".debug_info", int64(t.u.off), nil, "malformed compile unit (%v)", p)
						}
					}()
					if t.lines {
						err = readLines(d, t.u, ls, &rows, int64(lim.MaxLineRows))
					} else {
						err = walkUnit(d, t.u, &nodes, &records, lim)
					}
				}()
				if err != nil {
					if errors.Is(err, ErrLimit) {
						fail(err)
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
			warnings = append(warnings, e)
			failed[tasks[i].u] = true
		}
	}
	if len(units) > 0 && len(failed) == len(units) {
		return nil, warnings[0]
	}
	return warnings, nil
}

// cuEntry reads the compile unit's own entry.
func cuEntry(d *dwarf.Data, u *cuData) (*dwarf.Entry, *dwarf.Reader, error) {
	r := d.Reader()
	r.Seek(u.entryOff)
	e, err := r.Next()
	if err != nil {
		return nil, nil, formatErr("debug file", ".debug_info", int64(u.entryOff), err, "cannot read the compile unit entry: %v", err)
	}
	if e == nil {
		return nil, nil, formatErr("debug file", ".debug_info", int64(u.entryOff), nil, "empty compile unit")
	}
	return e, r, nil
}

// readLines runs the unit's line program and keeps its sequences.
func readLines(d *dwarf.Data, u *cuData, ls *lineSections, total *atomic.Int64, maxRows int64) error {
	cu, _, err := cuEntry(d, u)
	if err != nil {
		return err
	}
	lr, err := d.LineReader(cu)
	if err != nil {
		return formatErr("debug file", ".debug_line", -1, err, "line table of compile unit at %#x: %v", u.off, err)
	}
	if lr == nil {
		return nil
	}
	var (
		le       dwarf.LineEntry
		all      []row
		seqStart = -1
		lastFile *dwarf.LineFile
		lastIdx  = noFile
		fileIdx  map[*dwarf.LineFile]uint32
		counted  int64
	)
	indexOf := func(f *dwarf.LineFile) uint32 {
		if f == nil {
			return noFile
		}
		if f == lastFile {
			return lastIdx
		}
		i, ok := fileIdx[f]
		if !ok {
			fileIdx = make(map[*dwarf.LineFile]uint32)
			for j, g := range lr.Files() {
				if g != nil {
					fileIdx[g] = uint32(j)
				}
			}
			if i, ok = fileIdx[f]; !ok {
				i = noFile
			}
		}
		lastFile, lastIdx = f, i
		return i
	}
	type span struct{ a, b int }
	var spans []span
	var his []uint64
	for {
		err := lr.Next(&le)
		if err == io.EOF {
			break
		}
		if err != nil {
			return formatErr("debug file", ".debug_line", -1, err, "line table of compile unit at %#x: %v", u.off, err)
		}
		if le.EndSequence {
			if seqStart >= 0 && seqStart < len(all) && all[seqStart].addr < le.Address {
				// Drop rows at or past the end address.
				n := len(all)
				for n > seqStart && all[n-1].addr >= le.Address {
					n--
				}
				all = all[:n]
				if n > seqStart {
					spans = append(spans, span{seqStart, n})
					his = append(his, le.Address)
				}
			} else if seqStart >= 0 {
				all = all[:seqStart]
			}
			seqStart = -1
			continue
		}
		if seqStart < 0 {
			seqStart = len(all)
		}
		r := row{addr: le.Address, file: indexOf(le.File), line: uint32(max(le.Line, 0)), col: uint32(max(le.Column, 0)), disc: uint32(max(le.Discriminator, 0))}
		if n := len(all); n > seqStart && all[n-1].addr >= r.addr {
			if all[n-1].addr == r.addr {
				all[n-1] = r // the last row at an address wins
				continue
			}
			// Addresses went backwards inside a sequence: keep the rows
			// sorted by dropping the ones now shadowed.
			for n > seqStart && all[n-1].addr >= r.addr {
				n--
			}
			all = all[:n]
		}
		all = append(all, r)
		counted++
		if counted&1023 == 0 {
			if total.Add(1024) > maxRows {
				return formatErr("debug file", ".debug_line", -1, ErrLimit, "more than %d line-table rows", maxRows)
			}
		}
	}
	if total.Add(counted&1023) > maxRows {
		return formatErr("debug file", ".debug_line", -1, ErrLimit, "more than %d line-table rows", maxRows)
	}
	for i, s := range spans {
		u.seqs = append(u.seqs, sequence{lo: all[s.a].addr, hi: his[i], rows: all[s.a:s.b:s.b]})
	}
	sort.SliceStable(u.seqs, func(i, j int) bool { return u.seqs[i].lo < u.seqs[j].lo })
	// File names as llvm-symbolizer joins them; LineReader's (cleaned)
	// only where the header could not be read or for DW_LNE_define_file.
	files := lr.Files()
	stmt, _ := cu.Val(dwarf.AttrStmtList).(int64)
	compDir, _ := cu.Val(dwarf.AttrCompDir).(string)
	raw, rawErr := lineFileNames(ls, uint64(stmt), compDir)
	u.fileNames = make([]string, len(files))
	for i, f := range files {
		switch {
		case rawErr == nil && i < len(raw):
			u.fileNames[i] = raw[i]
		case f != nil:
			u.fileNames[i] = f.Name
		}
	}
	return nil
}

// Tags that debug/dwarf does not name.
const (
	tagRvalueReference dwarf.Tag  = 0x42
	tagAtomic          dwarf.Tag  = 0x47
	tagImmutable       dwarf.Tag  = 0x4b
	attrGNUDiscrim     dwarf.Attr = 0x2136
	attrMIPSLinkage    dwarf.Attr = 0x2007
)

// walkUnit reads the unit's entries: subprograms, inlined subroutines and
// what names them (scopes, parameter types).
func walkUnit(d *dwarf.Data, u *cuData, nodes, records *atomic.Int64, lim Limits) error {
	maxNodes, maxRecords := int64(lim.MaxInlineNodes), int64(lim.MaxDWARFRecords)
	cu, r, err := cuEntry(d, u)
	if err != nil {
		return err
	}
	u.name, _ = cu.Val(dwarf.AttrName).(string)
	if cu.Val(dwarf.AttrLowpc) != nil || cu.Val(dwarf.AttrRanges) != nil {
		if rs, err := d.Ranges(cu); err == nil {
			u.ranges = nonEmpty(rs)
		}
	}
	u.subIdx = make(map[dwarf.Offset]int32)
	u.types = make(map[dwarf.Offset]typeRec)
	if !cu.Children {
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
	keep := func() error {
		if kept++; kept&1023 == 0 && records.Add(1024) > maxRecords {
			return formatErr("debug file", ".debug_info", -1, ErrLimit, "more than %d subprogram, type and scope entries", maxRecords)
		}
		return nil
	}
	for {
		e, err := r.Next()
		if err != nil {
			return formatErr("debug file", ".debug_info", -1, err, "compile unit at %#x: %v", u.off, err)
		}
		if e == nil || e.Offset >= u.end {
			break
		}
		if e.Tag == 0 {
			if len(stack) == 0 {
				break // end of the unit
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			continue
		}
		switch e.Tag {
		case dwarf.TagSubprogram, dwarf.TagNamespace, dwarf.TagClassType, dwarf.TagStructType, dwarf.TagUnionType, dwarf.TagInterfaceType,
			dwarf.TagBaseType, dwarf.TagPointerType, dwarf.TagReferenceType, tagRvalueReference, dwarf.TagConstType,
			dwarf.TagVolatileType, dwarf.TagTypedef, dwarf.TagEnumerationType, dwarf.TagArrayType, dwarf.TagSubroutineType,
			dwarf.TagUnspecifiedType, dwarf.TagPtrToMemberType, dwarf.TagRestrictType, tagAtomic, tagImmutable:
			if err := keep(); err != nil {
				return err
			}
		}
		switch e.Tag {
		case dwarf.TagSubprogram:
			a := attrsOf(e)
			idx := int32(len(u.subs))
			u.subs = append(u.subs, subRec{name: a.name, linkage: a.linkage, spec: a.spec, origin: a.origin,
				declFile: a.declFile, declLine: a.declLine, scope: cur.scope})
			u.subIdx[e.Offset] = idx
			// A subprogram without code below a root (a nested declaration)
			// owns none of the root's inlined subroutines.
			next := ctx{root: -1, inline: -1, scope: -1, paramsOf: idx}
			if !a.declaration && (a.hasLow || a.hasRanges) {
				rs := a.pcRange()
				if a.hasRanges {
					rs, _ = d.Ranges(e)
				}
				if rs = nonEmpty(rs); len(rs) > 0 {
					u.roots = append(u.roots, rootRec{sub: idx, ranges: rs, lowPC: a.hasLow})
					next.root, next.inline = int32(len(u.roots)-1), -1
				}
			}
			if e.Children {
				push(next)
			}
		case dwarf.TagInlinedSubroutine:
			if cur.root < 0 {
				if e.Children {
					r.SkipChildren()
				}
				continue
			}
			a := attrsOf(e)
			rs := a.pcRange()
			if a.hasRanges {
				rs, _ = d.Ranges(e)
			}
			root := &u.roots[cur.root]
			depth := int32(0)
			if cur.inline >= 0 {
				depth = root.nodes[cur.inline].depth + 1
			}
			root.nodes = append(root.nodes, inlineRec{origin: a.origin, ranges: nonEmpty(rs), parent: cur.inline, depth: depth,
				callFile: a.callFile, callLine: a.callLine, callCol: a.callCol, callDisc: a.callDisc, lowPC: a.hasLow})
			counted++
			if counted&1023 == 0 && nodes.Add(1024) > maxNodes {
				return formatErr("debug file", ".debug_info", -1, ErrLimit, "more than %d inlined subroutines", maxNodes)
			}
			if e.Children {
				push(ctx{root: cur.root, inline: int32(len(root.nodes) - 1), scope: -1, paramsOf: -1})
			}
		case dwarf.TagLexDwarfBlock, dwarf.TagTryDwarfBlock, dwarf.TagCatchDwarfBlock:
			if e.Children {
				push(ctx{root: cur.root, inline: cur.inline, scope: cur.scope, paramsOf: -1})
			}
		case dwarf.TagFormalParameter:
			if cur.paramsOf >= 0 {
				p := paramRec{}
				p.name, _ = e.Val(dwarf.AttrName).(string)
				p.typ, _ = e.Val(dwarf.AttrType).(dwarf.Offset)
				p.artificial, _ = e.Val(dwarf.AttrArtificial).(bool)
				s := &u.subs[cur.paramsOf]
				s.params = append(s.params, p)
			}
			if e.Children {
				r.SkipChildren()
			}
		case dwarf.TagNamespace, dwarf.TagClassType, dwarf.TagStructType, dwarf.TagUnionType, dwarf.TagInterfaceType:
			name, _ := e.Val(dwarf.AttrName).(string)
			if e.Tag != dwarf.TagNamespace {
				t, _ := e.Val(dwarf.AttrType).(dwarf.Offset)
				u.types[e.Offset] = typeRec{tag: e.Tag, name: name, typ: t, scope: cur.scope}
			}
			if e.Children {
				u.scopes = append(u.scopes, scopeRec{name: name, parent: cur.scope})
				push(ctx{root: cur.root, inline: cur.inline, scope: int32(len(u.scopes) - 1), paramsOf: -1})
			}
		case dwarf.TagBaseType, dwarf.TagPointerType, dwarf.TagReferenceType, tagRvalueReference, dwarf.TagConstType,
			dwarf.TagVolatileType, dwarf.TagTypedef, dwarf.TagEnumerationType, dwarf.TagArrayType, dwarf.TagSubroutineType,
			dwarf.TagUnspecifiedType, dwarf.TagPtrToMemberType, dwarf.TagRestrictType, tagAtomic, tagImmutable:
			name, _ := e.Val(dwarf.AttrName).(string)
			t, _ := e.Val(dwarf.AttrType).(dwarf.Offset)
			u.types[e.Offset] = typeRec{tag: e.Tag, name: name, typ: t, scope: cur.scope}
			if e.Children {
				r.SkipChildren()
			}
		default:
			if e.Children {
				r.SkipChildren()
			}
		}
	}
	if nodes.Add(counted&1023) > maxNodes {
		return formatErr("debug file", ".debug_info", -1, ErrLimit, "more than %d inlined subroutines", maxNodes)
	}
	if records.Add(kept&1023) > maxRecords {
		return formatErr("debug file", ".debug_info", -1, ErrLimit, "more than %d subprogram, type and scope entries", maxRecords)
	}
	return nil
}

// attrs are the attributes of a subprogram or inlined subroutine entry.
type attrs struct {
	name, linkage                 string
	spec, origin                  dwarf.Offset
	declFile, declLine            int32
	callFile, callLine, callCol   int32
	callDisc                      int32
	low, high                     uint64
	hasLow, hasHigh, highIsOffset bool
	hasRanges, declaration        bool
}

func attrsOf(e *dwarf.Entry) attrs {
	a := attrs{declFile: -1, declLine: -1, callFile: -1}
	for _, f := range e.Field {
		switch f.Attr {
		case dwarf.AttrName:
			a.name, _ = f.Val.(string)
		case dwarf.AttrLinkageName, attrMIPSLinkage:
			if s, ok := f.Val.(string); ok && a.linkage == "" {
				a.linkage = s
			}
		case dwarf.AttrSpecification:
			a.spec, _ = f.Val.(dwarf.Offset)
		case dwarf.AttrAbstractOrigin:
			a.origin, _ = f.Val.(dwarf.Offset)
		case dwarf.AttrDeclFile:
			a.declFile = int32(toInt(f.Val, -1))
		case dwarf.AttrDeclLine:
			a.declLine = int32(toInt(f.Val, -1))
		case dwarf.AttrCallFile:
			a.callFile = int32(toInt(f.Val, -1))
		case dwarf.AttrCallLine:
			a.callLine = int32(toInt(f.Val, 0))
		case dwarf.AttrCallColumn:
			a.callCol = int32(toInt(f.Val, 0))
		case attrGNUDiscrim:
			a.callDisc = int32(toInt(f.Val, 0))
		case dwarf.AttrLowpc:
			if v, ok := f.Val.(uint64); ok {
				a.low, a.hasLow = v, true
			}
		case dwarf.AttrHighpc:
			switch v := f.Val.(type) {
			case uint64:
				a.high, a.hasHigh = v, true
			case int64:
				a.high, a.hasHigh, a.highIsOffset = uint64(v), true, true
			}
		case dwarf.AttrRanges:
			a.hasRanges = true
		case dwarf.AttrDeclaration:
			a.declaration, _ = f.Val.(bool)
		}
	}
	return a
}

// pcRange returns [low_pc, high_pc) when the entry has both.
func (a attrs) pcRange() [][2]uint64 {
	if !a.hasLow || !a.hasHigh {
		return nil
	}
	hi := a.high
	if a.highIsOffset {
		hi = a.low + a.high
		if hi < a.low {
			return nil
		}
	}
	return [][2]uint64{{a.low, hi}}
}

func toInt(v any, def int64) int64 {
	switch x := v.(type) {
	case int64:
		if x > 1<<31-1 || x < -1<<31 {
			return def
		}
		return x
	case uint64:
		if x > 1<<31-1 {
			return def
		}
		return int64(x)
	}
	return def
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

// sub returns the subprogram record at off.
func (di *dwarfInfo) sub(off dwarf.Offset) (*cuData, *subRec) {
	u := di.unitOf(off)
	if u == nil {
		return nil, nil
	}
	i, ok := u.subIdx[off]
	if !ok {
		return nil, nil
	}
	return u, &u.subs[i]
}

// ident is what names a function or inlined subroutine, gathered by following
// DW_AT_specification and DW_AT_abstract_origin as llvm-symbolizer does.
type ident struct {
	name, linkage string
	declFile      uint32 // global file ID, 0: none
	declLine      uint32
	class         string
	params        []string
	paramNames    []string
	hasThis       bool
}

// resolve follows a subprogram's specification/origin chain.
func (di *dwarfInfo) resolve(u *cuData, s *subRec) ident {
	var id ident
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
			id.declFile = di.fileID(st.u, st.s.declFile)
		}
		if !haveLine && st.s.declLine >= 0 {
			haveLine = true
			id.declLine = uint32(st.s.declLine)
		}
		if !haveClass && st.s.scope >= 0 {
			haveClass = true
			id.class = st.u.qualifiedScope(st.s.scope)
		}
		if !haveParams && len(st.s.params) > 0 {
			haveParams = true
			for _, p := range st.s.params {
				if p.artificial {
					id.hasThis = true
					continue
				}
				id.params = append(id.params, di.typeName(st.u, p.typ, 0))
				id.paramNames = append(id.paramNames, p.name)
			}
		}
		for _, ref := range [2]dwarf.Offset{st.s.spec, st.s.origin} {
			if ref == 0 {
				continue
			}
			if nu, ns := di.sub(ref); ns != nil {
				queue = append(queue, step{nu, ns})
			}
		}
	}
	return id
}

func (u *cuData) qualifiedScope(i int32) string {
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
func (di *dwarfInfo) typeName(u *cuData, off dwarf.Offset, depth int) string {
	if off == 0 {
		return "void"
	}
	tu := u
	if off < u.off || off >= u.end {
		if tu = di.unitOf(off); tu == nil {
			return "?"
		}
	}
	if s, ok := tu.typeNames[off]; ok {
		return s
	}
	if depth > 12 {
		return "?"
	}
	t, ok := tu.types[off]
	if !ok {
		return "?"
	}
	var s string
	switch t.tag {
	case dwarf.TagPointerType:
		s = pointerTo(di.typeName(tu, t.typ, depth+1), "*")
	case dwarf.TagReferenceType:
		s = pointerTo(di.typeName(tu, t.typ, depth+1), "&")
	case tagRvalueReference:
		s = pointerTo(di.typeName(tu, t.typ, depth+1), "&&")
	case dwarf.TagConstType, dwarf.TagVolatileType, dwarf.TagRestrictType, tagAtomic, tagImmutable:
		q := map[dwarf.Tag]string{dwarf.TagConstType: "const", dwarf.TagVolatileType: "volatile", dwarf.TagRestrictType: "restrict", tagAtomic: "_Atomic", tagImmutable: "immutable"}[t.tag]
		inner := di.typeName(tu, t.typ, depth+1)
		if it, ok := tu.types[t.typ]; ok && (it.tag == dwarf.TagPointerType || it.tag == dwarf.TagReferenceType || it.tag == tagRvalueReference) {
			s = inner + " " + q
		} else {
			s = q + " " + inner
		}
	case dwarf.TagArrayType:
		s = di.typeName(tu, t.typ, depth+1) + "[]"
	case dwarf.TagSubroutineType:
		s = di.typeName(tu, t.typ, depth+1) + " (*)(…)"
	case dwarf.TagPtrToMemberType:
		s = di.typeName(tu, t.typ, depth+1) + " ::*"
	default:
		s = t.name
		if s == "" {
			s = "(anonymous)"
		}
		if t.scope >= 0 {
			s = tu.qualifiedScope(t.scope) + "::" + s
		}
	}
	if tu.typeNames == nil {
		tu.typeNames = make(map[dwarf.Offset]string)
	}
	tu.typeNames[off] = s
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
