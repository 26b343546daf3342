// Package testenv decides what a test does when a tool it needs (llvm-symbolizer,
// rustc, versitygw, chromium, aws-lambda-rie) is missing: on a developer's machine
// the test is skipped with a message saying what to install; in CI (CI=true, which
// .ci/run sets) it fails, so that a missing install can never pass as a green run.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under .ci/run.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("AOTSYM_CI") == "1" }

// Tool returns the path of an executable found on PATH or in $GOBIN/$GOPATH/bin,
// or skips (fails in CI) the test with a message saying how to install it.
func Tool(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), goPathBin()} {
		if dir == "" {
			continue
		}
		p := dir + "/" + name
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name+" not found; install it with: "+install)
	return ""
}

// Missing skips the test with msg, or fails it in CI.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI requires this test to run: %s", msg)
	}
	t.Skip(msg)
}

func goPathBin() string {
	if p := os.Getenv("GOPATH"); p != "" {
		return p + "/bin"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/go/bin"
	}
	return ""
}
