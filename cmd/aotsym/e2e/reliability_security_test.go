package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tokens of the security test, each searched for in the server's log.
const (
	secRead   = "sec-read-token-aaaaaaaaaaaaaaaa"
	secUpload = "sec-upload-token-bbbbbbbbbbbbbbbb"
	secAdmin  = "sec-admin-token-cccccccccccccccc"
	secWrong  = "sec-wrong-token-dddddddddddddddd"
)

// publicRoutes need no token; every other route of /openapi.json does.
var publicRoutes = []string{"GET /", "GET /openapi.json", "GET /healthz", "GET /readyz"}

// readPOSTs are POST routes that only read (resolve traces); every other
// POST, PUT, PATCH and DELETE changes the store and needs upload or admin.
var readPOSTs = []string{"POST /v1/symbolicate", "POST /v1/symbolicate/batch", "POST /v1/frames/resolve"}

// operations lists every METHOD PATH of the server's OpenAPI document, the
// route table as served.
func operations(t *testing.T, url string) []string {
	t.Helper()
	status, _, b := call(t, "GET", url+"/openapi.json", nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if status != 200 || json.Unmarshal(b, &doc) != nil || len(doc.Paths) == 0 {
		t.Fatalf("/openapi.json: %d %s", status, clip(b))
	}
	var ops []string
	for p, methods := range doc.Paths {
		for m := range methods {
			switch m {
			case "get", "head", "post", "put", "patch", "delete":
				ops = append(ops, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// concrete fills a path template's parameters.
func concrete(p, id string) string {
	r := strings.NewReplacer("{id}", id, "{key}", strings.Repeat("ab", 12), "{path}", "src/Program.cs", "{name}", ".debug_info")
	return r.Replace(p)
}

// snapshot is what a refused write must leave unchanged: the builds with
// their files and tags.
func snapshot(t *testing.T, url string) string {
	t.Helper()
	status, _, b := call(t, "GET", url+"/v1/builds", nil, "Authorization", "Bearer "+secRead)
	if status != 200 {
		t.Fatalf("list: %d %s", status, clip(b))
	}
	var list struct {
		Builds []struct {
			ID    string            `json:"build_id"`
			Tags  map[string]string `json:"tags"`
			Files []struct {
				Kind, SHA256 string
			} `json:"files"`
		} `json:"builds"`
	}
	json.Unmarshal(b, &list)
	out, _ := json.Marshal(list)
	return string(out)
}

// TestReliabilityAuthEveryRoute walks every operation of /openapi.json on a
// server with tokens: without a token or with a wrong one every non-public
// route answers 401; a read token gets 403 on every route that writes, an
// upload token 403 on the admin routes; the store is unchanged after all the
// refused writes; and no token value appears in the server's log (at debug
// level) or in any answer.
func TestReliabilityAuthEveryRoute(t *testing.T) {
	m := loadVariants(t)[2]
	dbg, _ := os.ReadFile(m.DebugFile())
	exe, _ := os.ReadFile(m.Executable())
	srv := startServer(t, t.TempDir(), []string{"AOTSYM_TOKENS=read=" + secRead + ",upload=" + secUpload + ",admin=" + secAdmin}, "--log-level", "debug")
	status, _, b := call(t, "POST", srv.url+"/v1/builds?name=app.dbg&tag=service=orders", bytes.NewReader(dbg), "Authorization", "Bearer "+secUpload)
	if status != 201 {
		t.Fatalf("upload: %d %s", status, clip(b))
	}
	id := m.Build.BuildID
	before := snapshot(t, srv.url)

	// A write that would succeed if allowed: a new file, new tags, a delete.
	writeBody := func(op string) (io.Reader, []string) {
		switch op {
		case "POST /v1/builds":
			return bytes.NewReader(exe), nil
		case "PATCH /v1/builds/{id}/tags":
			return strings.NewReader(`{"set":{"team":"x"}}`), []string{"Content-Type", "application/json"}
		case "PUT /v1/builds/{id}/tags":
			return strings.NewReader(`{"tags":{"team":"x"}}`), []string{"Content-Type", "application/json"}
		}
		return nil, nil
	}
	var answers bytes.Buffer
	ops := operations(t, srv.url)
	writes := 0
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		url := srv.url + concrete(path, id)
		if slices.Contains(publicRoutes, op) {
			status, _, b := call(t, method, url, nil)
			answers.Write(b)
			if status != 200 {
				t.Errorf("%s without a token: %d, want 200 (a public route)", op, status)
			}
			continue
		}
		write := method != "GET" && method != "HEAD" && !slices.Contains(readPOSTs, op)
		creds := []struct {
			name, header string
			want         int
		}{
			{"no token", "", 401},
			{"a wrong token", "Bearer " + secWrong, 401},
			{"a Basic header", "Basic " + secAdmin, 401},
		}
		if write {
			writes++
			creds = append(creds, struct {
				name, header string
				want         int
			}{"a read token", "Bearer " + secRead, 403})
			if method == "DELETE" {
				creds = append(creds, struct {
					name, header string
					want         int
				}{"an upload token", "Bearer " + secUpload, 403})
			}
		}
		for _, cr := range creds {
			body, hdr := writeBody(op)
			if cr.header != "" {
				hdr = append(hdr, "Authorization", cr.header)
			}
			status, h, b := call(t, method, url, body, hdr...)
			answers.Write(b)
			answers.WriteString(h.Get("WWW-Authenticate"))
			if status != cr.want {
				t.Errorf("%s with %s: %d, want %d: %s", op, cr.name, status, cr.want, clip(b))
			}
		}
	}
	if writes < 6 {
		t.Fatalf("only %d write routes in /openapi.json: %v", writes, ops)
	}
	if after := snapshot(t, srv.url); after != before {
		t.Fatalf("refused writes changed the store:\nbefore %s\nafter  %s", before, after)
	}
	srv.stop(syscall.SIGTERM)
	logs := srv.logs.String()
	if !strings.Contains(logs, `"status":401`) || !strings.Contains(logs, `"status":403`) {
		t.Fatalf("the log has no request lines for the refused requests:\n%s", clip([]byte(logs)))
	}
	for _, tok := range []string{secRead, secUpload, secAdmin, secWrong} {
		for _, part := range []string{tok, tok[len(tok)-16:]} {
			if strings.Contains(logs, part) {
				t.Errorf("the server log holds a token (%s…)", tok[:8])
			}
			if bytes.Contains(answers.Bytes(), []byte(part)) {
				t.Errorf("an answer echoes a token (%s…)", tok[:8])
			}
		}
	}
	t.Logf("%d operations in /openapi.json, %d of them writes; every refusal held and no token was logged", len(ops), writes)
}

// rawRequest sends one request line and headers exactly as given (no client
// cleans the path) and returns the status and body.
func rawRequest(t *testing.T, addr, method, target string, hdr ...string) (int, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req strings.Builder
	req.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestReliabilityPathTraversal sends build IDs and debuginfod names that try
// to leave the data directory (encoded slashes and dots, NULs, overlong,
// uppercase and Unicode forms), as raw request lines, to every route that
// takes one, with an admin token: each gets a 4xx (or, for an uppercase form
// of a real build ID, that build's own answer), no answer holds the canary
// file placed next to the data directory, and the canary and everything
// outside the data directory are untouched.
func TestReliabilityPathTraversal(t *testing.T) {
	m := loadVariants(t)[2]
	dbg, _ := os.ReadFile(m.DebugFile())
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	canary := []byte("CANARY-outside-the-data-directory-0123456789abcdef")
	canaryPath := filepath.Join(parent, "canary")
	if err := os.WriteFile(canaryPath, canary, 0o644); err != nil {
		t.Fatal(err)
	}
	// Files named like build IDs and kinds, where a traversal would land.
	for _, p := range []string{"files/debuginfo", "debuginfo", "executable"} {
		os.MkdirAll(filepath.Dir(filepath.Join(parent, p)), 0o755)
		os.WriteFile(filepath.Join(parent, p), canary, 0o644)
	}
	outside := func() []string {
		var names []string
		filepath.Walk(parent, func(p string, fi os.FileInfo, err error) error {
			if err == nil && p != parent && !strings.HasPrefix(p, data) { // parent changes as data is created
				names = append(names, p+" "+fi.ModTime().String())
			}
			return nil
		})
		return names
	}
	before := outside()
	srv := startServer(t, data, []string{"AOTSYM_TOKENS=admin=" + secAdmin})
	addr := strings.TrimPrefix(srv.url, "http://")
	auth := []string{"Authorization", "Bearer " + secAdmin}
	if status, _, b := call(t, "POST", srv.url+"/v1/builds?name=app.dbg", bytes.NewReader(dbg), auth...); status != 201 {
		t.Fatalf("upload: %d %s", status, clip(b))
	}
	id := m.Build.BuildID
	ids := []string{
		"..", "..%2f..%2fcanary", "..%2F..%2Fcanary", "%2e%2e%2f%2e%2e%2fcanary", "%2e%2e", "..%5c..%5ccanary",
		"....%2f%2f", id + "%2f..%2f..%2f..%2fcanary", id + "%00", "%00" + id, id + "%00..", "..%00",
		strings.Repeat("ab", 5000), strings.Repeat("0", 4096), id + "/..%2f..",
		"%c0%ae%c0%ae%2fcanary", "%e2%80%a5%2fcanary", "%ef%bc%8e%ef%bc%8e%ef%bc%8fcanary",
		"%ef%bc%a1%ef%bc%a2" + id[4:], // fullwidth letters
		"%e2%84%aa" + id[2:],          // the Kelvin sign lowercases to 'k'
		"%20" + id + "%20", "%0a" + id, "-1", "0x" + id, strings.ToUpper(id),
	}
	routes := []struct{ method, path string }{
		{"GET", "/v1/builds/ID"}, {"DELETE", "/v1/builds/ID"},
		{"PATCH", "/v1/builds/ID/tags"}, {"PUT", "/v1/builds/ID/tags"},
		{"GET", "/buildid/ID/debuginfo"}, {"HEAD", "/buildid/ID/debuginfo"}, {"GET", "/buildid/ID/executable"},
		{"GET", "/buildid/ID/source/..%2f..%2fcanary"}, {"GET", "/buildid/ID/source/../../canary"},
		{"GET", "/buildid/ID/section/..%2f..%2fcanary"}, {"GET", "/buildid/ID/section/../../x"},
		{"POST", "/v1/symbolicate?build_id=ID"}, {"POST", "/v1/frames/resolve"},
	}
	n := 0
	for _, r := range routes {
		for _, bad := range ids {
			if r.method == "DELETE" && bad == strings.ToUpper(id) {
				continue // a legitimate delete of the same build
			}
			target := strings.Replace(r.path, "ID", bad, 1)
			hdr := auth
			if r.method == "PATCH" || r.method == "PUT" || r.method == "POST" {
				hdr = append(slices.Clone(auth), "Content-Length", "0")
			}
			status, b := rawRequest(t, addr, r.method, target, hdr...)
			n++
			if bytes.Contains(b, canary) {
				t.Fatalf("%s %s served the canary file outside the data directory", r.method, target)
			}
			upper := bad == strings.ToUpper(id) && !strings.Contains(r.path, "..")
			switch {
			case upper && status < 300:
				// An uppercase build ID names the same build.
			case status >= 400 && status < 500:
			case status == 301 || status == 307 || status == 308:
				// gin cleans some paths by redirecting; follow nothing.
			default:
				t.Errorf("%s %s: %d %s", r.method, target, status, clip(b))
			}
		}
	}
	// The build is intact, and nothing outside the data directory changed.
	status, _, got := call(t, "GET", srv.url+"/buildid/"+id+"/debuginfo", nil, auth...)
	if status != 200 || sha(got) != sha(dbg) {
		t.Fatalf("the stored build after the traversal attempts: %d", status)
	}
	srv.stop(syscall.SIGTERM)
	if after := outside(); !slices.Equal(before, after) {
		t.Fatalf("files outside the data directory changed:\nbefore %v\nafter  %v", before, after)
	}
	if b, _ := os.ReadFile(canaryPath); !bytes.Equal(b, canary) {
		t.Fatal("the canary changed")
	}
	t.Logf("%d traversal requests over %d routes: all refused, nothing outside the data directory touched", n, len(routes))
}

// TestReliabilityRequestLimits checks the limits on what one request may
// cost, on the real server: frames per trace (--max-frames), the request
// time limit on a body that stalls (--timeout), a trace body over --max-body,
// and a client that never finishes its headers (cut off by the server's
// header timeout).
func TestReliabilityRequestLimits(t *testing.T) {
	m := loadVariants(t)[2]
	srv := startServer(t, t.TempDir(), nil, "--max-frames", "50", "--timeout", "2s", "--max-body", "1MiB")
	if r := cli(t, nil, nil, "upload", "--server", srv.url, m.DebugFile()); r.code != 0 {
		t.Fatalf("upload: %s %s", r.stdout, r.stderr)
	}
	frame := "   at MyService.Orders.OrderService.<CreateOrderAsync>d__1.MoveNext() + 0xf2\n"
	url := srv.url + "/v1/symbolicate?build_id=" + m.Build.BuildID
	if status, _, b := call(t, "POST", url, strings.NewReader("System.Exception: x\n"+strings.Repeat(frame, 50))); status != 200 {
		t.Fatalf("50 frames with --max-frames 50: %d %s", status, clip(b))
	}
	status, _, b := call(t, "POST", url, strings.NewReader("System.Exception: x\n"+strings.Repeat(frame, 51)))
	if msg := errorBody(t, status, 413, b, "too_large"); !strings.Contains(msg, "50") {
		t.Fatalf("51 frames: %s", msg)
	}
	// Frames per request holds across a batch too: each trace is bounded.
	batch, _ := json.Marshal(map[string]any{"traces": []map[string]string{{"id": "1", "text": strings.Repeat(frame, 51)}}})
	status, _, b = call(t, "POST", srv.url+"/v1/symbolicate/batch", bytes.NewReader(batch))
	if status != 200 || !bytes.Contains(b, []byte(`"too_large"`)) {
		t.Fatalf("a batch trace of 51 frames: %d %s", status, clip(b))
	}
	status, _, b = call(t, "POST", url, bytes.NewReader(bytes.Repeat([]byte(frame), (1<<20)/len(frame)+1)))
	errorBody(t, status, 413, b, "too_large")

	// A body that stalls is cut off at --timeout.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("System.Exception: x\n" + frame))
		time.Sleep(6 * time.Second)
		pw.Close()
	}()
	start := time.Now()
	status, _, b = call(t, "POST", url, pr)
	d := time.Since(start)
	errorBody(t, status, 408, b, "timeout")
	t.Logf("a stalled trace body was answered 408 after %s (--timeout 2s)", d.Round(time.Millisecond))
	if d > 5*time.Second {
		t.Fatalf("the 2s request limit answered after %s", d)
	}

	// Headers that never end: the server closes the connection.
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	start = time.Now()
	c.SetReadDeadline(time.Now().Add(40 * time.Second))
	_, err = io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a connection with unfinished headers open for 40s")
	}
	t.Logf("a connection with unfinished headers was closed after %s", time.Since(start).Round(time.Millisecond))
	if status, _, _ := call(t, "GET", srv.url+"/readyz", nil); status != 200 {
		t.Fatalf("readyz: %d", status)
	}
}
