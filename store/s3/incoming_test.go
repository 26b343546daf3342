package s3

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/storetest"
)

// putURL sends body to a presigned URL as a plain HTTP client would (curl -T),
// with no header but the length.
func putURL(t testing.TB, url string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPresignedUpload: a file PUT to a presigned URL by a client without AWS
// credentials is stored by PutIncoming exactly as Put stores it, and the
// uploaded object is removed.
func TestPresignedUpload(t *testing.T) {
	fx := storetest.Fixtures(t)["net9.0-linux-x64"]
	loc := newLocation(t)
	s := openAt(t, loc, storetest.NewIndexer(), Options{MaxSize: 64 << 20})
	ctx := context.Background()
	dbg, err := os.ReadFile(fx.Debug)
	if err != nil {
		t.Fatal(err)
	}
	url, key, err := s.PresignUpload(ctx, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "X-Amz-Signature=") || !strings.Contains(url, "X-Amz-SignedHeaders=host&") || !strings.Contains(url, "incoming/"+key) {
		t.Fatalf("not a presigned URL for incoming/%s: %s", key, url)
	}
	if code := putURL(t, url, dbg); code != 200 {
		t.Fatalf("PUT to the presigned URL: HTTP %d", code)
	}
	res, err := s.PutIncoming(ctx, key, store.PutOptions{Name: "app.dbg", Tags: map[string]string{"lambda": "orders-api:42"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Build.ID != fx.ID || res.Kind != aotsym.FileDebug || res.Build.Tags["lambda"] != "orders-api:42" {
		t.Fatalf("PutIncoming: %+v", res)
	}
	if got, err := s.FindByTags(ctx, map[string]string{"lambda": "orders-api:42"}); err != nil || got.ID != fx.ID {
		t.Fatalf("FindByTags after PutIncoming: %v %v", got.ID, err)
	}
	f, err := s.OpenFile(ctx, fx.ID, aotsym.FileDebug)
	if err != nil {
		t.Fatal(err)
	}
	stored := make([]byte, f.Size())
	if _, err := f.ReadAt(stored, 0); err != nil || !bytes.Equal(stored, dbg) {
		t.Fatalf("the stored file differs from the upload (%v)", err)
	}
	f.Close()
	if left := objects(t, loc, incomingDir); len(left) != 0 {
		t.Fatalf("uploaded objects left behind: %v", left)
	}
	if _, err := s.PutIncoming(ctx, key, store.PutOptions{}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Fatalf("completing twice: %v", err)
	}
}

func TestPresignedUploadRefusals(t *testing.T) {
	fx := storetest.Fixtures(t)["net9.0-linux-x64"]
	loc := newLocation(t)
	s := openAt(t, loc, storetest.NewIndexer(), Options{MaxSize: 1 << 20})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		body []byte
		code string
		want string
	}{
		{"not ELF", []byte("this is not an ELF file"), aotsym.EINVALID, ""},
		{"too large", bytes.Repeat([]byte{0x7f}, 2<<20), aotsym.ETOOLARGE, "limit is 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, key, err := s.PresignUpload(ctx, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if code := putURL(t, url, tc.body); code != 200 {
				t.Fatalf("PUT: HTTP %d", code)
			}
			_, err = s.PutIncoming(ctx, key, store.PutOptions{})
			if aotsym.ErrorCode(err) != tc.code || !strings.Contains(aotsym.ErrorMessage(err), tc.want) {
				t.Fatalf("PutIncoming: %v (code %s), want %s", err, aotsym.ErrorCode(err), tc.code)
			}
			if left := objects(t, loc, incomingDir); len(left) != 0 {
				t.Fatalf("a refused upload was kept: %v", left)
			}
		})
	}
	// Keys the server did not hand out, and keys never uploaded to.
	if _, err := s.PutIncoming(ctx, "../builds/"+string(fx.ID), store.PutOptions{}); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Fatalf("a foreign key: %v", err)
	}
	if _, err := s.PutIncoming(ctx, strings.Repeat("ab", 12), store.PutOptions{}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Fatalf("a key nothing was uploaded to: %v", err)
	}
	// A URL past its expiry is refused by S3 itself.
	url, _, err := s.PresignUpload(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if code := putURL(t, url, []byte("late")); code != 403 {
		t.Fatalf("PUT after expiry: HTTP %d, want 403", code)
	}
}
