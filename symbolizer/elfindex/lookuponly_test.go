package elfindex

import (
	"os"
	"slices"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
)

// TestLookupOnlySameAnswers: an index built with Options.LookupOnly answers
// every lookup exactly as the full index of the same file (at every row, at
// the start, middle and end of every function, and at random code
// addresses), and its functions differ only in what LookupOnly leaves out.
// Files: every corpus variant and the compiled C, C++, Rust and Go programs
// (C++ has classes and parameters, Rust and Go inlined frames).
func TestLookupOnlySameAnswers(t *testing.T) {
	type file struct{ name, path string }
	var files []file
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		files = append(files, file{m.Variant, m.DebugFile()})
	}
	for _, b := range compileNative(t) {
		files = append(files, file{b.name, b.debug})
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			full, lean := buildOpts(t, f.path, Options{}), buildOpts(t, f.path, Options{LookupOnly: true})
			if full.LookupOnly() || !lean.LookupOnly() {
				t.Fatalf("LookupOnly() = %v for the full index, %v for the lookup-only one", full.LookupOnly(), lean.LookupOnly())
			}
			if full.NumFunctions() != lean.NumFunctions() || full.LineRows() != lean.LineRows() || full.InlineNodes() != lean.InlineNodes() {
				t.Fatalf("%d functions, %d rows, %d inline nodes; lookup-only %d, %d, %d", full.NumFunctions(), full.LineRows(),
					full.InlineNodes(), lean.NumFunctions(), lean.LineRows(), lean.InlineNodes())
			}
			var addrs []uint64
			withParams := 0
			for i := 0; i < full.NumFunctions(); i++ {
				a, b := full.Function(i), lean.Function(i)
				if len(a.Params) > 0 || a.Class != "" {
					withParams++
				}
				if len(b.Params) > 0 || len(b.ParamNames) > 0 || b.HasThis || b.Class != "" {
					t.Errorf("function %d: lookup-only index has parameters or a class: %+v", i, b)
				}
				a.Params, a.ParamNames, a.HasThis, a.Class = nil, nil, false, ""
				if !functionsEqual(a, b) {
					t.Errorf("function %d:\n full %+v\n lean %+v", i, a, b)
				}
				addrs = append(addrs, a.Start, (a.Start+a.End)/2, a.End-1, a.End)
				for _, r := range rowStarts(full, i) {
					addrs = append(addrs, r, r+1)
				}
			}
			addrs = append(addrs, lookupAddresses(full, 2000)...)
			for _, a := range addrs {
				x, y := full.Lookup(a), lean.Lookup(a)
				if x.Function != y.Function || x.NoLine != y.NoLine || x.RowAddress != y.RowAddress || !slices.Equal(x.Frames, y.Frames) {
					t.Fatalf("%#x: full %+v\nlookup-only %+v", a, x, y)
				}
				k1, r1 := full.ReturnAddressAt(a)
				k2, r2 := lean.ReturnAddressAt(a)
				if k1 != k2 || r1 != r2 {
					t.Fatalf("ReturnAddressAt(%#x) = %v %v, lookup-only %v %v", a, k1, r1, k2, r2)
				}
			}
			t.Logf("%d functions (%d with parameters or a class in the full index), %d addresses compared; %d vs %d bytes",
				full.NumFunctions(), withParams, len(addrs), len(full.Bytes()), len(lean.Bytes()))
		})
	}
}

func buildOpts(t *testing.T, path string, opts Options) *Index {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _, err := Build(fileReader(f), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	x, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func functionsEqual(a, b Function) bool {
	return a.Index == b.Index && a.Start == b.Start && a.End == b.End && a.Parent == b.Parent && a.Name == b.Name &&
		slices.Equal(a.Aliases, b.Aliases) && a.Symbol == b.Symbol && a.LinkageName == b.LinkageName && a.ShortName == b.ShortName &&
		slices.Equal(a.Params, b.Params) && slices.Equal(a.ParamNames, b.ParamNames) && a.HasThis == b.HasThis && a.Class == b.Class &&
		a.DeclFile == b.DeclFile && a.DeclLine == b.DeclLine && a.HasDWARF == b.HasDWARF && a.HasLines == b.HasLines && a.HasCode == b.HasCode
}

// rowStarts returns where function i's rows start.
func rowStarts(x *Index, i int) []uint64 {
	f := x.decodeFunc(i)
	d := dec{b: f.rows}
	addr := x.start(i)
	var out []uint64
	for d.p < len(d.b) && !d.bad {
		h := d.u()
		addr += d.u()
		if h&1 != 0 {
			d.u()
		}
		if h&2 != 0 {
			d.u()
		}
		if h&4 != 0 {
			d.u()
		}
		out = append(out, addr)
	}
	return out
}

// TestNames: Names(i) is exactly the naming fields of Function(i), for
// every function of every corpus variant and of the C++ programs (classes,
// aliases, functions without symbols).
func TestNames(t *testing.T) {
	var paths []string
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		paths = append(paths, m.DebugFile())
	}
	for _, b := range compileNative(t) {
		if b.name == "cpp-O0" || b.name == "cpp-O2" || b.name == "rust-release" {
			paths = append(paths, b.debug)
		}
	}
	for _, p := range paths {
		x := buildOpts(t, p, Options{})
		withAliases, withClass := 0, 0
		for i := 0; i < x.NumFunctions(); i++ {
			f, n := x.Function(i), x.Names(i)
			want := Names{f.Name, f.Symbol, f.LinkageName, f.ShortName, f.Class, f.Aliases}
			if n.Name != want.Name || n.Symbol != want.Symbol || n.LinkageName != want.LinkageName ||
				n.ShortName != want.ShortName || n.Class != want.Class || !slices.Equal(n.Aliases, want.Aliases) {
				t.Fatalf("%s: function %d: Names %+v, Function %+v", p, i, n, want)
			}
			if len(n.Aliases) > 0 {
				withAliases++
			}
			if n.Class != "" {
				withClass++
			}
		}
		if x.Names(-1).Name != "" || x.Names(x.NumFunctions()).Name != "" {
			t.Errorf("%s: Names out of range is not empty", p)
		}
		t.Logf("%s: %d functions, %d with aliases, %d with a class", p, x.NumFunctions(), withAliases, withClass)
	}
}
