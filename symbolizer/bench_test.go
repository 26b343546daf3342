package symbolizer

import (
	"context"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// trace40 joins printed traces of a variant until it holds at least 40
// frames: a long, realistic input of managed frames of every shape.
func trace40(b *testing.B, m *corpus.Manifest) ([]byte, int) {
	var sb strings.Builder
	frames := 0
	for _, c := range m.Cases {
		if c.Scenario == "recursion" {
			continue // 51 copies of one frame would flatter the number
		}
		sb.WriteString(c.ExceptionToString)
		sb.WriteString("\n\n")
		frames += len(c.PrintedFrames())
		if frames >= 40 {
			break
		}
	}
	return []byte(sb.String()), frames
}

// BenchmarkResolveWarm resolves a 40-frame trace against a warm build given
// by ID: parsing, name lookups, direct-call linking, line lookups and
// rendering, the whole of Symbolicate.
func BenchmarkResolveWarm(b *testing.B) {
	cs := loadCorpus(b)
	r := NewResolver(cs.src)
	for _, v := range []string{"net10.0-linux-x64", "net10.0-linux-arm64", "webapi-net10.0-linux-x64"} {
		b.Run(v, func(b *testing.B) {
			var m *corpus.Manifest
			for _, x := range cs.manifests {
				if x.Variant == v {
					m = x
				}
			}
			in, frames := trace40(b, m)
			opts := Options{BuildID: aotsym.BuildID(m.Build.BuildID)}
			res, err := r.Symbolicate(context.Background(), in, opts)
			if err != nil {
				b.Fatal(err)
			}
			if res.Trace.Summary[aotsym.StatusResolved] == 0 {
				b.Fatalf("nothing resolved: %v", res.Trace.Summary)
			}
			frames = len(res.Trace.Frames)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.Symbolicate(context.Background(), in, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
			b.ReportMetric(float64(frames), "frames")
		})
	}
}

// BenchmarkCorpusTraces resolves every committed trace of each variant
// offline, with the build detected among all seven builds (as the offline
// CLI does with seven --dbg files), and reports frames per second.
func BenchmarkCorpusTraces(b *testing.B) {
	cs := loadCorpus(b)
	r := NewResolver(cs.src)
	for _, m := range cs.manifests {
		b.Run(m.Variant, func(b *testing.B) {
			var inputs [][]byte
			frames := 0
			for i := range m.Cases {
				inputs = append(inputs, []byte(m.Cases[i].ExceptionToString))
				frames += len(m.Cases[i].PrintedFrames())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, in := range inputs {
					if _, err := r.Symbolicate(context.Background(), in, Options{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(frames*b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
