package elfindex

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/aotsym/aotsym"
)

// Hostile and broken input: every failure is an error that names what is
// wrong (and where), never a panic, and memory stays bounded whatever a
// header claims. The inputs are the tiny real ELF files of testdata/tiny,
// cut and patched.

// tinyFiles are the committed seeds (testdata/tiny/gen.sh).
var tinyFiles = []string{"tiny-dwarf5", "tiny-dwarf4", "tiny-O0", "tiny-zlib", "tiny-zstd", "tiny-zdebug", "tiny.debug", "tiny-stripped"}

func readTiny(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tiny", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildBytesErr indexes an in-memory file.
func buildData(data []byte, lim Limits) ([]byte, Stats, error) {
	return Build(bytes.NewReader(data), nil, Options{Limits: lim})
}

// sectionHeader returns the file offset of a section's header (ELF64) and
// the section.
func sectionHeader(t testing.TB, data []byte, name string) (int, *elf.Section) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	shoff := binary.LittleEndian.Uint64(data[0x28:])
	shentsize := binary.LittleEndian.Uint16(data[0x3a:])
	for i, s := range f.Sections {
		if s.Name == name {
			return int(shoff) + i*int(shentsize), s
		}
	}
	t.Fatalf("no section %s", name)
	return 0, nil
}

func patched(data []byte, off int, v uint64) []byte {
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint64(out[off:], v)
	return out
}

// mustFail checks that err is a descriptive error naming want.
func mustFail(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if aotsym.ErrorCode(err) == aotsym.EINTERNAL {
		t.Errorf("error %q has no user-facing code", err)
	}
}

