package storetest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/internal/ingest"
)

// childEnv carries a ChildJob to a re-executed test binary.
const childEnv = "AOTSYM_STORETEST_CHILD"

// StageReading is the crash point inside the upload's body, before the store
// has seen all of it.
const StageReading = "reading"

// ChildJob is what a child process does: upload a file ("put") or find a
// build by tags and read it ("read").
type ChildJob struct {
	Op      string            `json:"op"`
	Loc     string            `json:"loc"`
	File    string            `json:"file,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	StopAt  string            `json:"stop_at,omitempty"` // stage at which to announce "STAGE x" and hang, waiting to be killed
	Version int               `json:"version,omitempty"` // the indexer's version
}

// ChildResult is what a child reports on success.
type ChildResult struct {
	Put         store.PutResult `json:"put"`
	Build       aotsym.Build    `json:"build"`
	IndexSHA256 string          `json:"index_sha256"`
	FileSHA256  string          `json:"file_sha256"`
}

// IsChild reports whether this test binary runs as a child process of the
// suite. A backend's TestMain calls it first and then RunChild.
func IsChild() bool { return os.Getenv(childEnv) != "" }

// RunChild runs the job in the environment and returns the exit code.
func RunChild(b Backend) int {
	var job ChildJob
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &job); err != nil {
		fmt.Println("ERROR bad job:", err)
		return 2
	}
	res, err := runJob(b, job)
	if err != nil {
		fmt.Printf("ERROR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	return 0
}

// hang announces the stage and waits to be killed.
func hang(stage string) {
	fmt.Printf("STAGE %s\n", stage)
	os.Stdout.Sync()
	for {
		time.Sleep(time.Hour)
	}
}

// stallingReader reads half of r, then hangs.
type stallingReader struct {
	r    io.Reader
	left int64
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		hang(StageReading)
	}
	n, err := s.r.Read(p[:min(int64(len(p)), s.left)])
	s.left -= int64(n)
	return n, err
}

func runJob(b Backend, job ChildJob) (*ChildResult, error) {
	dataDir, err := os.MkdirTemp("", "storetest-child-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	ix := NewIndexer()
	if job.Version > 0 {
		ix.SetVersion(job.Version)
	}
	cfg := Config{Indexer: ix, DataDir: dataDir}
	if job.StopAt != "" && job.StopAt != StageReading {
		cfg.OnStage = func(stage string) {
			if stage == job.StopAt {
				hang(stage)
			}
		}
	}
	s, err := b.Open(job.Loc, cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ctx := context.Background()
	switch job.Op {
	case "put":
		f, err := os.Open(job.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var r io.Reader = f
		if job.StopAt == StageReading {
			fi, _ := f.Stat()
			r = &stallingReader{r: f, left: fi.Size() / 2}
		}
		res, err := s.Put(ctx, r, store.PutOptions{Name: filepath.Base(job.File), Tags: job.Tags})
		if err != nil {
			return nil, err
		}
		if job.StopAt != "" {
			return nil, fmt.Errorf("the upload finished without passing stage %s", job.StopAt)
		}
		return &ChildResult{Put: res, Build: res.Build}, nil
	case "read":
		build, err := s.FindByTags(ctx, job.Tags)
		if err != nil {
			return nil, err
		}
		index, err := s.Index(ctx, build.ID)
		if err != nil {
			return nil, err
		}
		f, err := s.OpenFile(ctx, build.ID, aotsym.FileDebug)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, err
		}
		return &ChildResult{Build: build, IndexSHA256: Hash(index), FileSHA256: hex.EncodeToString(h.Sum(nil))}, nil
	}
	return nil, fmt.Errorf("unknown op %q", job.Op)
}

// Child is a running child process.
type Child struct {
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	out   []string // everything it printed, for messages
}

// StartChild re-executes the test binary to run job.
func StartChild(t testing.TB, job ChildJob) *Child {
	t.Helper()
	b, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.out = append(c.out, sc.Text())
			c.mu.Unlock()
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	return c
}

// Next returns the child's next line of protocol ("STAGE x", "RESULT {…}",
// "ERROR …"), skipping anything else the test binary prints.
func (c *Child) next(t testing.TB) string {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.mu.Lock()
				defer c.mu.Unlock()
				t.Fatalf("child exited without reporting; it printed:\n%s", strings.Join(c.out, "\n"))
			}
			if strings.HasPrefix(l, "STAGE ") || strings.HasPrefix(l, "RESULT ") || strings.HasPrefix(l, "ERROR ") {
				return l
			}
		case <-timeout:
			t.Fatalf("child silent for 2 minutes")
		}
	}
}

// KillAt waits until the child announces stage, then kills it with SIGKILL.
func (c *Child) KillAt(t testing.TB, stage string) {
	t.Helper()
	if l := c.next(t); l != "STAGE "+stage {
		t.Fatalf("child reported %q, want STAGE %s", l, stage)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// Result waits for the child's result.
func (c *Child) Result(t testing.TB) ChildResult {
	t.Helper()
	l := c.next(t)
	if !strings.HasPrefix(l, "RESULT ") {
		t.Fatalf("child failed: %s", l)
	}
	var r ChildResult
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "RESULT ")), &r); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	return r
}

// testKilled kills a process uploading a big file at every stage of Put, for
// a new build and for an executable added to a stored .dbg, and checks that
// the build is either untouched or complete, and that uploading again works.
func (h *harness) testKilled(t *testing.T) {
	fx := Fixtures(t)
	f := fx["webapi"]
	stages := append([]string{StageReading, ingest.StageReceived, ingest.StageIndexed}, h.b.Stages...)
	if len(h.b.Stages) == 0 || h.b.Stages[len(h.b.Stages)-1] != ingest.StageCommitted {
		t.Fatalf("backend %s: Stages must end with %s", h.b.Name, ingest.StageCommitted)
	}
	ctx := context.Background()
	for _, scenario := range []string{"new build", "add executable"} {
		for _, stage := range stages {
			t.Run(scenario+"/"+stage, func(t *testing.T) {
				e := h.newEnv(t)
				if scenario == "add executable" {
					s := e.open(t)
					putFile(t, s, f.Debug, map[string]string{"service": "api"})
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
				}
				upload := f.Debug
				if scenario == "add executable" {
					upload = f.Exe
				}
				c := StartChild(t, ChildJob{Op: "put", Loc: e.loc, File: upload, StopAt: stage, Tags: map[string]string{"service": "api"}})
				c.KillAt(t, stage)

				s := e.open(t)
				b, err := s.Get(ctx, f.ID)
				committed := stage == ingest.StageCommitted
				switch {
				case scenario == "new build" && !committed:
					wantCode(t, "Get after the uploader was killed at "+stage, err, aotsym.ENOTFOUND)
					if l, err := s.List(ctx, store.ListOptions{}); err != nil || len(l) != 0 {
						t.Errorf("List after the uploader was killed: %v, %v", ids(l), err)
					}
					if _, err := s.FindByTags(ctx, map[string]string{"service": "api"}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
						t.Errorf("FindByTags found a build the killed upload never committed: %v", err)
					}
				case scenario == "add executable" && !committed:
					if err != nil || len(b.Files) != 1 || b.HasCode {
						t.Fatalf("the stored .dbg after a killed executable upload: %s, %v", jsonOf(b), err)
					}
					checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, ""))
					_, err = s.OpenFile(ctx, f.ID, aotsym.FileExecutable)
					wantCode(t, "OpenFile of the executable never committed", err, aotsym.ENOTFOUND)
				default: // committed: complete
					wantFiles := map[string]int{"new build": 1, "add executable": 2}[scenario]
					if err != nil || len(b.Files) != wantFiles {
						t.Fatalf("killed right after the commit: %s, %v; want the whole build", jsonOf(b), err)
					}
				}
				// Uploading again completes the build.
				res := putFile(t, s, upload, nil)
				if committed == (res.Created || res.Added) {
					t.Errorf("upload after the kill: %+v", res)
				}
				exe := ""
				if scenario == "add executable" {
					exe = f.Exe
				}
				checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, exe))
				got, err := s.OpenFile(ctx, f.ID, res.Kind)
				if err != nil {
					t.Fatal(err)
				}
				defer got.Close()
				hsh := sha256.New()
				io.Copy(hsh, got)
				if want, _ := fileSHA(t, upload); hex.EncodeToString(hsh.Sum(nil)) != want {
					t.Errorf("the stored %s differs from the upload", res.Kind)
				}
			})
		}
	}
}
