package elfindex

import (
	"bytes"
	"debug/dwarf"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A purpose-built reader of .debug_info: unit headers, abbreviation tables,
// and attribute values decoded only where the index needs them; every other
// attribute is skipped by the size its form gives. Entries are never
// materialised (no per-entry allocation) and strings are views of the
// decompressed sections, which Build keeps unchanged until it has written
// the index.
//
// Values follow debug/dwarf's reading of each form (the index was first
// built on it, and its answers are checked against llvm-symbolizer), so
// that a valid file gives the same index. Every offset and size is checked
// against its section; a malformed entry is an error naming the section and
// the offset, which leaves its compile unit out.

// dwarfData holds the DWARF sections of one file, decompressed.
type dwarfData struct {
	role                                  string // "debug file", "executable"
	info, abbrev, line, str, ranges, addr []byte
	lineStr, strOffsets, rnglists         []byte
	order                                 binary.ByteOrder
	lookupOnly                            bool         // Options.LookupOnly
	rowBudget                             atomic.Int64 // rows readLines may still reserve ahead
	abbrevMu                              sync.Mutex
	abbrevs                               map[uint64]*abbrevTable
	abbrevErrs                            map[uint64]error
}

// Forms (DWARF 5, 7.5.6) and the GNU extensions debug/dwarf reads.
const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
	formUnknown       = 0xffff // a form number that does not fit: always an error
)

// abbrev is one abbreviation: the tag, whether entries have children, and
// the attributes' specifications.
type abbrev struct {
	tag      dwarf.Tag
	children bool
	defined  bool  // false for a hole in abbrevTable.dense
	kind     uint8 // what the walker does with the tag (tagKind)
	attrs    []abbrevAttr
}

type abbrevAttr struct {
	attr     dwarf.Attr
	form     uint16
	implicit int64 // DW_FORM_implicit_const's value
}

// abbrevTable maps abbreviation codes to abbreviations: a slice for the
// small dense codes producers use, a map for the rest.
type abbrevTable struct {
	dense  []abbrev // by code; defined is false for a hole
	sparse map[uint64]*abbrev
}

func (t *abbrevTable) get(code uint64) *abbrev {
	if code < uint64(len(t.dense)) {
		if a := &t.dense[code]; a.defined {
			return a
		}
		return nil
	}
	return t.sparse[code]
}

// abbrevTableAt returns the abbreviation table at off in .debug_abbrev,
// parsed once per file.
func (d *dwarfData) abbrevTableAt(off uint64) (*abbrevTable, error) {
	d.abbrevMu.Lock()
	defer d.abbrevMu.Unlock()
	if t, ok := d.abbrevs[off]; ok {
		return t, nil
	}
	if err, ok := d.abbrevErrs[off]; ok {
		return nil, err
	}
	t, err := parseAbbrevs(d.abbrev, off, d.role)
	if d.abbrevs == nil {
		d.abbrevs, d.abbrevErrs = make(map[uint64]*abbrevTable), make(map[uint64]error)
	}
	if err != nil {
		d.abbrevErrs[off] = err
		return nil, err
	}
	d.abbrevs[off] = t
	return t, nil
}

