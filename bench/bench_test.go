package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/storetest"
	"github.com/aotsym/aotsym/symbolizer"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
)

// webAPI is the realistic fixture: a 20 MB .dbg, 27k functions.
func webAPI(tb testing.TB) *corpus.Manifest {
	m, err := corpus.Load("webapi")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// addresses are those of AOTSYM_BENCH_ADDRS (the file bench/run.sh feeds
// every tool), or the same draw made here.
func addresses(tb testing.TB, dbg string) []uint64 {
	if p := os.Getenv("AOTSYM_BENCH_ADDRS"); p != "" {
		a, err := ReadAddresses(p)
		if err != nil {
			tb.Fatal(err)
		}
		return a
	}
	a, err := Addresses(dbg, 100000, Seed)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// storedIndex uploads the .dbg into a fresh bbolt store with the real
// indexer, closes it, opens it again and returns the stored index bytes: a
// warm lookup starts from what a server reads back, not from an index
// still in the uploader's memory.
func storedIndex(tb testing.TB, dbg string) []byte {
	dir := tb.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(dbg)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := s.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(dbg)})
	f.Close()
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	if s, err = OpenStore(dir); err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	data, err := s.Index(context.Background(), res.Build.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkWarmLookup is one address to function, inline chain, file and
// line against the web API's index read back from the store (target: under
// 1 µs). Lookup allocates the answer's frames; LookupAppend reuses a buffer,
// as `aotsym lookup` does; FunctionAt is the binary search alone.
func BenchmarkWarmLookup(b *testing.B) {
	m := webAPI(b)
	data := storedIndex(b, m.DebugFile())
	x, err := elfindex.Open(data)
	if err != nil {
		b.Fatal(err)
	}
	addrs := addresses(b, m.DebugFile())
	found := 0
	for _, a := range addrs {
		if x.Lookup(a).Function >= 0 {
			found++
		}
	}
	if found < len(addrs)*9/10 {
		b.Fatalf("only %d of %d addresses inside a function of the index", found, len(addrs))
	}
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		i := 0
		for b.Loop() {
			x.Lookup(addrs[i%len(addrs)])
			i++
		}
	})
	b.Run("LookupAppend", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b)()
		var buf []elfindex.Frame
		i := 0
		for b.Loop() {
			a := x.LookupAppend(addrs[i%len(addrs)], buf)
			buf = a.Frames[:0]
			i++
		}
	})
	b.Run("FunctionAt", func(b *testing.B) {
		defer cpuPerOp(b)()
		i := 0
		for b.Loop() {
			x.FunctionAt(addrs[i%len(addrs)])
			i++
		}
	})
}

// BenchmarkStoreReadOpen is what a cache miss adds before the first
// lookup: the web API's index read back from bbolt and opened
// (symbolizer.OpenBuild, as the server does), once per build.
func BenchmarkStoreReadOpen(b *testing.B) {
	m := webAPI(b)
	s, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f, err := os.Open(m.DebugFile())
	if err != nil {
		b.Fatal(err)
	}
	res, err := s.Put(context.Background(), f, store.PutOptions{Name: "bootstrap.dbg"})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		data, err := s.Index(context.Background(), res.Build.ID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := symbolizer.OpenBuild(res.Build.ID, data); err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "index-bytes")
}

// BenchmarkIngest is Put of each committed .dbg into the bbolt store with
// the real indexer: read to a temporary file, build ID, index (symbolizer's
// Indexer: elfindex plus the Native AOT name and call tables), one bbolt
// commit. storetest.BenchIngest deletes the build, untimed, between
// iterations.
func BenchmarkIngest(b *testing.B) {
	ms, err := corpus.LoadAll()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range ms {
		b.Run(filepath.Base(m.Dir), func(b *testing.B) {
			s, err := OpenStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchIngest(b, s, m.DebugFile())
		})
	}
}

// BenchmarkIndexBuild is the index alone (no store) of the web API's .dbg,
// what `aotsym lookup` pays before its first answer; bench/run.sh profiles
// it.
func BenchmarkIndexBuild(b *testing.B) {
	m := webAPI(b)
	data, err := os.ReadFile(m.DebugFile())
	if err != nil {
		b.Fatal(err)
	}
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		res, err := symbolizer.Indexer{}.Build(context.Background(), r, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = len(res.Data)
	}
	b.ReportMetric(float64(size), "index-bytes")
}

// TestInputs checks what every tool is fed: addresses fall inside the web
// API's functions by aotsym's index too, the draw is stable, a trace cut
// to 40 frames holds 40 frame lines, and a build ID can be rewritten.
func TestInputs(t *testing.T) {
	m := webAPI(t)
	a1, err := Addresses(m.DebugFile(), 1000, Seed)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := Addresses(m.DebugFile(), 1000, Seed)
	if !equal(a1, a2) {
		t.Fatal("the same seed drew different addresses")
	}
	var buf bytes.Buffer
	if err := WriteAddresses(&buf, a1); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(p, buf.Bytes(), 0o644)
	back, err := ReadAddresses(p)
	if err != nil || !equal(back, a1) {
		t.Fatalf("addresses did not survive the file: %v", err)
	}

	for _, v := range []string{"webapi", "net10.0-linux-x64"} {
		mv, err := corpus.Load(v)
		if err != nil {
			t.Fatal(err)
		}
		text, n := Trace(mv, 40)
		lines := 0
		for _, l := range bytes.Split([]byte(text), []byte("\n")) {
			if IsFrameLine(string(l)) {
				lines++
			}
		}
		if n != 40 || lines != 40 {
			t.Errorf("%s: Trace(40) holds %d frames (%d lines)", v, n, lines)
		}
	}

	tiny, err := os.ReadFile(FillerELF())
	if err != nil {
		t.Fatal(err)
	}
	id := FillerID(7, 20)
	patched, err := WithBuildID(tiny, id)
	if err != nil {
		t.Fatal(err)
	}
	in, err := symbolizer.Indexer{}.Inspect(bytes.NewReader(patched), int64(len(patched)))
	if err != nil {
		t.Fatal(err)
	}
	if want := hexOf(id); string(in.BuildID) != want {
		t.Fatalf("rewritten build ID reads %s, want %s", in.BuildID, want)
	}
}

// cpuPerOp reports the process's CPU time (user + system) per operation
// as cpu-ns/op when the returned function runs: on a machine shared with
// other work, wall time per operation counts the time the benchmark waited
// for a core, CPU time does not.
func cpuPerOp(b *testing.B) func() {
	before := cpuNow()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuNow()-before)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
