package dotnet

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// A name table maps names to function numbers (indexes into the build's
// function table) by hash, so that finding the functions a printed frame can
// name is a binary search, never a scan. Each function is filed under:
//
//	"m:" + DWARF metadata name + "\x00" + type tail
//	       for a method with a DWARF declaration in a class
//	       (MoveNext, .ctor, Ns.IFace.M; the tail of its class name)
//	"s:" + sanitized method part + "\x00" + type tail
//	       for a function without one, for every `__` of its symbol that
//	       may separate type and method (framework assemblies without PDBs)
//	"y:" + each of its symbols (for `symbol+0x…` frames)
//
// The type tail (TypeTail) of the printed type is among the tails a class is
// filed under (classTails) whatever the class's assembly prefix, so that a
// name as common as `.ctor` or `MoveNext` leads to the few functions of types
// ending alike, not to thousands. A hash may collide;
// the caller checks every candidate (Query.Match).
//
// Encoding (little-endian): "DNT3", count uint32, then count entries of
// {hash uint64, function uint32} sorted by hash, then function.
const (
	keyName      = "m:"
	keySymbol    = "y:"
	keySanitized = "s:"
	keyTail      = "\x00"

	tableMagic = "DNT3"
	entrySize  = 12
	headerSize = 8
	// maxKeysPerSymbol bounds the sanitized keys one symbol contributes.
	maxKeysPerSymbol = 16
)

// TableName is the name under which the table is stored in a build's index.
const TableName = "dotnet.names/3"

// BuildTable builds the name table of n functions.
func BuildTable(n int, method func(i int) Method) []byte {
	type entry struct {
		h  uint64
		fn uint32
	}
	entries := make([]entry, 0, n*3)
	for i := 0; i < n; i++ {
		m := method(i)
		add := func(key string) { entries = append(entries, entry{hashKey(key), uint32(i)}) }
		if m.Name != "" && m.Class != "" {
			for _, t := range classTails(m.Class) {
				add(keyName + m.Name + keyTail + t)
			}
		}
		for _, sym := range symbolsOf(&m) {
			if sym == "" {
				continue
			}
			add(keySymbol + sym)
			if m.Name == "" || m.Class == "" {
				for _, k := range SymbolMethodKeys(sym) {
					add(keySanitized + k)
				}
			}
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.fn) - int(b.fn)
	})
	entries = slices.Compact(entries)
	out := make([]byte, headerSize+len(entries)*entrySize)
	copy(out, tableMagic)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(entries)))
	for i, e := range entries {
		p := out[headerSize+i*entrySize:]
		binary.LittleEndian.PutUint64(p, e.h)
		binary.LittleEndian.PutUint32(p[8:], e.fn)
	}
	return out
}

// SymbolMethodKeys returns the keys (sanitized method part, "\x00", type
// tail) a symbol without DWARF is filed under: one per `__` that may
// separate type and method, and per possible uniqueness suffix. For
// `A_B__C__D_0<X>`: "C__D_0\x00B", "C__D\x00B", "D_0\x00C", "D\x00C".
func SymbolMethodKeys(sym string) []string {
	name, _, _ := cutTrailingInst(sym)
	var out []string
	depth := 0
	for i := 0; i+2 < len(name) && len(out) < maxKeysPerSymbol; i++ {
		switch name[i] {
		case '<':
			depth++
			continue
		case '>':
			depth--
			continue
		}
		if depth != 0 || name[i] != '_' || name[i+1] != '_' || i == 0 {
			continue
		}
		rest := name[i+2:]
		if strings.ContainsAny(rest, "<>") {
			continue // the boundary is inside the type's instantiation
		}
		for _, t := range classTails(name[:i]) {
			out = append(out, rest+keyTail+t)
			if r, ok := cutDedup(rest); ok && r != "" {
				out = append(out, r+keyTail+t)
			}
		}
	}
	return out
}

// tailLen is how long a type tail is at least, when the type name allows.
const tailLen = 12

// TypeTail returns the tail a printed type is looked up by: the shortest
// suffix of its sanitized name (instantiation removed) that starts after a
// '_' and is at least tailLen bytes long, or the whole name when it is
// shorter. A class name ends with the sanitized printed type after its
// assembly prefix and a '_', so the same suffix is among classTails of the
// class, whatever the prefix.
func TypeTail(name string) string {
	name, _, _ = cutTrailingInst(name)
	for j := len(name) - 1; j >= 0; j-- {
		if name[j] == '_' && len(name)-j-1 >= tailLen {
			return name[j+1:]
		}
	}
	return name
}

// classTails returns every tail a printed type of this class can have: each
// suffix starting after a '_' up to the first at least tailLen long, and the
// whole name when it is shorter; and the same for the name without a
// trailing `_N` that may be a uniqueness suffix.
func classTails(class string) []string {
	base, _, _ := cutTrailingInst(class)
	out := suffixTails(base, nil)
	if b, ok := cutDedup(base); ok {
		out = suffixTails(b, out)
	}
	return out
}

func suffixTails(name string, out []string) []string {
	add := func(t string) {
		for _, o := range out {
			if o == t {
				return
			}
		}
		out = append(out, t)
	}
	for j := len(name) - 1; j >= 0; j-- {
		if name[j] != '_' {
			continue
		}
		t := name[j+1:]
		if t == "" {
			continue
		}
		add(t)
		if len(t) >= tailLen {
			return out
		}
	}
	add(name)
	return out
}

// Table is an opened name table; it reads the bytes in place.
type Table struct {
	data []byte
	n    int
}

// OpenTable checks a name table and opens it. maxFunction is the number of
// functions of the build: an entry naming a larger number is an error.
func OpenTable(data []byte, functions int) (*Table, error) {
	if len(data) < headerSize || string(data[:4]) != tableMagic {
		return nil, fmt.Errorf("dotnet name table: bad header (want %q): rebuild the build's index", tableMagic)
	}
	n := int(binary.LittleEndian.Uint32(data[4:]))
	if n < 0 || (len(data)-headerSize)/entrySize != n || (len(data)-headerSize)%entrySize != 0 {
		return nil, fmt.Errorf("dotnet name table: %d entries do not fit in %d bytes: rebuild the build's index", n, len(data))
	}
	t := &Table{data: data, n: n}
	var prev uint64
	for i := 0; i < n; i++ {
		h, fn := t.entry(i)
		if h < prev {
			return nil, fmt.Errorf("dotnet name table: entry %d (offset %d) is out of order: rebuild the build's index", i, headerSize+i*entrySize)
		}
		if int(fn) >= functions {
			return nil, fmt.Errorf("dotnet name table: entry %d (offset %d) names function %d of %d: rebuild the build's index", i, headerSize+i*entrySize, fn, functions)
		}
		prev = h
	}
	return t, nil
}

// Len returns the number of entries.
func (t *Table) Len() int { return t.n }

func (t *Table) entry(i int) (uint64, uint32) {
	p := t.data[headerSize+i*entrySize:]
	return binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint32(p[8:])
}

// Lookup calls yield with every function filed under key (and possibly others
// whose key hashes alike), in increasing order, until yield returns false.
func (t *Table) Lookup(key string, yield func(fn int) bool) {
	h := hashKey(key)
	lo, hi := 0, t.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e, _ := t.entry(m); e < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo; i < t.n; i++ {
		e, fn := t.entry(i)
		if e != h || !yield(int(fn)) {
			return
		}
	}
}

// LookupSymbol calls yield with the functions that may have the symbol sym.
func (t *Table) LookupSymbol(sym string, yield func(fn int) bool) {
	t.Lookup(keySymbol+sym, yield)
}

// hashKey is FNV-1a, 64 bits.
func hashKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
