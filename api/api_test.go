package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
)

// TestOpenAPIMatchesEngine walks the routes the gin engine really has and
// checks that the served OpenAPI document lists exactly those, each with the
// parameters its path template names, responses, and resolvable references.
func TestOpenAPIMatchesEngine(t *testing.T) {
	f := newFixture(t, Config{})
	resp, b := f.do("GET", "/openapi.json", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Info    map[string]any                        `json:"info"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
		Comps   struct {
			Schemas         map[string]json.RawMessage `json:"schemas"`
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the document is not the expected JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info["title"] != "aotsym" || doc.Info["version"] == nil {
		t.Fatalf("header: openapi %q info %v", doc.OpenAPI, doc.Info)
	}
	if _, ok := doc.Comps.SecuritySchemes["bearer"]; !ok {
		t.Fatal("no bearer security scheme")
	}

	engine := map[string]bool{}
	for _, r := range f.srv.Engine().Routes() {
		engine[strings.ToLower(r.Method)+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	methods := map[string]bool{"get": true, "head": true, "post": true, "put": true, "patch": true, "delete": true}
	for p, item := range doc.Paths {
		for m, raw := range item {
			if !methods[m] {
				t.Errorf("%s: %q is not an HTTP method", p, m)
				continue
			}
			documented[m+" "+p] = true
			checkOperation(t, m+" "+p, raw, doc.Comps.Schemas)
		}
	}
	for k := range engine {
		if !documented[k] {
			t.Errorf("route %s is served but not in /openapi.json", k)
		}
	}
	for k := range documented {
		if !engine[k] {
			t.Errorf("/openapi.json lists %s, which the engine does not serve", k)
		}
	}
	for _, must := range []string{"get /healthz", "get /readyz", "get /metrics", "post /v1/builds", "get /v1/builds", "get /v1/builds/{id}",
		"delete /v1/builds/{id}", "post /v1/symbolicate", "get /buildid/{id}/debuginfo", "get /buildid/{id}/executable", "get /", "get /openapi.json"} {
		if !documented[must] {
			t.Errorf("interface.md route %s is missing", must)
		}
	}
	// Every schema the document refers to exists, and every schema is an object or type.
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([A-Za-z0-9_]+)"`).FindAllSubmatch(b, -1)
	if len(refs) < 10 {
		t.Fatalf("only %d schema references", len(refs))
	}
	for _, m := range refs {
		if _, ok := doc.Comps.Schemas[string(m[1])]; !ok {
			t.Errorf("$ref to missing schema %s", m[1])
		}
	}
	var trace struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	json.Unmarshal(doc.Comps.Schemas["Trace"], &trace)
	for _, field := range []string{"build_id", "frames", "summary", "format"} {
		if trace.Properties[field] == nil {
			t.Errorf("schema Trace lacks %s", field)
		}
	}
	var fr struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	json.Unmarshal(doc.Comps.Schemas["FrameResult"], &fr)
	if enum, _ := fr.Properties["status"]["enum"].([]any); len(enum) != len(aotsym.Statuses) {
		t.Errorf("FrameResult.status enum = %v", fr.Properties["status"])
	}
}

