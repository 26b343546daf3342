package elfindex

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// llvmFrame is one frame of llvm-symbolizer's JSON output.
type llvmFrame struct {
	FunctionName  string
	FileName      string
	Line          int
	Column        int
	Discriminator int
	StartLine     int
	StartFileName string
	StartAddress  string
}

type llvmAnswer struct {
	Address string
	Symbol  []llvmFrame
}

// llvmSymbolize runs llvm-symbolizer --inlines on addrs of obj, names not
// demangled (the index stores linkage names; demangling is a display step).
func llvmSymbolize(t testing.TB, tool, obj string, addrs []uint64) []llvmAnswer {
	t.Helper()
	var in bytes.Buffer
	for _, a := range addrs {
		fmt.Fprintf(&in, "%#x\n", a)
	}
	cmd := exec.Command(tool, "--obj="+obj, "--inlines", "--output-style=JSON", "--no-demangle")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("llvm-symbolizer %s: %v\n%s", obj, err, stderr.Bytes())
	}
	var answers []llvmAnswer
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var a llvmAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("llvm-symbolizer output %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(addrs) {
		t.Fatalf("llvm-symbolizer gave %d answers for %d addresses", len(answers), len(addrs))
	}
	return answers
}

// codeAddresses picks n random addresses inside the sized function symbols
// of an ELF file (weighted by size), independently of the index.
func codeAddresses(t testing.TB, path string, n int, seed uint64) []uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	type span struct{ lo, size uint64 }
	var spans []span
	seen := map[uint64]bool{}
	var total uint64
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Size == 0 || seen[s.Value] || int(s.Section) >= len(f.Sections) {
			continue
		}
		if sec := f.Sections[s.Section]; sec.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		seen[s.Value] = true
		spans = append(spans, span{s.Value, s.Size})
		total += s.Size
	}
	if total == 0 {
		t.Fatalf("%s: no function symbols", path)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]uint64, 0, n)
	for len(out) < n {
		k := r.Uint64N(total)
		for _, s := range spans {
			if k < s.size {
				out = append(out, s.lo+k)
				break
			}
			k -= s.size
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// comparison counts how an index's answers compare with llvm-symbolizer's.
type comparison struct {
	addresses  int
	same       int      // every frame: function, file, line, column
	rowBefore  int      // llvm answers with a row that starts before the function; the index says no line
	extraSame  int      // also StartLine, StartFileName, StartAddress, Discriminator
	mismatches []string // anything else
}

func (c comparison) String() string {
	return fmt.Sprintf("%d addresses: %d same, %d row-before-function (no line by design), %d other; JSON extras same for %d",
		c.addresses, c.same, c.rowBefore, len(c.mismatches), c.extraSame)
}

// compareWithLLVM looks up every address in x and in llvm's answers.
func compareWithLLVM(x *Index, addrs []uint64, llvm []llvmAnswer) comparison {
	var c comparison
	for i, addr := range addrs {
		c.addresses++
		a := x.Lookup(addr)
		want := llvm[i].Symbol
		got := framesAsLLVM(a)
		if framesEqual(got, want) {
			c.same++
			if extrasEqual(got, want) {
				c.extraSame++
			}
			continue
		}
		if a.NoLine && len(got) == len(want) && want[0].Line != 0 && namesEqual(got, want) && callersEqual(got, want) {
			c.rowBefore++
			continue
		}
		c.mismatches = append(c.mismatches, fmt.Sprintf("%#x:\n   index %s\n    llvm %s", addr, showFrames(got), showFrames(want)))
	}
	return c
}

// framesAsLLVM writes an answer the way llvm-symbolizer's JSON does.
func framesAsLLVM(a Answer) []llvmFrame {
	if a.Function < 0 {
		return []llvmFrame{{}}
	}
	out := make([]llvmFrame, len(a.Frames))
	for i, f := range a.Frames {
		out[i] = llvmFrame{FunctionName: f.FunctionName, FileName: f.File, Line: f.Line, Column: f.Column,
			Discriminator: f.Discriminator, StartLine: f.StartLine, StartFileName: f.StartFile}
		if f.HasStartAddress {
			out[i].StartAddress = "0x" + strconv.FormatUint(f.StartAddress, 16)
		}
	}
	return out
}

func framesEqual(a, b []llvmFrame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].FunctionName != b[i].FunctionName || a[i].FileName != b[i].FileName || a[i].Line != b[i].Line || a[i].Column != b[i].Column {
			return false
		}
	}
	return true
}

func namesEqual(a, b []llvmFrame) bool {
	for i := range a {
		if a[i].FunctionName != b[i].FunctionName {
			return false
		}
	}
	return true
}

func callersEqual(a, b []llvmFrame) bool {
	for i := 1; i < len(a); i++ {
		if a[i].FileName != b[i].FileName || a[i].Line != b[i].Line || a[i].Column != b[i].Column {
			return false
		}
	}
	return true
}

func extrasEqual(a, b []llvmFrame) bool {
	for i := range a {
		if a[i].StartLine != b[i].StartLine || a[i].StartFileName != b[i].StartFileName || a[i].StartAddress != b[i].StartAddress || a[i].Discriminator != b[i].Discriminator {
			return false
		}
	}
	return true
}

func showFrames(fs []llvmFrame) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s @ %s:%d:%d [start %s:%d %s d%d]", f.FunctionName, f.FileName, f.Line, f.Column, f.StartFileName, f.StartLine, f.StartAddress, f.Discriminator))
	}
	return strings.Join(parts, " <- ")
}

// buildFile indexes one ELF file (debug info and code in the same file).
func buildFile(t testing.TB, path string, exe string) (*Index, Stats) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var code SizedReaderAt
	if exe != "" {
		g, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		code = fileReader(g)
	}
	data, st, err := Build(fileReader(f), code, Options{})
	if err != nil {
		t.Fatalf("Build(%s): %v", path, err)
	}
	x, err := Open(data)
	if err != nil {
		t.Fatalf("Open(index of %s): %v", path, err)
	}
	return x, st
}
