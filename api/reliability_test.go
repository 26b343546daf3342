package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestBuildIDInPathIsExact: a build ID in a route's path with an encoded
// space or line break around it is refused, on reads and on the delete that
// it once reached (found by cmd/aotsym/e2e's TestReliabilityPathTraversal:
// DELETE /v1/builds/%20ID%20 deleted build ID).
func TestBuildIDInPathIsExact(t *testing.T) {
	f := newFixture(t, Config{})
	id := f.upload(1, "", "")
	for _, p := range []string{"%20" + string(id) + "%20", "%0a" + string(id), string(id) + "%09", string(id) + "%0d%0a"} {
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1/builds/" + p}, {"DELETE", "/v1/builds/" + p}, {"GET", "/buildid/" + p + "/debuginfo"},
		} {
			resp, body := f.do(r.method, r.path, nil)
			eb := wantError(t, resp, body, http.StatusBadRequest, "invalid")
			if !strings.Contains(eb.Error, "spaces or line breaks") {
				t.Fatalf("%s %s: %s", r.method, r.path, eb.Error)
			}
		}
	}
	if resp, body := f.do("GET", "/v1/builds/"+strings.ToUpper(string(id)), nil); resp.StatusCode != 200 {
		t.Fatalf("an uppercase build ID names the same build: %d %s", resp.StatusCode, body)
	}
	if resp, body := f.do("GET", "/v1/builds/"+string(id), nil); resp.StatusCode != 200 {
		t.Fatalf("the build after the refused deletes: %d %s", resp.StatusCode, body)
	}
}