func checkOperation(t *testing.T, name string, raw json.RawMessage, schemas map[string]json.RawMessage) {
	t.Helper()
	var op struct {
		OperationID string `json:"operationId"`
		Summary     string `json:"summary"`
		Parameters  []struct {
			Name     string `json:"name"`
			In       string `json:"in"`
			Required bool   `json:"required"`
		} `json:"parameters"`
		Responses map[string]struct {
			Description string                     `json:"description"`
			Content     map[string]json.RawMessage `json:"content"`
		} `json:"responses"`
		Security []map[string][]string `json:"security"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if op.OperationID == "" || op.Summary == "" || len(op.Responses) < 2 {
		t.Errorf("%s: operationId %q summary %q, %d responses", name, op.OperationID, op.Summary, len(op.Responses))
	}
	ok := false
	for code, r := range op.Responses {
		if r.Description == "" {
			t.Errorf("%s: response %s has no description", name, code)
		}
		if strings.HasPrefix(code, "2") {
			ok = true
		}
	}
	if !ok && !strings.Contains(name, "/source/") && !strings.Contains(name, "/section/") {
		t.Errorf("%s: no 2xx response", name)
	}
	path := name[strings.Index(name, " ")+1:]
	for _, m := range regexp.MustCompile(`\{([a-z]+)\}`).FindAllStringSubmatch(path, -1) {
		found := false
		for _, p := range op.Parameters {
			if p.Name == m[1] && p.In == "path" && p.Required {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: path parameter %s not declared", name, m[1])
		}
	}
	secured := len(op.Security) > 0
	if want := wantScope[strings.ToUpper(name[:strings.Index(name, " ")])+" "+ginPath(path)] != ScopeNone; secured != want {
		t.Errorf("%s: security %v, want secured=%v", name, op.Security, want)
	}
}

// ginPath turns an OpenAPI path back into the gin template wantScope uses.
func ginPath(p string) string {
	p = strings.Replace(p, "{path}", "*path", 1)
	return regexp.MustCompile(`\{([a-z]+)\}`).ReplaceAllString(p, ":$1")
}

// TestDebuginfod fetches a real fixture file through the debuginfod routes:
// whole, by range, by HEAD; sources and sections are 404.
func TestDebuginfod(t *testing.T) {
	f := newFixture(t, Config{})
	raw, id := synthetic(5, false)
	f.do("POST", "/v1/builds?name=app.dbg", bytes.NewReader(raw))
	resp, got := f.do("GET", "/buildid/"+strings.ToUpper(string(id))+"/debuginfo", nil)
	if resp.StatusCode != 200 || !bytes.Equal(got, raw) {
		t.Fatalf("debuginfo: %d, %d bytes", resp.StatusCode, len(got))
	}
	if resp.Header.Get("X-Debuginfod-Size") != itoa(len(raw)) || resp.Header.Get("X-Debuginfod-File") != "app.dbg" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("headers: %v", resp.Header)
	}
	resp, got = f.do("GET", "/buildid/"+string(id)+"/debuginfo", nil, "Range", "bytes=16-79")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, raw[16:80]) {
		t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(got))
	}
	etag := resp.Header.Get("ETag")
	resp, _ = f.do("GET", "/buildid/"+string(id)+"/debuginfo", nil, "If-None-Match", etag)
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match %q: %d", etag, resp.StatusCode)
	}
	resp, got = f.do("HEAD", "/buildid/"+string(id)+"/debuginfo", nil)
	if resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != int64(len(raw)) {
		t.Fatalf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(got), resp.ContentLength)
	}
	resp, b := f.do("GET", "/buildid/"+string(id)+"/executable", nil)
	eb := wantError(t, resp, b, 404, "not_found")
	if !strings.Contains(eb.Error, "executable") {
		t.Fatalf("sentence: %s", eb.Error)
	}
	resp, b = f.do("GET", "/buildid/"+string(id)+"/source/src/Program.cs", nil)
	wantError(t, resp, b, 404, "not_found")
}

// TestTags uploads with tags, lists by tag, changes tags, and symbolicates by
// tag: the newest build carrying the tags is the one used.
func TestTags(t *testing.T) {
	f := newFixture(t, Config{})
	old := f.upload(1, "", "?tag=service=orders&tag=version=1.0")
	time.Sleep(10 * time.Millisecond)
	newer := f.upload(2, "", "?tag=service=orders&tag=version=1.1")
	other := f.upload(3, "", "?tag=service=billing")

	list := func(q string) []aotsym.BuildID {
		resp, b := f.do("GET", "/v1/builds"+q, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", q, resp.StatusCode, b)
		}
		var l client.BuildList
		json.Unmarshal(b, &l)
		var ids []aotsym.BuildID
		for _, b := range l.Builds {
			ids = append(ids, b.ID)
		}
		return ids
	}
	if got := list("?tag=service=orders"); len(got) != 2 || got[0] != newer || got[1] != old {
		t.Fatalf("service=orders: %v, want [%s %s]", got, newer, old)
	}
	if got := list("?tag=service=orders&tag=version=1.0"); len(got) != 1 || got[0] != old {
		t.Fatalf("version=1.0: %v", got)
	}
	if got := list("?limit=1"); len(got) != 1 {
		t.Fatalf("limit=1: %v", got)
	}
	if got := list(""); len(got) != 3 {
		t.Fatalf("all: %v", got)
	}

	resp, b := f.do("POST", "/v1/symbolicate?tag=service=orders", strings.NewReader("   at A.B()"), "Accept", "application/json")
	var tr aotsym.Trace
	if json.Unmarshal(b, &tr); resp.StatusCode != 200 || tr.BuildID != newer || tr.Build.How != "tags" || f.sym.last().BuildID != newer {
		t.Fatalf("symbolicate by tag: %d %s (options %+v)", resp.StatusCode, b, f.sym.last())
	}
	if resp.Header.Get(client.HeaderBuildID) != string(newer) {
		t.Fatalf("X-Aotsym-Build-Id %q", resp.Header.Get(client.HeaderBuildID))
	}

	// PATCH adds and removes; PUT replaces.
	resp, b = f.do("PATCH", "/v1/builds/"+string(other)+"/tags", strings.NewReader(`{"set":{"service":"orders","version":"2.0"}}`))
	var got aotsym.Build
	if json.Unmarshal(b, &got); resp.StatusCode != 200 || got.Tags["service"] != "orders" || got.Tags["version"] != "2.0" {
		t.Fatalf("patch: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do("POST", "/v1/frames/resolve", strings.NewReader(`{"tags":{"service":"orders"},"frame":"at A.B() + 0x1"}`))
	var fr client.FrameResponse
	if json.Unmarshal(b, &fr); resp.StatusCode != 200 || fr.BuildID != other || len(fr.Locations) != 1 || fr.Locations[0].Line != 7 {
		t.Fatalf("resolve by tag after retagging: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do("PATCH", "/v1/builds/"+string(other)+"/tags", strings.NewReader(`{"remove":["version"]}`))
	got = aotsym.Build{}
	if json.Unmarshal(b, &got); resp.StatusCode != 200 || got.Tags["version"] != "" || got.Tags["service"] != "orders" {
		t.Fatalf("patch remove: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do("PUT", "/v1/builds/"+string(other)+"/tags", strings.NewReader(`{"tags":{"team":"payments"}}`))
	got = aotsym.Build{}
	if json.Unmarshal(b, &got); resp.StatusCode != 200 || len(got.Tags) != 1 || got.Tags["team"] != "payments" {
		t.Fatalf("put: %d %s", resp.StatusCode, b)
	}
	if got := list("?tag=service=orders"); len(got) != 2 {
		t.Fatalf("after PUT, service=orders: %v", got)
	}
	// A new file and a delete make the symbolicator forget the build.
	exe, _ := synthetic(3, true)
	if resp, b := f.do("POST", "/v1/builds", bytes.NewReader(exe)); resp.StatusCode != 201 {
		t.Fatalf("executable: %d %s", resp.StatusCode, b)
	}
	if resp, b := f.do("DELETE", "/v1/builds/"+string(old), nil); resp.StatusCode != 200 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	f.sym.mu.Lock()
	forgot := fmt.Sprint(f.sym.forgot)
	f.sym.mu.Unlock()
	if !strings.HasSuffix(forgot, fmt.Sprintf("%s %s]", other, old)) {
		t.Fatalf("forgotten builds %s; want ... %s %s", forgot, other, old)
	}

	// Re-uploading the same file is 200 and changes nothing but tags.
	raw, _ := synthetic(2, false)
	resp, b = f.do("POST", "/v1/builds", bytes.NewReader(raw))
	var ur client.UploadResult
	if json.Unmarshal(b, &ur); resp.StatusCode != 200 || ur.Created || ur.Added || ur.BuildID != newer {
		t.Fatalf("re-upload: %d %s", resp.StatusCode, b)
	}
}

// TestSymbolicateFormats checks content negotiation and options passing.
func TestSymbolicateFormats(t *testing.T) {
	f := newFixture(t, Config{})
	id := f.upload(1, "", "")
	in := "System.Exception: boom\n   at A.B.C() + 0x1c\n   at D.E() + 0x2\n"
	for _, c := range []struct {
		path, accept string
		json         bool
	}{
		{"/v1/symbolicate", "application/json", true},
		{"/v1/symbolicate", "text/plain", false},
		{"/v1/symbolicate", "", false},
		{"/v1/symbolicate", "*/*", false},
		{"/v1/symbolicate", "text/plain;q=0.5, application/json", true},
		{"/v1/symbolicate", "application/json;q=0.1, text/plain;q=0.9", false},
		{"/v1/symbolicate?format=json", "text/plain", true},
		{"/v1/symbolicate?format=text", "application/json", false},
	} {
		resp, b := f.do("POST", c.path+sep(c.path)+"build_id="+string(id), strings.NewReader(in), "Accept", c.accept)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %q: %d %s", c.path, c.accept, resp.StatusCode, b)
		}
		isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
		if isJSON != c.json {
			t.Fatalf("%s Accept %q: Content-Type %s", c.path, c.accept, resp.Header.Get("Content-Type"))
		}
		if c.json {
			var tr aotsym.Trace
			if err := json.Unmarshal(b, &tr); err != nil || len(tr.Frames) != 2 || tr.BuildID != id {
				t.Fatalf("JSON answer: %v %s", err, b)
			}
		} else if string(b) != in+"\n" && string(b) != in {
			t.Fatalf("text answer %q", b)
		}
	}
	if o := f.sym.last(); o.BuildID != id || o.How != "given" {
		t.Fatalf("options %+v", o)
	}
	f.do("POST", "/v1/symbolicate", strings.NewReader(in))
	if o := f.sym.last(); o.BuildID != "" || o.How != "" {
		t.Fatalf("without build_id the symbolicator must detect: options %+v", o)
	}
	// Compressed bodies work on every route that takes one.
	resp0, b0 := f.do("POST", "/v1/symbolicate/batch", bytes.NewReader(gzipped(t, []byte(`{"traces":[{"id":"z","text":"at A.B()"}]}`))), "Content-Encoding", "gzip")
	resp1, b1 := f.do("POST", "/v1/symbolicate", bytes.NewReader(zstded(t, []byte(in))), "Content-Encoding", "zstd", "Accept", "application/json")
	if resp0.StatusCode != 200 || !bytes.Contains(b0, []byte(`"id":"z"`)) || resp1.StatusCode != 200 || !bytes.Contains(b1, []byte(`"frames"`)) {
		t.Fatalf("compressed batch: %d %s; compressed trace: %d %s", resp0.StatusCode, b0, resp1.StatusCode, b1)
	}
	// Batches pass each trace's own build.
	resp, b := f.do("POST", "/v1/symbolicate/batch", strings.NewReader(`{"format":"both","traces":[{"id":"x","text":"at A.B()","build_id":"`+string(id)+`"}]}`))
	var br client.BatchResponse
	if json.Unmarshal(b, &br); resp.StatusCode != 200 || br.Results[0].Trace == nil || br.Results[0].Text == nil || br.Results[0].Trace.BuildID != id {
		t.Fatalf("batch both: %d %s", resp.StatusCode, b)
	}
}

func sep(p string) string {
	if strings.Contains(p, "?") {
		return "&"
	}
	return "?"
}

// TestMetrics checks the series /metrics exposes after some traffic.
func TestMetrics(t *testing.T) {
	f := newFixture(t, Config{})
	f.upload(1, "", "")
	f.do("POST", "/v1/symbolicate", strings.NewReader("   at A.B()\n   at C.D()\n"))
	f.do("GET", "/v1/builds/"+strings.Repeat("ab", 10), nil)
	f.do("GET", "/no/such/route/"+strings.Repeat("x", 20), nil)
	resp, b := f.do("GET", "/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	m := string(b)
	for _, want := range []string{
		`aotsym_http_requests_total{method="POST",route="/v1/symbolicate",status="200"} 1`,
		`aotsym_http_requests_total{method="GET",route="/v1/builds/:id",status="404"} 1`,
		`aotsym_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`aotsym_http_request_duration_seconds_bucket{method="POST",route="/v1/builds",le="+Inf"} 1`,
		`aotsym_frames_total{status="not_found"} 2`,
		`aotsym_frames_total{status="resolved"} 0`,
		`aotsym_uploads_total{result="created"} 1`,
		`aotsym_builds 1`,
		`aotsym_ready 1`,
		`aotsym_index_cache_hits_total 3`,
		`aotsym_index_cache_bytes 1234`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "/no/such/route") {
		t.Error("a raw path became a label")
	}
}

