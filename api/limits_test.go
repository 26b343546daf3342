package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/store"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// chunked hides a body's length, so the request goes without Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

// storeIsEmpty checks that a rejected upload left nothing behind.
func (f *fixture) storeIsEmpty() {
	f.t.Helper()
	list, err := f.st.List(context.Background(), store.ListOptions{})
	if err != nil || len(list) != 0 {
		f.t.Fatalf("store after rejected uploads: %d builds, %v", len(list), err)
	}
}

// TestUploadLimits sends uploads over the limit with and without
// Content-Length, and compressed bodies that expand past it (zip bombs): each
// gets 413 with a sentence naming the limit, and the store stays empty.
func TestUploadLimits(t *testing.T) {
	const limit = 1 << 20
	f := newFixture(t, Config{MaxUploadBytes: limit})
	big := make([]byte, limit+1)
	copy(big, mustSynthetic(1))
	// A real ELF header followed by 64 MiB of zeros: a few KiB compressed,
	// and a start that passes any sniffing of the first bytes.
	bomb := append(mustSynthetic(3), make([]byte, 64<<20)...)
	gz, zs := gzipped(t, bomb), zstded(t, bomb)
	if len(gz) > limit/4 || len(zs) > limit/4 {
		t.Fatalf("bombs too large to test decompression limits: gzip %d, zstd %d", len(gz), len(zs))
	}
	cases := []struct {
		name  string
		body  io.Reader
		hdr   []string
		after bool // the limit is hit after decompression
	}{
		{"content-length", bytes.NewReader(big), nil, false},
		{"chunked", chunked{bytes.NewReader(big)}, nil, false},
		{"gzip bomb", bytes.NewReader(gz), []string{"Content-Encoding", "gzip"}, true},
		{"gzip bomb chunked", chunked{bytes.NewReader(gz)}, []string{"Content-Encoding", "gzip"}, true},
		{"zstd bomb", bytes.NewReader(zs), []string{"Content-Encoding", "zstd"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := f.do("POST", "/v1/builds", c.body, c.hdr...)
			eb := wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
			if !strings.Contains(eb.Error, "1 MiB") || !strings.Contains(eb.Error, "--max-upload") {
				t.Fatalf("the sentence does not name the limit and the flag: %s", eb.Error)
			}
			if c.after != strings.Contains(eb.Error, "after decompression") {
				t.Fatalf("after decompression = %v in %q", c.after, eb.Error)
			}
		})
	}
	f.storeIsEmpty()

	// Bad encodings: corrupt streams are 400, unknown encodings 415.
	resp, b := f.do("POST", "/v1/builds", bytes.NewReader([]byte("not gzip at all")), "Content-Encoding", "gzip")
	wantError(t, resp, b, http.StatusBadRequest, "invalid")
	good := gzipped(t, mustSynthetic(2))
	resp, b = f.do("POST", "/v1/builds", bytes.NewReader(good[:len(good)-12]), "Content-Encoding", "gzip")
	wantError(t, resp, b, http.StatusBadRequest, "invalid")
	resp, b = f.do("POST", "/v1/builds", bytes.NewReader([]byte("\x28\xb5\x2f\xfd garbage")), "Content-Encoding", "zstd")
	wantError(t, resp, b, http.StatusBadRequest, "invalid")
	resp, b = f.do("POST", "/v1/builds", bytes.NewReader(good), "Content-Encoding", "br")
	wantError(t, resp, b, http.StatusUnsupportedMediaType, "unsupported")
	f.storeIsEmpty()

	// Within the limit, compressed uploads are stored as the file itself.
	for i, enc := range []string{"gzip", "zstd", ""} {
		raw := mustSynthetic(10 + i)
		body := raw
		switch enc {
		case "gzip":
			body = gzipped(t, raw)
		case "zstd":
			body = zstded(t, raw)
		}
		resp, b := f.do("POST", "/v1/builds", bytes.NewReader(body), "Content-Encoding", enc)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s upload: %d %s", enc, resp.StatusCode, b)
		}
		var ur client.UploadResult
		json.Unmarshal(b, &ur)
		resp, got := f.do("GET", "/buildid/"+string(ur.BuildID)+"/debuginfo", nil)
		if resp.StatusCode != 200 || !bytes.Equal(got, raw) {
			t.Fatalf("%s upload: debuginfod gave %d, %d bytes; want the %d uploaded bytes", enc, resp.StatusCode, len(got), len(raw))
		}
	}
}

func mustSynthetic(n int) []byte {
	b, _ := synthetic(n, false)
	return b
}

