package dotnet

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unsafe"
)

// A name table maps names to function numbers (indexes into the build's
// function table) by hash, so that finding the functions a printed frame can
// name is a lookup in a small bucket, never a scan. Each function is filed
// under:
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
// ending alike, not to thousands. A hash may collide; the caller checks every
// candidate (Query.Match). A key is hashed in parts as it is made (FNV-1a,
// 64 bits, then mixed and cut to 32), so no key is ever built as a string:
// building the table allocates nothing per function but its entries.
//
// Encoding (little-endian): "DNT4", count uint32, then count entries of
// uint64 hash<<32 | function, sorted and distinct. 32 bits of hash are
// enough: a lookup in a table of ten million entries meets a stray entry
// once in about 400 lookups, and candidates are checked anyway.
const (
	keyName      = "m:"
	keySymbol    = "y:"
	keySanitized = "s:"
	keyTail      = "\x00"

	tableMagic = "DNT4"
	entrySize  = 8
	headerSize = 8
	// maxKeysPerSymbol bounds the sanitized keys one symbol contributes.
	maxKeysPerSymbol = 16
)

// TableName is the name under which the table is stored in a build's index.
// It changes with the keys or the encoding, so that an index holding an
// older table is seen as lacking this one.
const TableName = "dotnet.names/4"

// keyHash hashes a key in parts: FNV-1a over the key's bytes.
type keyHash uint64

const (
	fnvOffset keyHash = 14695981039346656037
	fnvPrime  keyHash = 1099511628211
)

func (h keyHash) add(s string) keyHash {
	for i := 0; i < len(s); i++ {
		h ^= keyHash(s[i])
		h *= fnvPrime
	}
	return h
}

// sum is the 32-bit hash stored: the FNV state mixed (murmur3's finalizer),
// so that its top bits, which choose the bucket, depend on every byte.
func (h keyHash) sum() uint32 {
	x := uint64(h)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x >> 32)
}

// hashKey returns the stored hash of a whole key.
func hashKey(key string) uint32 { return fnvOffset.add(key).sum() }

// TableBuilder builds a name table function by function. Its memory is
// the table's entries (8 bytes each, a few per function) held in chunks, and,
// while Finish runs, the table itself: nothing per function is kept besides.
type TableBuilder struct {
	chunks [][]uint64
	cur    []uint64
	total  int
	tails  []string // scratch for class tails
}

const (
	firstChunk = 1 << 10
	maxChunk   = 1 << 16
)

func (b *TableBuilder) put(h keyHash, fn uint32) {
	if len(b.cur) == cap(b.cur) {
		size := firstChunk
		if b.cur != nil {
			b.chunks = append(b.chunks, b.cur)
			size = min(2*cap(b.cur), maxChunk)
		}
		b.cur = make([]uint64, 0, size)
	}
	b.cur = append(b.cur, uint64(h.sum())<<32|uint64(fn))
	b.total++
}

// Add files function fn under its keys. m.Params are not used; m and its
// strings may be reused after Add returns.
func (b *TableBuilder) Add(fn int, m *Method) {
	f := uint32(fn)
	if m.Name != "" && m.Class != "" {
		h := fnvOffset.add(keyName).add(m.Name).add(keyTail)
		b.tails = appendClassTails(b.tails[:0], m.Class)
		for _, t := range b.tails {
			b.put(h.add(t), f)
		}
	}
	sanitized := m.Name == "" || m.Class == ""
	for k := -1; k < len(m.Aliases); k++ {
		sym := m.Symbol
		if k >= 0 {
			sym = m.Aliases[k]
		}
		if sym == "" {
			continue
		}
		b.put(fnvOffset.add(keySymbol).add(sym), f)
		if sanitized {
			b.symbolMethodKeys(sym, func(rest, tail string) {
				b.put(fnvOffset.add(keySanitized).add(rest).add(keyTail).add(tail), f)
			})
		}
	}
}

// Finish returns the encoded table. The builder is empty afterwards.
func (b *TableBuilder) Finish() []byte {
	n := b.total
	// One word of header, then the entries: sorted and encoded in place,
	// so that the table and the chunks are the most ever held.
	words := make([]uint64, 1+n)
	at := 1
	for _, c := range b.chunks {
		at += copy(words[at:], c)
	}
	copy(words[at:], b.cur)
	b.chunks, b.cur, b.total = nil, nil, 0
	entries := words[1:]
	slices.Sort(entries)
	entries = slices.Compact(entries)
	out := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 8*(1+len(entries)))
	if !littleEndian {
		for i, v := range entries {
			binary.LittleEndian.PutUint64(out[headerSize+entrySize*i:], v)
		}
	}
	copy(out, tableMagic)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(entries)))
	return out
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// BuildTable builds the name table of n functions.
func BuildTable(n int, method func(i int) Method) []byte {
	var b TableBuilder
	for i := 0; i < n; i++ {
		m := method(i)
		b.Add(i, &m)
	}
	return b.Finish()
}

// SymbolMethodKeys returns the keys (sanitized method part, "\x00", type
// tail) a symbol without DWARF is filed under: one per `__` that may
// separate type and method, and per possible uniqueness suffix. For
// `A_B__C__D_0<X>`: "C__D_0\x00B", "C__D\x00B", "D_0\x00C", "D\x00C".
func SymbolMethodKeys(sym string) []string {
	var b TableBuilder
	var out []string
	b.symbolMethodKeys(sym, func(rest, tail string) { out = append(out, rest+keyTail+tail) })
	return out
}