// TestReadiness: 503 before the store is attached and after Drain.
func TestReadiness(t *testing.T) {
	srv := New(Config{})
	h := srv.Handler()
	get := func(path string) int {
		rec := newRecorder()
		req, _ := http.NewRequest("GET", path, nil)
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if get("/healthz") != 200 || get("/readyz") != 503 || get("/v1/builds") != 503 {
		t.Fatal("before Attach: healthz must be 200, readyz and store routes 503")
	}
	f := newFixture(t, Config{})
	resp, _ := f.do("GET", "/readyz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("attached: %d", resp.StatusCode)
	}
	f.srv.Drain()
	resp, b := f.do("GET", "/readyz", nil)
	wantError(t, resp, b, 503, "unavailable")
	if resp, _ := f.do("GET", "/healthz", nil); resp.StatusCode != 200 {
		t.Fatal("healthz must stay 200 while draining")
	}
}

// TestRunShutsDownGracefully starts Run on a loopback listener, begins a
// request that blocks in the symbolicator, cancels Run's context (as SIGTERM
// does), and checks that the request still completes, /readyz went 503, and
// Run returns nil with new connections refused.
func TestRunShutsDownGracefully(t *testing.T) {
	f := newFixture(t, Config{ShutdownTimeout: 10 * time.Second})
	f.sym.block = make(chan struct{})
	f.sym.started = make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()

	type result struct {
		status int
		body   []byte
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/v1/symbolicate", "text/plain", strings.NewReader("   at A.B()\n"))
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		res <- result{status: resp.StatusCode, body: buf.Bytes()}
	}()
	<-f.sym.started
	cancel()
	waitFor(t, "draining", func() bool { return !f.srv.Ready() })
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(f.sym.block)
	r := <-res
	if r.err != nil || r.status != 200 || !bytes.Contains(r.body, []byte("at A.B()")) {
		t.Fatalf("the request in flight: %v %d %s", r.err, r.status, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the last request")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still accepts connections after shutdown")
	}
	if !strings.Contains(f.logs.String(), "stopped cleanly") {
		t.Fatal("no shutdown log line")
	}
}

// TestPageSeam serves a page filesystem at / and its assets, with JSON 404s
// for the rest.
func TestPageSeam(t *testing.T) {
	f := newFixture(t, Config{Page: fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>paste</title>")},
		"app.js":     {Data: []byte("console.log(1)")},
	}})
	resp, b := f.do("GET", "/", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "paste") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, b)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("page without a Content-Security-Policy: %q", csp)
	}
	resp, b = f.do("GET", "/app.js", nil)
	if resp.StatusCode != 200 || string(b) != "console.log(1)" {
		t.Fatalf("GET /app.js: %d %s", resp.StatusCode, b)
	}
	resp, b = f.do("GET", "/../../etc/passwd", nil)
	wantError(t, resp, b, 404, "not_found")
	_, m := f.do("GET", "/metrics", nil)
	if !bytes.Contains(m, []byte(`aotsym_http_requests_total{method="GET",route="/{page asset}",status="200"} 1`)) {
		t.Fatalf("page assets are not counted under their own label")
	}
	resp, b = f.do("POST", "/app.js", nil)
	wantError(t, resp, b, 404, "not_found")
}

