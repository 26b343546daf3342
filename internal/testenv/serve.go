package testenv

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// Serve is a running `aotsym serve` process started by StartServe.
type Serve struct {
	URL  string      // http://127.0.0.1:PORT
	Logs *SyncBuffer // its JSON log lines (standard error)
	Cmd  *exec.Cmd   // the process
	Done chan error  // receives cmd.Wait's result once; put it back after reading
}

// StartServe runs `bin serve --listen 127.0.0.1:0 --log-format json ARGS…`
// with env as its whole environment, reads the address it listens on from
// its log, and waits until /readyz answers 200, failing the test after
// timeout. The process is killed when the test ends, if still running.
func StartServe(t testing.TB, bin string, env []string, timeout time.Duration, args ...string) *Serve {
	t.Helper()
	all := append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &Serve{Cmd: cmd, Logs: &SyncBuffer{}, Done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.Logs.Write([]byte(sc.Text() + "\n"))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		s.Done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			s.Done <- <-s.Done
		}
	})
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.Done:
		s.Done <- err
		t.Fatalf("aotsym serve exited before listening: %v\n%s", err, s.Logs.String())
	case <-time.After(timeout):
		t.Fatalf("aotsym serve did not listen within %s:\n%s", timeout, s.Logs.String())
	}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("aotsym serve not ready within %s:\n%s", timeout, s.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
