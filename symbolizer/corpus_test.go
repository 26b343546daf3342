package symbolizer

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// The corpus acceptance test: every variant of testdata/nativeaot is indexed
// (debug file and executable) and loaded at once, and every case's printed
// trace, in each of its forms, is symbolicated with the build detected, never
// given. Every printed frame with a line in the manifest must come back with
// that file and line, or honestly ambiguous or without line; a wrong line
// fails the test.

type corpusSet struct {
	src       *Local
	manifests []*corpus.Manifest
	byID      map[aotsym.BuildID]*corpus.Manifest
}

var (
	corpusOnce sync.Once
	corpusData *corpusSet
	corpusErr  error
)

// loadCorpus indexes every variant once per test binary.
func loadCorpus(t testing.TB) *corpusSet {
	t.Helper()
	corpusOnce.Do(func() {
		ms, err := corpus.LoadAll()
		if err != nil {
			corpusErr = err
			return
		}
		cs := &corpusSet{src: NewLocal(), manifests: ms, byID: map[aotsym.BuildID]*corpus.Manifest{}}
		for _, m := range ms {
			b, meta, err := indexFiles(m.DebugFile(), m.Executable())
			if err != nil {
				corpusErr = fmt.Errorf("%s: %w", m.Variant, err)
				return
			}
			if string(b.ID) != m.Build.BuildID {
				corpusErr = fmt.Errorf("%s: indexed build ID %s, manifest says %s", m.Variant, b.ID, m.Build.BuildID)
				return
			}
			cs.src.Add(b, meta)
			cs.byID[b.ID] = m
		}
		corpusData = cs
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpusData
}

// indexFiles indexes a debug file and its executable the way the CLI does.
func indexFiles(debugPath, exePath string) (*Build, aotsym.Build, error) {
	d, err := os.Open(debugPath)
	if err != nil {
		return nil, aotsym.Build{}, err
	}
	defer d.Close()
	e, err := os.Open(exePath)
	if err != nil {
		return nil, aotsym.Build{}, err
	}
	defer e.Close()
	res, err := Indexer{}.Build(context.Background(), fileReader{d}, fileReader{e})
	if err != nil {
		return nil, aotsym.Build{}, err
	}
	b, err := OpenBuild("", res.Data)
	if err != nil {
		return nil, aotsym.Build{}, err
	}
	meta := aotsym.Build{ID: b.ID, Arch: b.Index.Arch(), HasCode: res.HasCode, Files: []aotsym.StoredFile{
		{Kind: aotsym.FileDebug, Name: filepath.Base(debugPath)},
		{Kind: aotsym.FileExecutable, Name: filepath.Base(exePath)},
	}}
	return b, meta, nil
}

type fileReader struct{ *os.File }

func (f fileReader) Size() int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// tally counts the outcomes of one variant's printed frames.
type tally struct {
	printed       int // printed frames with a symbol
	lined         int // … with a line in the manifest and not flagged
	resolved      int // lined frames resolved to the manifest's line
	ambiguous     int // lined frames answered ambiguous (the line among the candidates)
	noLine        int // lined frames answered no_line
	other         int // lined frames with another status
	wrong         int // a line other than the manifest's
	flagged       int // line_row_before_symbol frames
	flaggedOK     int // … answered no_line with the right function
	unlined       int // frames llvm-symbolizer has no line for
	unlinedNoLine int // … answered no_line
	jitFrames     int // frames with a JIT line
	jitOurs       int // … where our line equals the JIT's
	jitLLVM       int // … where llvm-symbolizer's equals the JIT's
	jitNoLine     int // … where we answer no_line
	whyAmbiguous  map[string]int
	detectChecked int
}

// expectation is a manifest frame keyed by its printed text.
type expectation struct {
	f      *corpus.Frame
	exc    string
	symbol []string
}

func caseExpectations(c *corpus.Case) map[string][]expectation {
	out := map[string][]expectation{}
	for i := range c.Exceptions {
		e := &c.Exceptions[i]
		for j := range e.Frames {
			f := &e.Frames[j]
			if f.Printed == nil {
				continue
			}
			var syms []string
			if f.Symbol != nil {
				syms = append([]string{f.Symbol.Name}, f.Symbol.Aliases...)
			}
			key := f.PrintedText()
			out[key] = append(out[key], expectation{f: f, exc: e.Path, symbol: syms})
		}
	}
	return out
}

// caseInput is one form of a case's trace.
type caseInput struct {
	name string // "ToString", or the sample's file name
	text []byte
}

// caseInputs returns the forms of a case's trace, sorted by name:
// Exception.ToString() and the constructed CloudWatch samples.
func caseInputs(t testing.TB, m *corpus.Manifest, c *corpus.Case) []caseInput {
	in := []caseInput{{"ToString", []byte(c.ExceptionToString)}}
	for _, p := range m.Samples(c) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, caseInput{filepath.Base(p), b})
	}
	sort.Slice(in, func(i, j int) bool { return in[i].name < in[j].name })
	return in
}

