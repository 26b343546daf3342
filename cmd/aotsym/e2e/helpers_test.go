package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/testenv"
)

// The binary under test, built once per test process.
var binary struct {
	once sync.Once
	path string
	err  error
}

func aotsymBin(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "aotsym-e2e-bin")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "aotsym")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", binary.path, ".")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/aotsym: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// cleanEnv is the test process's environment without AOTSYM_* variables, so
// that a developer's settings cannot change what the tests see.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AOTSYM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// server is a running `aotsym serve` process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	url  string
	logs *testenv.SyncBuffer
	done chan error
}

// startServer runs `aotsym serve --data DATA --listen 127.0.0.1:0` with the
// extra arguments and environment, and waits until /readyz answers 200.
func startServer(t testing.TB, data string, env []string, args ...string) *server {
	t.Helper()
	p := testenv.StartServe(t, aotsymBin(t), cleanEnv(env...), 60*time.Second, append([]string{"--data", data}, args...)...)
	return &server{t: t, cmd: p.Cmd, url: p.URL, logs: p.Logs, done: p.Done}
}

// stop sends sig and waits for the process to exit; it returns its exit error.
func (s *server) stop(sig syscall.Signal) error {
	s.t.Helper()
	s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		return err
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("aotsym serve did not stop within 60s of %v:\n%s", sig, s.logs.String())
		return nil
	}
}

// result of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the aotsym binary with args, the given environment and stdin.
func cli(t testing.TB, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aotsymBin(t), args...)
	cmd.Env = cleanEnv(env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aotsym %s: %v", strings.Join(args, " "), err)
	}
	return result{out.String(), errb.String(), code}
}

// call sends one HTTP request and returns the status, headers and body.
func call(t testing.TB, method, url string, body io.Reader, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorBody decodes an error document and checks its shape.
func errorBody(t testing.TB, status, want int, b []byte, code string) string {
	t.Helper()
	var eb struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if status != want || json.Unmarshal(b, &eb) != nil || eb.Code != code || eb.Error == "" {
		t.Fatalf("want %d %s, got %d %s", want, code, status, clip(b))
	}
	return eb.Error
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// chunked hides a body's length, so the request is sent without Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }
