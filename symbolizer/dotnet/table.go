package dotnet

import (
	"encoding/binary"
	"fmt"
	"math/bits"
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
// candidate (Query.Match). A key is hashed in parts as it is made (keyHash:
// 64 bits, eight bytes at a time, then mixed and cut to 32), so no key is
// ever built as a string: building the table allocates nothing per function
// but its entries.
//
// Encoding (little-endian): "DNT5", count uint32, then count entries of
// uint64 hash<<32 | function, sorted and distinct. 32 bits of hash are
// enough: a lookup in a table of ten million entries meets a stray entry
// once in about 400 lookups, and candidates are checked anyway.
const (
	keyName      = "m:"
	keySymbol    = "y:"
	keySanitized = "s:"
	keyTail      = "\x00"

	tableMagic = "DNT5"
	entrySize  = 8
	headerSize = 8
	// maxKeysPerSymbol bounds the sanitized keys one symbol contributes.
	maxKeysPerSymbol = 16
)

// TableName is the name under which the table is stored in a build's index.
// It changes with the keys or the encoding, so that an index holding an
// older table is seen as lacking this one.
const TableName = "dotnet.names/5"

// keyHash hashes a key in parts, as if over the whole key's bytes: eight
// bytes at a time (murmur3's block mixing), the bytes of a part that do not
// fill a word carried to the next part. A keyHash is a value: a common
// prefix is hashed once and extended by each key that shares it.
type keyHash struct {
	h, buf uint64
	n      uint32 // bytes hashed so far; n%8 of them are in buf
}

// newKey starts the hash of a key.
func newKey(prefix string) keyHash { return keyHash{h: 0x2f4ac1bd97e3d865}.add(prefix) }

const (
	mixC1 = 0x87c37b91114253d5
	mixC2 = 0x4cf5ad432745937f
)

func mixWord(h, w uint64) uint64 {
	w *= mixC1
	w = bits.RotateLeft64(w, 31)
	w *= mixC2
	h ^= w
	return bits.RotateLeft64(h, 27)*5 + 0x52dce729
}

func (k keyHash) add(s string) keyHash {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	if r := k.n % 8; r != 0 {
		for ; i < len(b) && r < 8; i, r = i+1, r+1 {
			k.buf |= uint64(b[i]) << (8 * r)
		}
		if r < 8 {
			k.n += uint32(i)
			return k
		}
		k.h = mixWord(k.h, k.buf)
		k.buf = 0
	}
	for ; i+8 <= len(b); i += 8 {
		k.h = mixWord(k.h, binary.LittleEndian.Uint64(b[i:]))
	}
	for r := 0; i+r < len(b); r++ {
		k.buf |= uint64(b[i+r]) << (8 * r)
	}
	k.n += uint32(len(b))
	return k
}

// sum is the 32-bit hash stored: the state, the bytes left over and the
// length mixed (murmur3's finalizer), so that its top bits, which choose
// the bucket, depend on every byte.
func (k keyHash) sum() uint32 {
	x := k.h
	if k.n%8 != 0 {
		x = mixWord(x, k.buf)
	}
	x ^= uint64(k.n)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x >> 32)
}

// hashKey returns the stored hash of a whole key.
func hashKey(key string) uint32 { return newKey(key).sum() }

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
		h := newKey(keyName).add(m.Name).add(keyTail)
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
		b.put(newKey(keySymbol).add(sym), f)
		if sanitized {
			b.symbolMethodKeys(sym, func(rest, dedup string, tails []string) {
				h := newKey(keySanitized).add(rest).add(keyTail)
				hd := newKey(keySanitized).add(dedup).add(keyTail)
				for _, t := range tails {
					b.put(h.add(t), f)
					if dedup != "" {
						b.put(hd.add(t), f)
					}
				}
			})
		}
	}
}

