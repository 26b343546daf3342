package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/bolt"
	"github.com/aotsym/aotsym/store/storetest"
)

// The HTTP layer is tested over the real bbolt store (with the store's test
// Indexer, which reads real ELF identities) and a recording Symbolicator: these
// tests are about routes, auth, limits and error documents. The real
// symbolizer behind the real server is tested end to end in cmd/aotsym.

// recSym is a Symbolicator that finds "at …" lines, answers each as not_found
// (resolved for ResolveFrame), and records the options it was given. With
// block set, it waits for the channel or the request's end. With st set, it
// fails with the store's error for a given build that is not stored, as the
// Symbolicator contract asks.
type recSym struct {
	st    store.Store
	mu    sync.Mutex
	opts  []SymbolicateOptions
	block chan struct{}
	// started is closed (once) when a blocked call begins.
	started chan struct{}
	once    sync.Once
	forgot  []aotsym.BuildID
	// stubborn makes a blocked call ignore its context (a slow library).
	stubborn bool
}

func (r *recSym) record(o SymbolicateOptions) {
	r.mu.Lock()
	r.opts = append(r.opts, o)
	r.mu.Unlock()
}

func (r *recSym) last() SymbolicateOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.opts) == 0 {
		return SymbolicateOptions{}
	}
	return r.opts[len(r.opts)-1]
}

func (r *recSym) wait(ctx context.Context) error {
	if r.block == nil {
		return nil
	}
	if r.started != nil {
		r.once.Do(func() { close(r.started) })
	}
	if r.stubborn {
		<-r.block
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.block:
		return nil
	}
}

// build fails like the real Symbolicator for a given build that is not
// stored.
func (r *recSym) build(ctx context.Context, opts SymbolicateOptions) error {
	if r.st == nil || opts.How != "given" {
		return nil
	}
	_, err := r.st.Get(ctx, opts.BuildID)
	return err
}

func (r *recSym) Symbolicate(ctx context.Context, input []byte, opts SymbolicateOptions) (*Symbolicated, error) {
	r.record(opts)
	if err := r.build(ctx, opts); err != nil {
		return nil, err
	}
	if err := r.wait(ctx); err != nil {
		return nil, err
	}
	t := &aotsym.Trace{BuildID: opts.BuildID, Format: "text", Frames: []aotsym.FrameResult{}}
	how := opts.How
	if how == "" {
		how = "none"
	}
	t.Build = &aotsym.BuildChoice{How: how}
	var out bytes.Buffer
	for _, line := range strings.Split(string(input), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "at ") {
			t.Frames = append(t.Frames, aotsym.FrameResult{Index: len(t.Frames), Input: s, Kind: aotsym.FrameManaged, Status: aotsym.StatusNotFound})
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	t.Summarize()
	return &Symbolicated{Trace: t, Text: out.Bytes()}, nil
}

func (r *recSym) ResolveFrame(ctx context.Context, frame string, opts SymbolicateOptions) (aotsym.FrameResult, error) {
	r.record(opts)
	if err := r.build(ctx, opts); err != nil {
		return aotsym.FrameResult{}, err
	}
	if err := r.wait(ctx); err != nil {
		return aotsym.FrameResult{}, err
	}
	return aotsym.FrameResult{Input: frame, Kind: aotsym.FrameManaged, Status: aotsym.StatusResolved, Function: "Ns.T.M()", File: "/src/T.cs", Line: 7}, nil
}

func (r *recSym) CacheStats() CacheStats {
	return CacheStats{Hits: 3, Misses: 1, Bytes: 1234, Entries: 1}
}

// fixture is a server under test.
type fixture struct {
	t    *testing.T
	srv  *Server
	sym  *recSym
	st   *bolt.Store
	http *httptest.Server
	logs *testenv.SyncBuffer
}

// newFixture starts a server on a real loopback listener over a fresh store.
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), storetest.NewIndexer(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, sym: &recSym{st: st}, st: st, logs: &testenv.SyncBuffer{}}
	cfg.Logger = slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.srv = New(cfg)
	f.srv.Attach(Backend{Store: st, Symbolicator: f.sym})
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(func() {
		f.http.Close()
		st.Close()
	})
	return f
}

// tokens used by the auth tests (16+ characters each).
const (
	tokRead   = "read-token-0123456789"
	tokUpload = "upload-token-0123456789"
	tokAdmin  = "admin-token-0123456789"
)

func testTokens(t *testing.T) *Tokens {
	t.Helper()
	tk, err := ParseTokens("read=" + tokRead + ",upload=" + tokUpload + ",admin=" + tokAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// do sends a request and returns the response with its body read.
func (f *fixture) do(method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

// wantError checks an error answer: its status, its JSON shape and code, and
// that the sentence is there.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) client.ErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, clip(body))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: error Content-Type %q, want application/json", resp.Request.Method, resp.Request.URL.Path, ct)
	}
	var eb client.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("error body is not {error, code}: %v: %s", err, clip(body))
	}
	if eb.Code != code {
		t.Fatalf("%s %s: code %q, want %q (%s)", resp.Request.Method, resp.Request.URL.Path, eb.Code, code, eb.Error)
	}
	if len(eb.Error) < 20 || !strings.ContainsAny(eb.Error, ":;") {
		t.Fatalf("error sentence %q does not say what to do", eb.Error)
	}
	return eb
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// synthetic returns a small real ELF file with build ID number n.
func synthetic(n int, code bool) ([]byte, aotsym.BuildID) {
	id := storetest.SyntheticBuildID(n)
	return storetest.SyntheticELF(storetest.ELFSpec{BuildID: id, Code: code}), aotsym.BuildIDFromBytes(id)
}

// upload stores a synthetic build through the API and returns its ID.
func (f *fixture) upload(n int, token string, query string) aotsym.BuildID {
	f.t.Helper()
	b, id := synthetic(n, false)
	hdr := []string{}
	if token != "" {
		hdr = append(hdr, "Authorization", "Bearer "+token)
	}
	resp, body := f.do("POST", "/v1/builds"+query, bytes.NewReader(b), hdr...)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		f.t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func (r *recSym) Forget(id aotsym.BuildID) {
	r.mu.Lock()
	r.forgot = append(r.forgot, id)
	r.mu.Unlock()
}
