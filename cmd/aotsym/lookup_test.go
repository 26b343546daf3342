package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/testenv"
)

// lookupCLI runs `aotsym lookup ARGS` in-process.
func lookupCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"lookup"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// llvmCLI runs llvm-symbolizer with the same input.
func llvmCLI(t *testing.T, tool, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llvm-symbolizer %q: %v\n%s", args, err, errb.Bytes())
	}
	return string(out)
}

type jsonFrame struct {
	Column, Discriminator, Line, StartLine int
	FileName, FunctionName                 string
	StartAddress, StartFileName            string
}

type jsonAnswer struct {
	Address    string
	ModuleName string
	Symbol     []jsonFrame
	Error      *struct{ Message string }
}

func parseJSONLines(t *testing.T, s string) []jsonAnswer {
	t.Helper()
	var out []jsonAnswer
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var a jsonAnswer
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

// compareJSON compares aotsym's answers with llvm-symbolizer's. rowBefore
// holds the addresses where the index says "no line" by design (the row in
// force starts before the function). Fields llvm-symbolizer 14 gets wrong
// or that are out of scope are counted, not failed: StartFileName (llvm 14
// drops a DW_AT_decl_file of form DW_FORM_implicit_const).
func compareJSON(t *testing.T, ours, theirs []jsonAnswer, rowBefore map[string]bool) (same, noLine, startDiffs int) {
	t.Helper()
	same, noLine, startDiffs, _ = compareJSONNames(t, ours, theirs, rowBefore, nil, nil)
	return
}

// demangleDiffs counts answers that differ only in how a name was
// demangled, with the same linkage name underneath.
type demangleDiffs struct {
	llvmRaw int // llvm-symbolizer 14 printed the mangled name: it could not demangle it
	rustV0  int // Rust v0 names: ianlancetaylor/demangle numbers nested closures differently
}

// compareJSONNames is compareJSON that also accepts a function name that
// differs only by demangling, given both tools' --no-demangle answers.
func compareJSONNames(t *testing.T, ours, theirs []jsonAnswer, rowBefore map[string]bool, oursRaw, theirsRaw []jsonAnswer) (same, noLine, startDiffs int, dd demangleDiffs) {
	t.Helper()
	if len(ours) != len(theirs) {
		t.Fatalf("%d answers, llvm-symbolizer %d", len(ours), len(theirs))
	}
	bad := 0
	for i := range ours {
		a, b := ours[i], theirs[i]
		if a.Address != b.Address || a.ModuleName != b.ModuleName || len(a.Symbol) != len(b.Symbol) || (a.Error == nil) != (b.Error == nil) {
			bad++
			if bad < 10 {
				t.Errorf("answer %d: %+v\nllvm-symbolizer: %+v", i, a, b)
			}
			continue
		}
		ok, starts := true, true
		for k := range a.Symbol {
			x, y := a.Symbol[k], b.Symbol[k]
			if k == 0 && rowBefore[a.Address] {
				if x.FileName != "" || x.Line != 0 {
					ok = false
				}
				x.FileName, x.Line, x.Column, x.Discriminator = y.FileName, y.Line, y.Column, y.Discriminator
			}
			if x.FunctionName != y.FunctionName && oursRaw != nil {
				raw, theirRaw := oursRaw[i].Symbol[k].FunctionName, theirsRaw[i].Symbol[k].FunctionName
				switch {
				case raw != theirRaw:
				case y.FunctionName == raw:
					dd.llvmRaw++
					x.FunctionName = y.FunctionName
				case strings.HasPrefix(raw, "_R"):
					dd.rustV0++
					t.Logf("Rust v0 name %s: aotsym %q, llvm-symbolizer %q", raw, x.FunctionName, y.FunctionName)
					x.FunctionName = y.FunctionName
				}
			}
			if x.FunctionName != y.FunctionName || x.FileName != y.FileName || x.Line != y.Line || x.Column != y.Column || x.Discriminator != y.Discriminator {
				ok = false
			}
			if x.StartLine != y.StartLine || x.StartAddress != y.StartAddress || x.StartFileName != y.StartFileName {
				starts = false
			}
		}
		switch {
		case !ok:
			bad++
			if bad < 10 {
				t.Errorf("%s:\n   aotsym %+v\n     llvm %+v", a.Address, a.Symbol, b.Symbol)
			}
		case rowBefore[a.Address]:
			noLine++
		default:
			same++
		}
		if !starts {
			startDiffs++
		}
	}
	return same, noLine, startDiffs, dd
}

// TestLookupCorpus: `aotsym lookup --output-style=JSON` on the lookup
// addresses of every corpus frame, against llvm-symbolizer with the same
// input (the manifest's oracle).
func TestLookupCorpus(t *testing.T) {
	tool := testenv.Tool(t, "llvm-symbolizer", "apt-get install llvm")
	for _, variant := range []string{"net10.0-linux-x64", "net10.0-linux-arm64", "net8.0-linux-x64", "webapi"} {
		t.Run(variant, func(t *testing.T) {
			m, err := corpus.Load(variant)
			if err != nil {
				t.Fatal(err)
			}
			var in strings.Builder
			rowBefore := map[string]bool{}
			flagged := 0
			for _, c := range m.Cases {
				for _, e := range c.Exceptions {
					for _, f := range e.Frames {
						fmt.Fprintf(&in, "%s\n", f.LookupAddress)
						if f.LineRowBeforeSymbol {
							rowBefore[f.LookupAddress] = true
							flagged++
						}
					}
				}
			}
			code, out, errOut := lookupCLI(t, in.String(), "--dbg", m.DebugFile(), "--output-style=JSON")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want := llvmCLI(t, tool, in.String(), "--obj="+m.DebugFile(), "--inlines", "--output-style=JSON")
			same, noLine, starts := compareJSON(t, parseJSONLines(t, out), parseJSONLines(t, want), rowBefore)
			t.Logf("%d the same as llvm-symbolizer, %d no line where llvm-symbolizer repeats the previous function's line, %d differ in Start* fields", same, noLine, starts)
			if noLine != flagged {
				t.Errorf("%d row-before-function answers, the manifest flags %d frames", noLine, flagged)
			}
		})
	}
}

// TestLookupCompiled compiles C, C++ and Rust programs and compares whole
// JSON answers, demangled names included, at random function addresses;
// then the default LLVM-style text, byte for byte, on the C program.
func TestLookupCompiled(t *testing.T) {
	tool := testenv.Tool(t, "llvm-symbolizer", "apt-get install llvm")
	gcc := testenv.Tool(t, "gcc", "apt-get install gcc")
	gxx := testenv.Tool(t, "g++", "apt-get install g++")
	rustc := testenv.Tool(t, "rustc", "apt-get install rustc")
	src, err := filepath.Abs("../../symbolizer/elfindex/testdata/native")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	progs := []struct {
		name string
		cmd  []string
	}{
		{"c", []string{gcc, "-O2", "-g", "-o", filepath.Join(dir, "c"), filepath.Join(src, "main.c"), filepath.Join(src, "shapes.c")}},
		{"cpp", []string{gxx, "-O2", "-g", "-o", filepath.Join(dir, "cpp"), filepath.Join(src, "app.cpp")}},
		{"rust", []string{rustc, "-O", "-C", "debuginfo=2", "-o", filepath.Join(dir, "rust"), filepath.Join(src, "app.rs")}},
	}
	for _, p := range progs {
		if b, err := exec.Command(p.cmd[0], p.cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", p.name, err, b)
		}
	}
	for i, p := range progs {
		t.Run(p.name, func(t *testing.T) {
			bin := filepath.Join(dir, p.name)
			addrs := randomFunctionAddresses(t, bin, 300, uint64(i+1))
			in := strings.Join(addrs, "\n") + "\n"
			code, out, errOut := lookupCLI(t, in, "--obj="+bin, "--output-style=JSON")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want := llvmCLI(t, tool, in, "--obj="+bin, "--inlines", "--output-style=JSON")
			_, outRaw, _ := lookupCLI(t, in, "--obj="+bin, "--output-style=JSON", "--no-demangle")
			wantRaw := llvmCLI(t, tool, in, "--obj="+bin, "--inlines", "--output-style=JSON", "--no-demangle")
			same, noLine, starts, dd := compareJSONNames(t, parseJSONLines(t, out), parseJSONLines(t, want), nil, parseJSONLines(t, outRaw), parseJSONLines(t, wantRaw))
			t.Logf("%d the same as llvm-symbolizer (demangled), %d no line, %d differ in Start* fields; names llvm-symbolizer 14 cannot demangle: %d frames, Rust v0 closure numbering: %d frames",
				same, noLine, starts, dd.llvmRaw, dd.rustV0)
			if p.name == "cpp" {
				// One frame per address: the function, the innermost line.
				_, out, _ := lookupCLI(t, in, "--obj="+bin, "--output-style=JSON", "--no-inlines", "--no-demangle")
				want := llvmCLI(t, tool, in, "--obj="+bin, "--no-inlines", "--output-style=JSON", "--no-demangle")
				same, _, _ := compareJSON(t, parseJSONLines(t, out), parseJSONLines(t, want), nil)
				t.Logf("--no-inlines: %d the same as llvm-symbolizer", same)
			}
			if p.name == "c" {
				// The default output style, as text.
				code, out, _ := lookupCLI(t, in, "--dbg", bin)
				want := llvmCLI(t, tool, in, "--obj="+bin, "--inlines")
				if code != 0 || out != want {
					t.Errorf("LLVM-style output differs from llvm-symbolizer's:\n%s", firstDiff(out, want))
				}
			}
		})
	}
}

// randomFunctionAddresses picks addresses inside sized function symbols.
func randomFunctionAddresses(t *testing.T, path string, n int, seed uint64) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var starts, sizes []uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 {
			starts, sizes = append(starts, s.Value), append(sizes, s.Size)
		}
	}
	r := rand.New(rand.NewPCG(seed, 99))
	var out []string
	for len(out) < n {
		k := r.IntN(len(starts))
		out = append(out, fmt.Sprintf("%#x", starts[k]+r.Uint64N(sizes[k])))
	}
	sort.Strings(out)
	return out
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  aotsym %q\n    llvm %q", i+1, x, y)
		}
	}
	return "(same)"
}