func TestCorpusResolution(t *testing.T) {
	cs := loadCorpus(t)
	r := NewResolver(cs.src)
	ctx := context.Background()
	tallies := map[string]*tally{}
	inputsSeen := 0
	for _, m := range cs.manifests {
		tl := &tally{whyAmbiguous: map[string]int{}}
		tallies[m.Variant] = tl
		for ci := range m.Cases {
			c := &m.Cases[ci]
			exp := caseExpectations(c)
			for _, in := range caseInputs(t, m, c) {
				name := in.name
				inputsSeen++
				res, err := r.Symbolicate(ctx, in.text, Options{})
				if err != nil {
					t.Fatalf("%s %s %s: %v", m.Variant, c.Scenario, name, err)
				}
				checkDetection(t, cs, m, c.Scenario+" "+name, res.Trace, tl)
				primary := name == "ToString"
				for _, fr := range res.Trace.Frames {
					if fr.Kind != aotsym.FrameManaged && fr.Kind != aotsym.FrameRVA {
						continue
					}
					es := exp[fr.Input]
					if len(es) == 0 {
						t.Errorf("%s %s %s: frame %q is not in the manifest", m.Variant, c.Scenario, name, fr.Input)
						continue
					}
					judge(t, fmt.Sprintf("%s %s %s", m.Variant, c.Scenario, name), res.Trace, &fr, es, tl, primary)
				}
			}
		}
	}
	var variants []string
	for v := range tallies {
		variants = append(variants, v)
	}
	sort.Strings(variants)
	t.Logf("%d inputs: each case's Exception.ToString() and CloudWatch samples; the table counts the ToString() frames", inputsSeen)
	t.Logf("| variant | printed frames | lined, unflagged | resolved exactly | ambiguous | no_line | other | wrong | flagged → no_line | no line rows → no_line | JIT line known | aotsym: same line (no_line) | llvm-symbolizer: same line |")
	for _, v := range variants {
		tl := tallies[v]
		t.Logf("| %s | %d | %d | %d (%.1f %%) | %d | %d | %d | %d | %d of %d | %d of %d | %d | %d (%d) | %d |", v, tl.printed, tl.lined, tl.resolved, pct(tl.resolved, tl.lined),
			tl.ambiguous, tl.noLine, tl.other, tl.wrong, tl.flaggedOK, tl.flagged, tl.unlinedNoLine, tl.unlined, tl.jitFrames, tl.jitOurs, tl.jitNoLine, tl.jitLLVM)
		for why, n := range tl.whyAmbiguous {
			t.Logf("    %s ambiguous ×%d: %s", v, n, why)
		}
		if tl.lined > 0 && pct(tl.resolved, tl.lined) < 99 {
			t.Errorf("%s: %d of %d lined, unflagged frames resolved exactly (%.1f %%), under 99 %%", v, tl.resolved, tl.lined, pct(tl.resolved, tl.lined))
		}
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// addressedFrames counts the frames of a trace that name a method or an
// address: what detection can weigh.
func addressedFrames(tr *aotsym.Trace) int {
	n := 0
	for _, f := range tr.Frames {
		if f.Kind == aotsym.FrameManaged || f.Kind == aotsym.FrameRVA {
			n++
		}
	}
	return n
}

// checkDetection: every input of two or more frames must detect its own
// variant, alone or tied with builds of identical code.
func checkDetection(t *testing.T, cs *corpusSet, m *corpus.Manifest, what string, tr *aotsym.Trace, tl *tally) {
	t.Helper()
	if addressedFrames(tr) < 2 {
		return
	}
	tl.detectChecked++
	want := aotsym.BuildID(m.Build.BuildID)
	if tr.Build == nil || tr.Build.How != "detected" {
		t.Errorf("%s %s: build not detected: %+v", m.Variant, what, tr.Build)
		return
	}
	chosen := append([]aotsym.BuildID{tr.BuildID}, tr.Build.Tied...)
	found := false
	for _, id := range chosen {
		if id == want {
			found = true
		}
	}
	if !found {
		t.Errorf("%s %s: detected %s (tied %v), want %s: %s", m.Variant, what, tr.BuildID, tr.Build.Tied, want, tr.Build.Note)
		return
	}
	// A tie is only acceptable between builds whose code is identical.
	for _, id := range chosen {
		o := cs.byID[id]
		if o == nil || !sameCode(o, m) {
			t.Errorf("%s %s: tied with %s (%s), whose code differs: %s", m.Variant, what, id, o.Variant, tr.Build.Note)
		}
	}
}

// sameCode reports whether two variants shipped the same code: every
// executable section of their executables holds the same bytes.
func sameCode(a, b *corpus.Manifest) bool {
	if a == b {
		return true
	}
	ca, err1 := codeOf(a.Executable())
	cb, err2 := codeOf(b.Executable())
	if err1 != nil || err2 != nil || len(ca) != len(cb) {
		return false
	}
	for name, x := range ca {
		if !bytes.Equal(x, cb[name]) {
			return false
		}
	}
	return true
}

func codeOf(path string) (map[string][]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]byte{}
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type == elf.SHT_PROGBITS {
			b, err := s.Data()
			if err != nil {
				return nil, err
			}
			out[s.Name+"@"+strconv.FormatUint(s.Addr, 16)] = b
		}
	}
	return out, nil
}

