package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

// TestNotAnAotsymServer: answers that are not aotsym's error documents (a
// proxy's HTML page, an empty 502) still become coded errors that say so.
func TestNotAnAotsymServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/builds" && r.URL.RawQuery == "":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		case r.URL.Path == "/v1/builds/0011223344556677":
			w.WriteHeader(http.StatusNotFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"builds": "not a list"}`)
		}
	}))
	defer srv.Close()
	c, err := New(strings.TrimPrefix(srv.URL, "http://")+"/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = c.Builds(ctx, nil, 0)
	if aotsym.ErrorCode(err) != CodeUnavailable || Status(err) != 502 || !strings.Contains(err.Error(), "is this an aotsym server?") {
		t.Fatalf("HTML 502: %v (%s %d)", err, aotsym.ErrorCode(err), Status(err))
	}
	_, err = c.Build(ctx, "0011223344556677")
	if aotsym.ErrorCode(err) != aotsym.ENOTFOUND || Status(err) != 404 {
		t.Fatalf("bare 404: %v", err)
	}
	_, err = c.Builds(ctx, map[string]string{"a": "b"}, 5)
	if aotsym.ErrorCode(err) != aotsym.EINTERNAL || !strings.Contains(err.Error(), "not the JSON expected") {
		t.Fatalf("wrong JSON: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvServer, "http://127.0.0.1:9")
	t.Setenv(EnvToken, "from-env")
	c, err := FromEnv("", "")
	if err != nil || c.BaseURL() != "http://127.0.0.1:9" || c.token != "from-env" {
		t.Fatalf("FromEnv: %v %+v", err, c)
	}
	c, err = FromEnv("https://aotsym.example/base/", "given")
	if err != nil || c.BaseURL() != "https://aotsym.example/base" || c.token != "given" {
		t.Fatalf("FromEnv with values: %v %+v", err, c)
	}
	if got := c.url("/v1/builds", nil); got != "https://aotsym.example/base/v1/builds" {
		t.Fatalf("url under a base path: %s", got)
	}
}
