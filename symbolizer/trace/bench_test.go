package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
)

// pastedLog builds about size bytes of what an on-call engineer pastes: every
// committed trace and CloudWatch sample of every variant (stdout with its
// debugging lines, stderr, the JIT's lined traces, Lambda lines, JSON events,
// error documents), repeated.
func pastedLog(tb testing.TB, size int) []byte {
	tb.Helper()
	var files [][]byte
	ms, err := corpus.LoadAll()
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range ms {
		for ci := range m.Cases {
			c := &m.Cases[ci]
			paths := append([]string{m.Path(c.Stdout), filepath.Join(m.Dir, "jit", c.Scenario+".stdout")}, m.Samples(c)...)
			if c.Stderr != nil {
				paths = append(paths, m.Path(*c.Stderr))
			}
			for _, p := range paths {
				if b, err := os.ReadFile(p); err == nil {
					files = append(files, b)
				}
			}
		}
	}
	var buf bytes.Buffer
	for buf.Len() < size {
		for _, f := range files {
			buf.Write(f)
			if buf.Len() >= size {
				break
			}
		}
	}
	return buf.Bytes()
}

// BenchmarkParsePastedLog reports the MB/s of parsing a 10 MB pasted log.
func BenchmarkParsePastedLog(b *testing.B) {
	in := pastedLog(b, 10<<20)
	lim := Limits{MaxBytes: len(in), MaxFrames: 1 << 20}
	d, err := Parse(in, lim)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse(in, lim); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(d.Frames)), "frames")
}

// BenchmarkRenderPastedLog reports the MB/s of rewriting every frame of it.
func BenchmarkRenderPastedLog(b *testing.B) {
	in := pastedLog(b, 10<<20)
	d, err := Parse(in, Limits{MaxBytes: len(in), MaxFrames: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rs := fakeResults(d)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d.RenderText(rs)
	}
}
