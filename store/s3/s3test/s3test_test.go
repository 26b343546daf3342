package s3test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestStart checks that a per-test server takes a signed round trip, and
// refuses a wrong secret (versitygw checks signatures).
func TestStart(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	c := s.Client()
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(Bucket), Key: aws.String("k"), Body: bytes.NewReader([]byte("v"))}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "v" {
		t.Errorf("got %q", b)
	}
	bad := &Server{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: "wrong"}
	if _, err := bad.Client().GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String("k")}); err == nil {
		t.Errorf("a wrong secret was accepted")
	}
	if u := s.URL(t); !strings.HasPrefix(u, "s3://"+Bucket+"/TestStart-") || u == s.URL(t) {
		t.Errorf("URL %q", u)
	}
}
