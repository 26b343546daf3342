// Package s3test runs a real S3 server for tests: versitygw (Apache-2.0) on a
// free loopback port over a temporary directory, with a bucket ready. Tests
// of the S3 store and end-to-end tests of `aotsym serve --store s3://…` use
// it. versitygw must be installed (.ci/run does it); without it the test is
// skipped, or fails in CI (internal/testenv).
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Install is how to get versitygw.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Bucket is the bucket every Server creates at start.
const Bucket = "aotsym-test"

// Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // its data and log

	cmd  *exec.Cmd
	once sync.Once
}

// Start starts a server for one test; it stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	path := testenv.Tool(t, "versitygw", Install)
	s, err := start(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	once sync.Once
	s    *Server
	err  error
}

// Shared returns one server for the whole test binary, started on first use,
// with the standard AWS environment of this process pointed at it (so that
// child processes inherit it). Call StopShared from TestMain after m.Run.
func Shared(t testing.TB) *Server {
	t.Helper()
	path := testenv.Tool(t, "versitygw", Install)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "versitygw-")
		if err != nil {
			shared.err = err
			return
		}
		if shared.s, shared.err = start(path, dir); shared.err == nil {
			for _, kv := range shared.s.Env() {
				k, v, _ := strings.Cut(kv, "=")
				os.Setenv(k, v)
			}
		}
	})
	if shared.err != nil {
		t.Fatalf("starting versitygw: %v", shared.err)
	}
	return shared.s
}

// StopShared stops the shared server, if it was started, and removes its
// directory.
func StopShared() {
	if shared.s != nil {
		shared.s.Stop()
		os.RemoveAll(shared.s.Dir)
	}
}

func start(path, dir string) (*Server, error) {
	s := &Server{AccessKey: "aotsymtest", SecretKey: "aotsymtestsecret", Dir: dir}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(path, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", addr, "posix", data)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Die with the test binary even if nobody calls Stop.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.Endpoint = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("versitygw did not answer on %s within 20 s; its log:\n%s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.Client().CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		s.Stop()
		return nil, fmt.Errorf("creating bucket %s: %w", Bucket, err)
	}
	return s, nil
}

// Env returns the standard AWS environment variables that point the SDK (and
// `aotsym serve --store`) at this server, as KEY=VALUE.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

// Client returns an S3 client for the server (path-style, static keys).
func (s *Server) Client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// URL returns a new s3://BUCKET/PREFIX location, named after the test, that
// no other call returns.
func (s *Server) URL(t testing.TB) string {
	name := strings.Trim(unsafe.ReplaceAllString(t.Name(), "-"), "-")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("s3://%s/%s-%s", Bucket, name, hex.EncodeToString(b))
}

// Stop kills the server.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
}
