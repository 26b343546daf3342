package elfindex

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The names section holds every function name (symbols, linkage names,
// inlined subroutines' names) sorted and front-coded: in blocks of
// nameBlock names, each name is the length it shares with the previous
// name of its block, then the rest. Names of one namespace or class sort
// together and share most of their bytes (Native AOT's
// "S_P_CoreLib_System_Collections_Generic_…", C++'s "_ZN5boost…", Go's
// "runtime."), so this holds about a third of the bytes of a plain table.
// A name is referred to by its ID: 1 + its rank; 0 is "no name".
//
//	count     uint32
//	nblocks   uint32
//	offsets   nblocks × uint32, from the start of the blocks
//	blocks    per name: uvarint shared, uvarint len(rest), rest
const nameBlock = 8

// nameTable collects names, each with a provisional ID (1 + the order it
// was first added in), and then gives them their final IDs (1 + rank).
type nameTable struct {
	ids   map[string]uint32
	list  []string
	final []uint32 // provisional ID → final ID
}

func newNameTable(hint int) *nameTable {
	return &nameTable{ids: make(map[string]uint32, hint), list: make([]string, 0, hint)}
}

// add returns the provisional ID of s, 0 for "".
func (t *nameTable) add(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.ids[s]; ok {
		return id
	}
	t.list = append(t.list, s)
	id := uint32(len(t.list))
	t.ids[s] = id
	return id
}

// finishNames sorts the names of the tables (each sorted by a goroutine of
// its own, then merged), gives every table its final IDs (the same name
// has the same final ID in every table) and returns the names section.
func finishNames(tables []*nameTable) []byte {
	type named struct {
		s  string
		id uint32
	}
	sorted := make([][]named, len(tables))
	var wg sync.WaitGroup
	for k, t := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]named, len(t.list))
			for i, s := range t.list {
				l[i] = named{s, uint32(i + 1)}
			}
			slices.SortFunc(l, func(a, b named) int { return strings.Compare(a.s, b.s) })
			sorted[k] = l
			t.final = make([]uint32, len(t.list)+1)
		}()
	}
	wg.Wait()
	size, count := 0, 0
	for _, t := range tables {
		for _, s := range t.list {
			size += len(s)
		}
		count += len(t.list)
	}
	// Merge: the least of the tables' next names; the tables that hold it
	// all give it the same rank.
	heads := make([]int, len(tables))
	var unique []string
	rank := uint32(0)
	for {
		least := -1
		for k, l := range sorted {
			if heads[k] < len(l) && (least < 0 || l[heads[k]].s < sorted[least][heads[least]].s) {
				least = k
			}
		}
		if least < 0 {
			break
		}
		s := sorted[least][heads[least]].s
		rank++
		for k, l := range sorted {
			if heads[k] < len(l) && l[heads[k]].s == s {
				tables[k].final[l[heads[k]].id] = rank
				heads[k]++
			}
		}
		unique = append(unique, s)
	}
	nblocks := (len(unique) + nameBlock - 1) / nameBlock
	head := make([]byte, 8+4*nblocks)
	binary.LittleEndian.PutUint32(head, uint32(len(unique)))
	binary.LittleEndian.PutUint32(head[4:], uint32(nblocks))
	body := enc{b: make([]byte, 0, size/3+4*count)} // front-coded names take about a third
	prev := ""
	for i, s := range unique {
		if i%nameBlock == 0 {
			binary.LittleEndian.PutUint32(head[8+4*(i/nameBlock):], uint32(len(body.b)))
			prev = ""
		}
		shared := 0
		for shared < len(prev) && shared < len(s) && prev[shared] == s[shared] {
			shared++
		}
		body.u(uint64(shared))
		body.u(uint64(len(s) - shared))
		body.b = append(body.b, s[shared:]...)
		prev = s
	}
	return append(head, body.b...)
}

// id returns the final ID of a provisional one.
func (t *nameTable) id(provisional uint32) uint64 { return uint64(t.final[provisional]) }

// nameReader reads a names section.
type nameReader struct {
	count   uint64
	offsets []byte
	blocks  []byte
	cache   *nameCache
}

// nameCache keeps recently decoded names: direct-mapped by ID, lock-free
// (a slot is replaced whole), bounded. Stack traces name the same
// functions again and again; a hit costs no decoding and no allocation.
// It has a slot per two names, between minNameSlots and maxNameSlots.
type nameCache struct {
	slots []atomic.Pointer[cachedName]
	mask  uint64
}

type cachedName struct {
	id uint64
	s  string
}

const (
	minNameSlots = 1 << 10
	maxNameSlots = 1 << 14
)

// cacheBytes is what the cache holds at most: its slots and, in each, a
// name of typical length.
func (r *nameReader) cacheBytes() int {
	if r.cache == nil {
		return 0
	}
	return len(r.cache.slots) * (8 + 24 + 128)
}

func newNameReader(b []byte) (nameReader, bool) {
	if len(b) < 8 {
		return nameReader{}, false
	}
	count, nblocks := uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[4:]))
	if nblocks != (count+nameBlock-1)/nameBlock || 8+4*nblocks > uint64(len(b)) {
		return nameReader{}, false
	}
	slots := uint64(minNameSlots)
	for slots < count/2 && slots < maxNameSlots {
		slots <<= 1
	}
	c := &nameCache{slots: make([]atomic.Pointer[cachedName], slots), mask: slots - 1}
	r := nameReader{count: count, offsets: b[8 : 8+4*nblocks], blocks: b[8+4*nblocks:], cache: c}
	for i := uint64(0); i < nblocks; i++ {
		if uint64(binary.LittleEndian.Uint32(r.offsets[4*i:])) > uint64(len(r.blocks)) {
			return nameReader{}, false
		}
	}
	return r, true
}

// name returns the name with the given ID, "" for 0 or a bad ID.
func (r *nameReader) name(id uint64) string {
	if id == 0 || id > r.count {
		return ""
	}
	slot := &r.cache.slots[id&r.cache.mask]
	if c := slot.Load(); c != nil && c.id == id {
		return c.s
	}
	s := r.decode(id - 1)
	slot.Store(&cachedName{id, s})
	return s
}

// decode front-decodes the name of rank id.
func (r *nameReader) decode(id uint64) string {
	blk, pos := id/nameBlock, id%nameBlock
	b := r.blocks
	p := int(binary.LittleEndian.Uint32(r.offsets[4*blk:]))
	var stack [256]byte
	cur := stack[:0]
	for k := uint64(0); k <= pos; k++ {
		shared, n, q, ok := nameEntry(b, p)
		if !ok || shared > len(cur) {
			return ""
		}
		cur = append(cur[:shared], b[q:q+n]...)
		p = q + n
	}
	return string(cur)
}

// nameEntry reads one entry's header at p: the shared length and the length of
// the rest, which it checks fits in b.
func nameEntry(b []byte, p int) (shared, n, next int, ok bool) {
	var s, l uint64
	if s, p, ok = uvarintAt(b, p); !ok {
		return
	}
	if l, p, ok = uvarintAt(b, p); !ok || l > uint64(len(b)-p) || s > 1<<20 {
		return 0, 0, 0, false
	}
	return int(s), int(l), p, true
}

// uvarintAt reads a uvarint at p, the one-byte case inline.
func uvarintAt(b []byte, p int) (uint64, int, bool) {
	if p < len(b) && b[p] < 0x80 {
		return uint64(b[p]), p + 1, true
	}
	if p >= len(b) {
		return 0, p, false
	}
	v, n := binary.Uvarint(b[p:])
	if n <= 0 {
		return 0, p, false
	}
	return v, p + n, true
}