// symbolMethodKeys calls yield with the two parts of each key
// SymbolMethodKeys returns, in its order.
func (b *TableBuilder) symbolMethodKeys(sym string, yield func(rest, tail string)) {
	name, _, _ := cutTrailingInst(sym)
	// A boundary's method part must hold no '<' or '>'; past the last one,
	// none does.
	lastAngle := strings.LastIndexAny(name, "<>")
	keys := 0
	depth := 0
	for i := 0; i+2 < len(name) && keys < maxKeysPerSymbol; i++ {
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
		if lastAngle >= i+2 {
			continue // the boundary is inside the type's instantiation
		}
		rest := name[i+2:]
		r, dedup := cutDedup(rest)
		b.tails = appendClassTails(b.tails[:0], name[:i])
		for _, t := range b.tails {
			yield(rest, t)
			keys++
			if dedup && r != "" {
				yield(r, t)
				keys++
			}
		}
	}
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
func classTails(class string) []string { return appendClassTails(nil, class) }

// appendClassTails appends classTails(class) to out, without repeating
// one already appended by this call.
func appendClassTails(out []string, class string) []string {
	from := len(out)
	base, _, _ := cutTrailingInst(class)
	out = suffixTails(base, out, from)
	if b, ok := cutDedup(base); ok {
		out = suffixTails(b, out, from)
	}
	return out
}

func suffixTails(name string, out []string, from int) []string {
	add := func(t string) {
		for _, o := range out[from:] {
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

// Table is an opened name table; it reads the entries in place. A small
// index by the hash's top bits (about one byte per entry, made when the
// table is opened) narrows each lookup to a bucket of a few entries.
type Table struct {
	data    []byte
	n       int
	shift   uint     // 32 − the bucket bits
	buckets []uint32 // buckets[k]: the first entry whose hash>>shift ≥ k
}

// entriesPerBucket is how many entries a bucket holds on average, at most.
const entriesPerBucket = 4

// OpenTable checks a name table and opens it. functions is the number of
// functions of the build: an entry naming a larger number is an error.
func OpenTable(data []byte, functions int) (*Table, error) {
	if len(data) < headerSize || string(data[:4]) != tableMagic {
		return nil, fmt.Errorf("dotnet name table: bad header (want %q): rebuild the build's index", tableMagic)
	}
	n := int(binary.LittleEndian.Uint32(data[4:]))
	if (len(data)-headerSize)%entrySize != 0 || (len(data)-headerSize)/entrySize != n {
		return nil, fmt.Errorf("dotnet name table: %d entries do not fit in %d bytes: rebuild the build's index", n, len(data))
	}
	bits := uint(0)
	for bits < 24 && n>>(bits+1) >= entriesPerBucket {
		bits++
	}
	t := &Table{data: data, n: n, shift: 32 - bits, buckets: make([]uint32, 1<<bits+1)}
	var prev uint64
	next := 0 // the next bucket whose start is not set
	for i := 0; i < n; i++ {
		v := t.word(i)
		if v < prev {
			return nil, fmt.Errorf("dotnet name table: entry %d (offset %d) is out of order: rebuild the build's index", i, headerSize+i*entrySize)
		}
		if fn := uint32(v); int64(fn) >= int64(functions) {
			return nil, fmt.Errorf("dotnet name table: entry %d (offset %d) names function %d of %d: rebuild the build's index", i, headerSize+i*entrySize, fn, functions)
		}
		prev = v
		for k := int(uint32(v>>32) >> t.shift); next <= k; next++ {
			t.buckets[next] = uint32(i)
		}
	}
	for ; next < len(t.buckets); next++ {
		t.buckets[next] = uint32(n)
	}
	return t, nil
}

// Len returns the number of entries.
func (t *Table) Len() int { return t.n }

// Size returns the bytes the opened table holds besides the table's own
// bytes (its bucket index).
func (t *Table) Size() int { return 4 * len(t.buckets) }

func (t *Table) word(i int) uint64 {
	return binary.LittleEndian.Uint64(t.data[headerSize+i*entrySize:])
}

// Lookup calls yield with every function filed under key (and possibly others
// whose key hashes alike), in increasing order, until yield returns false.
func (t *Table) Lookup(key string, yield func(fn int) bool) {
	t.lookup(hashKey(key), yield)
}

// LookupSymbol calls yield with the functions that may have the symbol sym.
func (t *Table) LookupSymbol(sym string, yield func(fn int) bool) {
	t.lookup(fnvOffset.add(keySymbol).add(sym).sum(), yield)
}

// lookup calls yield with the functions filed under hash h; it returns
// false when yield stopped it.
func (t *Table) lookup(h uint32, yield func(fn int) bool) bool {
	k := h >> t.shift
	lo, hi := int(t.buckets[k]), int(t.buckets[k+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint32(t.word(m)>>32) < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo; i < t.n; i++ {
		v := t.word(i)
		if uint32(v>>32) != h {
			return true
		}
		if !yield(int(uint32(v))) {
			return false
		}
	}
	return true
}