func TestTinyFilesIndex(t *testing.T) {
	// The seeds themselves are good input: each one indexes, and the
	// compressed ones give the same index as the plain one.
	plain, _, err := buildData(readTiny(t, "tiny-dwarf5"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range tinyFiles {
		out, st, err := buildData(readTiny(t, name), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Functions < 3 {
			t.Errorf("%s: %d functions", name, st.Functions)
		}
		switch name {
		case "tiny-zstd", "tiny-zdebug":
			if !bytes.Equal(out, plain) {
				t.Errorf("%s: index differs from tiny-dwarf5's", name)
			}
		}
	}
}

func TestHostileTruncated(t *testing.T) {
	for _, name := range []string{"tiny-dwarf5", "tiny-zlib", "tiny-zstd"} {
		data := readTiny(t, name)
		// The section headers are at the end, so every cut loses them.
		for cut := 0; cut < len(data); cut += 37 {
			_, _, err := buildData(data[:cut], Limits{})
			switch {
			case err == nil:
				t.Errorf("%s cut at %d of %d bytes: no error", name, cut, len(data))
			case cut < 4:
				if !errors.Is(err, ErrNotELF) {
					t.Errorf("%s cut at %d: %v", name, cut, err)
				}
			case !strings.Contains(err.Error(), "truncated"):
				t.Errorf("%s cut at %d: %v does not say the file is truncated", name, cut, err)
			}
			if err != nil && aotsym.ErrorCode(err) == aotsym.EINTERNAL {
				t.Errorf("%s cut at %d: %v has no user-facing code", name, cut, err)
			}
		}
	}
	_, _, err := buildData([]byte("\x7fELF"), Limits{})
	mustFail(t, err, "truncated")
}

func TestHostileSectionPastEOF(t *testing.T) {
	data := readTiny(t, "tiny-dwarf5")
	hdr, _ := sectionHeader(t, data, ".debug_info")
	_, _, err := buildData(patched(data, hdr+24, uint64(len(data))+4096), Limits{})
	mustFail(t, err, ".debug_info", "past the end of the file")

	hdr, _ = sectionHeader(t, data, ".symtab")
	_, _, err = buildData(patched(data, hdr+32, 1<<40), Limits{})
	mustFail(t, err, ".symtab")
}

// TestHostileTerabyteClaim: a compressed section whose header claims a
// terabyte is refused before anything is allocated.
func TestHostileTerabyteClaim(t *testing.T) {
	for _, c := range []struct {
		file    string
		section string
		at      func(s *elf.Section) int // offset of the claimed size in the file
		be      bool
	}{
		{"tiny-zlib", ".debug_info", func(s *elf.Section) int { return int(s.Offset) + 8 }, false},
		{"tiny-zstd", ".debug_line", func(s *elf.Section) int { return int(s.Offset) + 8 }, false},
		{"tiny-zdebug", ".zdebug_info", func(s *elf.Section) int { return int(s.Offset) + 4 }, true},
	} {
		t.Run(c.file, func(t *testing.T) {
			data := bytes.Clone(readTiny(t, c.file))
			_, s := sectionHeader(t, data, c.section)
			if c.be {
				binary.BigEndian.PutUint64(data[c.at(s):], 1<<40)
			} else {
				binary.LittleEndian.PutUint64(data[c.at(s):], 1<<40)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := buildData(data, Limits{})
			runtime.ReadMemStats(&after)
			mustFail(t, err, c.section, "claims 1099511627776 bytes")
			if !errors.Is(err, ErrLimit) || aotsym.ErrorCode(err) != aotsym.ETOOLARGE {
				t.Errorf("error %v: want ErrLimit and code %s", err, aotsym.ETOOLARGE)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("allocated %d bytes refusing a %d-byte file", grew, len(data))
			}
		})
	}
}

// TestHostileCompressionRatio: a compressed section claiming far more than
// real debug data inflates to (64 MiB from a few hundred bytes, under
// MaxSectionSize) is refused before anything is inflated, so a bomb costs
// memory in proportion to the file, not to the limits.
func TestHostileCompressionRatio(t *testing.T) {
	for _, c := range []struct{ file, section string }{
		{"tiny-zlib", ".debug_info"},
		{"tiny-zstd", ".debug_line"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data := bytes.Clone(readTiny(t, c.file))
			_, s := sectionHeader(t, data, c.section)
			binary.LittleEndian.PutUint64(data[s.Offset+8:], 64<<20)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := buildData(data, Limits{})
			runtime.ReadMemStats(&after)
			mustFail(t, err, c.section, "claims 67108864 bytes uncompressed", "over the limit of 200 times")
			if !errors.Is(err, ErrLimit) {
				t.Errorf("error %v: want ErrLimit", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("allocated %d bytes refusing a %d-byte file", grew, len(data))
			}
			// The same file within a ratio limit that allows it gets
			// as far as inflating, and finds the stream short.
			_, _, err = buildData(data, Limits{MaxCompressionRatio: 1 << 30})
			mustFail(t, err, c.section, "ends before")
		})
	}
}

// TestHostileWrongClaims: a stream that holds more, or less, than its header
// claims is an error, so a small claim cannot let a zip bomb through.
func TestHostileWrongClaims(t *testing.T) {
	data := readTiny(t, "tiny-zlib")
	_, s := sectionHeader(t, data, ".debug_info")
	claim := binary.LittleEndian.Uint64(data[s.Offset+8:])
	less := bytes.Clone(data)
	binary.LittleEndian.PutUint64(less[s.Offset+8:], claim-1)
	_, _, err := buildData(less, Limits{})
	mustFail(t, err, ".debug_info", "holds more than")
	more := bytes.Clone(data)
	binary.LittleEndian.PutUint64(more[s.Offset+8:], claim+100)
	_, _, err = buildData(more, Limits{})
	mustFail(t, err, ".debug_info", "ends before")
	typ := bytes.Clone(data)
	binary.LittleEndian.PutUint32(typ[s.Offset:], 7)
	_, _, err = buildData(typ, Limits{})
	mustFail(t, err, ".debug_info", "unknown compression type 7")
}

func TestHostileLimits(t *testing.T) {
	data := readTiny(t, "tiny-dwarf5")
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxInputSize: 100}, "over the limit of 100 bytes"},
		{Limits{MaxSectionSize: 64}, "over the limit of 64 bytes"},
		{Limits{MaxDebugSize: 200}, "over the limit of 200 bytes"},
		{Limits{MaxSymbols: 2}, ".symtab"},
		{Limits{MaxFunctions: 2}, "over the limit of 2"},
		{Limits{MaxLineRows: 3}, "more than 3 line-table rows"},
		{Limits{MaxDWARFRecords: 3}, "more than 3 subprogram, type and scope entries"},
	} {
		_, _, err := buildData(data, c.lim)
		mustFail(t, err, c.want)
		if !errors.Is(err, ErrLimit) || aotsym.ErrorCode(err) != aotsym.ETOOLARGE {
			t.Errorf("%+v: %v is not a limit error", c.lim, err)
		}
	}
}

// TestHostileGarbageDWARF overwrites DWARF sections with random bytes: the
// build fails with an error or leaves the broken units out, never panics.
func TestHostileGarbageDWARF(t *testing.T) {
	data := readTiny(t, "tiny-dwarf5")
	for _, sec := range []string{".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_rnglists", ".debug_line_str"} {
		_, s := sectionHeader(t, data, sec)
		for seed := uint64(0); seed < 20; seed++ {
			bad := bytes.Clone(data)
			r := rand.New(rand.NewPCG(seed, 7))
			start := int(s.Offset)
			if seed%2 == 0 {
				start += min(int(s.FileSize), 12) // keep the unit header, break the contents
			}
			for i := start; i < int(s.Offset+s.FileSize); i++ {
				bad[i] = byte(r.Uint32())
			}
			out, _, err := buildData(bad, Limits{})
			if err != nil {
				if aotsym.ErrorCode(err) == aotsym.EINTERNAL {
					t.Errorf("%s seed %d: %v has no user-facing code", sec, seed, err)
				}
				continue
			}
			x, err := Open(out)
			if err != nil {
				t.Fatalf("%s seed %d: Build succeeded but Open failed: %v", sec, seed, err)
			}
			exercise(x, bad)
		}
	}
}

// exercise looks up the addresses around every function and some taken
// from b, to find panics.
func exercise(x *Index, b []byte) {
	for i := 0; i < x.NumFunctions() && i < 4096; i++ {
		f := x.Function(i)
		for _, a := range []uint64{f.Start - 1, f.Start, f.Start + 1, (f.Start + f.End) / 2, f.End - 1, f.End} {
			x.Lookup(a)
			x.ReturnAddressAt(a)
			x.FunctionAt(a)
		}
	}
	for i := 0; i+8 <= len(b) && i < 1024; i += 8 {
		a := binary.LittleEndian.Uint64(b[i:])
		x.Lookup(a)
		x.ReturnAddressAt(a)
		x.Lookup(a & 0xffffff)
	}
	x.Function(-1)
	x.Function(x.NumFunctions())
	x.Range(-1)
	x.Range(x.NumFunctions() - 1)
	x.Extension("x")
}

func TestNotELF(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), []byte("#!/bin/sh\necho hi\n"), make([]byte, 4096)} {
		_, _, err := buildData(in, Limits{})
		if !errors.Is(err, ErrNotELF) || aotsym.ErrorCode(err) != aotsym.EINVALID {
			t.Errorf("Build(%q): %v, want ErrNotELF", in, err)
		}
		if _, err := Inspect(bytes.NewReader(in), int64(len(in))); !errors.Is(err, ErrNotELF) {
			t.Errorf("Inspect(%q): %v, want ErrNotELF", in, err)
		}
	}
	if _, _, err := Build(nil, nil, Options{}); err == nil {
		t.Error("Build(nil, nil) succeeded")
	}
}