// Finish returns the encoded table. The builder is empty afterwards.
func (b *TableBuilder) Finish() []byte {
	n := b.total
	// One word of header, then the entries, distributed from the chunks
	// by their top bits (hashes are uniform: a few entries per bucket),
	// each bucket then sorted, and encoded in place: the table and the
	// chunks are the most ever held.
	words := make([]uint64, 1+n)
	entries := words[1:]
	// Few enough buckets that their counters and write positions stay in
	// the cache; a bucket is then sorted on its own, in the cache too.
	bits := min(bucketBits(n), 12)
	shift := 64 - bits
	var ends [1<<12 + 1]uint32
	for _, c := range b.chunks {
		for _, v := range c {
			ends[v>>shift+1]++
		}
	}
	for _, v := range b.cur {
		ends[v>>shift+1]++
	}
	for k := 1; k <= 1<<bits; k++ {
		ends[k] += ends[k-1]
	}
	put := func(c []uint64) {
		for _, v := range c {
			k := v >> shift
			entries[ends[k]] = v
			ends[k]++
		}
	}
	for _, c := range b.chunks {
		put(c)
	}
	put(b.cur)
	b.chunks, b.cur, b.total = nil, nil, 0
	// ends[k] is now the end of bucket k.
	var scratch []uint64
	lo := 0
	for k := 0; k < 1<<bits; k++ {
		hi := int(ends[k])
		scratch = sortBucket(entries[lo:hi], bits, scratch)
		lo = hi
	}
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

// sortBucket sorts the entries of one bucket, whose top bits (skip of them)
// are alike: by the next bits into scratch, then each part by insertion. A
// large bucket (entries sharing a hash: one name at many addresses) is
// sorted in place. It returns scratch for the next bucket.
func sortBucket(s []uint64, skip uint, scratch []uint64) []uint64 {
	const small, large = 16, 1 << 16
	switch {
	case len(s) <= small:
		insertionSort(s)
		return scratch
	case len(s) > large:
		slices.Sort(s)
		return scratch
	}
	bits := min(bucketBits(len(s)), 10)
	shift := 64 - bits
	var ends [1<<10 + 1]uint32
	for _, v := range s {
		ends[(v<<skip)>>shift+1]++
	}
	for k := 1; k <= 1<<bits; k++ {
		ends[k] += ends[k-1]
	}
	if cap(scratch) < len(s) {
		scratch = make([]uint64, len(s), 2*len(s))
	}
	scratch = scratch[:len(s)]
	for _, v := range s {
		k := (v << skip) >> shift
		scratch[ends[k]] = v
		ends[k]++
	}
	lo := 0
	for k := 0; k < 1<<bits; k++ {
		hi := int(ends[k])
		if hi-lo > small {
			slices.Sort(scratch[lo:hi])
		} else {
			insertionSort(scratch[lo:hi])
		}
		lo = hi
	}
	copy(s, scratch)
	return scratch
}

func insertionSort(s []uint64) {
	for i := 1; i < len(s); i++ {
		v := s[i]
		j := i
		for ; j > 0 && s[j-1] > v; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
	}
}

// bucketBits returns how many top bits of the hash index n entries: about
// entriesPerBucket entries per bucket, at most 2^24 buckets.
func bucketBits(n int) uint {
	bits := uint(0)
	for bits < 24 && n>>(bits+1) >= entriesPerBucket {
		bits++
	}
	return bits
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// BuildTable builds the name table of n functions.
func BuildTable(n int, method func(i int) Method) []byte {
	var b TableBuilder
	for i := range n {
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
	b.symbolMethodKeys(sym, func(rest, dedup string, tails []string) {
		for _, t := range tails {
			out = append(out, rest+keyTail+t)
			if dedup != "" {
				out = append(out, dedup+keyTail+t)
			}
		}
	})
	return out
}

// symbolMethodKeys calls yield for each boundary SymbolMethodKeys files a
// symbol under: the method part, the method part without a uniqueness
// suffix ("" when it has none), and the type's tails; the keys are each
// part with each tail, in SymbolMethodKeys' order.
func (b *TableBuilder) symbolMethodKeys(sym string, yield func(rest, dedup string, tails []string)) {
	name, _, _ := cutTrailingInst(sym)
	// A boundary is a `__` at angle-bracket depth 0, not at the start,
	// followed by a method part without '<' or '>'. So it lies past the
	// last '<' or '>', where the depth is that of the whole name.
	start := 1
	if last := max(strings.LastIndexByte(name, '<'), strings.LastIndexByte(name, '>')); last >= 0 {
		if strings.Count(name, "<") != strings.Count(name, ">") {
			return
		}
		start = last + 1
	}
	keys := 0
	for i := start; i+2 < len(name) && keys < maxKeysPerSymbol; i++ {
		j := strings.Index(name[i:], "__")
		if j < 0 {
			return
		}
		if i += j; i+2 >= len(name) {
			return
		}
		rest := name[i+2:]
		r, ok := cutDedup(rest)
		if !ok {
			r = ""
		}
		b.tails = appendClassTails(b.tails[:0], name[:i])
		keys += len(b.tails)
		if r != "" {
			keys += len(b.tails)
		}
		yield(rest, r, b.tails)
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
	bits := bucketBits(n)
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
	t.lookup(newKey(keySymbol).add(sym).sum(), yield)
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
