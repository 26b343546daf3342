package elfindex

import (
	"errors"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
)

// corpusIndex builds (once per test binary) the index of a variant from its
// .dbg and executable.
var corpusIndexes sync.Map

type builtIndex struct {
	x     *Index
	stats Stats
	err   error
}

func corpusIndex(t testing.TB, m *corpus.Manifest, withCode bool) (*Index, Stats) {
	t.Helper()
	key := m.Variant
	if withCode {
		key += "+code"
	}
	v, _ := corpusIndexes.LoadOrStore(key, &sync.Once{})
	once := v.(*sync.Once)
	once.Do(func() {
		var bi builtIndex
		defer func() { corpusIndexes.Store(key+"/result", &bi) }()
		dbg, err := os.Open(m.DebugFile())
		if err != nil {
			bi.err = err
			return
		}
		defer dbg.Close()
		var exe SizedReaderAt
		if withCode {
			f, err := os.Open(m.Executable())
			if err != nil {
				bi.err = err
				return
			}
			defer f.Close()
			exe = fileReader(f)
		}
		data, st, err := Build(fileReader(dbg), exe, Options{})
		if err != nil {
			bi.err = err
			return
		}
		bi.stats = st
		bi.x, bi.err = Open(data)
	})
	r, _ := corpusIndexes.Load(key + "/result")
	bi := r.(*builtIndex)
	if bi.err != nil {
		t.Fatalf("%s: %v", key, bi.err)
	}
	return bi.x, bi.stats
}

// fileReader adapts an *os.File to SizedReaderAt.
func fileReader(f *os.File) SizedReaderAt {
	fi, err := f.Stat()
	if err != nil {
		panic(err)
	}
	return sizedFile{f, fi.Size()}
}

type sizedFile struct {
	*os.File
	size int64
}

func (s sizedFile) Size() int64 { return s.size }

// TestCorpusFrames resolves every frame of every variant by its lookup
// address and compares with the manifest: llvm-symbolizer's function, file
// and line, except where the row in force starts before the function
// (line_row_before_symbol), where the index must say "no line" and still
// name the right function. With the executable's code, ReturnAddressAt must
// agree with the disassembly (return_address) for every frame.
func TestCorpusFrames(t *testing.T) {
	manifests, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifests) == 0 {
		t.Fatal("no corpus variants found")
	}
	for _, m := range manifests {
		t.Run(m.Variant, func(t *testing.T) {
			x, st := corpusIndex(t, m, true)
			if got, want := string(x.BuildID()), m.Build.BuildID; got != want {
				t.Errorf("BuildID = %s, want %s", got, want)
			}
			if got, want := x.Arch(), m.Build.Machine; got != want {
				t.Errorf("Arch = %s, want %s", got, want)
			}
			if !x.HasCode() {
				t.Errorf("HasCode = false with the executable given")
			}
			var frames, rowBefore, retChecked int
			for _, c := range m.Cases {
				for _, e := range c.Exceptions {
					for fi := range e.Frames {
						f := &e.Frames[fi]
						frames++
						where := c.Scenario + " " + e.Path + " #" + itoa(f.Index)
						addr := corpus.Hex(f.LookupAddress)
						a := x.Lookup(addr)
						if a.Function < 0 || len(a.Frames) == 0 {
							t.Errorf("%s: no function at %#x", where, addr)
							continue
						}
						fn := x.Function(a.Function)
						if f.Symbol != nil {
							if fn.Start != corpus.Hex(f.Symbol.Start) {
								t.Errorf("%s: function starts at %#x, symbol %s at %s", where, fn.Start, f.Symbol.Name, f.Symbol.Start)
							}
							if fn.Name != f.Symbol.Name {
								t.Errorf("%s: Name = %q, want the most qualified symbol %q", where, fn.Name, f.Symbol.Name)
							}
							for _, al := range f.Symbol.Aliases {
								if !slices.Contains(fn.Aliases, al) {
									t.Errorf("%s: alias %q missing from %q", where, al, fn.Aliases)
								}
							}
						}
						outer := a.Frames[len(a.Frames)-1]
						if got := len(a.Frames) - 1; got != f.ExpectedInlined {
							t.Errorf("%s: %d inlined frames, llvm-symbolizer %d", where, got, f.ExpectedInlined)
						}
						if outer.FunctionName != f.Expected.Function {
							t.Errorf("%s: function %q, want %q", where, outer.FunctionName, f.Expected.Function)
						}
						inner := a.Frames[0]
						if f.LineRowBeforeSymbol {
							rowBefore++
							// llvm-symbolizer answers with the previous
							// function's row here; the index must not.
							if !a.NoLine || inner.File != "" || inner.Line != 0 {
								t.Errorf("%s: row before the function leaked: %s:%d (NoLine=%v); llvm-symbolizer's %s:%d belongs to the previous function",
									where, inner.File, inner.Line, a.NoLine, f.Expected.File, f.Expected.Line)
							}
						} else if f.Expected.File == "" && f.Expected.Line == 0 {
							// llvm-symbolizer has no line either.
							if !a.NoLine {
								t.Errorf("%s at %#x: %s:%d, llvm-symbolizer has no line", where, addr, inner.File, inner.Line)
							}
						} else if a.NoLine || inner.File != f.Expected.File || inner.Line != f.Expected.Line || inner.Column != f.Expected.Column {
							t.Errorf("%s at %#x: %s:%d:%d (NoLine=%v), want %s:%d:%d", where, addr, inner.File, inner.Line, inner.Column, a.NoLine,
								f.Expected.File, f.Expected.Line, f.Expected.Column)
						} else if a.RowAddress != corpus.Hex(f.LineRowAddress) {
							t.Errorf("%s: row starts at %#x, manifest %s", where, a.RowAddress, f.LineRowAddress)
						}
						known, isRet := x.ReturnAddressAt(corpus.Hex(f.RVA))
						if !known || isRet != f.ReturnAddress {
							t.Errorf("%s: ReturnAddressAt(%s) = %v, %v; disassembly says return address %v (fault leaf %v)",
								where, f.RVA, known, isRet, f.ReturnAddress, f.FaultLeaf)
						}
						retChecked++
					}
				}
			}
			if frames != m.FramesTotal {
				t.Errorf("checked %d frames, manifest has %d", frames, m.FramesTotal)
			}
			t.Logf("%d frames (%d with the row before the function), %d return-address checks; index %d bytes, %d functions, %d rows, %d return addresses",
				frames, rowBefore, retChecked, st.Bytes, st.Functions, st.LineRows, st.ReturnAddresses)
		})
	}
}

// TestCorpusWithoutCode: from the .dbg alone, return addresses are unknown
// and lookups are the same.
func TestCorpusWithoutCode(t *testing.T) {
	m, err := corpus.Load("net10.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := corpusIndex(t, m, false)
	withCode, _ := corpusIndex(t, m, true)
	if x.HasCode() {
		t.Error("HasCode = true without the executable")
	}
	for _, c := range m.Cases {
		for _, f := range c.PrintedFrames() {
			if known, _ := x.ReturnAddressAt(corpus.Hex(f.RVA)); known {
				t.Fatalf("ReturnAddressAt known without code")
			}
			addr := corpus.Hex(f.LookupAddress)
			if a, b := x.Lookup(addr), withCode.Lookup(addr); !slices.Equal(a.Frames, b.Frames) {
				t.Errorf("%#x: %+v without code, %+v with", addr, a.Frames, b.Frames)
			}
		}
	}
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i < 0 {
		b = append(b, '-')
		i = -i
	}
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

var _ = errors.Is
