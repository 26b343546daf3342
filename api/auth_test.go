package api

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

// wantScope is the scope each route needs, written down independently of the
// route table (shared/interface.md: read covers symbolicate, debuginfod and
// listing; upload covers uploads and tags; admin covers delete).
var wantScope = map[string]Scope{
	"GET /": ScopeNone, "GET /openapi.json": ScopeNone, "GET /healthz": ScopeNone, "GET /readyz": ScopeNone,
	"GET /metrics":                   ScopeRead,
	"POST /v1/builds":                ScopeUpload,
	"POST /v1/uploads":               ScopeUpload,
	"POST /v1/uploads/:key/complete": ScopeUpload,
	"GET /v1/builds":                 ScopeRead,
	"GET /v1/builds/:id":             ScopeRead,
	"DELETE /v1/builds/:id":          ScopeAdmin,
	"PATCH /v1/builds/:id/tags":      ScopeUpload,
	"PUT /v1/builds/:id/tags":        ScopeUpload,
	"POST /v1/symbolicate":           ScopeRead,
	"POST /v1/symbolicate/batch":     ScopeRead,
	"POST /v1/frames/resolve":        ScopeRead,
	"GET /buildid/:id/debuginfo":     ScopeRead,
	"HEAD /buildid/:id/debuginfo":    ScopeRead,
	"GET /buildid/:id/executable":    ScopeRead,
	"HEAD /buildid/:id/executable":   ScopeRead,
	"GET /buildid/:id/source/*path":  ScopeRead,
	"GET /buildid/:id/section/:name": ScopeRead,
}

// sample returns a request body and path for a route that succeeds when the
// caller is allowed, and the status it then answers with. Every route of the
// table must have one, so a new route cannot escape the auth matrix.
func (f *fixture) sample(t *testing.T, r route, id aotsym.BuildID, n *int) (path string, body io.Reader, hdr []string, want int) {
	t.Helper()
	*n++
	switch r.method + " " + r.path {
	case "GET /", "GET /openapi.json", "GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/builds":
		return r.path, nil, nil, 200
	case "POST /v1/builds":
		b, _ := synthetic(1000+*n, false)
		return "/v1/builds?name=app.dbg&tag=service=auth", bytes.NewReader(b), nil, 201
	case "POST /v1/uploads", "POST /v1/uploads/:key/complete":
		// The fixture's store takes uploads in the body only: 501. Presigned
		// uploads are tested over S3 in store/s3 and internal/lambda.
		return strings.Replace(r.path, ":key", strings.Repeat("ab", 12), 1), nil, nil, 501
	case "GET /v1/builds/:id":
		return "/v1/builds/" + string(id), nil, nil, 200
	case "DELETE /v1/builds/:id":
		victim := f.upload(2000+*n, tokAdmin, "")
		return "/v1/builds/" + string(victim), nil, nil, 200
	case "PATCH /v1/builds/:id/tags":
		return "/v1/builds/" + string(id) + "/tags", strings.NewReader(`{"set":{"team":"payments"}}`), []string{"Content-Type", "application/json"}, 200
	case "PUT /v1/builds/:id/tags":
		return "/v1/builds/" + string(id) + "/tags", strings.NewReader(`{"tags":{"service":"auth"}}`), []string{"Content-Type", "application/json"}, 200
	case "POST /v1/symbolicate":
		return "/v1/symbolicate", strings.NewReader("System.Exception: boom\n   at A.B.C() + 0x1c\n"), nil, 200
	case "POST /v1/symbolicate/batch":
		return r.path, strings.NewReader(`{"traces":[{"id":"1","text":"   at A.B.C() + 0x1c"}]}`), nil, 200
	case "POST /v1/frames/resolve":
		return r.path, strings.NewReader(`{"build_id":"` + string(id) + `","frame":"at A.B.C() + 0x1c"}`), nil, 200
	case "GET /buildid/:id/debuginfo", "HEAD /buildid/:id/debuginfo", "GET /buildid/:id/executable", "HEAD /buildid/:id/executable":
		return strings.Replace(r.path, ":id", string(id), 1), nil, nil, 200
	case "GET /buildid/:id/source/*path":
		return "/buildid/" + string(id) + "/source/src/app/Program.cs", nil, nil, 404
	case "GET /buildid/:id/section/:name":
		return "/buildid/" + string(id) + "/section/.debug_info", nil, nil, 404
	}
	t.Fatalf("route %s %s has no sample request in the auth matrix: add one", r.method, r.path)
	return
}

