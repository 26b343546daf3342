package elfindex

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym/internal/testenv"
)

// Native programs compiled during the test run (sources in testdata/native)
// and compared with llvm-symbolizer --inlines on random code addresses:
// function, file, line, column and the whole inline chain must agree. The
// only difference allowed is by design: where the row in force starts
// before the function, the index answers "no line" (counted separately).

// nativeBin is one compiled variant.
type nativeBin struct {
	name string
	// obj is what llvm-symbolizer reads; debug and exe what Build reads
	// (exe gives the code; debug may be a split --only-keep-debug file).
	obj, debug, exe string
}

var (
	nativeOnce sync.Once
	nativeBins []nativeBin
	nativeErr  string
	nativeDir  string
)

// addrsPerBinary × the variants is the size of the comparison: ≥ 2,000.
const addrsPerBinary = 300

// compileNative builds every variant once per test binary. A missing
// compiler skips (fails in CI) the tests that need the programs.
func compileNative(t *testing.T) []nativeBin {
	t.Helper()
	gcc := testenv.Tool(t, "gcc", "apt-get install gcc")
	gxx := testenv.Tool(t, "g++", "apt-get install g++")
	rustc := testenv.Tool(t, "rustc", "apt-get install rustc")
	objcopy := testenv.Tool(t, "objcopy", "apt-get install binutils")
	goTool := testenv.Tool(t, "go", "install Go from https://go.dev/dl/")
	nativeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "elfindex-native-")
		if err != nil {
			nativeErr = err.Error()
			return
		}
		nativeDir = dir
		src, _ := filepath.Abs("testdata/native")
		c := []string{filepath.Join(src, "main.c"), filepath.Join(src, "shapes.c")}
		out := func(n string) string { return filepath.Join(dir, n) }
		type step struct {
			name string
			args []string
			env  []string
			wd   string
		}
		steps := []step{
			{"c-O0", append([]string{gcc, "-O0", "-g", "-o", out("c-O0")}, c...), nil, ""},
			{"c-O2", append([]string{gcc, "-O2", "-g", "-o", out("c-O2")}, c...), nil, ""},
			{"c-O2-dwarf4", append([]string{gcc, "-O2", "-gdwarf-4", "-o", out("c-O2-dwarf4")}, c...), nil, ""},
			{"c-O2-gz", append([]string{gcc, "-O2", "-g", "-gz", "-o", out("c-O2-gz")}, c...), nil, ""},
			{"cpp-O0", []string{gxx, "-O0", "-g", "-o", out("cpp-O0"), filepath.Join(src, "app.cpp")}, nil, ""},
			{"cpp-O2", []string{gxx, "-O2", "-g", "-o", out("cpp-O2"), filepath.Join(src, "app.cpp")}, nil, ""},
			{"rust-release", []string{rustc, "-O", "-C", "debuginfo=2", "-o", out("rust-release"), filepath.Join(src, "app.rs")}, nil, ""},
			{"rust-debug", []string{rustc, "-C", "debuginfo=2", "-o", out("rust-debug"), filepath.Join(src, "app.rs")}, nil, ""},
		}
		// The split: --only-keep-debug file plus a stripped executable
		// that links to it.
		split := []step{
			{"split-debug", []string{objcopy, "--only-keep-debug", out("c-O2"), out("c-O2.debug")}, nil, ""},
			{"split-strip", []string{objcopy, "--strip-debug", "--strip-unneeded", "--add-gnu-debuglink=" + out("c-O2.debug"), out("c-O2"), out("c-O2.stripped")}, nil, ""},
		}
		// Go, native and cross-compiled to arm64, from a copy with a go.mod.
		goDir := out("goprog")
		if err := os.MkdirAll(goDir, 0o755); err != nil {
			nativeErr = err.Error()
			return
		}
		mainGo, err := os.ReadFile(filepath.Join(src, "goprog", "main.go"))
		if err == nil {
			err = os.WriteFile(filepath.Join(goDir, "main.go"), mainGo, 0o644)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(goDir, "go.mod"), []byte("module goprog\n\ngo 1.22\n"), 0o644)
		}
		if err != nil {
			nativeErr = err.Error()
			return
		}
		goEnv := func(arch string) []string {
			return append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOARCH="+arch)
		}
		steps = append(steps,
			step{"go", []string{goTool, "build", "-o", out("go"), "."}, goEnv("amd64"), goDir},
			step{"go-arm64", []string{goTool, "build", "-o", out("go-arm64"), "."}, goEnv("arm64"), goDir},
		)
		run := func(s step) error {
			cmd := exec.Command(s.args[0], s.args[1:]...)
			cmd.Env, cmd.Dir = s.env, s.wd
			if b, err := cmd.CombinedOutput(); err != nil {
				return &compileError{s.name, strings.Join(s.args, " "), string(b), err}
			}
			return nil
		}
		// Compile in parallel (rustc -O dominates).
		errs := make([]error, len(steps))
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for i, s := range steps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = run(s)
			}()
		}
		wg.Wait()
		for _, s := range split {
			if errs[1] == nil {
				if err := run(s); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, err := range errs {
			if err != nil {
				nativeErr = err.Error()
				return
			}
		}
		for _, s := range steps {
			nativeBins = append(nativeBins, nativeBin{name: s.name, obj: out(s.name), debug: out(s.name), exe: out(s.name)})
		}
		nativeBins = append(nativeBins, nativeBin{name: "c-O2-split", obj: out("c-O2"), debug: out("c-O2.debug"), exe: out("c-O2.stripped")})
	})
	if nativeErr != "" {
		t.Fatal(nativeErr)
	}
	return nativeBins
}