// judge checks one resolved frame against the manifest.
func judge(t *testing.T, what string, tr *aotsym.Trace, fr *aotsym.FrameResult, es []expectation, tl *tally, primary bool) {
	t.Helper()
	e := es[0]
	f := e.f
	for _, o := range es[1:] {
		if (o.f.Expected == nil) != (f.Expected == nil) || (f.Expected != nil && (o.f.Expected.Line != f.Expected.Line || o.f.Expected.File != f.Expected.File)) || o.f.LineRowBeforeSymbol != f.LineRowBeforeSymbol {
			// The same text with other answers (a fault leaf and a call of
			// the same method at the same offset): judge by the first.
			break
		}
	}
	tied := tr.Build != nil && len(tr.Build.Tied) > 0
	sameFile := func(got, want string) bool {
		if got == want {
			return true
		}
		// Tied builds differ by PathMap; the line decides.
		return tied && path.Base(got) == path.Base(want)
	}
	rightFn := func(sym string) bool {
		for _, s := range e.symbol {
			if s == sym {
				return true
			}
		}
		return false
	}
	if primary && f.Symbol != nil {
		tl.printed++
	}
	if primary && f.JIT != nil && f.JIT.Line != nil {
		tl.jitFrames++
		if f.Expected != nil && f.Expected.Line == *f.JIT.Line {
			tl.jitLLVM++
		}
		if fr.Status == aotsym.StatusResolved && fr.Line == *f.JIT.Line {
			tl.jitOurs++
		}
		if fr.Status == aotsym.StatusNoLine {
			tl.jitNoLine++
		}
	}
	lined := f.Expected != nil && f.Expected.File != "" && f.Expected.Line > 0
	switch {
	case f.LineRowBeforeSymbol:
		if primary {
			tl.flagged++
		}
		sym := fr.Symbol
		if sym == "" {
			sym = fr.Function
		}
		if fr.Status == aotsym.StatusNoLine && (rightFn(sym) || fr.Kind == aotsym.FrameManaged && fr.Function != "") {
			if primary {
				tl.flaggedOK++
			}
			return
		}
		if fr.Status == aotsym.StatusResolved && fr.Line == f.Expected.Line && fr.File == f.Expected.File {
			t.Errorf("%s: %q repeats the previous function's line %s:%d (line_row_before_symbol): %s", what, fr.Input, fr.File, fr.Line, fr.Reason)
			if primary {
				tl.wrong++
			}
			return
		}
		t.Errorf("%s: %q is flagged line_row_before_symbol and should be no_line with its function, got %s %s:%d (%s)", what, fr.Input, fr.Status, fr.File, fr.Line, fr.Reason)
	case lined:
		if primary {
			tl.lined++
		}
		switch fr.Status {
		case aotsym.StatusResolved:
			if fr.Line == f.Expected.Line && sameFile(fr.File, f.Expected.File) {
				// The right line must come from the right function, not
				// from another candidate that happens to share it.
				sym := fr.Symbol
				if sym == "" {
					sym = fr.Function
				}
				if !rightFn(sym) && !strings.Contains(fr.Reason, "functions match") {
					t.Errorf("%s: %q resolved from %s, the manifest's function is %v", what, fr.Input, sym, e.symbol)
				}
				if primary {
					tl.resolved++
				}
				return
			}
			t.Errorf("%s: WRONG %q → %s:%d, manifest %s:%d (%s)", what, fr.Input, fr.File, fr.Line, f.Expected.File, f.Expected.Line, fr.Reason)
			if primary {
				tl.wrong++
			}
		case aotsym.StatusAmbiguous:
			found := false
			for _, c := range fr.Candidates {
				if c.Line == f.Expected.Line && sameFile(c.File, f.Expected.File) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %q is ambiguous and no candidate has the manifest's %s:%d: %+v", what, fr.Input, f.Expected.File, f.Expected.Line, fr.Candidates)
			}
			if primary {
				tl.ambiguous++
				tl.whyAmbiguous[fmt.Sprintf("%s — %s", fr.Input, fr.Reason)]++
			}
		case aotsym.StatusNoLine:
			if primary {
				tl.noLine++
			}
			t.Logf("%s: %q no_line, manifest %s:%d: %s", what, fr.Input, f.Expected.File, f.Expected.Line, fr.Reason)
		default:
			if primary {
				tl.other++
			}
			t.Errorf("%s: %q %s, manifest %s:%d: %s", what, fr.Input, fr.Status, f.Expected.File, f.Expected.Line, fr.Reason)
		}
	default:
		// No line in the manifest: we must not invent one.
		if primary {
			tl.unlined++
			if fr.Status == aotsym.StatusNoLine {
				tl.unlinedNoLine++
			}
		}
		if fr.Status == aotsym.StatusResolved {
			t.Errorf("%s: %q resolved to %s:%d where llvm-symbolizer has no line", what, fr.Input, fr.File, fr.Line)
		}
	}
}