// TestAuthMatrix calls every route of the table with no token, an unknown
// token, and a token of each scope: no token and unknown tokens get 401 with
// WWW-Authenticate, a scope below the route's gets 403, and the route's scope
// or above gets the route's normal answer.
func TestAuthMatrix(t *testing.T) {
	f := newFixture(t, Config{Tokens: testTokens(t)})
	id := f.upload(1, tokAdmin, "?name=app.dbg")
	exe, _ := synthetic(1, true) // the executable of the same build
	if resp, body := f.do("POST", "/v1/builds?name=app", bytes.NewReader(exe), "Authorization", "Bearer "+tokUpload); resp.StatusCode != 201 {
		t.Fatalf("uploading the executable: %d %s", resp.StatusCode, body)
	}
	creds := []struct {
		name, header string
		scope        Scope
	}{
		{"none", "", -1},
		{"unknown", "Bearer not-a-token-of-this-server", -1},
		{"not bearer", "Basic " + tokAdmin, -1},
		{"read", "Bearer " + tokRead, ScopeRead},
		{"upload", "Bearer " + tokUpload, ScopeUpload},
		{"admin", "Bearer " + tokAdmin, ScopeAdmin},
	}
	n := 0
	for _, r := range f.srv.routes {
		need, ok := wantScope[r.method+" "+r.path]
		if !ok {
			t.Fatalf("route %s %s is missing from wantScope", r.method, r.path)
		}
		for _, cr := range creds {
			t.Run(fmt.Sprintf("%s %s as %s", r.method, r.path, cr.name), func(t *testing.T) {
				path, body, hdr, want := f.sample(t, r, id, &n)
				if cr.header != "" {
					hdr = append(hdr, "Authorization", cr.header)
				}
				resp, b := f.do(r.method, path, body, hdr...)
				switch {
				case need == ScopeNone || cr.scope >= need:
					if resp.StatusCode != want {
						t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, clip(b))
					}
				case cr.scope < 0:
					if r.method == "HEAD" {
						if resp.StatusCode != 401 {
							t.Fatalf("status %d, want 401", resp.StatusCode)
						}
					} else {
						wantError(t, resp, b, 401, "unauthorized")
					}
					if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Fatalf("401 without a Bearer WWW-Authenticate header: %q", resp.Header.Get("WWW-Authenticate"))
					}
				default:
					if r.method == "HEAD" {
						if resp.StatusCode != 403 {
							t.Fatalf("status %d, want 403", resp.StatusCode)
						}
						return
					}
					eb := wantError(t, resp, b, 403, "forbidden")
					if !strings.Contains(eb.Error, need.String()) {
						t.Fatalf("403 does not name the scope needed (%s): %s", need, eb.Error)
					}
				}
			})
		}
	}
	// No log line may hold a token, whatever was sent.
	logs := f.logs.String()
	for _, tok := range []string{tokRead, tokUpload, tokAdmin, "not-a-token-of-this-server"} {
		if strings.Contains(logs, tok) {
			t.Fatalf("a token appears in the log")
		}
	}
	if !strings.Contains(logs, `"route":"/v1/builds/:id"`) {
		t.Fatalf("the log has no request lines with route templates:\n%s", aotsym.Clip(logs, 2000))
	}
}