func TestBuildIDMismatch(t *testing.T) {
	a, b := readTiny(t, "tiny-dwarf5"), readTiny(t, "tiny-O0")
	_, _, err := Build(bytes.NewReader(a), bytes.NewReader(b), Options{})
	mustFail(t, err, "build ID", "not from the same build")
}

// TestSplitTiny: a debug file and its stripped executable index together,
// with the executable's code; Inspect tells them apart.
func TestSplitTiny(t *testing.T) {
	dbg, exe := readTiny(t, "tiny.debug"), readTiny(t, "tiny-stripped")
	out, st, err := Build(bytes.NewReader(dbg), bytes.NewReader(exe), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if !x.HasCode() || st.ReturnAddresses == 0 || st.InlineNodes == 0 {
		t.Errorf("stats %+v", st)
	}
	di, _ := Inspect(bytes.NewReader(dbg), int64(len(dbg)))
	ei, _ := Inspect(bytes.NewReader(exe), int64(len(exe)))
	if di.HasCode || !di.HasDebug || !ei.HasCode || ei.DebugLink != "tiny.debug" || di.BuildID != ei.BuildID || ei.BuildID == "" || ei.PIE || ei.ImageBase != 0x400000 {
		t.Errorf("debug %+v\nexe %+v", di, ei)
	}
	if x.BuildID() != di.BuildID || x.ImageBase() != 0x400000 || x.Arch() != "x86_64" {
		t.Errorf("index: build ID %s, image base %#x, arch %s", x.BuildID(), x.ImageBase(), x.Arch())
	}
}

// TestOpenHostile: the decoder refuses broken indexes with errors naming the
// section, and a version it does not read with ErrVersion.
func TestOpenHostile(t *testing.T) {
	good, _, err := buildData(readTiny(t, "tiny-dwarf5"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	dirOff := func(name string) int {
		for i := 0; i < len(x.dir); i++ {
			d := good[headerSize+i*dirEntry:]
			if string(bytes.TrimRight(d[:nameSize], "\x00")) == name {
				return headerSize + i*dirEntry
			}
		}
		t.Fatalf("no section %s", name)
		return 0
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"magic", append([]byte("NOTANIDX"), good[8:]...), "not an aotsym index"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"count", patched32(good, 12, 1<<30), "do not fit"},
		{"section out of bounds", patched(good, dirOff(secNames)+16, uint64(len(good))), "names"},
		{"section too long", patched(good, dirOff(secFuncs)+24, 1<<40), "funcs"},
		{"missing section", renamed(good, dirOff(secAddrs), "nope"), "addrs"},
	}
	for _, c := range cases {
		_, err := Open(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open = %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	_, err = Open(patched32(good, 8, Version+1))
	if !errors.Is(err, ErrVersion) {
		t.Errorf("newer version: %v, want ErrVersion", err)
	}
	// Functions out of order.
	if x.NumFunctions() >= 2 {
		bad := bytes.Clone(good)
		a := x.addrsOffset()
		copy(bad[a:a+4], good[a+4:a+8])
		copy(bad[a+4:a+8], good[a:a+4])
		if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "addrs") {
			t.Errorf("unsorted functions: %v", err)
		}
	}
}

func patched32(data []byte, off int, v uint32) []byte {
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint32(out[off:], v)
	return out
}

func renamed(data []byte, dir int, name string) []byte {
	out := bytes.Clone(data)
	copy(out[dir:dir+nameSize], make([]byte, nameSize))
	copy(out[dir:], name)
	return out
}

// addrsOffset is where the addrs table starts in the index bytes.
func (x *Index) addrsOffset() int {
	for _, s := range x.dir {
		if s.name == secAddrs {
			return int(uintptr(unsafe.Pointer(unsafe.SliceData(s.data))) - uintptr(unsafe.Pointer(unsafe.SliceData(x.data))))
		}
	}
	return -1
}

// TestHostileShortBuildID: a GNU build-ID note too short to be a build ID
// (aotsym's build IDs have 8 to 128 hex digits) is no build ID, so that
// the index Build writes opens (FuzzBuild found a 1-byte one).
func TestHostileShortBuildID(t *testing.T) {
	data := bytes.Clone(readTiny(t, "tiny-dwarf5"))
	_, s := sectionHeader(t, data, ".note.gnu.build-id")
	for _, size := range []uint32{1, 3} {
		bad := patched32(data, int(s.Offset)+4, size) // descsz
		out, _, err := buildData(bad, Limits{})
		if err != nil {
			t.Fatalf("descsz %d: %v", size, err)
		}
		x, err := Open(out)
		if err != nil {
			t.Fatalf("descsz %d: Build succeeded but Open failed: %v", size, err)
		}
		if x.BuildID() != "" {
			t.Errorf("descsz %d: build ID %q", size, x.BuildID())
		}
		if in, _ := Inspect(bytes.NewReader(bad), int64(len(bad))); in.BuildID != "" {
			t.Errorf("descsz %d: Inspect gives build ID %q", size, in.BuildID)
		}
	}
}