// parseAbbrevs reads the abbreviation table at off: (code, tag, children,
// (attribute, form[, implicit constant])… 0 0)… 0.
func parseAbbrevs(b []byte, off uint64, role string) (*abbrevTable, error) {
	if off > uint64(len(b)) {
		return nil, formatErr(role, ".debug_abbrev", int64(off), nil, "abbreviation table offset is past the end of the section (%d bytes)", len(b))
	}
	r := secReader{b: b, p: int(off), end: len(b)}
	bad := func(what string) error {
		return formatErr(role, ".debug_abbrev", int64(r.p), nil, "%s", what)
	}
	// Count first, so that the table is allocated once.
	nAbbrevs, nSpecs, maxCode := 0, 0, uint64(0)
	for c := r; ; {
		code := c.uleb()
		if c.bad || code == 0 {
			break
		}
		c.uleb()
		c.u8()
		for !c.bad {
			attr, form := c.uleb(), c.uleb()
			if attr == 0 && form == 0 {
				break
			}
			if form == formImplicitConst {
				c.sleb()
			}
			nSpecs++
		}
		nAbbrevs++
		maxCode = max(maxCode, code)
	}
	t := &abbrevTable{}
	if maxCode < uint64(4*nAbbrevs+64) {
		t.dense = make([]abbrev, maxCode+1)
	} else {
		t.sparse = make(map[uint64]*abbrev, nAbbrevs)
	}
	specs := make([]abbrevAttr, 0, nSpecs) // one backing array for the whole table
	for {
		code := r.uleb()
		if r.bad {
			return nil, bad("truncated abbreviation table")
		}
		if code == 0 {
			break
		}
		tag := r.uleb()
		children := r.u8()
		from := len(specs)
		for {
			attr, form := r.uleb(), r.uleb()
			if r.bad {
				return nil, bad("truncated abbreviation table")
			}
			if attr == 0 && form == 0 {
				break
			}
			s := abbrevAttr{attr: dwarf.Attr(attr), form: formUnknown}
			if form < formUnknown {
				s.form = uint16(form)
			}
			if form == formImplicitConst {
				s.implicit = r.sleb()
			}
			if !knownForm(s.form) {
				return nil, bad(fmt.Sprintf("unknown attribute form %#x", form))
			}
			specs = append(specs, s)
		}
		if tag > 0xffffffff {
			return nil, bad(fmt.Sprintf("tag %#x out of range", tag))
		}
		a := abbrev{tag: dwarf.Tag(tag), children: children != 0, defined: true, kind: tagKind(dwarf.Tag(tag)), attrs: specs[from:len(specs):len(specs)]}
		if t.dense != nil && code < uint64(len(t.dense)) {
			t.dense[code] = a
		} else {
			if t.sparse == nil {
				t.sparse = make(map[uint64]*abbrev)
			}
			t.sparse[code] = &a
		}
	}
	return t, nil
}

func knownForm(f uint16) bool {
	switch {
	case f >= formAddr && f <= formAddrx4 && f != 0x02:
		return true
	case f == formGNURefAlt || f == formGNUStrpAlt:
		return true
	}
	return false
}

// Tag kinds: what the walker does with an entry.
const (
	kindOther      = iota // skipped with its children
	kindSubprogram        // DW_TAG_subprogram
	kindInlined           // DW_TAG_inlined_subroutine
	kindBlock             // lexical, try and catch blocks: walked through
	kindParam             // DW_TAG_formal_parameter
	kindScope             // namespace, class, structure, union, interface
	kindType              // the types a parameter's type is printed from
)

// Tags that debug/dwarf does not name.
const (
	tagRvalueReference dwarf.Tag  = 0x42
	tagAtomic          dwarf.Tag  = 0x47
	tagImmutable       dwarf.Tag  = 0x4b
	attrGNUDiscrim     dwarf.Attr = 0x2136
	attrMIPSLinkage    dwarf.Attr = 0x2007
)

func tagKind(t dwarf.Tag) uint8 {
	switch t {
	case dwarf.TagSubprogram:
		return kindSubprogram
	case dwarf.TagInlinedSubroutine:
		return kindInlined
	case dwarf.TagLexDwarfBlock, dwarf.TagTryDwarfBlock, dwarf.TagCatchDwarfBlock:
		return kindBlock
	case dwarf.TagFormalParameter:
		return kindParam
	case dwarf.TagNamespace, dwarf.TagClassType, dwarf.TagStructType, dwarf.TagUnionType, dwarf.TagInterfaceType:
		return kindScope
	case dwarf.TagBaseType, dwarf.TagPointerType, dwarf.TagReferenceType, tagRvalueReference, dwarf.TagConstType,
		dwarf.TagVolatileType, dwarf.TagTypedef, dwarf.TagEnumerationType, dwarf.TagArrayType, dwarf.TagSubroutineType,
		dwarf.TagUnspecifiedType, dwarf.TagPtrToMemberType, dwarf.TagRestrictType, tagAtomic, tagImmutable:
		return kindType
	}
	return kindOther
}

// secReader reads one section (or a unit of it) up to end; on malformed
// input it sets bad and returns zeros.
type secReader struct {
	b      []byte
	p, end int
	bad    bool
}

func (r *secReader) need(n int) bool {
	if r.bad || n < 0 || n > r.end-r.p {
		r.bad = true
		return false
	}
	return true
}

func (r *secReader) u8() uint8 {
	if r.p < r.end {
		r.p++
		return r.b[r.p-1]
	}
	r.bad = true
	return 0
}