// TestOpenModeNeedsNoToken checks that without tokens every route answers
// without Authorization, and that such a server refuses non-loopback
// listeners unless told otherwise.
func TestOpenModeNeedsNoToken(t *testing.T) {
	f := newFixture(t, Config{})
	id := f.upload(1, "", "")
	exe, _ := synthetic(1, true)
	f.do("POST", "/v1/builds", bytes.NewReader(exe))
	n := 0
	for _, r := range f.srv.routes {
		path, body, hdr, want := f.sample(t, r, id, &n)
		if resp, b := f.do(r.method, path, body, hdr...); resp.StatusCode != want {
			t.Fatalf("%s %s open: status %d, want %d: %s", r.method, path, resp.StatusCode, want, clip(b))
		}
	}

	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	loop6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	lan := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080}
	tk := testTokens(t)
	for _, c := range []struct {
		addr     net.Addr
		tokens   *Tokens
		insecure bool
		ok       bool
	}{
		{loop, nil, false, true},
		{loop6, &Tokens{}, false, true},
		{any4, nil, false, false},
		{lan, &Tokens{}, false, false},
		{any4, nil, true, true},
		{lan, tk, false, true},
	} {
		err := CheckOpenListener(c.addr, c.tokens, c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("CheckOpenListener(%s, tokens=%v, insecure=%v) = %v", c.addr, !c.tokens.Empty(), c.insecure, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--insecure-open") {
			t.Errorf("the refusal does not say how to proceed: %v", err)
		}
	}
}

func TestCheckOpenAddress(t *testing.T) {
	ctx := t.Context()
	tk := testTokens(t)
	for _, c := range []struct {
		addr     string
		tokens   *Tokens
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:8080", nil, false, true},
		{"[::1]:0", nil, false, true},
		{"localhost:8080", nil, false, true},
		{":8080", nil, false, false},
		{"0.0.0.0:8080", nil, false, false},
		{"[::]:8080", nil, false, false},
		{"192.168.1.5:8080", nil, false, false},
		{"0.0.0.0:8080", nil, true, true},
		{"0.0.0.0:8080", tk, false, true},
	} {
		err := CheckOpenAddress(ctx, c.addr, c.tokens, c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("CheckOpenAddress(%s, tokens=%v, insecure=%v) = %v", c.addr, !c.tokens.Empty(), c.insecure, err)
		}
	}
	if err := CheckOpenAddress(ctx, "no-port", nil, false); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Errorf("no port: %v", err)
	}
}

func TestParseTokens(t *testing.T) {
	tk, err := ParseTokens(" read=" + tokRead + ", read=another-read-token-42,\nupload=" + tokUpload + "\nadmin=" + tokAdmin + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := tk.Len(); got["read"] != 2 || got["upload"] != 1 || got["admin"] != 1 {
		t.Fatalf("counts %v", got)
	}
	for tok, want := range map[string]Scope{tokRead: ScopeRead, "another-read-token-42": ScopeRead, tokUpload: ScopeUpload, tokAdmin: ScopeAdmin, "": ScopeNone, tokAdmin + "x": ScopeNone, tokAdmin[:len(tokAdmin)-1]: ScopeNone} {
		if got := tk.lookup(tok); got != want {
			t.Errorf("lookup(%q) = %s, want %s", tok, got, want)
		}
	}
	if e, err := ParseTokens(""); err != nil || !e.Empty() {
		t.Fatalf("empty spec: %v %v", e, err)
	}
	secret := "s3cr3t-value-that-must-not-leak"
	for _, bad := range []string{"write=" + secret, "read=short", "read " + secret, "read=" + secret + ",admin=" + secret, "=" + secret, "read=" + secret + " x"} {
		_, err := ParseTokens(bad)
		if err == nil {
			t.Errorf("ParseTokens(%q) accepted it", bad)
			continue
		}
		if aotsym.ErrorCode(err) != aotsym.EINVALID || strings.Contains(err.Error(), secret) {
			t.Errorf("ParseTokens(%q) = %v: want an EINVALID error that does not echo the token", bad, err)
		}
	}
}

// TestAuthHeaderForms covers the ways a client can get the header wrong.
func TestAuthHeaderForms(t *testing.T) {
	f := newFixture(t, Config{Tokens: testTokens(t)})
	for _, h := range []string{"Bearer", "Bearer ", "bearer " + tokRead + "x", tokRead, "Token " + tokRead} {
		resp, b := f.do("GET", "/v1/builds", nil, "Authorization", h)
		wantError(t, resp, b, http.StatusUnauthorized, "unauthorized")
	}
	resp, _ := f.do("GET", "/v1/builds", nil, "Authorization", "bearer "+tokRead) // scheme is case-insensitive
	if resp.StatusCode != 200 {
		t.Fatalf("lower-case bearer: %d", resp.StatusCode)
	}
}
