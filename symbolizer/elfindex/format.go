package elfindex

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
)

// The index format (see the package documentation for the whole layout).
const (
	// Version is the format version written by Build and the only one Open
	// accepts. Bump it on any change to the bytes written.
	Version = 2

	magic      = "AOTSYMIX"
	headerSize = 32
	dirEntry   = 32 // name [16]byte, offset uint64, length uint64
	nameSize   = 16
	// MaxExtensionName is the longest Extension name.
	MaxExtensionName = nameSize - len(extPrefix)
	extPrefix        = "x."
)

// Names of the core sections.
const (
	secMeta    = "meta"
	secStrings = "strings"
	secNames   = "names"
	secFiles   = "files"
	secAddrs   = "addrs"
	secFuncs   = "funcs"
	secFData   = "fdata"
	secParams  = "params"
)

// Size of one record of the functions table.
const funcRecord = 8 // size uint32, fdata offset uint32

// Flags of a function's fdata record; the common ones fit in one byte.
const (
	fSym       = 1 << iota // symbol: name ID follows
	fDWARF                 // the function's own DWARF identity follows
	fLinkSame              // its linkage name is its symbol name
	fRows                  // line rows follow
	fParams                // a parameter list offset follows
	fThis                  // an artificial (this) parameter was left out of Params
	fInline                // inline ranges follow
	fCalls                 // return addresses follow (the code was read)
	fAliases               // aliases and llvm-symbolizer's choice follow
	fSymFile               // the STT_FILE name of its local symbol follows
	fLowPC                 // no symbol, and its DWARF entry has DW_AT_low_pc
	fInherited             // rows and inlines come from the enclosing function's DWARF
	fParent                // nested: the distance back to the enclosing function follows
	fRowIndex              // row checkpoints follow the rows
)

// Inline ranges are two fixed-width tables, so that a lookup binary-searches
// the intervals and reads each node of the chain directly: per node
// inlineNodeFields uint32 (parent + 1 or 0 for the function, name ID,
// declaration file and line, call file, line, column and discriminator,
// 1 + the offset of DW_AT_low_pc or 0); per interval 3 uint32 (start and
// end as offsets from the function start, node index).
const (
	inlineNodeFields = 9
	inlineNodeSize   = 4 * inlineNodeFields
	inlineSegSize    = 12
)

// The row index of a function with many rows: after every rowStride rows,
// the state there (rowCheckpoint bytes: address − function start, offset
// of the next row in the rows, file, line, column, discriminator, each a
// uint32), so that a lookup decodes at most rowStride rows.
const (
	rowStride     = 16
	rowIndexMin   = 24
	rowCheckpoint = 24
)

// Meta flags.
const (
	metaHasCode    = 1 << iota // return addresses were recorded
	metaAddr64                 // addrs holds 8-byte addresses
	metaLookupOnly             // built with Options.LookupOnly: no parameters or classes
)

// strtab builds the deduplicated string table.
type strtab struct {
	b   []byte
	off map[string]uint32
}

func newStrtab() *strtab { return &strtab{off: make(map[string]uint32)} }

// add returns the offset of s, adding it when new.
func (t *strtab) add(s string) uint32 {
	if s == "" {
		return 0
	}
	if o, ok := t.off[s]; ok {
		return o
	}
	o := uint32(len(t.b))
	t.b = append(t.b, s...)
	t.off[s] = o
	return o
}

// enc is an append-only byte encoder.
type enc struct{ b []byte }

func (e *enc) u(v uint64)     { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) s(v int64)      { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) bytes(v []byte) { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(t *strtab, s string) {
	e.u(uint64(t.add(s)))
	e.u(uint64(len(s)))
}

// section is one named section of an index being written.
type section struct {
	name string
	data []byte
}

// writeIndex lays out the header, the directory and the sections, each
// section aligned to 8 bytes.
func writeIndex(secs []section) ([]byte, error) {
	for _, s := range secs {
		if len(s.name) == 0 || len(s.name) > nameSize || strings.IndexByte(s.name, 0) >= 0 {
			return nil, fmt.Errorf("bad section name %q", s.name)
		}
	}
	size := headerSize + dirEntry*len(secs)
	offs := make([]int, len(secs))
	for i, s := range secs {
		size = (size + 7) &^ 7
		offs[i] = size
		size += len(s.data)
	}
	out := make([]byte, size)
	copy(out, magic)
	binary.LittleEndian.PutUint32(out[8:], Version)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(secs)))
	binary.LittleEndian.PutUint64(out[16:], uint64(size))
	for i, s := range secs {
		d := out[headerSize+i*dirEntry:]
		copy(d[:nameSize], s.name)
		binary.LittleEndian.PutUint64(d[16:], uint64(offs[i]))
		binary.LittleEndian.PutUint64(d[24:], uint64(len(s.data)))
		copy(out[offs[i]:], s.data)
	}
	return out, nil
}

// paramTable deduplicates parameter lists, found by a hash of their
// strings.
type paramTable struct {
	e    enc
	seed maphash.Seed
	off  map[uint64][]paramList
}

type paramList struct {
	types, names []string
	off          uint32
}

func newParamTable() *paramTable {
	return &paramTable{seed: maphash.MakeSeed(), off: make(map[uint64][]paramList)}
}

func (p *paramTable) add(t *strtab, types, names []string) uint32 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	for _, list := range [2][]string{types, names} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(list)))
		h.Write(n[:])
		for _, s := range list {
			binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
			h.Write(n[:])
			h.WriteString(s)
		}
	}
	key := h.Sum64()
	for _, l := range p.off[key] {
		if slices.Equal(l.types, types) && slices.Equal(l.names, names) {
			return l.off
		}
	}
	o := uint32(len(p.e.b))
	p.e.u(uint64(len(types)))
	for i, ty := range types {
		p.e.str(t, ty)
		name := ""
		if i < len(names) {
			name = names[i]
		}
		p.e.str(t, name)
	}
	p.off[key] = append(p.off[key], paramList{types, names, o})
	return o
}