func (r *secReader) skip(n uint64) {
	if r.bad || n > uint64(r.end-r.p) {
		r.bad = true
		return
	}
	r.p += int(n)
}

func (r *secReader) uleb() uint64 {
	if r.p < r.end {
		if c := r.b[r.p]; c < 0x80 {
			r.p++
			return uint64(c)
		}
	}
	var v uint64
	var shift uint
	for r.p < r.end {
		c := r.b[r.p]
		r.p++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *secReader) sleb() int64 {
	var v uint64
	var shift uint
	for r.p < r.end {
		c := r.b[r.p]
		r.p++
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return int64(v)
		}
	}
	r.bad = true
	return 0
}

// uint reads an n-byte unsigned integer (n is 1, 2, 3, 4 or 8).
func (r *secReader) uint(n int, order binary.ByteOrder) uint64 {
	if !r.need(n) {
		return 0
	}
	b := r.b[r.p : r.p+n]
	r.p += n
	switch n {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(order.Uint16(b))
	case 3:
		if order == binary.BigEndian {
			return uint64(b[2]) | uint64(b[1])<<8 | uint64(b[0])<<16
		}
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16
	case 4:
		return uint64(order.Uint32(b))
	case 8:
		return order.Uint64(b)
	}
	r.bad = true
	return 0
}

// cstr reads a NUL-terminated string as a view of the bytes.
func (r *secReader) cstr() string {
	if r.bad || r.p >= r.end {
		r.bad = true
		return ""
	}
	i := bytes.IndexByte(r.b[r.p:r.end], 0)
	if i < 0 {
		r.bad = true
		return ""
	}
	s := view(r.b[r.p : r.p+i])
	r.p += i + 1
	return s
}

// view returns b as a string without copying: b must never change.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// strAt returns the NUL-terminated string at off in sec.
func strAt(sec []byte, off uint64) (string, bool) {
	if off >= uint64(len(sec)) {
		return "", false
	}
	t := sec[off:]
	i := bytes.IndexByte(t, 0)
	if i < 0 {
		return "", false
	}
	return view(t[:i]), true
}

// Value kinds, as debug/dwarf types an attribute's value: what the walker
// accepts for each attribute follows from them.
const (
	vNone = iota // a value the index never uses (blocks, expressions, …)
	vInt         // int64: constants, section offsets, implicit constants
	vUint        // uint64: addresses, type signatures, list indexes
	vRef         // an offset in .debug_info
	vStr         // a string
	vFlag        // a flag
)

// attrVal is one decoded attribute value.
type attrVal struct {
	kind uint8
	form uint16 // the form it was read with (after DW_FORM_indirect)
	v    uint64 // vInt: the int64's bits; vFlag: 0 or 1
	s    string
}

func (v attrVal) int() (int64, bool)   { return int64(v.v), v.kind == vInt }
func (v attrVal) uint() (uint64, bool) { return v.v, v.kind == vUint }
func (v attrVal) ref() (dwarf.Offset, bool) {
	return dwarf.Offset(v.v), v.kind == vRef
}
func (v attrVal) str() string { return v.s }
func (v attrVal) flag() bool  { return v.kind == vFlag && v.v != 0 }

// toInt32 reads a constant as debug/dwarf's int64 or uint64, def when it is
// neither or out of int32's range.
func (v attrVal) toInt32(def int32) int32 {
	switch v.kind {
	case vInt:
		x := int64(v.v)
		if x > 1<<31-1 || x < -1<<31 {
			return def
		}
		return int32(x)
	case vUint:
		if v.v > 1<<31-1 {
			return def
		}
		return int32(v.v)
	}
	return def
}

// unitReader walks the entries of one unit.
type unitReader struct {
	d *dwarfData
	u *cuData
	r secReader // over .debug_info, end at the unit's end
}

func (d *dwarfData) unitReader(u *cuData, at dwarf.Offset) unitReader {
	return unitReader{d: d, u: u, r: secReader{b: d.info, p: int(at), end: int(u.end)}}
}

func (ur *unitReader) errorf(at int, format string, args ...any) error {
	return formatErr(ur.d.role, ".debug_info", int64(at), nil, "compile unit at %#x: %s", ur.u.off, fmt.Sprintf(format, args...))
}

// offSize is 4 or 8 (DWARF 64).
func (u *cuData) offSize() int {
	if u.dwarf64 {
		return 8
	}
	return 4
}

