package lambda_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/lambda"
	lt "github.com/aotsym/aotsym/internal/lambda/lambdatest"
	"github.com/aotsym/aotsym/store/s3/s3test"
	"github.com/aws/aws-lambda-go/events"
)

func s3Env(t *testing.T) *s3test.Server {
	srv := s3test.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv
}

// TestUploadPresignedThroughTheAPI: client.UploadPresigned against the API
// over the S3 store: the file goes to the bucket by a presigned PUT, the
// completion stores it with its tags, and a second upload finds it there.
func TestUploadPresignedThroughTheAPI(t *testing.T) {
	srv := s3Env(t)
	b, err := lambda.OpenStoreBackend(context.Background(), srv.URL(t), t.TempDir(), 64<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tokens, err := api.ParseTokens("upload=upload-token-0123456789,read=read-token-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{Tokens: tokens})
	s.Attach(api.Backend{Store: b.Store, Symbolicator: b.APISymbolicator()})
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	c, err := client.New(hs.URL, "upload-token-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	m := lt.Load(t, "net10.0-linux-arm64")
	for i, wantCreated := range []bool{true, false} {
		f, err := os.Open(m.DebugFile())
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		res, err := c.UploadPresigned(context.Background(), f, st.Size(), client.UploadOptions{Name: "app.dbg", Tags: map[string]string{"lambda": "orders-api:9"}})
		f.Close()
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if res.Created != wantCreated || string(res.BuildID) != m.Build.BuildID || res.Build.Tags["lambda"] != "orders-api:9" {
			t.Fatalf("upload %d: %+v", i, res)
		}
	}
	// Symbolicate through the same API by the tag.
	rc, _ := client.New(hs.URL, "read-token-0123456789")
	c9 := lt.Case(t, m, "overloads")
	text, _, err := rc.SymbolicateText(context.Background(), strings.NewReader(lt.Sample(t, m, c9, ".log")), client.SymbolicateOptions{Tags: map[string]string{"lambda": "orders-api:9"}})
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, string(text), c9)
	// A read token may not upload.
	if _, err := rc.PresignUpload(context.Background()); aotsym.ErrorCode(err) != client.CodeForbidden {
		t.Fatalf("presign with a read token: %v", err)
	}
}

func TestNewAPIRefusesOpenWithoutSayingSo(t *testing.T) {
	srv := s3Env(t)
	cfg := lambda.Config{Mode: lambda.ModeAPI, Store: srv.URL(t), DataDir: t.TempDir(), CacheBytes: 64 << 20}
	if _, _, err := lambda.NewAPI(context.Background(), cfg, lambda.APIOptions{}); err == nil || !strings.Contains(err.Error(), "AOTSYM_TOKENS") {
		t.Fatalf("open API: %v", err)
	}
	cfg.InsecureOpen = true
	h, b, err := lambda.NewAPI(context.Background(), cfg, lambda.APIOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/readyz",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/readyz"}}})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "ready") {
		t.Fatalf("GET /readyz: %v %+v", err, resp)
	}
}
