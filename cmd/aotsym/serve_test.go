package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestServeEnv checks that every serve flag has an environment variable that
// sets it, that the command line wins, and that a bad value names the
// variable.
func TestServeEnv(t *testing.T) {
	cmd := newServeCmd()
	for flag := range serveEnv {
		if cmd.Flags().Lookup(flag) == nil {
			t.Errorf("serveEnv names %s, which is not a flag", flag)
		}
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && serveEnv[f.Name] == "" {
			t.Errorf("flag --%s has no environment variable", f.Name)
		}
		if f.Name != "help" && !strings.Contains(f.Usage, serveEnv[f.Name]) {
			t.Errorf("flag --%s does not name %s in its help", f.Name, serveEnv[f.Name])
		}
	})

	t.Setenv("AOTSYM_MAX_BODY", "1KiB")
	t.Setenv("AOTSYM_TIMEOUT", "5s")
	t.Setenv("AOTSYM_DATA", "/from/env")
	cmd = newServeCmd()
	if err := cmd.Flags().Parse([]string{"--data", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	if err := bindEnv(cmd, serveEnv); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"max-body": "1KiB", "timeout": "5s", "data": "/from/flag", "listen": "127.0.0.1:8080"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %s, want %s", flag, got, want)
		}
	}

	t.Setenv("AOTSYM_MAX_UPLOAD", "lots")
	var out, errb bytes.Buffer
	code := run([]string{"serve"}, nil, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "AOTSYM_MAX_UPLOAD") {
		t.Fatalf("bad AOTSYM_MAX_UPLOAD: exit %d, %s", code, errb.String())
	}
}