// index reads the operand of an indexed form (DW_FORM_addrx*, strx*): a
// ULEB128 for addrx and strx, else 1 to 4 bytes.
func (ur *unitReader) index(form uint16) uint64 {
	switch form {
	case formAddrx1, formStrx1:
		return ur.r.uint(1, ur.d.order)
	case formAddrx2, formStrx2:
		return ur.r.uint(2, ur.d.order)
	case formAddrx3, formStrx3:
		return ur.r.uint(3, ur.d.order)
	case formAddrx4, formStrx4:
		return ur.r.uint(4, ur.d.order)
	}
	return ur.r.uleb()
}

// value reads the value of one attribute. It returns an error for a form
// it cannot read or a value outside its section.
func (ur *unitReader) value(s *abbrevAttr) (attrVal, error) {
	r := &ur.r
	u := ur.u
	at := r.p
	form := s.form
	if form == formIndirect {
		f := r.uleb()
		if r.bad {
			return attrVal{}, ur.errorf(at, "truncated entry")
		}
		if f == formIndirect || f >= formUnknown || !knownForm(uint16(f)) {
			return attrVal{}, ur.errorf(at, "unknown attribute form %#x", f)
		}
		form = uint16(f)
	}
	v := attrVal{form: form}
	switch form {
	case formAddr:
		v.kind, v.v = vUint, r.uint(int(u.addrSize), ur.d.order)
		if u.addrSize != 1 && u.addrSize != 2 && u.addrSize != 4 && u.addrSize != 8 {
			return v, ur.errorf(at, "unknown address size %d", u.addrSize)
		}
	case formAddrx, formAddrx1, formAddrx2, formAddrx3, formAddrx4:
		idx := ur.index(form)
		if r.bad {
			break
		}
		a, err := ur.d.debugAddr(u, u.addrBase, idx)
		if err != nil {
			return v, err
		}
		v.kind, v.v = vUint, a
	case formBlock1:
		r.skip(r.uint(1, ur.d.order))
	case formBlock2:
		r.skip(r.uint(2, ur.d.order))
	case formBlock4:
		r.skip(r.uint(4, ur.d.order))
	case formBlock, formExprloc:
		r.skip(r.uleb())
	case formData1:
		v.kind, v.v = vInt, r.uint(1, ur.d.order)
	case formData2:
		v.kind, v.v = vInt, r.uint(2, ur.d.order)
	case formData4:
		v.kind, v.v = vInt, r.uint(4, ur.d.order)
	case formData8:
		v.kind, v.v = vInt, r.uint(8, ur.d.order)
	case formData16:
		r.skip(16)
	case formSdata:
		v.kind, v.v = vInt, uint64(r.sleb())
	case formUdata:
		v.kind, v.v = vInt, r.uleb()
	case formImplicitConst:
		v.kind, v.v = vInt, uint64(s.implicit)
	case formFlag:
		v.kind = vFlag
		if r.u8() == 1 {
			v.v = 1
		}
	case formFlagPresent:
		v.kind, v.v = vFlag, 1
	case formRefAddr:
		n := u.offSize()
		if u.version == 2 {
			n = int(u.addrSize)
		}
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uint(n, ur.d.order)))
	case formRef1:
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uint(1, ur.d.order))+u.off)
	case formRef2:
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uint(2, ur.d.order))+u.off)
	case formRef4:
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uint(4, ur.d.order))+u.off)
	case formRef8:
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uint(8, ur.d.order))+u.off)
	case formRefUdata:
		v.kind, v.v = vRef, uint64(dwarf.Offset(r.uleb())+u.off)
	case formString:
		v.kind, v.s = vStr, r.cstr()
	case formStrp, formLineStrp:
		off := r.uint(u.offSize(), ur.d.order)
		if r.bad {
			break
		}
		sec, name := ur.d.str, ".debug_str"
		if form == formLineStrp {
			sec, name = ur.d.lineStr, ".debug_line_str"
		}
		str, ok := strAt(sec, off)
		if !ok {
			return v, formatErr(ur.d.role, name, int64(off), nil, "string of the entry at %#x in .debug_info is outside the section (%d bytes) or not terminated", at, len(sec))
		}
		v.kind, v.s = vStr, str
	case formStrx, formStrx1, formStrx2, formStrx3, formStrx4:
		idx := ur.index(form)
		if r.bad {
			break
		}
		str, err := ur.d.strx(u, idx, at)
		if err != nil {
			return v, err
		}
		v.kind, v.s = vStr, str
	case formStrpSup, formRefSup4:
		if form == formRefSup4 {
			r.skip(4)
		} else {
			r.skip(uint64(u.offSize()))
		}
	case formSecOffset, formGNURefAlt, formGNUStrpAlt:
		v.kind, v.v = vInt, r.uint(u.offSize(), ur.d.order)
	case formRefSig8, formRefSup8:
		v.kind, v.v = vUint, r.uint(8, ur.d.order)
	case formLoclistx:
		v.kind, v.v = vUint, r.uleb()
	case formRnglistx:
		idx := r.uleb()
		if r.bad {
			break
		}
		off, err := ur.d.rnglistx(u, idx)
		if err != nil {
			return v, err
		}
		v.kind, v.v = vUint, off
	default:
		return v, ur.errorf(at, "unknown attribute form %#x", form)
	}
	if r.bad {
		return attrVal{}, ur.errorf(at, "entry extends past the end of its unit")
	}
	return v, nil
}

