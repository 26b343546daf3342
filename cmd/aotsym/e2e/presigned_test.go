package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aotsym/aotsym/store/s3/s3test"
)

// TestUploadFallsBackToPresigned: behind a gateway that refuses bodies over a
// payload limit (as a Lambda function URL refuses anything over about 6 MB),
// `aotsym upload` sends a file that is too big straight to the bucket through
// the presigned PUT the server hands out, and the build is stored whole.
func TestUploadFallsBackToPresigned(t *testing.T) {
	s3 := s3test.Start(t)
	srv := startServer(t, t.TempDir(), s3.Env(), "--store", s3.URL(t))
	target, _ := url.Parse(srv.url)
	const limit = 1 << 20
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int32
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			refused.Add(1)
			io.Copy(io.Discard, io.LimitReader(r.Body, limit))
			http.Error(w, "Request must be smaller than 1048576 bytes for the InvokeFunction operation", http.StatusRequestEntityTooLarge)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer gw.Close()

	m := loadVariants(t)[2]
	dbg := m.DebugFile()
	want, err := os.ReadFile(dbg)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) <= limit {
		t.Fatalf("the test needs a debug file over %d bytes", limit)
	}
	// --compress none: the body's size is known, so the gateway refuses it
	// before reading it, as a function URL does.
	r := cli(t, nil, nil, "upload", "--server", gw.URL, "--compress", "none", "--tag", "service=orders", dbg)
	if r.code != 0 || !strings.Contains(r.stdout, "new build") {
		t.Fatalf("upload through the gateway: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if refused.Load() == 0 {
		t.Fatal("the gateway never refused a body: the test did not exercise the fallback")
	}
	status, _, got := call(t, "GET", srv.url+"/buildid/"+m.Build.BuildID+"/debuginfo", nil)
	if status != 200 || sha(got) != sha(want) {
		t.Fatalf("debuginfo after a presigned upload: %d, %d bytes (want %d)", status, len(got), len(want))
	}
	c, in := sample(t, m, "async-chain")
	tr, _ := symbolicateJSON(t, srv.url+"/v1/symbolicate?tag=service=orders", in)
	checkAgainstManifest(t, "presigned", tr, c)

	// A store without presigned uploads (bbolt) keeps the plain "too large".
	plain := startServer(t, t.TempDir(), nil)
	target, _ = url.Parse(plain.url)
	proxy = httputil.NewSingleHostReverseProxy(target)
	r = cli(t, nil, nil, "upload", "--server", gw.URL, "--compress", "none", dbg)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "smaller than") {
		t.Fatalf("upload to a store without presigned uploads: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
