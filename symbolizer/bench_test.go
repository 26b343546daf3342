package symbolizer

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// trace40 joins printed traces of a variant until it holds at least 40
// frames: a long, realistic input of managed frames of every shape.
func trace40(b testing.TB, m *corpus.Manifest) ([]byte, int) {
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
	benchResolve(b, true)
}

// BenchmarkResolveDetected is BenchmarkResolveWarm with the build detected
// among the seven corpus builds, as the HTTP route does without ?build_id=.
func BenchmarkResolveDetected(b *testing.B) {
	benchResolve(b, false)
}

func benchResolve(b *testing.B, given bool) {
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
			var opts Options
			if given {
				opts.BuildID = aotsym.BuildID(m.Build.BuildID)
			}
			res, err := r.Symbolicate(context.Background(), in, opts)
			if err != nil {
				b.Fatal(err)
			}
			if res.Trace.Summary[aotsym.StatusResolved] == 0 {
				b.Fatalf("nothing resolved: %v", res.Trace.Summary)
			}
			if !given && res.Trace.BuildID != aotsym.BuildID(m.Build.BuildID) {
				b.Fatalf("detected build %q, want %s (%s)", res.Trace.BuildID, m.Build.BuildID, res.Trace.Build.Note)
			}
			frames = len(res.Trace.Frames)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.Symbolicate(context.Background(), in, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*frames), "ns/frame")
			b.ReportMetric(float64(frames), "frames")
		})
	}
}

// cpuTime is the process's user and system time: what a benchmark costs
// whatever else the machine runs (it includes the garbage collector's
// work on other threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
