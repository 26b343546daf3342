package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store"
)

// BenchIngest measures Put of the file at path into s: each iteration
// uploads it as a new build (the build is deleted, untimed, after each).
func BenchIngest(b *testing.B, s store.Store, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := s.Put(ctx, f, store.PutOptions{Name: filepath.Base(path)})
		f.Close()
		if err != nil || !res.Created {
			b.Fatalf("Put: %+v, %v", res, err)
		}
		b.StopTimer()
		if err := s.Delete(ctx, res.Build.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// Gsymutil returns the path of llvm-gsymutil (Debian installs it as
// llvm-gsymutil-N), or skips (fails in CI).
func Gsymutil(b testing.TB) string {
	if p, err := exec.LookPath("llvm-gsymutil"); err == nil {
		return p
	}
	for _, pattern := range []string{"/usr/bin/llvm-gsymutil-*", "/usr/lib/llvm-*/bin/llvm-gsymutil"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[len(m)-1]
		}
	}
	return testenv.Tool(b, "llvm-gsymutil", "apt-get install llvm")
}

// BenchGsymutil measures `llvm-gsymutil --convert` of the file at path: the
// reference the issue compares ingest with (the same DWARF to a sorted
// address table, written to a file).
func BenchGsymutil(b *testing.B, path string) {
	tool := Gsymutil(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "out.gsym")
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if msg, err := exec.Command(tool, "--convert", path, "--out-file", out).CombinedOutput(); err != nil {
			b.Fatalf("%s --convert %s: %v\n%s", tool, path, err, lastLines(string(msg), 5))
		}
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// BenchStoredBuilds measures, for each count of stored builds (small
// synthetic ELF files with tags), what List, Get, FindByTags and Index cost,
// and reports the live heap and the RSS after using every build once: the
// store must hold no per-build state beyond what the backend documents.
func BenchStoredBuilds(b *testing.B, be Backend, counts []int) {
	for _, n := range counts {
		b.Run(fmt.Sprintf("builds=%d", n), func(b *testing.B) {
			loc := be.NewLocation(b)
			ix := NewIndexer()
			s, err := be.Open(loc, Config{Indexer: ix, DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			populate(b, s, n)
			s.Close()
			// A fresh instance: nothing warmed up by the uploads.
			s, err = be.Open(loc, Config{Indexer: ix, DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			idOf := func(i int) aotsym.BuildID { return aotsym.BuildIDFromBytes(SyntheticBuildID(i % n)) }
			heap0, rss0 := memory()
			b.Run("List", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if l, err := s.List(ctx, store.ListOptions{}); err != nil || len(l) != n {
						b.Fatalf("List: %d, %v", len(l), err)
					}
				}
			})
			b.Run("List20", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.List(ctx, store.ListOptions{Limit: 20}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Get", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.Get(ctx, idOf(i)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("FindByTags", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					tags := map[string]string{"service": fmt.Sprintf("svc%d", i%10), "version": fmt.Sprint(i % n)}
					if _, err := s.FindByTags(ctx, tags); err != nil && aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
						b.Fatal(err)
					}
				}
			})
			b.Run("Index", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := s.Index(ctx, idOf(i)); err != nil {
						b.Fatal(err)
					}
				}
			})
			// Use every build (Get, Index) and List them all, then measure
			// what stays in memory.
			b.Run("Memory", func(b *testing.B) {
				for j := 0; j < b.N; j++ {
					for i := 0; i < n; i++ {
						if _, err := s.Get(ctx, idOf(i)); err != nil {
							b.Fatal(err)
						}
						if _, err := s.Index(ctx, idOf(i)); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := s.List(ctx, store.ListOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				heap1, rss1 := memory()
				b.ReportMetric(float64(heap1), "heap-bytes")
				b.ReportMetric(float64(heap1-heap0), "heap-growth-bytes")
				b.ReportMetric(float64(rss1), "rss-bytes")
				b.ReportMetric(float64(rss1-rss0), "rss-growth-bytes")
			})
			runtime.KeepAlive(s)
		})
	}
}

// populate puts n synthetic builds, 8 at a time, tagged service=svc<i%10>
// and version=<i>.
func populate(b *testing.B, s store.Store, n int) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			body := SyntheticELF(ELFSpec{BuildID: SyntheticBuildID(i), Code: i%3 == 0, Comment: []byte(fmt.Sprintf("build %d", i))})
			_, err := s.Put(context.Background(), strings.NewReader(string(body)), store.PutOptions{
				Name: "app.dbg", Tags: map[string]string{"service": fmt.Sprintf("svc%d", i%10), "version": fmt.Sprint(i)}})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// memory returns the live heap after a full collection and the resident set
// size after returning freed memory to the OS (0 where /proc is missing).
func memory() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb << 10
			}
		}
	}
	return int64(ms.HeapInuse), rss
}
