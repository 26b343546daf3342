package elfindex

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/testenv"
)

// The web API fixture is the realistic size: a 20 MB .dbg, 27k functions.

func webAPI(b testing.TB) *corpus.Manifest {
	m, err := corpus.Load("webapi")
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkBuildWebAPI measures building the index of the web API's .dbg
// (what an upload and `aotsym lookup` pay once).
func BenchmarkBuildWebAPI(b *testing.B) {
	m := webAPI(b)
	f, err := os.Open(m.DebugFile())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := fileReader(f)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		data, _, err := Build(r, nil, Options{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "index-bytes")
}

// BenchmarkBuildWebAPIWithCode adds the executable: its code is
// disassembled for return addresses.
func BenchmarkBuildWebAPIWithCode(b *testing.B) {
	m := webAPI(b)
	f, err := os.Open(m.DebugFile())
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	e, err := os.Open(m.Executable())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		data, _, err := Build(fileReader(f), fileReader(e), Options{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "index-bytes")
}

// lookupAddresses returns random addresses inside the index's functions,
// weighted by function size (where random code addresses fall).
func lookupAddresses(x *Index, n int) []uint64 {
	var total uint64
	for i := 0; i < x.NumFunctions(); i++ {
		total += x.size(i)
	}
	r := rand.New(rand.NewPCG(42, 42))
	marks := make([]uint64, n)
	for i := range marks {
		marks[i] = r.Uint64N(total)
	}
	out := make([]uint64, 0, n)
	for _, k := range marks {
		for i := 0; i < x.NumFunctions(); i++ {
			if s := x.size(i); k < s {
				out = append(out, x.start(i)+k)
				break
			} else {
				k -= s
			}
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkLookupWebAPI is one Lookup (function, inline chain, line) at a
// random code address of the web API (target: under 1 µs; a warm
// llvm-symbolizer takes about 11 µs per address).
func BenchmarkLookupWebAPI(b *testing.B) {
	m := webAPI(b)
	x, _ := corpusIndex(b, m, false)
	addrs := lookupAddresses(x, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := x.Lookup(addrs[i%len(addrs)])
		if a.Function < 0 {
			b.Fatal("no function")
		}
		i++
	}
}

// BenchmarkLookupAppendWebAPI is Lookup reusing the frame buffer.
func BenchmarkLookupAppendWebAPI(b *testing.B) {
	m := webAPI(b)
	x, _ := corpusIndex(b, m, false)
	addrs := lookupAddresses(x, 4096)
	var buf []Frame
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := x.LookupAppend(addrs[i%len(addrs)], buf)
		buf = a.Frames
		i++
	}
}

// BenchmarkFunctionAtWebAPI is the binary search alone.
func BenchmarkFunctionAtWebAPI(b *testing.B) {
	m := webAPI(b)
	x, _ := corpusIndex(b, m, false)
	addrs := lookupAddresses(x, 4096)
	i := 0
	for b.Loop() {
		x.FunctionAt(addrs[i%len(addrs)])
		i++
	}
}

// BenchmarkOpenWebAPI: opening checks the tables but copies nothing.
func BenchmarkOpenWebAPI(b *testing.B) {
	m := webAPI(b)
	x, _ := corpusIndex(b, m, false)
	data := x.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIndexSizeVsGSYM: the web API's index is no larger than what
// llvm-gsymutil --convert writes for the same .dbg (5.1 MB), though it also
// holds columns, discriminators, parameters, classes and declarations.
func TestIndexSizeVsGSYM(t *testing.T) {
	tool := "/usr/lib/llvm-14/bin/llvm-gsymutil"
	if _, err := os.Stat(tool); err != nil {
		tool = testenv.Tool(t, "llvm-gsymutil", "apt-get install llvm (it is in /usr/lib/llvm-14/bin)")
	}
	m := webAPI(t)
	out := filepath.Join(t.TempDir(), "webapi.gsym")
	if b, err := exec.Command(tool, "--convert", m.DebugFile(), "--out-file="+out).CombinedOutput(); err != nil {
		t.Fatalf("llvm-gsymutil: %v\n%s", err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	x, st := corpusIndex(t, m, false)
	t.Logf("index %d bytes (%d functions, %d rows, %d inline nodes); llvm-gsymutil %d bytes", len(x.Bytes()), st.Functions, st.LineRows, st.InlineNodes, fi.Size())
	if int64(len(x.Bytes())) > fi.Size() {
		t.Errorf("index is %d bytes, larger than llvm-gsymutil's %d", len(x.Bytes()), fi.Size())
	}
}

// BenchmarkFunctionWebAPI decodes whole functions (names, parameters,
// declaration), as matching printed frames did one candidate at a time.
func BenchmarkFunctionWebAPI(b *testing.B) {
	x, _ := corpusIndex(b, webAPI(b), false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x.Function(i % x.NumFunctions())
		i += 7919
	}
}

// BenchmarkNamesWebAPI decodes only what names each function.
func BenchmarkNamesWebAPI(b *testing.B) {
	x, _ := corpusIndex(b, webAPI(b), false)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x.Names(i % x.NumFunctions())
		i += 7919
	}
}
