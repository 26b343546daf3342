// Package storetest is the test suite every store.Store implementation
// passes (store/bolt and store/s3 run it from their tests), with what it
// needs: a test Indexer over real ELF files, synthetic ELF files, a clock
// tests move, and child processes that upload and are killed midway.
package storetest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/store"
)

// Backend is what the suite needs from an implementation.
type Backend struct {
	Name string
	// NewLocation returns a new, empty place for builds: a directory for
	// bolt, an s3://BUCKET/PREFIX URL for s3.
	NewLocation func(t testing.TB) string
	// Open opens a store instance at loc. It is also called in child
	// processes, where there is no testing.T.
	Open func(loc string, cfg Config) (store.Store, error)
	// Stages lists, in order, the Put stages after ingest.StageIndexed that
	// this backend passes through, ending with ingest.StageCommitted. The
	// crash test kills an uploading process at each of them.
	Stages []string
}

// Config is what the suite sets when it opens a store.
type Config struct {
	Indexer store.Indexer
	// DataDir is a directory of this instance's own (s3's local cache); bolt
	// ignores it.
	DataDir string
	MaxSize int64
	Now     func() time.Time
	OnStage func(stage string)
}

// Clock is a test clock: every Now is a microsecond after the previous one,
// so builds put one after the other are ordered, and Advance jumps ahead.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed date.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

// Now returns the next instant.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Fixture is one build of the Native AOT corpus: its .dbg and executable.
type Fixture struct {
	Variant string
	ID      aotsym.BuildID
	Debug   string // path of the .dbg
	Exe     string // path of the executable
}

// Fixtures returns the corpus builds the suite uploads, by directory name:
// "net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64",
// "net10.0-linux-arm64", "webapi" (the biggest: a 20 MB .dbg).
func Fixtures(t testing.TB) map[string]Fixture {
	t.Helper()
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatalf("loading the corpus: %v", err)
	}
	out := make(map[string]Fixture)
	for _, m := range ms {
		name := filepath.Base(m.Dir)
		out[name] = Fixture{Variant: name, ID: aotsym.BuildID(m.Build.BuildID), Debug: m.DebugFile(), Exe: m.Executable()}
	}
	for _, v := range []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64", "net10.0-linux-arm64", "webapi"} {
		f, ok := out[v]
		if !ok {
			t.Fatalf("the corpus has no variant %s", v)
		}
		if _, err := os.Stat(f.Debug); err != nil {
			t.Fatalf("corpus file missing: %v", err)
		}
	}
	return out
}
