package elfindex

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aotsym/aotsym/internal/testenv"
)

// TestDynsymOnly: a binary stripped of .symtab and DWARF still names its
// exported functions from .dynsym.
func TestDynsymOnly(t *testing.T) {
	gcc := testenv.Tool(t, "gcc", "apt-get install gcc")
	strip := testenv.Tool(t, "strip", "apt-get install binutils")
	dir := t.TempDir()
	bin := filepath.Join(dir, "dyn")
	src, _ := filepath.Abs("testdata/native")
	cmd := exec.Command(gcc, "-O2", "-g", "-rdynamic", "-o", bin, filepath.Join(src, "main.c"), filepath.Join(src, "shapes.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	full, _ := buildPair(t, bin, "")
	want := map[string]uint64{}
	for i := 0; i < full.NumFunctions(); i++ {
		f := full.Function(i)
		switch f.Name {
		case "scan", "polygon_area", "checksum", "classify", "sort_ints":
			want[f.Name] = f.Start
		}
	}
	if b, err := exec.Command(strip, "--strip-all", bin).CombinedOutput(); err != nil {
		t.Fatalf("strip: %v\n%s", err, b)
	}
	x, st := buildPair(t, bin, bin)
	if st.CompileUnits != 0 || st.LineRows != 0 {
		t.Errorf("a stripped binary gave %d units and %d rows", st.CompileUnits, st.LineRows)
	}
	for name, start := range want {
		i, ok := x.FunctionAt(start + 1)
		if !ok || x.Function(i).Name != name || x.Function(i).Start != start {
			t.Errorf("%s at %#x: got %+v", name, start, x.Function(i))
		}
		a := x.Lookup(start + 1)
		if len(a.Frames) != 1 || a.Frames[0].FunctionName != name || !a.NoLine {
			t.Errorf("Lookup in %s: %+v", name, a)
		}
	}
	if len(want) != 5 {
		t.Fatalf("found %d of the exported functions in the unstripped binary", len(want))
	}
}

// TestIdentityOfCompiledPrograms: build IDs (GNU and Go), architecture,
// PIE and image base, as the tools that made the files report them.
func TestIdentityOfCompiledPrograms(t *testing.T) {
	goTool := testenv.Tool(t, "go", "install Go from https://go.dev/dl/")
	readelf := testenv.Tool(t, "readelf", "apt-get install binutils")
	for _, b := range compileNative(t) {
		if b.name != "go" && b.name != "go-arm64" && b.name != "c-O2" {
			continue
		}
		f, err := os.Open(b.exe)
		if err != nil {
			t.Fatal(err)
		}
		in, err := Inspect(f, fileReader(f).Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		notes, _ := exec.Command(readelf, "-n", b.exe).Output()
		if in.BuildID == "" || !bytes.Contains(notes, []byte(string(in.BuildID))) {
			t.Errorf("%s: BuildID %q not in readelf -n:\n%s", b.name, in.BuildID, notes)
		}
		switch b.name {
		case "c-O2":
			if in.GoBuildID != "" || !in.PIE || in.ImageBase != 0 || in.Arch != "x86_64" || !in.HasCode || !in.HasDebug {
				t.Errorf("%s: %+v", b.name, in)
			}
		default:
			out, err := exec.Command(goTool, "tool", "buildid", b.exe).Output()
			if err != nil {
				t.Fatal(err)
			}
			wantArch := map[string]string{"go": "x86_64", "go-arm64": "aarch64"}[b.name]
			if in.GoBuildID != strings.TrimSpace(string(out)) || in.Arch != wantArch || in.PIE || in.ImageBase != 0x400000 && in.ImageBase != 0x10000 {
				t.Errorf("%s: %+v; go tool buildid says %q", b.name, in, out)
			}
			x, _ := buildPair(t, b.debug, b.exe)
			if x.GoBuildID() != in.GoBuildID || x.BuildID() != in.BuildID || x.Arch() != wantArch || x.ImageBase() != in.ImageBase {
				t.Errorf("%s: index says %q %q %s %#x", b.name, x.GoBuildID(), x.BuildID(), x.Arch(), x.ImageBase())
			}
		}
	}
}

// TestOptionsCode: the code can come from Options.Code instead of the exe
// argument.
func TestOptionsCode(t *testing.T) {
	dbg, exe := readTiny(t, "tiny.debug"), readTiny(t, "tiny-stripped")
	via, _, err := Build(bytes.NewReader(dbg), nil, Options{Code: bytes.NewReader(exe)})
	if err != nil {
		t.Fatal(err)
	}
	direct, _, err := Build(bytes.NewReader(dbg), bytes.NewReader(exe), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(via)
	if err != nil {
		t.Fatal(err)
	}
	if !x.HasCode() || !bytes.Equal(via, direct) {
		t.Errorf("Options.Code: HasCode %v, same index %v", x.HasCode(), bytes.Equal(via, direct))
	}
}

// countExt is an Extension that records the function count it was built on.
type countExt struct {
	name string
	err  error
}

func (c countExt) Name() string { return c.name }
func (c countExt) Build(core *Index) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	return []byte("functions=" + itoa(core.NumFunctions())), nil
}

func TestExtensions(t *testing.T) {
	data := readTiny(t, "tiny-dwarf5")
	core, _, err := Build(bytes.NewReader(data), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Build(bytes.NewReader(data), nil, Options{Extensions: []Extension{countExt{name: "dotnet"}, countExt{name: "other"}}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Open(core)
	want := "functions=" + itoa(c.NumFunctions())
	if got := string(x.Extension("dotnet")); got != want {
		t.Errorf("Extension(dotnet) = %q, want %q", got, want)
	}
	if x.Extension("other") == nil || x.Extension("missing") != nil || c.Extension("dotnet") != nil {
		t.Error("extensions are not where they belong")
	}
	if x.NumFunctions() != c.NumFunctions() || x.Lookup(c.Function(1).Start).Frames[0] != c.Lookup(c.Function(1).Start).Frames[0] {
		t.Error("extensions changed the core index")
	}
	boom := errors.New("boom")
	if _, _, err := Build(bytes.NewReader(data), nil, Options{Extensions: []Extension{countExt{name: "bad", err: boom}}}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad") {
		t.Errorf("failing extension: %v", err)
	}
	for _, name := range []string{"", strings.Repeat("x", MaxExtensionName+1)} {
		if _, _, err := Build(bytes.NewReader(data), nil, Options{Extensions: []Extension{countExt{name: name}}}); err == nil {
			t.Errorf("extension name %q accepted", name)
		}
	}
}

// TestBuildDeterministic: the index does not depend on how many goroutines
// build it (the DWARF walk, the call sweep and the encoder are parallel):
// the web API's .dbg with its executable, on 1, 2 and 5 cores.
func TestBuildDeterministic(t *testing.T) {
	m := webAPI(t)
	build := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		d, err := os.Open(m.DebugFile())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		e, err := os.Open(m.Executable())
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		data, _, err := Build(fileReader(d), fileReader(e), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	want := build(1)
	for _, procs := range []int{2, 5} {
		if got := build(procs); !bytes.Equal(got, want) {
			t.Errorf("%d cores: %d bytes, different from 1 core's %d", procs, len(got), len(want))
		}
	}
}
