package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/store/s3/s3test"
)

// TestReliabilityCrashBolt kills `aotsym serve` (bbolt store) with SIGKILL at
// random moments while three clients upload, restarts it, and checks the
// store after every restart. AOTSYM_CRASH_ITERATIONS sets the number of kills
// (8 by default, 100 for RELIABILITY.md).
func TestReliabilityCrashBolt(t *testing.T) {
	crashLoop(t, iterations(t, "AOTSYM_CRASH_ITERATIONS", 8), nil)
}

// TestReliabilityCrashS3 is the same over a real S3 server (versitygw), where
// a kill lands between the object writes of an upload (file, index, tag
// lookups, then the record that makes the build visible).
// AOTSYM_CRASH_ITERATIONS_S3 sets the number of kills (4 by default).
func TestReliabilityCrashS3(t *testing.T) {
	s3 := s3test.Start(t)
	crashLoop(t, iterations(t, "AOTSYM_CRASH_ITERATIONS_S3", 4), s3.Env(), "--store", s3.URL(t))
}

// crashUpload is one file the clients upload: a corpus file under a build ID
// of its own.
type crashUpload struct {
	id, kind string
	data     []byte
	sha      [32]byte
}

// crashJobs makes distinct builds from the net10 corpus build: job 2v is
// variant v's .dbg, job 2v+1 its executable (the same build ID), so uploads
// both create builds and add files to them, in either order.
type crashJobs struct {
	t        testing.TB
	dbg, exe []byte
	mu       sync.Mutex
	made     map[int]*crashUpload
}

func (j *crashJobs) get(n int) *crashUpload {
	j.mu.Lock()
	defer j.mu.Unlock()
	if u := j.made[n]; u != nil {
		return u
	}
	src, kind := j.dbg, "debuginfo"
	if n%2 == 1 {
		src, kind = j.exe, "executable"
	}
	data, id := withBuildID(j.t, src, fmt.Sprintf("crash %d", n/2))
	u := &crashUpload{id: id, kind: kind, data: data, sha: sha(data)}
	j.made[n] = u
	return u
}

type crashStats struct {
	attempted, acked, failed, committedUnacked int
}

func crashLoop(t *testing.T, kills int, env []string, args ...string) {
	m := loadVariants(t)[2]
	dbg, _ := os.ReadFile(m.DebugFile())
	exe, _ := os.ReadFile(m.Executable())
	c, in := sample(t, m, "async-chain")
	jobs := &crashJobs{t: t, dbg: dbg, exe: exe, made: map[int]*crashUpload{}}
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	var next atomic.Int64
	acked := map[int]bool{}     // jobs whose upload got a 2xx
	attempted := map[int]bool{} // jobs sent at least once
	verified := map[int]bool{}  // jobs whose file was downloaded and checked
	var st crashStats
	hc := &http.Client{Timeout: time.Minute}

	for it := 0; it < kills; it++ {
		srv := startServer(t, data, env, args...)
		delay := time.Duration(50+rng.IntN(2500)) * time.Millisecond
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					n := int(next.Add(1) - 1)
					u := jobs.get(n)
					mu.Lock()
					attempted[n] = true
					st.attempted++
					mu.Unlock()
					resp, err := hc.Post(srv.url+"/v1/builds?name=app&tag=crash=yes", "application/octet-stream", bytes.NewReader(u.data))
					if err != nil { // killed: this upload was cut off
						mu.Lock()
						st.failed++
						mu.Unlock()
						return
					}
					var res struct {
						BuildID string `json:"build_id"`
					}
					err = json.NewDecoder(resp.Body).Decode(&res)
					resp.Body.Close()
					mu.Lock()
					switch {
					case err == nil && (resp.StatusCode == 200 || resp.StatusCode == 201) && res.BuildID == u.id:
						acked[n] = true
						st.acked++
					case err == nil && resp.StatusCode < 500:
						mu.Unlock()
						t.Errorf("upload %d: %d", n, resp.StatusCode)
						return
					default: // the answer was cut off
						st.failed++
						mu.Unlock()
						return
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(delay)
		srv.cmd.Process.Kill()
		<-srv.done
		close(stop)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}

		// Restart: the store opens, every acknowledged upload is there and
		// intact, nothing partial is visible.
		srv = startServer(t, data, env, args...)
		checkAfterCrash(t, srv, jobs, acked, attempted, verified, c, in)
		srv.stop(syscall.SIGTERM)
		t.Logf("crash %d: killed after %s; %d uploads sent so far, %d acknowledged", it+1, delay, st.attempted, st.acked)
	}
	// A last restart downloads and checks every stored file again.
	srv := startServer(t, data, env, args...)
	clear(verified)
	st.committedUnacked = checkAfterCrash(t, srv, jobs, acked, attempted, verified, c, in)
	t.Logf("crash loop: %d kills, %d uploads sent, %d acknowledged and intact after every restart, %d cut off by a kill (%d of them committed anyway and complete)",
		kills, st.attempted, st.acked, st.failed, st.committedUnacked)
	if st.acked == 0 {
		t.Fatal("no upload was acknowledged: the loop tested nothing")
	}
}