// TestLookupArgsAndErrors: addresses as arguments give one JSON array, bad
// input is reported the way llvm-symbolizer reports it, and the command's
// own errors have the right exit codes.
func TestLookupArgsAndErrors(t *testing.T) {
	tool := testenv.Tool(t, "llvm-symbolizer", "apt-get install llvm")
	m, err := corpus.Load("net10.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	for _, f := range m.Cases[0].PrintedFrames() {
		if !f.LineRowBeforeSymbol {
			addr = f.LookupAddress
			break
		}
	}
	args := []string{addr, "not-an-address", "4096"}
	code, out, _ := lookupCLI(t, "", append([]string{"--dbg", m.DebugFile(), "--output-style=JSON"}, args...)...)
	want := llvmCLI(t, tool, "", append([]string{"--obj=" + m.DebugFile(), "--inlines", "--output-style=JSON"}, args...)...)
	if code != 0 || out != want {
		t.Errorf("arguments, JSON:\n%s", firstDiff(out, want))
	}
	stdin := addr + "\nnot-an-address\n\n" + addr + "\n"
	code, out, _ = lookupCLI(t, stdin, "--dbg", m.DebugFile())
	want = llvmCLI(t, tool, stdin, "--obj="+m.DebugFile(), "--inlines")
	if code != 0 || out != want {
		t.Errorf("standard input, LLVM style:\n%s", firstDiff(out, want))
	}
	for _, flags := range [][]string{{"-p", "-s"}, {"--functions=none"}, {"--functions=none", "--output-style=JSON"}, {"-f"}, {"--no-inlines"}} {
		code, out, _ = lookupCLI(t, stdin, append([]string{"--dbg", m.DebugFile()}, flags...)...)
		want = llvmCLI(t, tool, stdin, append([]string{"--obj=" + m.DebugFile(), "--inlines"}, flags...)...)
		if code != 0 || out != want {
			t.Errorf("%q:\n%s", flags, firstDiff(out, want))
		}
	}
	if code, _, errOut := lookupCLI(t, "", "--dbg", m.DebugFile(), "--functions=short", addr); code != exitUsage || !strings.Contains(errOut, "short") {
		t.Errorf("--functions=short: exit %d, %q", code, errOut)
	}

	if code, _, errOut := lookupCLI(t, "", addr); code != exitUsage || !strings.Contains(errOut, "--dbg") {
		t.Errorf("without --dbg: exit %d, %q", code, errOut)
	}
	if code, _, errOut := lookupCLI(t, "", "--dbg", m.DebugFile(), "--output-style=XML", addr); code != exitUsage || !strings.Contains(errOut, "LLVM or JSON") {
		t.Errorf("bad style: exit %d, %q", code, errOut)
	}
	if code, _, errOut := lookupCLI(t, "", "--dbg", filepath.Join(t.TempDir(), "missing.dbg"), addr); code != exitFailure || !strings.Contains(errOut, "missing.dbg") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	notELF := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notELF, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := lookupCLI(t, "", "--dbg", notELF, addr); code != exitFailure || !strings.Contains(errOut, "not an ELF file") {
		t.Errorf("not ELF: exit %d, %q", code, errOut)
	}
}
