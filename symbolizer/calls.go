package symbolizer

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/aotsym/aotsym/symbolizer/elfindex"
)

// Direct call targets. Where a frame's caller called the frame's function
// with a direct call (x86-64 `call rel32`, arm64 `bl`), the instruction before
// the caller's return address names the callee's first instruction. That
// ties adjacent frames together: it tells which generic instantiation or
// overload a frame is in when its name cannot, and it tells builds apart whose
// methods happen to have calls at the same offsets.
//
// The index records, for every return address of a direct call whose target
// is the start of a function, that function. It is built from the
// executable's code at ingest (callTargetExtension) and stored in the index
// as the extension "calls/1":
//
//	"CLT1", base uint64, count uint32, then count entries of
//	{return address − base uint32, function uint32} sorted by address.

const (
	callsName      = "calls/1"
	callsMagic     = "CLT1"
	callsHeader    = 16
	callsEntrySize = 8
	// maxCodeSection bounds one executable section read for call targets.
	maxCodeSection = 1 << 30
)

// callTargetExtension builds the call table from an executable's code.
type callTargetExtension struct {
	exe elfindex.SizedReaderAt
}

func (callTargetExtension) Name() string { return callsName }

func (x callTargetExtension) Build(core *elfindex.Index) ([]byte, error) {
	if x.exe == nil || !core.HasCode() {
		return encodeCalls(nil, 0), nil
	}
	f, err := elf.NewFile(io.NewSectionReader(x.exe, 0, x.exe.Size()))
	if err != nil {
		return nil, fmt.Errorf("call targets: reading the executable: %w", err)
	}
	m := f.Machine
	if m != elf.EM_X86_64 && m != elf.EM_AARCH64 {
		return encodeCalls(nil, 0), nil
	}
	type call struct {
		ret uint64
		fn  uint32
	}
	var calls []call
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_EXECINSTR == 0 || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_COMPRESSED != 0 {
			continue
		}
		if s.Size > maxCodeSection || s.Size > uint64(x.exe.Size()) {
			return nil, fmt.Errorf("call targets: section %s is %d bytes, over the limit of %d", s.Name, s.Size, maxCodeSection)
		}
		code, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("call targets: reading section %s: %w", s.Name, err)
		}
		lo, hi := s.Addr, s.Addr+uint64(len(code))
		i, _ := firstFunctionFrom(core, lo)
		for ; i < core.NumFunctions(); i++ {
			fn := core.Function(i)
			if fn.Start >= hi {
				break
			}
			if fn.Parent >= 0 || !fn.HasCode || fn.Start < lo || fn.End > hi {
				continue
			}
			body := code[fn.Start-lo : fn.End-lo]
			scanCalls(m, body, fn.Start, func(ret, target uint64) {
				if known, isRet := core.ReturnAddressAt(ret); !known || !isRet {
					return
				}
				t, ok := core.FunctionAt(target)
				if !ok || core.Function(t).Start != target {
					return
				}
				calls = append(calls, call{ret, uint32(t)})
			})
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].ret < calls[j].ret })
	if len(calls) == 0 {
		return encodeCalls(nil, 0), nil
	}
	base := calls[0].ret
	if calls[len(calls)-1].ret-base > 1<<32-1 {
		return encodeCalls(nil, 0), nil // code over 4 GiB: not recorded
	}
	rel := make([][2]uint32, len(calls))
	for i, c := range calls {
		rel[i] = [2]uint32{uint32(c.ret - base), c.fn}
	}
	return encodeCalls(rel, base), nil
}

// firstFunctionFrom returns the first function starting at or after addr.
func firstFunctionFrom(ix *elfindex.Index, addr uint64) (int, bool) {
	n := ix.NumFunctions()
	i := sort.Search(n, func(i int) bool { return ix.Function(i).Start >= addr })
	return i, i < n
}

// scanCalls calls found with the return address and target of every direct
// call instruction a function's code may hold. x86-64 is not disassembled
// here: a candidate is any E8 byte five bytes before an address the index
// knows as a return address (the index's own sweep found the call there).
func scanCalls(m elf.Machine, code []byte, start uint64, found func(ret, target uint64)) {
	switch m {
	case elf.EM_X86_64:
		for p := 5; p <= len(code); p++ {
			if code[p-5] != 0xE8 {
				continue
			}
			rel := int64(int32(binary.LittleEndian.Uint32(code[p-4 : p])))
			ret := start + uint64(p)
			found(ret, uint64(int64(ret)+rel))
		}
	case elf.EM_AARCH64:
		skip := int((4 - start%4) % 4)
		for p := skip + 4; p <= len(code); p += 4 {
			w := binary.LittleEndian.Uint32(code[p-4 : p])
			if w&0xFC000000 != 0x94000000 {
				continue
			}
			imm := int64(int32(w<<6) >> 6) // sign-extend imm26
			at := start + uint64(p-4)
			found(at+4, uint64(int64(at)+imm*4))
		}
	}
}

func encodeCalls(entries [][2]uint32, base uint64) []byte {
	out := make([]byte, callsHeader+len(entries)*callsEntrySize)
	copy(out, callsMagic)
	binary.LittleEndian.PutUint64(out[4:], base)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(entries)))
	for i, e := range entries {
		p := out[callsHeader+i*callsEntrySize:]
		binary.LittleEndian.PutUint32(p, e[0])
		binary.LittleEndian.PutUint32(p[4:], e[1])
	}
	return out
}

// callTable is an opened call table, read in place.
type callTable struct {
	data []byte
	base uint64
	n    int
}

func openCalls(data []byte, functions int) (*callTable, error) {
	if len(data) < callsHeader || string(data[:4]) != callsMagic {
		return nil, fmt.Errorf("call table: bad header (want %q): rebuild the build's index", callsMagic)
	}
	t := &callTable{data: data, base: binary.LittleEndian.Uint64(data[4:]), n: int(binary.LittleEndian.Uint32(data[12:]))}
	if (len(data)-callsHeader)%callsEntrySize != 0 || (len(data)-callsHeader)/callsEntrySize != t.n {
		return nil, fmt.Errorf("call table: %d entries do not fit in %d bytes: rebuild the build's index", t.n, len(data))
	}
	var prev uint32
	for i := 0; i < t.n; i++ {
		r, fn := t.entry(i)
		if r < prev || int(fn) >= functions {
			return nil, fmt.Errorf("call table: entry %d (offset %d) is out of order or names no function: rebuild the build's index", i, callsHeader+i*callsEntrySize)
		}
		prev = r
	}
	return t, nil
}

func (t *callTable) entry(i int) (uint32, uint32) {
	p := t.data[callsHeader+i*callsEntrySize:]
	return binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:])
}

// target returns the function a direct call ending at ret calls.
func (t *callTable) target(ret uint64) (int, bool) {
	if t == nil || t.n == 0 || ret < t.base || ret-t.base > 1<<32-1 {
		return -1, false
	}
	rel := uint32(ret - t.base)
	i := sort.Search(t.n, func(i int) bool { r, _ := t.entry(i); return r >= rel })
	if i == t.n {
		return -1, false
	}
	r, fn := t.entry(i)
	if r != rel {
		return -1, false
	}
	return int(fn), true
}
