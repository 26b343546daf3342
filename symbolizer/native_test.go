package symbolizer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/testenv"
)

// A C program compiled during the test: native frames in their printed forms
// resolve through the same index, against llvm-symbolizer as the oracle.
const nativeSource = `#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) int leaf(int x) {
	if (x > 3)
		abort();
	return x * 2;
}

__attribute__((noinline)) int middle(int x) {
	int y = leaf(x + 1);
	return y + leaf(x);
}

__attribute__((noinline)) int outer(int x) {
	int s = 0;
	for (int i = 0; i < x; i++)
		s += middle(i);
	return s;
}

int main(int argc, char **argv) {
	printf("%d\n", outer(argc + 3));
	return 0;
}
`

type llvmAnswer struct {
	Symbol []struct {
		FunctionName string
		FileName     string
		Line         int
	}
}

func llvmLine(t *testing.T, tool, obj string, addr uint64) llvmAnswer {
	t.Helper()
	out, err := exec.Command(tool, "--obj="+obj, "--output-style=JSON", fmt.Sprintf("%#x", addr)).Output()
	if err != nil {
		t.Fatalf("llvm-symbolizer: %v", err)
	}
	var a []llvmAnswer
	if err := json.Unmarshal(out, &a); err != nil || len(a) != 1 {
		t.Fatalf("llvm-symbolizer output %q: %v", out, err)
	}
	return a[0]
}

func TestNativeFrames(t *testing.T) {
	gcc := testenv.Tool(t, "gcc", "apt-get install gcc")
	llvm := testenv.Tool(t, "llvm-symbolizer", "apt-get install llvm")
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	prog := filepath.Join(dir, "prog")
	if err := os.WriteFile(src, []byte(nativeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-g", "-O1", "-fno-inline", "-Wl,--build-id", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	b, meta, err := indexFiles(prog, prog)
	if err != nil {
		t.Fatal(err)
	}
	if b.calls == nil || !b.Index.HasCode() {
		t.Fatal("the unstripped program is its own code: calls should be recorded")
	}
	src2 := NewLocal()
	src2.Add(b, meta)
	r := NewResolver(src2)

	// Return addresses inside middle and outer: the direct calls they make.
	type site struct {
		fn       string
		start    uint64
		ret      uint64
		wantFile string
		wantLine int
	}
	var sites []site
	for _, name := range []string{"middle", "outer", "main"} {
		fns := symbolFunctions(b, name)
		if len(fns) != 1 {
			t.Fatalf("symbol %s: %v", name, fns)
		}
		fn := b.Index.Function(fns[0])
		for a := fn.Start + 1; a <= fn.End; a++ {
			if _, ok := b.calls.target(a); ok {
				ans := llvmLine(t, llvm, prog, a-1)
				sites = append(sites, site{name, fn.Start, a, ans.Symbol[0].FileName, ans.Symbol[0].Line})
			}
		}
	}
	if len(sites) < 3 {
		t.Fatalf("found %d call sites", len(sites))
	}
	base := b.Index.ImageBase()
	for _, s := range sites {
		off := s.ret - s.start
		rva := s.ret - base
		for _, form := range []string{
			fmt.Sprintf("%s+%#x", s.fn, off),                                     // symbol+offset
			fmt.Sprintf("prog+%#x", rva),                                         // module+offset
			fmt.Sprintf("#1 0x00007f00deadbeef in %s (%s+%#x)", s.fn, prog, rva), // sanitizer
			fmt.Sprintf("%s(%s+%#x) [0x55aa00001234]", prog, s.fn, off),          // glibc backtrace_symbols
		} {
			res := symbolicate(t, r, form+"\n", Options{})
			if len(res.Trace.Frames) != 1 {
				t.Fatalf("%q: %d frames", form, len(res.Trace.Frames))
			}
			fr := res.Trace.Frames[0]
			if fr.Status != aotsym.StatusResolved || fr.Line != s.wantLine || fr.File != s.wantFile || fr.Function != s.fn {
				t.Errorf("%q: %s %s %s:%d, llvm-symbolizer %s %s:%d (%s)", form, fr.Status, fr.Function, fr.File, fr.Line, s.fn, s.wantFile, s.wantLine, fr.Reason)
			}
		}
	}
	// Frames of other modules are not this build's, even with one build in
	// play; a symbol the build lacks is not found.
	for form, want := range map[string]aotsym.Status{
		"libc.so.6+0x29d90": aotsym.StatusUnknownBuild,
		"#3 0x00007f1c2a429d90 in __libc_start_call_main () from /lib/x86_64-linux-gnu/libc.so.6": aotsym.StatusUnknownBuild,
		"no_such_function+0x10":             aotsym.StatusNotFound,
		"#2 0x000055d0c8a011a9 in outer ()": aotsym.StatusNoLine,
	} {
		res := symbolicate(t, r, form+"\n", Options{})
		if len(res.Trace.Frames) != 1 || res.Trace.Frames[0].Status != want {
			t.Errorf("%q: %+v, want %s", form, res.Trace.Frames, want)
		}
	}
	// The rendered text puts the function and position on the frame.
	res := symbolicate(t, r, fmt.Sprintf("prog+%#x\n", sites[0].ret-base), Options{})
	if want := fmt.Sprintf("%s (prog+%#x) in %s:line %d", sites[0].fn, sites[0].ret-base, sites[0].wantFile, sites[0].wantLine); !strings.Contains(string(res.Text), want) {
		t.Errorf("text %q lacks %q", res.Text, want)
	}
	_ = context.Background
}