// TestSymbolicateLimits covers the trace, batch and frame limits.
func TestSymbolicateLimits(t *testing.T) {
	f := newFixture(t, Config{MaxTraceBytes: 64 << 10, MaxBatchBytes: 256 << 10, MaxBatchTraces: 3})
	trace := strings.Repeat("   at A.B.C() + 0x1c\n", (64<<10)/21+1)
	resp, b := f.do("POST", "/v1/symbolicate", strings.NewReader(trace))
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
	resp, b = f.do("POST", "/v1/symbolicate", chunked{strings.NewReader(trace)})
	eb := wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
	if !strings.Contains(eb.Error, "64 KiB") || !strings.Contains(eb.Error, "batch") {
		t.Fatalf("sentence: %s", eb.Error)
	}
	resp, b = f.do("POST", "/v1/symbolicate", bytes.NewReader(gzipped(t, []byte(trace))), "Content-Encoding", "gzip")
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
	resp, b = f.do("POST", "/v1/symbolicate", strings.NewReader(" \n\t"))
	wantError(t, resp, b, http.StatusBadRequest, "invalid")

	batch := func(n int, text string) io.Reader {
		var req client.BatchRequest
		for i := range n {
			req.Traces = append(req.Traces, client.BatchTrace{ID: fmt.Sprint(i), Text: text})
		}
		j, _ := json.Marshal(req)
		return bytes.NewReader(j)
	}
	resp, b = f.do("POST", "/v1/symbolicate/batch", batch(4, "at A.B()"))
	eb = wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
	if !strings.Contains(eb.Error, "4 traces") || !strings.Contains(eb.Error, "limit is 3") {
		t.Fatalf("sentence: %s", eb.Error)
	}
	resp, b = f.do("POST", "/v1/symbolicate/batch", batch(3, strings.Repeat("x", 100<<10)))
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
	resp, b = f.do("POST", "/v1/symbolicate/batch", chunked{batch(3, strings.Repeat("x", 100<<10))})
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")

	// One trace over the per-trace limit fails alone; the others are answered.
	var req client.BatchRequest
	req.Traces = []client.BatchTrace{{ID: "a", Text: "   at A.B()"}, {ID: "b", Text: trace}, {ID: "c", Text: ""}}
	j, _ := json.Marshal(req)
	resp, b = f.do("POST", "/v1/symbolicate/batch", bytes.NewReader(j))
	if resp.StatusCode != 200 {
		t.Fatalf("batch: %d %s", resp.StatusCode, b)
	}
	var br client.BatchResponse
	if err := json.Unmarshal(b, &br); err != nil || len(br.Results) != 3 {
		t.Fatalf("batch answer: %v %s", err, clip(b))
	}
	if r := br.Results[0]; r.ID != "a" || r.Error != nil || r.Trace == nil || len(r.Trace.Frames) != 1 {
		t.Fatalf("result a: %+v", r)
	}
	if r := br.Results[1]; r.ID != "b" || r.Error == nil || r.Error.Code != "too_large" || r.Trace != nil {
		t.Fatalf("result b: %+v", r)
	}
	if r := br.Results[2]; r.ID != "c" || r.Error == nil || r.Error.Code != "invalid" {
		t.Fatalf("result c: %+v", r)
	}

	resp, b = f.do("POST", "/v1/frames/resolve", strings.NewReader(`{"build_id":"0011223344556677","frame":"`+strings.Repeat("x", MaxFrameBytes)+`"}`))
	wantError(t, resp, b, http.StatusRequestEntityTooLarge, "too_large")
}

