// Package bench holds what aotsym's benchmark harness (bench/run.sh) shares
// between its Go benchmarks and its command-line helper (bench/aotsymbench):
// the inputs every tool is fed (random code addresses of a debug file, a
// trace of a fixed number of frames), the bbolt store opened with the real
// indexer, and distinct builds made from one real ELF file by rewriting its
// build ID.
//
// Nothing here is part of aotsym: it only measures it. BENCHMARKS.md at the
// repository's root says how to run it and what the last run found.
package bench

import (
	"bytes"
	"crypto/sha1"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/service"
	"github.com/aotsym/aotsym/store/bolt"
)

// Seed is the fixed seed of every random input, so that two runs (and every
// tool within a run) see the same addresses.
const Seed = 20260312

// Addresses returns n random code addresses inside the functions of the ELF
// file at path, drawn from the file's own symbol table (STT_FUNC symbols of
// non-zero size in executable sections), weighted by function size (where
// random program counters fall), in random order. The choice does not depend
// on aotsym's index, so it favours no tool.
func Addresses(path string, n int, seed uint64) ([]uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s: reading .symtab: %w", path, err)
	}
	type fn struct{ start, size uint64 }
	seen := make(map[uint64]bool)
	var fns []fn
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 || int(s.Section) <= 0 || int(s.Section) >= len(f.Sections) {
			continue
		}
		if f.Sections[s.Section].Flags&elf.SHF_EXECINSTR == 0 || seen[s.Value] {
			continue
		}
		seen[s.Value] = true
		fns = append(fns, fn{s.Value, s.Size})
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("%s: no sized function symbols to draw addresses from", path)
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].start < fns[j].start })
	cum := make([]uint64, len(fns))
	var total uint64
	for i, x := range fns {
		total += x.size
		cum[i] = total
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]uint64, n)
	for i := range out {
		k := r.Uint64N(total)
		j := sort.Search(len(cum), func(j int) bool { return cum[j] > k })
		before := uint64(0)
		if j > 0 {
			before = cum[j-1]
		}
		out[i] = fns[j].start + (k - before)
	}
	return out, nil
}

// WriteAddresses writes addresses one per line as 0x hex, the form
// llvm-symbolizer, addr2line and `aotsym lookup` all read on standard input.
func WriteAddresses(w io.Writer, addrs []uint64) error {
	var b bytes.Buffer
	for _, a := range addrs {
		b.WriteString("0x")
		b.WriteString(strconv.FormatUint(a, 16))
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ReadAddresses reads a file WriteAddresses wrote.
func ReadAddresses(path string) ([]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		v, err := strconv.ParseUint(strings.TrimPrefix(line, "0x"), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a 0x address", path, i+1, line)
		}
		out = append(out, v)
	}
	return out, nil
}

// Trace returns a printed trace of exactly frames frames: the variant's
// Exception.ToString() outputs joined in manifest order until there are
// enough frame lines, then cut after the last one wanted (a cut trace is
// what a truncated log line holds too). The recursion scenario (one frame
// repeated 51 times) is left out: resolving it would flatter the numbers.
// It returns the trace and how many frames it holds (fewer than asked when
// the variant has fewer).
func Trace(m *corpus.Manifest, frames int) (string, int) {
	var lines []string
	n := 0
	for _, c := range m.Cases {
		if c.Scenario == "recursion" {
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(c.ExceptionToString, "\n"), "\n") {
			if IsFrameLine(line) {
				if n == frames {
					return strings.Join(lines, "\n") + "\n", n
				}
				n++
			}
			lines = append(lines, line)
		}
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n") + "\n", n
}

// IsFrameLine reports whether a line of a printed .NET trace is a stack
// frame ("   at …").
func IsFrameLine(line string) bool { return strings.HasPrefix(strings.TrimSpace(line), "at ") }

// OpenStore opens the embedded bbolt store in dir with the real indexer
// (service.Indexer, as `aotsym serve` wires it), the store
// `aotsym serve --data dir` opens.
func OpenStore(dir string) (*bolt.Store, error) {
	return bolt.Open(dir, service.Indexer(), bolt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// WithBuildID returns a copy of the ELF file data whose GNU build ID note
// holds id instead (id must be as long as the original): a distinct build
// of the same code, which is how the stored-builds benchmark makes a
// thousand builds from one real file.
func WithBuildID(data, id []byte) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		note, err := s.Data()
		if err != nil {
			return nil, err
		}
		bo := f.ByteOrder
		for p := 0; p+12 <= len(note); {
			nsz, dsz, typ := int(bo.Uint32(note[p:])), int(bo.Uint32(note[p+4:])), bo.Uint32(note[p+8:])
			name := p + 12
			desc := name + (nsz+3)&^3
			next := desc + (dsz+3)&^3
			if desc+dsz > len(note) {
				break
			}
			if typ == 3 && string(note[name:name+nsz]) == "GNU\x00" {
				if dsz != len(id) {
					return nil, fmt.Errorf("build ID is %d bytes, the new one %d", dsz, len(id))
				}
				out := bytes.Clone(data)
				copy(out[int(s.Offset)+desc:], id)
				return out, nil
			}
			p = next
		}
	}
	return nil, fmt.Errorf("no GNU build ID note")
}

// FillerELF is the small real ELF file that the stored-builds benchmark
// copies under distinct build IDs: a gcc --only-keep-debug split (3 KB,
// DWARF 5) committed as an elfindex test fixture.
func FillerELF() string {
	return filepath.Join(corpus.Dir(), "..", "..", "symbolizer", "elfindex", "testdata", "tiny", "tiny.debug")
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// FillerID returns the n-th build ID of length size: SHA-1 of "aotsym-bench"
// and n, cut or repeated to size.
func FillerID(n, size int) []byte {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(n))
	h := sha1.Sum(append([]byte("aotsym-bench"), buf[:]...))
	out := make([]byte, 0, size)
	for len(out) < size {
		out = append(out, h[:]...)
	}
	return out[:size]
}
