package symbolizer

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/elftest"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
)

// withManySymbols is elftest.ManySymbols for a benchmark.
func withManySymbols(tb testing.TB, data []byte, n int) []byte {
	tb.Helper()
	out, err := elftest.ManySymbols(data, n)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

type bytesReader struct{ *bytes.Reader }

func (r bytesReader) Size() int64 { return r.Reader.Size() }

// heapPeak samples the heap's object bytes every millisecond until stopped
// and returns the largest sample above the level at the start.
type heapPeak struct {
	stop chan struct{}
	done chan uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	p := &heapPeak{stop: make(chan struct{}), done: make(chan uint64)}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	go func() {
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base && v-base > peak {
				peak = v - base
			}
			select {
			case <-p.stop:
				p.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) end() uint64 {
	close(p.stop)
	return <-p.done
}

var coreOnce sync.Map // name → *coreIndex

type coreIndex struct {
	once sync.Once
	ix   *elfindex.Index
	err  error
}

// coreOf builds (once per name) the core index of a debug file, without
// extensions: what the name table extension is given at ingest.
func coreOf(b *testing.B, name string, data func() []byte) *elfindex.Index {
	v, _ := coreOnce.LoadOrStore(name, &coreIndex{})
	c := v.(*coreIndex)
	c.once.Do(func() {
		d := data()
		idx, _, err := elfindex.BuildContext(context.Background(), bytesReader{bytes.NewReader(d)}, nil, elfindex.Options{})
		if err != nil {
			c.err = err
			return
		}
		c.ix, c.err = elfindex.Open(idx)
	})
	if c.err != nil {
		b.Fatal(c.err)
	}
	return c.ix
}

// BenchmarkNameTable builds the Native AOT name table over a finished core
// index, as the name extension does at ingest: the web API's .dbg, and the
// net10 .dbg with a .symtab of 3 million symbols (the reliability test's
// heavy input). It reports the allocation and the peak heap per function.
func BenchmarkNameTable(b *testing.B) {
	for _, tc := range []struct {
		name string
		data func() []byte
	}{
		{"webapi", func() []byte {
			m, err := corpus.Load("webapi")
			if err != nil {
				b.Fatal(err)
			}
			d, err := os.ReadFile(m.DebugFile())
			if err != nil {
				b.Fatal(err)
			}
			return d
		}},
		{"3M-symbols", func() []byte {
			m, err := corpus.Load("net10.0-linux-x64")
			if err != nil {
				b.Fatal(err)
			}
			d, err := os.ReadFile(m.DebugFile())
			if err != nil {
				b.Fatal(err)
			}
			return withManySymbols(b, d, 3_000_000)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ix := coreOf(b, tc.name, tc.data)
			n := ix.NumFunctions()
			var peak uint64
			var size int
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := startHeapPeak()
				size = len(buildNameTable(ix))
				peak = max(peak, p.end())
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(n), "functions")
			b.ReportMetric(float64(size)/float64(n), "table-B/fn")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/float64(n), "alloc-B/fn")
			b.ReportMetric(float64(peak)/float64(n), "peak-B/fn")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}

// BenchmarkIndexManySymbols is the whole of Indexer.Build (elfindex's core
// index, then the name and call tables) on the net10 .dbg with a .symtab of
// 3 million symbols: the reliability test's heavy upload, in process. It
// reports the peak of the heap above its level at the start (the garbage
// not yet collected included), which RSS follows.
func BenchmarkIndexManySymbols(b *testing.B) {
	m, err := corpus.Load("net10.0-linux-x64")
	if err != nil {
		b.Fatal(err)
	}
	d, err := os.ReadFile(m.DebugFile())
	if err != nil {
		b.Fatal(err)
	}
	data := withManySymbols(b, d, 3_000_000)
	var peak uint64
	var fns int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := startHeapPeak()
		res, err := Indexer{}.Build(context.Background(), bytesReader{bytes.NewReader(data)}, nil)
		peak = max(peak, p.end())
		if err != nil {
			b.Fatal(err)
		}
		fns = res.Functions
	}
	b.ReportMetric(float64(fns), "functions")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}
