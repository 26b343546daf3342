package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/corpus"
)

// withBuildID returns a copy of an ELF file under a build ID derived from
// seed (the same DWARF and code): distinct builds from one corpus file.
func withBuildID(t testing.TB, data []byte, seed string) ([]byte, aotsym.BuildID) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(".note.gnu.build-id")
	if s == nil {
		t.Fatal("no build ID note")
	}
	namesz := binary.LittleEndian.Uint32(data[s.Offset:])
	descsz := binary.LittleEndian.Uint32(data[s.Offset+4:])
	off := int(s.Offset) + 12 + int((namesz+3)&^3)
	id := sha256.Sum256([]byte("aotsym race " + seed))
	out := bytes.Clone(data)
	copy(out[off:off+int(descsz)], id[:descsz])
	return out, aotsym.BuildIDFromBytes(id[:descsz])
}

// TestReliabilityConcurrentServer runs the real service in-process (the gin
// engine, the bbolt store, the resolver and its cache, wired by openBackend
// as `aotsym serve` wires them) so that the race detector sees both sides,
// and sends at once: four clients uploading the same build, three uploading
// different builds, one adding the executable to the shared build, and four
// resolving corpus traces (given build, detected build, single frames),
// listing builds and downloading debug files. Every upload succeeds exactly
// once as new, every answer is right, and .ci/test runs it with -race.
func TestReliabilityConcurrentServer(t *testing.T) {
	m := loadVariant(t, "net10.0-linux-x64")
	dbg, err := os.ReadFile(m.DebugFile())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(m.Executable())
	if err != nil {
		t.Fatal(err)
	}
	var c *corpus.Case
	for i := range m.Cases {
		if m.Cases[i].Scenario == "async-chain" {
			c = &m.Cases[i]
		}
	}
	in := []byte(c.ExceptionToString)

	cfg := serveConfig{data: t.TempDir(), maxUpload: 64 << 20, maxBody: 16 << 20, maxFrames: 20000, cache: 256 << 20}
	st, sym, err := openBackend(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := api.New(api.Config{MaxUploads: 4, MaxInFlight: 16, UploadTimeout: 10 * time.Minute, RequestTimeout: 5 * time.Minute})
	srv.Attach(api.Backend{Store: st, Symbolicator: sym})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	hc := ts.Client()

	post := func(path string, body []byte, hdr ...string) (int, []byte) {
		req, _ := http.NewRequest("POST", ts.URL+path, bytes.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("POST %s: %v", path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// One build stored before the storm, so resolvers always have one.
	first, firstID := withBuildID(t, dbg, "first")
	if status, b := post("/v1/builds?name=app.dbg", first); status != 201 {
		t.Fatalf("first upload: %d %s", status, b)
	}
	shared, sharedID := withBuildID(t, dbg, "shared")
	sharedExe, _ := withBuildID(t, exe, "shared")

	type upload struct {
		what string
		data []byte
		id   aotsym.BuildID
	}
	var uploads []upload
	for i := range 4 {
		uploads = append(uploads, upload{fmt.Sprintf("shared .dbg #%d", i), shared, sharedID})
	}
	for i := range 3 {
		b, id := withBuildID(t, dbg, fmt.Sprintf("other %d", i))
		uploads = append(uploads, upload{fmt.Sprintf("other build %d", i), b, id})
	}
	uploads = append(uploads, upload{"shared executable", sharedExe, sharedID})

	var created, sharedCreated atomic.Int32
	var sharedStored atomic.Bool
	done := make(chan struct{})
	var wg, readers sync.WaitGroup
	for _, u := range uploads {
		wg.Go(func() {
			status, b := post("/v1/builds?name=app", u.data)
			var res client.UploadResult
			if err := json.Unmarshal(b, &res); err != nil || (status != 200 && status != 201) || res.BuildID != u.id {
				t.Errorf("%s: %d %s", u.what, status, clip(b))
				return
			}
			if res.Created {
				created.Add(1)
				if res.BuildID == sharedID {
					sharedCreated.Add(1)
				}
			}
			if res.BuildID == sharedID && res.Kind == aotsym.FileDebug {
				sharedStored.Store(true)
			}
		})
	}
	var resolved atomic.Int64
	for r := range 4 {
		readers.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					if n > 2 {
						return
					}
				default:
				}
				id := firstID
				if r%2 == 1 && sharedStored.Load() {
					id = sharedID
				}
				switch (n + r) % 4 {
				case 0, 1:
					path := "/v1/symbolicate?build_id=" + string(id)
					if (n+r)%4 == 1 {
						path = "/v1/symbolicate" // detected among the builds
					}
					status, b := post(path, in, "Accept", "application/json")
					var tr aotsym.Trace
					if status != 200 || json.Unmarshal(b, &tr) != nil {
						t.Errorf("POST %s: %d %s", path, status, clip(b))
						return
					}
					resolved.Add(int64(checkTrace(t, &tr, c)))
				case 2:
					f := c.PrintedFrames()[0]
					body, _ := json.Marshal(client.FrameRequest{BuildID: id, Frame: f.PrintedText()})
					status, b := post("/v1/frames/resolve", body)
					if status != 200 {
						t.Errorf("frames/resolve: %d %s", status, clip(b))
						return
					}
				case 3:
					resp, err := hc.Get(ts.URL + "/buildid/" + string(id) + "/debuginfo")
					if err != nil {
						t.Error(err)
						return
					}
					h := sha256.New()
					io.Copy(h, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || fmt.Sprintf("%x", h.Sum(nil)) != fmt.Sprintf("%x", sha256.Sum256(map[bool][]byte{true: shared, false: first}[id == sharedID])) {
						t.Errorf("debuginfo of %s: %d or wrong bytes", id, resp.StatusCode)
						return
					}
					resp, err = hc.Get(ts.URL + "/v1/builds")
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if sharedCreated.Load() != 1 || created.Load() != 4 {
		t.Errorf("%d uploads created the shared build (want 1), %d created a build (want 4: shared and 3 others)", sharedCreated.Load(), created.Load())
	}
	b, err := st.Get(context.Background(), sharedID)
	if err != nil || len(b.Files) != 2 {
		t.Fatalf("the shared build after the storm: %+v %v", b, err)
	}
	if resolved.Load() == 0 {
		t.Fatal("no frame was resolved while uploading")
	}
	t.Logf("%d uploads and %d resolved frames at once", len(uploads), resolved.Load())
}

// checkTrace compares the resolved frames of a trace with the corpus oracle
// and returns how many it checked.
func checkTrace(t *testing.T, tr *aotsym.Trace, c *corpus.Case) int {
	oracle := map[string]*corpus.Frame{}
	for _, f := range c.PrintedFrames() {
		oracle[f.PrintedText()] = f
	}
	n := 0
	for _, fr := range tr.Frames {
		o := oracle[fr.Input]
		if fr.Status != aotsym.StatusResolved || o == nil || o.Expected == nil || o.LineRowBeforeSymbol {
			continue
		}
		if fr.File != o.Expected.File || fr.Line != o.Expected.Line {
			t.Errorf("%q resolved to %s:%d; llvm-symbolizer says %s:%d", fr.Input, fr.File, fr.Line, o.Expected.File, o.Expected.Line)
		}
		n++
	}
	return n
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return strings.TrimSpace(string(b))
}