// TestTimeouts checks both kinds of timeout: a handler that runs past the
// route's limit gets 503 "timeout", and a client that sends its body too
// slowly gets 408 "timeout".
func TestTimeouts(t *testing.T) {
	f := newFixture(t, Config{RequestTimeout: 300 * time.Millisecond, UploadTimeout: 300 * time.Millisecond})
	f.sym.block = make(chan struct{}) // never released: the handler waits for its deadline
	start := time.Now()
	resp, b := f.do("POST", "/v1/symbolicate", strings.NewReader("   at A.B.C() + 0x1c\n"))
	eb := wantError(t, resp, b, http.StatusServiceUnavailable, "timeout")
	if !strings.Contains(eb.Error, "300ms") {
		t.Fatalf("sentence does not name the limit: %s", eb.Error)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout took %s to fire", d)
	}

	pr, pw := io.Pipe()
	go func() {
		pw.Write(mustSynthetic(1)[:100])
		time.Sleep(2 * time.Second) // far past the 300ms limit
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	resp, b = f.do("POST", "/v1/builds", pr)
	eb = wantError(t, resp, b, http.StatusRequestTimeout, "timeout")
	if !strings.Contains(eb.Error, "did not arrive") {
		t.Fatalf("sentence: %s", eb.Error)
	}
	f.storeIsEmpty()
}

// TestErrorDocuments checks that failures outside handlers (no route, wrong
// method, bad parameters) are JSON documents with a code too.
func TestErrorDocuments(t *testing.T) {
	f := newFixture(t, Config{})
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/nope", "", 404, "not_found"},
		{"POST", "/v1/frames", "", 404, "not_found"},
		{"DELETE", "/v1/symbolicate", "", 405, "method_not_allowed"},
		{"GET", "/v1/builds/xyz", "", 400, "invalid"},
		{"GET", "/v1/builds/00112233445566778899", "", 404, "not_found"},
		{"DELETE", "/v1/builds/00112233445566778899", "", 404, "not_found"},
		{"GET", "/buildid/00112233445566778899/debuginfo", "", 404, "not_found"},
		{"GET", "/v1/builds?limit=0", "", 400, "invalid"},
		{"GET", "/v1/builds?tag=noequals", "", 400, "invalid"},
		{"GET", "/v1/builds?tag=bad%20key=v", "", 400, "invalid"},
		{"POST", "/v1/builds", "not an ELF file", 400, "invalid"},
		{"POST", "/v1/builds?name=../../etc/passwd", "x", 400, "invalid"},
		{"POST", "/v1/symbolicate?build_id=zz", "at A.B()", 400, "invalid"},
		{"POST", "/v1/symbolicate?build_id=00112233445566778899", "at A.B()", 404, "not_found"},
		{"POST", "/v1/symbolicate?tag=service=none", "at A.B()", 404, "not_found"},
		{"POST", "/v1/symbolicate?format=xml", "at A.B()", 400, "invalid"},
		{"POST", "/v1/symbolicate/batch", `{"traces":[]}`, 400, "invalid"},
		{"POST", "/v1/symbolicate/batch", `{"traces":[{"id":"1","text":"x"}],"extra":1}`, 400, "invalid"},
		{"POST", "/v1/symbolicate/batch", `{"traces":`, 400, "invalid"},
		{"POST", "/v1/symbolicate/batch", `{"traces":[{"id":"1","text":"x"}],"format":"xml"}`, 400, "invalid"},
		{"POST", "/v1/frames/resolve", `{"frame":"at A.B()"}`, 400, "invalid"},
		{"POST", "/v1/frames/resolve", `{"build_id":"00112233445566778899","frame":"at A.B()\nat C.D()"}`, 400, "invalid"},
		{"POST", "/v1/frames/resolve", `{"build_id":"00112233445566778899","frame":"at A.B()"}`, 404, "not_found"},
		{"PATCH", "/v1/builds/00112233445566778899/tags", `{}`, 400, "invalid"},
		{"PATCH", "/v1/builds/00112233445566778899/tags", `{"set":{"k":"v"}}`, 404, "not_found"},
		{"PUT", "/v1/builds/00112233445566778899/tags", `{"tags":{"bad key":"v"}}`, 400, "invalid"},
	}
	for _, c := range cases {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		resp, b := f.do(c.method, c.path, body)
		t.Run(c.method+" "+c.path, func(t *testing.T) { wantError(t, resp, b, c.status, c.code) })
	}
}

// TestBusy: with every symbolication slot taken, a request waits until its
// deadline and then gets 503 with Retry-After; uploads have their own slots.
func TestBusy(t *testing.T) {
	f := newFixture(t, Config{MaxInFlight: 1, RequestTimeout: 400 * time.Millisecond, UploadTimeout: 5 * time.Second})
	f.sym.block = make(chan struct{})
	f.sym.stubborn = true // holds its slot past its own deadline, until released
	f.sym.started = make(chan struct{})
	first := make(chan int, 1)
	go func() {
		resp, _ := f.do("POST", "/v1/symbolicate", strings.NewReader("   at A.B()\n"))
		first <- resp.StatusCode
	}()
	<-f.sym.started
	resp, b := f.do("POST", "/v1/frames/resolve", strings.NewReader(`{"build_id":"0011223344556677","frame":"at A.B()"}`))
	eb := wantError(t, resp, b, http.StatusServiceUnavailable, "unavailable")
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(eb.Error, "busy") {
		t.Fatalf("busy answer: %v %s", resp.Header, eb.Error)
	}
	// An upload does not wait for symbolications.
	if resp, b := f.do("POST", "/v1/builds", bytes.NewReader(mustSynthetic(1))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload while busy: %d %s", resp.StatusCode, b)
	}
	close(f.sym.block)
	if st := <-first; st != http.StatusServiceUnavailable {
		t.Fatalf("first request, released after its deadline: %d, want 503", st)
	}
	// The slot is free again.
	f.sym.block = nil
	if resp, b := f.do("POST", "/v1/symbolicate", strings.NewReader("   at A.B()\n")); resp.StatusCode != 200 {
		t.Fatalf("after the slot was freed: %d %s", resp.StatusCode, b)
	}
}