type compileError struct {
	name, cmd, output string
	err               error
}

func (e *compileError) Error() string {
	return "compiling " + e.name + ": " + e.cmd + ": " + e.err.Error() + "\n" + e.output
}

func TestMain(m *testing.M) {
	code := m.Run()
	if nativeDir != "" {
		os.RemoveAll(nativeDir)
	}
	os.Exit(code)
}

// TestNativeAgainstLLVM is the comparison: every variant, addrsPerBinary
// random addresses inside function symbols each.
func TestNativeAgainstLLVM(t *testing.T) {
	tool := testenv.Tool(t, "llvm-symbolizer", "apt-get install llvm")
	bins := compileNative(t)
	var total, same, rowBefore, extras int
	for i, b := range bins {
		t.Run(b.name, func(t *testing.T) {
			x, st := buildPair(t, b.debug, b.exe)
			addrs := codeAddresses(t, b.obj, addrsPerBinary, uint64(i+1))
			c := compareWithLLVM(x, addrs, llvmSymbolize(t, tool, b.obj, addrs))
			total += c.addresses
			same += c.same
			rowBefore += c.rowBefore
			extras += c.extraSame
			t.Logf("%s; %d functions, %d rows, %d inline nodes, %d compile units, index %d bytes",
				c, st.Functions, st.LineRows, st.InlineNodes, st.CompileUnits, st.Bytes)
			for k, m := range c.mismatches {
				if k == 10 {
					t.Errorf("… and %d more", len(c.mismatches)-k)
					break
				}
				t.Errorf("differs from llvm-symbolizer at %s", m)
			}
			if st.InlineNodes == 0 && strings.Contains(b.name, "O2") {
				t.Errorf("an optimized build without inlined subroutines: the inline chain is not being tested")
			}
		})
	}
	t.Logf("all variants: %d addresses, %d the same as llvm-symbolizer, %d row-before-function, %d also equal in StartLine/StartFileName/StartAddress/Discriminator",
		total, same, rowBefore, extras)
	if total < 2000 {
		t.Errorf("only %d addresses compared; the issue asks for at least 2,000", total)
	}
}

// buildPair indexes a debug file with its executable's code.
func buildPair(t testing.TB, debug, exe string) (*Index, Stats) {
	t.Helper()
	d, err := os.Open(debug)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var code SizedReaderAt
	if exe != "" && exe != debug {
		e, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		code = fileReader(e)
	} else if exe == debug {
		code = fileReader(d)
	}
	data, st, err := Build(fileReader(d), code, Options{})
	if err != nil {
		t.Fatalf("Build(%s, %s): %v", debug, exe, err)
	}
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	return x, st
}

// TestCompressionVariants: the same DWARF stored uncompressed, zlib
// (SHF_COMPRESSED), zstd and the legacy .zdebug gives the same index, byte
// for byte; llvm-symbolizer 14 cannot read zstd, so this is how zstd is
// checked.
func TestCompressionVariants(t *testing.T) {
	objcopy := testenv.Tool(t, "objcopy", "apt-get install binutils")
	var base string
	for _, b := range compileNative(t) {
		if b.name == "c-O2" {
			base = b.obj
		}
	}
	want := buildBytes(t, base)
	for _, mode := range []string{"zlib", "zstd", "zlib-gnu"} {
		t.Run(mode, func(t *testing.T) {
			out := base + "." + mode
			cmd := exec.Command(objcopy, "--compress-debug-sections="+mode, base, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				if mode == "zstd" && bytes.Contains(b, []byte("zstd")) {
					testenv.Missing(t, "objcopy cannot write zstd sections here: "+string(b))
				}
				t.Fatalf("objcopy: %v\n%s", err, b)
			}
			if !compressedSections(t, out, mode) {
				t.Fatalf("objcopy --compress-debug-sections=%s compressed nothing", mode)
			}
			if got := buildBytes(t, out); !bytes.Equal(got, want) {
				t.Errorf("index of the %s variant differs from the uncompressed one (%d vs %d bytes)", mode, len(got), len(want))
			}
		})
	}
}

func buildBytes(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _, err := Build(fileReader(f), nil, Options{})
	if err != nil {
		t.Fatalf("Build(%s): %v", path, err)
	}
	return data
}