// TestCorpusWithoutExecutables resolves the corpus with only the .dbg files
// indexed (what CI uploads when it forgets the executable): no code, so no
// return-address checks and no direct calls. Detection gets weaker and
// generic instantiations can stay ambiguous, but no answer may be wrong.
func TestCorpusWithoutExecutables(t *testing.T) {
	cs := loadCorpus(t)
	ms := cs.manifests
	src := configSource(t, cs, func(int, *corpus.Manifest) bool { return false })
	r := NewResolver(src)
	for _, m := range ms {
		var lined, resolved, ambiguous, noLine, wrong, detected, undecided, traces int
		for ci := range m.Cases {
			c := &m.Cases[ci]
			exp := caseExpectations(c)
			in := []byte(c.ExceptionToString)
			if res, err := r.Symbolicate(context.Background(), in, Options{}); err == nil && len(c.PrintedFrames()) >= 2 {
				traces++
				if res.Trace.Build.How == "undecided" {
					undecided++
					if !hasID(res.Trace.Build.Candidates, aotsym.BuildID(m.Build.BuildID)) {
						t.Errorf("%s %s: without code, undecided between builds without the right one: %s", m.Variant, c.Scenario, res.Trace.Build.Note)
					}
				}
				if res.Trace.Build.How == "detected" {
					detected++
					ok := false
					for _, id := range append([]aotsym.BuildID{res.Trace.BuildID}, res.Trace.Build.Tied...) {
						ok = ok || string(id) == m.Build.BuildID
					}
					if !ok {
						t.Errorf("%s %s: without code, detected the wrong build %s: %s", m.Variant, c.Scenario, res.Trace.BuildID, res.Trace.Build.Note)
					}
				}
			}
			res, err := r.Symbolicate(context.Background(), in, Options{BuildID: aotsym.BuildID(m.Build.BuildID)})
			if err != nil {
				t.Fatal(err)
			}
			for _, fr := range res.Trace.Frames {
				es := exp[fr.Input]
				if len(es) == 0 {
					continue
				}
				f := es[0].f
				if f.Expected == nil || f.Expected.File == "" || f.LineRowBeforeSymbol {
					if fr.Status == aotsym.StatusResolved && f.LineRowBeforeSymbol && fr.Line == f.Expected.Line {
						t.Errorf("%s: %q repeats the previous function's line", m.Variant, fr.Input)
					}
					continue
				}
				lined++
				switch fr.Status {
				case aotsym.StatusResolved:
					if fr.Line != f.Expected.Line {
						if f.FaultLeaf && strings.Contains(fr.Reason, "no executable uploaded") {
							continue // the assumption is stated, with the other line
						}
						wrong++
						t.Errorf("%s: WRONG %q → %d, want %d (%s)", m.Variant, fr.Input, fr.Line, f.Expected.Line, fr.Reason)
						continue
					}
					resolved++
				case aotsym.StatusAmbiguous:
					ambiguous++
				case aotsym.StatusNoLine:
					noLine++
				}
			}
		}
		t.Logf("| %s | %d | %d (%.1f %%) | %d | %d | %d | %d of %d (%d undecided) |", m.Variant, lined, resolved, pct(resolved, lined), ambiguous, noLine, wrong, detected, traces, undecided)
	}
}