// skipValue skips one attribute's value.
func (ur *unitReader) skipValue(s *abbrevAttr) error {
	r := &ur.r
	u := ur.u
	form := s.form
	at := r.p
	if form == formIndirect {
		f := r.uleb()
		if f == formIndirect || f >= formUnknown || !knownForm(uint16(f)) {
			return ur.errorf(at, "unknown attribute form %#x", f)
		}
		form = uint16(f)
	}
	switch form {
	case formFlagPresent, formImplicitConst:
	case formData1, formRef1, formFlag, formStrx1, formAddrx1:
		r.skip(1)
	case formData2, formRef2, formStrx2, formAddrx2:
		r.skip(2)
	case formStrx3, formAddrx3:
		r.skip(3)
	case formData4, formRef4, formRefSup4, formStrx4, formAddrx4:
		r.skip(4)
	case formData8, formRef8, formRefSig8, formRefSup8:
		r.skip(8)
	case formData16:
		r.skip(16)
	case formAddr:
		r.skip(uint64(u.addrSize))
	case formStrp, formLineStrp, formSecOffset, formStrpSup, formGNURefAlt, formGNUStrpAlt:
		r.skip(uint64(u.offSize()))
	case formRefAddr:
		if u.version == 2 {
			r.skip(uint64(u.addrSize))
		} else {
			r.skip(uint64(u.offSize()))
		}
	case formSdata, formUdata, formRefUdata, formStrx, formAddrx, formLoclistx, formRnglistx:
		r.uleb()
	case formString:
		r.cstr()
	case formBlock1:
		r.skip(r.uint(1, ur.d.order))
	case formBlock2:
		r.skip(r.uint(2, ur.d.order))
	case formBlock4:
		r.skip(r.uint(4, ur.d.order))
	case formBlock, formExprloc:
		r.skip(r.uleb())
	default:
		return ur.errorf(at, "unknown attribute form %#x", form)
	}
	if r.bad {
		return ur.errorf(at, "entry extends past the end of its unit")
	}
	return nil
}

// skipEntry skips the attributes of an entry, noting its DW_AT_sibling.
func (ur *unitReader) skipEntry(a *abbrev) (sibling dwarf.Offset, err error) {
	for i := range a.attrs {
		s := &a.attrs[i]
		if s.attr == dwarf.AttrSibling && a.children {
			v, err := ur.value(s)
			if err != nil {
				return 0, err
			}
			if off, ok := v.ref(); ok {
				sibling = off
			}
			continue
		}
		if err := ur.skipValue(s); err != nil {
			return 0, err
		}
	}
	return sibling, nil
}

// next reads an entry's abbreviation code: nil for a null entry.
func (ur *unitReader) next() (*abbrev, int, error) {
	at := ur.r.p
	code := ur.r.uleb()
	if ur.r.bad {
		return nil, at, ur.errorf(at, "truncated entry")
	}
	if code == 0 {
		return nil, at, nil
	}
	a := ur.u.abbrevs.get(code)
	if a == nil {
		return nil, at, ur.errorf(at, "unknown abbreviation code %d", code)
	}
	return a, at, nil
}