// TestClientErrors checks that the client turns error documents into
// *aotsym.Error with the server's code and sentence.
func TestClientErrors(t *testing.T) {
	f := newFixture(t, Config{Tokens: testTokens(t)})
	c, err := client.New(f.http.URL, tokRead)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = c.Build(ctx, "00112233445566778899")
	if aotsym.ErrorCode(err) != aotsym.ENOTFOUND || client.Status(err) != 404 || !strings.Contains(err.Error(), "aotsym upload") {
		t.Fatalf("missing build: %v (%s, %d)", err, aotsym.ErrorCode(err), client.Status(err))
	}
	err = c.Delete(ctx, "00112233445566778899")
	if aotsym.ErrorCode(err) != client.CodeForbidden || client.Status(err) != 403 {
		t.Fatalf("delete with read token: %v", err)
	}
	anon, _ := client.New(f.http.URL, "")
	if _, err := anon.Builds(ctx, nil, 0); aotsym.ErrorCode(err) != client.CodeUnauthorized {
		t.Fatalf("no token: %v", err)
	}
	up, _ := client.New(f.http.URL, tokUpload)
	raw, id := synthetic(9, false)
	res, err := up.Upload(ctx, bytes.NewReader(raw), client.UploadOptions{Name: "x.dbg", Tags: map[string]string{"service": "orders"}, Size: int64(len(raw))})
	if err != nil || !res.Created || res.BuildID != id || res.Build.Tags["service"] != "orders" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	b, err := c.Build(ctx, id)
	if err != nil || b.ID != id {
		t.Fatalf("build: %+v %v", b, err)
	}
	var buf bytes.Buffer
	if n, err := c.Download(ctx, id, aotsym.FileDebug, &buf); err != nil || n != int64(len(raw)) || !bytes.Equal(buf.Bytes(), raw) {
		t.Fatalf("download: %d %v", n, err)
	}
	closed, _ := client.New("http://127.0.0.1:1", "")
	if _, err := closed.Builds(ctx, nil, 0); aotsym.ErrorCode(err) != client.CodeUnavailable || !strings.Contains(err.Error(), "aotsym serve") {
		t.Fatalf("unreachable server: %v", err)
	}
	if _, err := client.New("", ""); err == nil || !strings.Contains(err.Error(), "AOTSYM_SERVER") {
		t.Fatalf("empty server: %v", err)
	}
	if _, err := client.New("ftp://x", ""); err == nil {
		t.Fatal("ftp URL accepted")
	}
	if tags, err := client.ParseTags([]string{"a=b", "c=d=e"}); err != nil || tags["c"] != "d=e" {
		t.Fatalf("ParseTags: %v %v", tags, err)
	}
	if _, err := client.ParseTags([]string{"nokey"}); err == nil {
		t.Fatal("ParseTags accepted a tag without =")
	}
	if got := client.FormatTags(map[string]string{"b": "2", "a": "1"}); !sort.StringsAreSorted(got) || len(got) != 2 {
		t.Fatalf("FormatTags: %v", got)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unreachable")
	}
}

// TestDrainDelay: after the stop signal the server keeps answering for the
// drain delay, with /readyz failing, and then stops.
func TestDrainDelay(t *testing.T) {
	f := newFixture(t, Config{DrainDelay: 500 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()
	get := func(path string) (int, error) {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if st, err := get("/readyz"); err != nil || st != 200 {
		t.Fatalf("readyz before: %d %v", st, err)
	}
	start := time.Now()
	cancel()
	waitFor(t, "draining", func() bool { return !f.srv.Ready() })
	st, err := get("/readyz")
	if err != nil || st != 503 {
		t.Fatalf("readyz while draining: %d %v", st, err)
	}
	if st, err := get("/v1/builds"); err != nil || st != 200 {
		t.Fatalf("a request while draining: %d %v", st, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("stopped after %s, before the drain delay", d)
	}
	if _, err := get("/healthz"); err == nil {
		t.Fatal("still serving after the drain delay")
	}
}