// checkAfterCrash checks the restarted server: every acknowledged upload's
// build is listed with that file, byte for byte, and resolves a trace; every
// listed build is one that was uploaded and each of its files is a complete
// upload. Files are downloaded and traces resolved once per upload (verified
// remembers which); the metadata of every one is checked every time. It
// returns how many listed files were never acknowledged (the
// server committed them and was killed before answering).
func checkAfterCrash(t *testing.T, srv *server, jobs *crashJobs, acked, attempted, verified map[int]bool, c *corpus.Case, in []byte) int {
	t.Helper()
	status, _, b := call(t, "GET", srv.url+"/v1/builds?limit=10000", nil)
	var list struct{ Builds []aotsym.Build }
	if status != 200 || json.Unmarshal(b, &list) != nil {
		t.Fatalf("list after restart: %d %s", status, clip(b))
	}
	byID := map[string]map[string]*crashUpload{}
	for n := range attempted {
		u := jobs.get(n)
		if byID[u.id] == nil {
			byID[u.id] = map[string]*crashUpload{}
		}
		byID[u.id][u.kind] = u
	}
	listed := map[string]aotsym.Build{}
	unacked := 0
	for _, bl := range list.Builds {
		listed[string(bl.ID)] = bl
		want, ok := byID[string(bl.ID)]
		if !ok {
			t.Fatalf("build %s is listed but was never uploaded", bl.ID)
		}
		if len(bl.Files) == 0 {
			t.Fatalf("build %s is listed without files", bl.ID)
		}
		for _, f := range bl.Files {
			u := want[string(f.Kind)]
			if u == nil || f.SHA256 != fmt.Sprintf("%x", u.sha) || f.Size != int64(len(u.data)) {
				t.Fatalf("build %s lists a %s file (%d bytes, %s) that is no complete upload", bl.ID, f.Kind, f.Size, f.SHA256)
			}
		}
	}
	for n := range attempted {
		u := jobs.get(n)
		bl, ok := listed[u.id]
		_, has := bl.File(aotsym.FileKind(u.kind))
		switch {
		case acked[n] && !has:
			t.Fatalf("acknowledged upload %d (%s of %s) is missing after the restart", n, u.kind, u.id)
		case !acked[n] && has:
			unacked++
		case !ok || !has || verified[n]:
			continue
		}
		verified[n] = true
		// The file downloads byte for byte.
		route := "/buildid/" + u.id + "/" + u.kind
		status, _, got := call(t, "GET", srv.url+route, nil)
		if status != 200 || sha(got) != u.sha {
			t.Fatalf("GET %s after the restart: %d, %d bytes (want %d)", route, status, len(got), len(u.data))
		}
		if u.kind == "debuginfo" {
			tr, _ := symbolicateJSON(t, srv.url+"/v1/symbolicate?build_id="+u.id, in)
			checkAgainstManifest(t, "after a crash, build "+u.id, tr, c)
		}
	}
	return unacked
}