// compressedSections reports whether the debug sections of path are
// compressed the way mode says.
func compressedSections(t *testing.T, path, mode string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ef, err := openELF(f, fileReader(f).Size(), "test", Limits{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ef.f.Sections {
		if mode == "zlib-gnu" && strings.HasPrefix(s.Name, ".zdebug_") {
			return true
		}
		if mode != "zlib-gnu" && strings.HasPrefix(s.Name, ".debug_") && s.Flags&0x800 != 0 {
			return true
		}
	}
	return false
}

// TestSplitDebugFile: the stripped executable names its debug file, and
// the pair's build IDs agree.
func TestSplitDebugFile(t *testing.T) {
	for _, b := range compileNative(t) {
		if b.name != "c-O2-split" {
			continue
		}
		exe, err := os.Open(b.exe)
		if err != nil {
			t.Fatal(err)
		}
		defer exe.Close()
		ei, err := Inspect(exe, fileReader(exe).Size())
		if err != nil {
			t.Fatal(err)
		}
		dbg, err := os.Open(b.debug)
		if err != nil {
			t.Fatal(err)
		}
		defer dbg.Close()
		di, err := Inspect(dbg, fileReader(dbg).Size())
		if err != nil {
			t.Fatal(err)
		}
		if ei.DebugLink != filepath.Base(b.debug) || ei.DebugLinkCRC == 0 {
			t.Errorf("DebugLink = %q (crc %#x), want %q", ei.DebugLink, ei.DebugLinkCRC, filepath.Base(b.debug))
		}
		if ei.BuildID == "" || ei.BuildID != di.BuildID {
			t.Errorf("build IDs: executable %q, debug file %q", ei.BuildID, di.BuildID)
		}
		if !ei.HasCode || ei.HasDebug || di.HasCode || !di.HasDebug || !ei.PIE || ei.Arch != "x86_64" {
			t.Errorf("executable %+v, debug file %+v", ei, di)
		}
		return
	}
	t.Fatal("no split variant")
}

// TestReturnAddressesNative checks ReturnAddressAt against llvm-objdump's
// disassembly of compiled programs: for every instruction inside a
// function, the address after it is a return address exactly when the
// instruction is a call (x86-64: call; arm64: bl, blr, blraa…).
func TestReturnAddressesNative(t *testing.T) {
	objdump := testenv.Tool(t, "llvm-objdump", "apt-get install llvm")
	for _, b := range compileNative(t) {
		switch b.name {
		case "c-O2", "cpp-O2", "rust-release", "go", "go-arm64", "c-O2-split":
		default:
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			x, st := buildPair(t, b.debug, b.exe)
			if !x.HasCode() || st.ReturnAddresses == 0 {
				t.Fatalf("no return addresses recorded (HasCode %v)", x.HasCode())
			}
			out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", b.exe).Output()
			if err != nil {
				t.Fatalf("llvm-objdump: %v", err)
			}
			var checked, calls, bad int
			var prevAddr uint64
			var prevMnem string
			inFunc := false
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasSuffix(line, ">:") {
					inFunc = false // a new symbol: no pair across it
					continue
				}
				addr, mnem, ok := objdumpInstruction(line)
				if !ok {
					continue
				}
				if inFunc {
					i, ok1 := x.FunctionAt(prevAddr)
					j, ok2 := x.FunctionAt(addr - 1)
					if ok1 && ok2 && i == j {
						want := isCallMnemonic(prevMnem)
						known, isRet := x.ReturnAddressAt(addr)
						checked++
						if want {
							calls++
						}
						if !known || isRet != want {
							bad++
							if bad <= 10 {
								t.Errorf("ReturnAddressAt(%#x) = %v, %v after %q at %#x", addr, known, isRet, prevMnem, prevAddr)
							}
						}
					}
				}
				prevAddr, prevMnem, inFunc = addr, mnem, true
			}
			t.Logf("%d instruction boundaries checked, %d after calls, %d wrong", checked, calls, bad)
			if checked < 500 || calls < 20 {
				t.Errorf("too few instructions checked (%d, %d calls)", checked, calls)
			}
		})
	}
}

// objdumpInstruction parses "  1139: \tpushq\t%rbp".
func objdumpInstruction(line string) (uint64, string, bool) {
	colon := strings.IndexByte(line, ':')
	if colon < 1 || !strings.HasPrefix(line, " ") {
		return 0, "", false
	}
	addr, err := strconv.ParseUint(strings.TrimSpace(line[:colon]), 16, 64)
	if err != nil {
		return 0, "", false
	}
	fields := strings.Fields(line[colon+1:])
	if len(fields) == 0 {
		return 0, "", false
	}
	return addr, fields[0], true
}

func isCallMnemonic(m string) bool {
	switch m {
	case "call", "callq", "bl", "blr", "blraa", "blraaz", "blrab", "blrabz":
		return true
	}
	return false
}
