package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/corpus"
)

// runCLI runs the aotsym command line in-process, as main does.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func loadVariant(t *testing.T, name string) *corpus.Manifest {
	t.Helper()
	m, err := corpus.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSymbolicateOfflineCorpus runs `aotsym symbolicate --dbg …` on the
// corpus's CloudWatch samples with two builds given, so the build is
// detected, and checks every printed frame with a line against the manifest.
func TestSymbolicateOfflineCorpus(t *testing.T) {
	t.Setenv(client.EnvServer, "")
	m10 := loadVariant(t, "net10.0-linux-x64")
	m8 := loadVariant(t, "net8.0-linux-x64")
	for _, scenario := range []string{"async-chain", "overloads", "generic-valuetype", "null-reference"} {
		t.Run(scenario, func(t *testing.T) {
			var c *corpus.Case
			for i := range m10.Cases {
				if m10.Cases[i].Scenario == scenario {
					c = &m10.Cases[i]
				}
			}
			logFile := filepath.Join(m10.Dir, "cloudwatch-constructed", scenario+".log")
			code, out, errOut := runCLI(t, "", "symbolicate", "--dbg", m8.DebugFile(), "--dbg", m10.DebugFile(), "-v", logFile)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(errOut, "using the code of") || !strings.Contains(errOut, "(detected)") {
				t.Errorf("-v should say which files and build were used:\n%s", errOut)
			}
			for _, f := range c.PrintedFrames() {
				if f.Expected == nil || f.Expected.File == "" || f.LineRowBeforeSymbol {
					continue
				}
				method := strings.TrimPrefix(f.PrintedText(), "at ")
				method = method[:strings.LastIndex(method, " + 0x")]
				want := "at " + method + " in " + f.Expected.File + ":line " + itoa(f.Expected.Line)
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// The log line prefix and everything else stays.
			if !strings.HasPrefix(out, "2026-11-25T10:15:30.123Z\t") {
				t.Errorf("the CloudWatch prefix is gone:\n%s", out)
			}
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestSymbolicateJSONFromStdin: --json on standard input, build given.
func TestSymbolicateJSONFromStdin(t *testing.T) {
	m := loadVariant(t, "net10.0-linux-arm64")
	var c *corpus.Case
	for i := range m.Cases {
		if m.Cases[i].Scenario == "lambda-closure" {
			c = &m.Cases[i]
		}
	}
	code, out, errOut := runCLI(t, c.ExceptionToString, "symbolicate", "--dbg", m.DebugFile(), "--build-id", m.Build.BuildID, "--json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var tr aotsym.Trace
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if string(tr.BuildID) != m.Build.BuildID || tr.Build == nil || tr.Build.How != "given" {
		t.Fatalf("build = %s %+v", tr.BuildID, tr.Build)
	}
	if tr.Summary[aotsym.StatusResolved] == 0 || len(tr.Frames) != len(c.PrintedFrames()) {
		t.Fatalf("summary %v, %d frames, want %d", tr.Summary, len(tr.Frames), len(c.PrintedFrames()))
	}
	byText := map[string]*corpus.Frame{}
	for _, f := range c.PrintedFrames() {
		byText[f.PrintedText()] = f
	}
	for i, fr := range tr.Frames {
		f := byText[fr.Input]
		if f == nil {
			t.Fatalf("frame %d %q is not in the manifest", i, fr.Input)
		}
		if f.Expected != nil && f.Expected.File != "" && !f.LineRowBeforeSymbol {
			if fr.Status != aotsym.StatusResolved || fr.File != f.Expected.File || fr.Line != f.Expected.Line {
				t.Errorf("frame %d %q: %s %s:%d, want %s:%d (%s)", i, fr.Input, fr.Status, fr.File, fr.Line, f.Expected.File, f.Expected.Line, fr.Reason)
			}
		}
	}
}

// TestSymbolicateRVAFrames: a trace without stack trace metadata
// (`app!<BaseAddress>+0x…`) against its own build.
func TestSymbolicateRVAFrames(t *testing.T) {
	m := loadVariant(t, "net10.0-linux-x64-nostacktrace")
	c := &m.Cases[0]
	code, out, errOut := runCLI(t, c.ExceptionToString, "symbolicate", "--dbg", m.DebugFile(), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var tr aotsym.Trace
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatal(err)
	}
	byText := map[string]*corpus.Frame{}
	for _, f := range c.PrintedFrames() {
		byText[f.PrintedText()] = f
	}
	if len(tr.Frames) != len(c.PrintedFrames()) {
		t.Fatalf("%d frames, want %d", len(tr.Frames), len(c.PrintedFrames()))
	}
	for i, fr := range tr.Frames {
		f := byText[fr.Input]
		if fr.Kind != aotsym.FrameRVA || f == nil {
			t.Fatalf("frame %d %q is %s", i, fr.Input, fr.Kind)
		}
		if f.Expected != nil && f.Expected.File != "" && !f.LineRowBeforeSymbol && (fr.Line != f.Expected.Line || fr.Function == "") {
			t.Errorf("frame %d %q: %s %s %s:%d, want line %d", i, fr.Input, fr.Status, fr.Function, fr.File, fr.Line, f.Expected.Line)
		}
	}
}

func TestSymbolicateFailUnresolved(t *testing.T) {
	t.Setenv(client.EnvServer, "")
	web := loadVariant(t, "webapi")
	m10 := loadVariant(t, "net10.0-linux-x64")
	// The web API's trace against the scenario program's build: nothing fits.
	in := web.Cases[0].ExceptionToString
	code, out, errOut := runCLI(t, in, "symbolicate", "--dbg", m10.DebugFile(), "--build-id", m10.Build.BuildID)
	if code != 0 {
		t.Fatalf("without --fail-unresolved: exit %d: %s", code, errOut)
	}
	if out != in {
		t.Errorf("nothing resolved, so the trace should come back unchanged")
	}
	code, _, errOut = runCLI(t, in, "symbolicate", "--dbg", m10.DebugFile(), "--build-id", m10.Build.BuildID, "--fail-unresolved")
	if code != exitFailure || !strings.Contains(errOut, "do not fit the build") {
		t.Errorf("--fail-unresolved: exit %d, stderr %q", code, errOut)
	}
}

func TestSymbolicateErrors(t *testing.T) {
	t.Setenv(client.EnvServer, "")
	m := loadVariant(t, "net10.0-linux-x64")
	notELF := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notELF, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no source", []string{"symbolicate"}, exitUsage, "--dbg"},
		{"both sources", []string{"symbolicate", "--dbg", m.DebugFile(), "--server", "http://127.0.0.1:1"}, exitUsage, "not both"},
		{"two inputs", []string{"symbolicate", "--dbg", m.DebugFile(), "a", "b"}, exitUsage, "one trace"},
		{"bad build ID", []string{"symbolicate", "--dbg", m.DebugFile(), "--build-id", "xyz"}, exitUsage, "build ID"},
		{"tags offline", []string{"symbolicate", "--dbg", m.DebugFile(), "--tag", "a=b"}, exitUsage, "--tag"},
		{"missing file", []string{"symbolicate", "--dbg", filepath.Join(t.TempDir(), "nope.dbg")}, exitFailure, "nope.dbg"},
		{"not ELF", []string{"symbolicate", "--dbg", notELF}, exitFailure, "not an ELF file"},
		{"missing input", []string{"symbolicate", "--dbg", m.DebugFile(), filepath.Join(t.TempDir(), "trace.txt")}, exitFailure, "cannot read the trace"},
		{"unknown build", []string{"symbolicate", "--dbg", m.DebugFile(), "--build-id", "0123456789abcdef0123456789abcdef01234567"}, exitFailure, "not among the debug files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "   at A.B.C() + 0x1\n", tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}
