// Package e2e runs the real aotsym binary: `aotsym serve` on 127.0.0.1 with
// a temporary --data, driven by the real CLI and by raw HTTP, over the
// committed Native AOT fixtures (testdata/nativeaot).
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var variants = []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64"}

func loadVariants(t testing.TB) []*corpus.Manifest {
	t.Helper()
	var ms []*corpus.Manifest
	for _, v := range variants {
		m, err := corpus.Load(v)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// sample returns a case with a CloudWatch log sample and that sample's text.
func sample(t testing.TB, m *corpus.Manifest, scenario string) (*corpus.Case, []byte) {
	return sampleOf(t, m, scenario, ".log")
}

// sampleOf returns a case's constructed sample with the given suffix (.log,
// .error.json, .event.json).
func sampleOf(t testing.TB, m *corpus.Manifest, scenario, suffix string) (*corpus.Case, []byte) {
	t.Helper()
	for i := range m.Cases {
		c := &m.Cases[i]
		if c.Scenario != scenario {
			continue
		}
		for _, p := range m.Samples(c) {
			if strings.HasSuffix(p, suffix) {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return c, b
			}
		}
	}
	t.Fatalf("%s has no %s sample of %s", m.Variant, suffix, scenario)
	return nil, nil
}

// checkAgainstManifest compares every resolved frame of a trace with the
// corpus oracle (llvm-symbolizer at the frame's lookup address), skipping the
// frames where that oracle is known wrong, and requires some to be resolved.
func checkAgainstManifest(t *testing.T, what string, tr *aotsym.Trace, c *corpus.Case) {
	t.Helper()
	oracle := map[string]*corpus.Frame{}
	for _, f := range c.PrintedFrames() {
		oracle[f.PrintedText()] = f
	}
	resolved := 0
	for _, fr := range tr.Frames {
		o := oracle[fr.Input]
		if fr.Status != aotsym.StatusResolved || o == nil || o.Expected == nil || o.LineRowBeforeSymbol {
			continue
		}
		if fr.File != o.Expected.File || fr.Line != o.Expected.Line {
			t.Errorf("%s: %q resolved to %s:%d; llvm-symbolizer says %s:%d", what, fr.Input, fr.File, fr.Line, o.Expected.File, o.Expected.Line)
		}
		resolved++
	}
	if resolved == 0 {
		t.Fatalf("%s: no frame resolved (summary %v)", what, tr.Summary)
	}
}

func symbolicateJSON(t testing.TB, url string, body []byte, hdr ...string) (*aotsym.Trace, []byte) {
	t.Helper()
	status, _, b := call(t, "POST", url, bytes.NewReader(body), append([]string{"Accept", "application/json"}, hdr...)...)
	if status != 200 {
		t.Fatalf("POST %s: %d %s", url, status, clip(b))
	}
	var tr aotsym.Trace
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return &tr, b
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

// TestServeUploadSymbolicateRestart is the main path: upload the net8, net9
// and net10 builds with the CLI, paste CloudWatch samples without naming the
// build, get the right build named in the JSON and JIT-style text, batches
// and single frames, debuginfod bytes identical to the uploads, the CLI's
// builds commands, and the same answers after a restart.
func TestServeUploadSymbolicateRestart(t *testing.T) {
	ms := loadVariants(t)
	data := t.TempDir()
	srv := startServer(t, data, nil)

	// Upload every variant's publish output (app.dbg, then app).
	for _, m := range ms {
		r := cli(t, nil, nil, "upload", "--server", srv.url, "--tag", "service=sample", "--tag", "tfm="+m.Build.TargetFramework, "--publish-dir", m.Dir)
		if r.code != 0 {
			t.Fatalf("upload %s: exit %d\n%s%s", m.Variant, r.code, r.stdout, r.stderr)
		}
		if strings.Count(r.stdout, "uploaded  ") != 2 || !strings.Contains(r.stdout, "new build") || !strings.Contains(r.stdout, "added to build") || !strings.Contains(r.stdout, m.Build.BuildID) {
			t.Fatalf("upload %s output:\n%s", m.Variant, r.stdout)
		}
	}
	// Uploading again skips both files; the exit code is still 0.
	r := cli(t, []string{"AOTSYM_SERVER=" + srv.url}, nil, "upload", ms[2].DebugFile(), ms[2].Executable())
	if r.code != 0 || strings.Count(r.stdout, "skipped   ") != 2 {
		t.Fatalf("second upload: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// --publish-dir repeated takes every directory, not the last.
	args := []string{"upload", "--server", srv.url}
	for _, m := range ms {
		args = append(args, "--publish-dir", m.Dir)
	}
	r = cli(t, nil, nil, args...)
	if r.code != 0 || strings.Count(r.stdout, "skipped   ") != 2*len(ms) {
		t.Fatalf("upload with %d --publish-dir: exit %d\n%s%s", len(ms), r.code, r.stdout, r.stderr)
	}

	// Paste each variant's CloudWatch sample without a build: detected.
	first := map[string][]byte{}
	for _, m := range ms {
		c, in := sample(t, m, "async-chain")
		tr, raw := symbolicateJSON(t, srv.url+"/v1/symbolicate", in)
		if string(tr.BuildID) != m.Build.BuildID || tr.Build == nil || tr.Build.How != "detected" {
			t.Fatalf("%s: build %s chosen (%+v), want %s detected", m.Variant, tr.BuildID, tr.Build, m.Build.BuildID)
		}
		checkAgainstManifest(t, m.Variant, tr, c)
		first[m.Variant] = raw

		// The text answer writes resolved frames as the JIT does.
		status, hdr, text := call(t, "POST", srv.url+"/v1/symbolicate", bytes.NewReader(in))
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || hdr.Get(client.HeaderBuildID) != m.Build.BuildID {
			t.Fatalf("%s text: %d %v", m.Variant, status, hdr)
		}
		for _, fr := range tr.Frames {
			if fr.Status == aotsym.StatusResolved {
				if want := fmt.Sprintf(" in %s:line %d", fr.File, fr.Line); !bytes.Contains(text, []byte(want)) {
					t.Fatalf("%s text lacks %q:\n%s", m.Variant, want, clip(text))
				}
			}
		}
		// The CLI's server mode gives the same text.
		r := cli(t, nil, bytes.NewReader(in), "symbolicate", "--server", srv.url, "-")
		if r.code != 0 || r.stdout != string(text) {
			t.Fatalf("aotsym symbolicate --server: exit %d, stdout equal %v\n%s", r.code, r.stdout == string(text), r.stderr)
		}
		// … and --json the same document.
		r = cli(t, []string{"AOTSYM_SERVER=" + srv.url}, bytes.NewReader(in), "symbolicate", "--json")
		var viaCLI aotsym.Trace
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &viaCLI) != nil || viaCLI.BuildID != tr.BuildID || len(viaCLI.Frames) != len(tr.Frames) {
			t.Fatalf("aotsym symbolicate --json via $AOTSYM_SERVER: exit %d\n%s%s", r.code, clip([]byte(r.stdout)), r.stderr)
		}
	}

	// A batch of the three samples as Lambda error documents, no builds
	// named: one answer each.
	var batch client.BatchRequest
	for _, m := range ms {
		_, in := sampleOf(t, m, "async-chain", ".error.json")
		batch.Traces = append(batch.Traces, client.BatchTrace{ID: m.Variant, Text: string(in)})
	}
	batch.Traces = append(batch.Traces, client.BatchTrace{ID: "bad", Text: "x", BuildID: "00112233445566778899"})
	j, _ := json.Marshal(batch)
	status, _, b := call(t, "POST", srv.url+"/v1/symbolicate/batch", bytes.NewReader(j))
	var br client.BatchResponse
	if status != 200 || json.Unmarshal(b, &br) != nil || len(br.Results) != 4 {
		t.Fatalf("batch: %d %s", status, clip(b))
	}
	for i, m := range ms {
		res := br.Results[i]
		if res.ID != m.Variant || res.Error != nil || res.Trace == nil || string(res.Trace.BuildID) != m.Build.BuildID {
			t.Fatalf("batch result %d: %+v; build %s, choice %+v, want %s", i, res, res.Trace.BuildID, res.Trace.Build, m.Build.BuildID)
		}
		c, _ := sample(t, m, "async-chain")
		checkAgainstManifest(t, "batch "+m.Variant, res.Trace, c)
	}
	if res := br.Results[3]; res.Error == nil || res.Error.Code != "not_found" {
		t.Fatalf("batch result for a missing build: %+v", res)
	}

	// One frame, for IDE plugins: by build ID and by tags.
	m10 := ms[2]
	c, _ := sample(t, m10, "async-chain")
	var frame *corpus.Frame
	for _, f := range c.PrintedFrames() {
		if f.Expected != nil && !f.LineRowBeforeSymbol && f.Expected.Line > 0 {
			frame = f
			break
		}
	}
	for _, req := range []client.FrameRequest{
		{BuildID: aotsym.BuildID(m10.Build.BuildID), Frame: frame.PrintedText()},
		{Tags: map[string]string{"tfm": "net10.0"}, Frame: frame.PrintedText()},
	} {
		j, _ := json.Marshal(req)
		status, _, b := call(t, "POST", srv.url+"/v1/frames/resolve", bytes.NewReader(j))
		var fr client.FrameResponse
		if status != 200 || json.Unmarshal(b, &fr) != nil || string(fr.BuildID) != m10.Build.BuildID || len(fr.Locations) != 1 ||
			fr.Locations[0].File != frame.Expected.File || fr.Locations[0].Line != frame.Expected.Line {
			t.Fatalf("frames/resolve %+v: %d %s; want %s:%d", req, status, clip(b), frame.Expected.File, frame.Expected.Line)
		}
	}

	// Symbolicate by tags picks the newest build carrying them.
	_, in := sample(t, m10, "async-chain")
	tr, _ := symbolicateJSON(t, srv.url+"/v1/symbolicate?tag=tfm=net10.0", in)
	if string(tr.BuildID) != m10.Build.BuildID || tr.Build.How != "tags" {
		t.Fatalf("by tag: %s %+v", tr.BuildID, tr.Build)
	}

	// debuginfod gives back the uploaded bytes, whole and by range.
	for _, m := range ms {
		for kind, path := range map[string]string{"debuginfo": m.DebugFile(), "executable": m.Executable()} {
			want, _ := os.ReadFile(path)
			status, hdr, got := call(t, "GET", srv.url+"/buildid/"+m.Build.BuildID+"/"+kind, nil)
			if status != 200 || sha(got) != sha(want) || hdr.Get("X-Debuginfod-Size") != fmt.Sprint(len(want)) {
				t.Fatalf("%s %s: %d, %d bytes, want the %d uploaded", m.Variant, kind, status, len(got), len(want))
			}
			status, _, part := call(t, "GET", srv.url+"/buildid/"+m.Build.BuildID+"/"+kind, nil, "Range", "bytes=4096-8191")
			if status != 206 || !bytes.Equal(part, want[4096:8192]) {
				t.Fatalf("%s %s range: %d, %d bytes", m.Variant, kind, status, len(part))
			}
		}
	}

	// The builds command lists, tags and shows.
	r = cli(t, []string{"AOTSYM_SERVER=" + srv.url}, nil, "builds")
	for _, m := range ms {
		if !strings.Contains(r.stdout, m.Build.BuildID) {
			t.Fatalf("builds list lacks %s:\n%s", m.Build.BuildID, r.stdout)
		}
	}
	r = cli(t, []string{"AOTSYM_SERVER=" + srv.url}, nil, "builds", "tag", ms[0].Build.BuildID, "env=prod", "-k", "service")
	if r.code != 0 || !strings.Contains(r.stdout, "env=prod") || strings.Contains(r.stdout, "service=") {
		t.Fatalf("builds tag: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, []string{"AOTSYM_SERVER=" + srv.url}, nil, "builds", "list", "--tag", "env=prod", "--json")
	var bl client.BuildList
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &bl) != nil || len(bl.Builds) != 1 || string(bl.Builds[0].ID) != ms[0].Build.BuildID {
		t.Fatalf("builds list --tag env=prod: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, []string{"AOTSYM_SERVER=" + srv.url}, nil, "builds", "show", ms[1].Build.BuildID)
	if r.code != 0 || !strings.Contains(r.stdout, "executable") || !strings.Contains(r.stdout, "app.dbg") {
		t.Fatalf("builds show: %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Restart on the same data: the same answers, byte for byte.
	if err := srv.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, srv.logs.String())
	}
	srv = startServer(t, data, nil)
	for _, m := range ms {
		_, in := sample(t, m, "async-chain")
		_, raw := symbolicateJSON(t, srv.url+"/v1/symbolicate", in)
		if !bytes.Equal(raw, first[m.Variant]) {
			t.Fatalf("%s: the answer changed across a restart:\nbefore %s\nafter  %s", m.Variant, clip(first[m.Variant]), clip(raw))
		}
	}
	status, _, metrics := call(t, "GET", srv.url+"/metrics", nil)
	if status != 200 || !bytes.Contains(metrics, []byte("aotsym_builds 3")) || !bytes.Contains(metrics, []byte(`aotsym_frames_total{status="resolved"}`)) {
		t.Fatalf("/metrics after restart: %d\n%s", status, clip(metrics))
	}
}

const (
	readTok   = "e2e-read-token-0123456789"
	uploadTok = "e2e-upload-token-0123456789"
	adminTok  = "e2e-admin-token-0123456789"
)

// TestAuth runs a server with tokens and checks each scope through the CLI
// and raw HTTP, and that an open server refuses a non-loopback address.
func TestAuth(t *testing.T) {
	m := loadVariants(t)[2]
	srv := startServer(t, t.TempDir(), []string{"AOTSYM_TOKENS=read=" + readTok + ",upload=" + uploadTok + ",admin=" + adminTok})
	env := func(tok string) []string { return []string{"AOTSYM_SERVER=" + srv.url, "AOTSYM_TOKEN=" + tok} }

	r := cli(t, env(""), nil, "upload", m.DebugFile())
	if r.code != 1 || !strings.Contains(r.stdout, "Authorization: Bearer") {
		t.Fatalf("upload without token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env(readTok), nil, "upload", m.DebugFile())
	if r.code != 1 || !strings.Contains(r.stdout, "needs upload scope") {
		t.Fatalf("upload with a read token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env(uploadTok), nil, "upload", "--tag", "service=orders", m.DebugFile())
	if r.code != 0 || !strings.Contains(r.stdout, "new build") {
		t.Fatalf("upload with an upload token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env(adminTok), nil, "upload", "--tag", "version=2", m.Executable())
	if r.code != 0 || !strings.Contains(r.stdout, "added to build") {
		t.Fatalf("upload with an admin token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	_, in := sample(t, m, "async-chain")
	url := srv.url + "/v1/symbolicate"
	status, hdr, b := call(t, "POST", url, bytes.NewReader(in))
	errorBody(t, status, 401, b, "unauthorized")
	if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without WWW-Authenticate: %v", hdr)
	}
	status, _, b = call(t, "POST", url, bytes.NewReader(in), "Authorization", "Bearer wrong-token-0123456789")
	errorBody(t, status, 401, b, "unauthorized")
	for _, tok := range []string{readTok, uploadTok, adminTok} {
		if status, _, b := call(t, "POST", url, bytes.NewReader(in), "Authorization", "Bearer "+tok); status != 200 {
			t.Fatalf("symbolicate with %s: %d %s", tok, status, clip(b))
		}
	}
	status, _, b = call(t, "GET", srv.url+"/buildid/"+m.Build.BuildID+"/debuginfo", nil)
	errorBody(t, status, 401, b, "unauthorized")
	status, _, b = call(t, "PATCH", srv.url+"/v1/builds/"+m.Build.BuildID+"/tags", strings.NewReader(`{"set":{"a":"b"}}`), "Authorization", "Bearer "+readTok)
	errorBody(t, status, 403, b, "forbidden")
	if status, _, _ := call(t, "GET", srv.url+"/healthz", nil); status != 200 {
		t.Fatalf("healthz needs no token: %d", status)
	}

	r = cli(t, env(uploadTok), nil, "builds", "delete", m.Build.BuildID)
	if r.code != 1 || !strings.Contains(r.stderr, "admin") {
		t.Fatalf("delete with an upload token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env(readTok), nil, "builds", "show", m.Build.BuildID)
	if r.code != 0 || !strings.Contains(r.stdout, "service=orders version=2") {
		t.Fatalf("show with a read token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env(adminTok), nil, "builds", "delete", m.Build.BuildID)
	if r.code != 0 {
		t.Fatalf("delete with an admin token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	status, _, b = call(t, "GET", srv.url+"/v1/builds/"+m.Build.BuildID, nil, "Authorization", "Bearer "+readTok)
	errorBody(t, status, 404, b, "not_found")
	if logs := srv.logs.String(); strings.Contains(logs, readTok) || strings.Contains(logs, uploadTok) || strings.Contains(logs, adminTok) {
		t.Fatal("a token appears in the server log")
	}

	// Open mode refuses a non-loopback address before binding it.
	r = cli(t, nil, nil, "serve", "--data", t.TempDir(), "--listen", "0.0.0.0:0")
	if r.code == 0 || !strings.Contains(r.stderr, "--insecure-open") {
		t.Fatalf("open server on 0.0.0.0: exit %d\n%s", r.code, r.stderr)
	}
	r = cli(t, []string{"AOTSYM_TOKENS=read=short"}, nil, "serve", "--data", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, "shorter than") || strings.Contains(r.stderr, "short\n") {
		t.Fatalf("bad AOTSYM_TOKENS: exit %d\n%s", r.code, r.stderr)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// TestLimits runs a server with small limits and pushes each one.
func TestLimits(t *testing.T) {
	m := loadVariants(t)[2]
	srv := startServer(t, t.TempDir(), nil, "--max-upload", "1MiB", "--max-body", "64KiB", "--max-batch", "2", "--upload-timeout", "2s", "--max-frames", "20")
	dbg, _ := os.ReadFile(m.DebugFile())

	r := cli(t, nil, nil, "upload", "--server", srv.url, m.DebugFile())
	if r.code != 1 || !strings.Contains(r.stdout, "larger than 1 MiB") {
		t.Fatalf("CLI upload over the limit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	url := srv.url + "/v1/builds"
	status, _, b := call(t, "POST", url, bytes.NewReader(dbg))
	errorBody(t, status, 413, b, "too_large")
	status, _, b = call(t, "POST", url, chunked{bytes.NewReader(dbg)})
	errorBody(t, status, 413, b, "too_large")
	bomb := append(dbg[:64<<10:64<<10], make([]byte, 32<<20)...)
	for enc, body := range map[string][]byte{"gzip": gz(bomb), "zstd": zst(bomb)} {
		if len(body) > 512<<10 {
			t.Fatalf("%s bomb is %d bytes", enc, len(body))
		}
		status, _, b = call(t, "POST", url, bytes.NewReader(body), "Content-Encoding", enc)
		if msg := errorBody(t, status, 413, b, "too_large"); !strings.Contains(msg, "after decompression") {
			t.Fatalf("%s bomb: %s", enc, msg)
		}
	}

	trace := bytes.Repeat([]byte("   at MyService.Orders.OrderService.<CreateOrderAsync>d__1.MoveNext() + 0xf2\n"), 1000)
	status, _, b = call(t, "POST", srv.url+"/v1/symbolicate", bytes.NewReader(trace))
	errorBody(t, status, 413, b, "too_large")
	status, _, b = call(t, "POST", srv.url+"/v1/symbolicate", chunked{bytes.NewReader(trace)})
	errorBody(t, status, 413, b, "too_large")
	// A trace with more frames than --max-frames (the parser's limit).
	_, deep := sample(t, m, "recursion")
	status, _, b = call(t, "POST", srv.url+"/v1/symbolicate", bytes.NewReader(deep))
	if msg := errorBody(t, status, 413, b, "too_large"); !strings.Contains(msg, "20") {
		t.Fatalf("--max-frames 20: %s", msg)
	}
	j := `{"traces":[{"id":"1","text":"at A.B()"},{"id":"2","text":"at A.B()"},{"id":"3","text":"at A.B()"}]}`
	status, _, b = call(t, "POST", srv.url+"/v1/symbolicate/batch", strings.NewReader(j))
	errorBody(t, status, 413, b, "too_large")

	// A body that stalls past --upload-timeout gets 408.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(dbg[:1000])
		time.Sleep(4 * time.Second)
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	start := time.Now()
	status, _, b = call(t, "POST", url, pr)
	errorBody(t, status, 408, b, "timeout")
	if d := time.Since(start); d > 3900*time.Millisecond {
		t.Fatalf("the 2s upload timeout fired after %s", d)
	}

	// Nothing got stored, and the server is still well.
	status, _, b = call(t, "GET", srv.url+"/v1/builds", nil)
	if status != 200 || !bytes.Contains(b, []byte(`"builds":[]`)) {
		t.Fatalf("builds after rejected uploads: %d %s", status, b)
	}
	if status, _, _ := call(t, "GET", srv.url+"/readyz", nil); status != 200 {
		t.Fatalf("readyz: %d", status)
	}
}

// TestGracefulShutdown sends SIGTERM while an upload is in flight: the upload
// completes with 201, the server exits 0, and the build is there after a
// restart.
func TestGracefulShutdown(t *testing.T) {
	m := loadVariants(t)[1]
	data := t.TempDir()
	srv := startServer(t, data, nil)
	dbg, _ := os.ReadFile(m.DebugFile())
	pr, pw := io.Pipe()
	type answer struct {
		status int
		body   []byte
	}
	res := make(chan answer, 1)
	go func() {
		status, _, b := call(t, "POST", srv.url+"/v1/builds?name=app.dbg", pr)
		res <- answer{status, b}
	}()
	half := len(dbg) / 2
	if _, err := pw.Write(dbg[:half]); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.logs.String(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown log line:\n%s", srv.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-srv.done:
		t.Fatalf("the server exited with a request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	go func() {
		pw.Write(dbg[half:])
		pw.Close()
	}()
	a := <-res
	if a.status != 201 || !bytes.Contains(a.body, []byte(m.Build.BuildID)) {
		t.Fatalf("the upload in flight: %d %s", a.status, clip(a.body))
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not exit after its last request")
	}
	if !strings.Contains(srv.logs.String(), "stopped cleanly") {
		t.Fatalf("logs:\n%s", srv.logs.String())
	}
	srv = startServer(t, data, nil)
	status, _, got := call(t, "GET", srv.url+"/buildid/"+m.Build.BuildID+"/debuginfo", nil)
	if status != 200 || sha(got) != sha(dbg) {
		t.Fatalf("after restart: %d, %d bytes", status, len(got))
	}
	// Logs are JSON lines; request lines name the route template.
	deadline = time.Now().Add(10 * time.Second)
	for {
		found := false
		for _, line := range strings.Split(strings.TrimSpace(srv.logs.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if rec["msg"] == "request" && rec["route"] == "/buildid/:id/debuginfo" && rec["status"] == 200.0 && rec["bytes_out"] == float64(len(dbg)) {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request log line for the debuginfod download:\n%s", srv.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestExpire: with --expire-unused, a build nobody uses is deleted, and one
// that is used stays.
func TestExpire(t *testing.T) {
	ms := loadVariants(t)
	srv := startServer(t, t.TempDir(), nil, "--expire-unused", "3s", "--expire-every", "500ms")
	for _, m := range ms[1:] {
		if r := cli(t, nil, nil, "upload", "--server", srv.url, m.DebugFile()); r.code != 0 {
			t.Fatalf("upload: %s %s", r.stdout, r.stderr)
		}
	}
	used, unused := ms[2], ms[1]
	_, in := sample(t, used, "async-chain")
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Keep one build in use.
		if status, _, b := call(t, "POST", srv.url+"/v1/symbolicate?build_id="+used.Build.BuildID, bytes.NewReader(in)); status != 200 {
			t.Fatalf("symbolicate: %d %s", status, clip(b))
		}
		status, _, _ := call(t, "GET", srv.url+"/v1/builds/"+unused.Build.BuildID, nil)
		if status == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unused build was not expired within 30s:\n%s", srv.logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if status, _, _ := call(t, "GET", srv.url+"/v1/builds/"+used.Build.BuildID, nil); status != 200 {
		t.Fatalf("the build in use was expired too")
	}
	// The line may reach the log after the delete is visible: the store
	// deletes, then the server logs, and its output is read from a pipe.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(srv.logs.String(), `"msg":"expired","build_id":"`+unused.Build.BuildID); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the expiry:\n%s", srv.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