// skipChildren skips the children of the entry just read: to its sibling
// when it names one past here (inside the unit), else entry by entry.
func (ur *unitReader) skipChildren(sibling dwarf.Offset) error {
	if sibling != 0 && int64(sibling) >= int64(ur.r.p) {
		if int64(sibling) > int64(ur.r.end) {
			ur.r.p = ur.r.end
		} else {
			ur.r.p = int(sibling)
		}
		return nil
	}
	depth := 1
	for depth > 0 && ur.r.p < ur.r.end {
		a, _, err := ur.next()
		if err != nil {
			return err
		}
		if a == nil {
			depth--
			continue
		}
		sib, err := ur.skipEntry(a)
		if err != nil {
			return err
		}
		if a.children {
			if sib != 0 && int64(sib) >= int64(ur.r.p) {
				if int64(sib) > int64(ur.r.end) {
					ur.r.p = ur.r.end
				} else {
					ur.r.p = int(sib)
				}
				continue
			}
			depth++
		}
	}
	return nil
}

// debugAddr reads the address at index idx of the unit's .debug_addr table.
func (d *dwarfData) debugAddr(u *cuData, base, idx uint64) (uint64, error) {
	if d.addr == nil {
		return 0, formatErr(d.role, ".debug_info", int64(u.off), nil, "compile unit at %#x uses DW_FORM_addrx but the file has no .debug_addr section", u.off)
	}
	n := uint64(u.addrSize)
	if n != 1 && n != 2 && n != 4 && n != 8 {
		return 0, formatErr(d.role, ".debug_info", int64(u.off), nil, "compile unit at %#x has addresses of %d bytes", u.off, n)
	}
	if idx >= uint64(len(d.addr))/n || base > uint64(len(d.addr)) || idx*n+n > uint64(len(d.addr))-base {
		return 0, formatErr(d.role, ".debug_addr", int64(base), nil, "address index %d of compile unit at %#x is outside the section (%d bytes)", idx, u.off, len(d.addr))
	}
	r := secReader{b: d.addr, p: int(base + idx*n), end: len(d.addr)}
	return r.uint(int(n), d.order), nil
}

// strx reads the string at index idx of the unit's string offsets.
func (d *dwarfData) strx(u *cuData, idx uint64, at int) (string, error) {
	if len(d.strOffsets) == 0 {
		return "", formatErr(d.role, ".debug_info", int64(at), nil, "DW_FORM_strx with no .debug_str_offsets section")
	}
	n := uint64(u.offSize())
	so := d.strOffsets
	if idx >= uint64(len(so))/n || u.strBase > uint64(len(so)) || idx*n+n > uint64(len(so))-u.strBase {
		return "", formatErr(d.role, ".debug_str_offsets", int64(u.strBase), nil, "string index %d of the entry at %#x is outside the section (%d bytes)", idx, at, len(so))
	}
	r := secReader{b: so, p: int(u.strBase + idx*n), end: len(so)}
	off := r.uint(int(n), d.order)
	if r.bad {
		return "", formatErr(d.role, ".debug_str_offsets", int64(u.strBase+idx*n), nil, "truncated string offset")
	}
	s, ok := strAt(d.str, off)
	if !ok {
		return "", formatErr(d.role, ".debug_str", int64(off), nil, "string of the entry at %#x in .debug_info is outside the section (%d bytes) or not terminated", at, len(d.str))
	}
	return s, nil
}

// rnglistx resolves a DW_FORM_rnglistx index to an offset in .debug_rnglists.
func (d *dwarfData) rnglistx(u *cuData, idx uint64) (uint64, error) {
	n := uint64(u.offSize())
	rl := d.rnglists
	base := u.rngBase
	if idx >= uint64(len(rl))/n || base > uint64(len(rl)) || idx*n+n > uint64(len(rl))-base {
		return 0, formatErr(d.role, ".debug_rnglists", int64(base), nil, "range list index %d of compile unit at %#x is outside the section (%d bytes)", idx, u.off, len(rl))
	}
	r := secReader{b: rl, p: int(base + idx*n), end: len(rl)}
	return base + r.uint(int(n), d.order), nil
}

// appendGrow is append that doubles a full slice. append grows large
// slices by about a quarter, copying them a dozen times on the way to the
// sizes walking a big unit reaches.
func appendGrow[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		n := make([]T, len(s), 2*len(s)+8)
		copy(n, s)
		s = n
	}
	return append(s, v)
}
