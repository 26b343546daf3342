package symbolizer

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/symbolizer/dotnet"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Detection acceptance: every corpus build is stored at once, in three
// configurations (every build with its executable; only the debug files;
// some builds with the executable and some without), and every case's trace
// of two or more frames, in each of its forms (Exception.ToString(), the
// CloudWatch .log line, the Lambda .error.json, the JSON .event.json), is
// symbolicated with the build detected. The answer must be the right build
// (alone, or tied with builds of identical code) or honestly undecided with
// the right build among the candidates; never another build under
// "detected", never a wrong line.

var (
	dbgOnce  sync.Once
	dbgOnly  map[string]*Build // variant → its index from the .dbg alone
	dbgErr   error
	codeSums sync.Map // executable path → digest of its executable sections
)

// loadDebugOnly indexes every variant's debug file alone, once per test
// binary.
func loadDebugOnly(t testing.TB, cs *corpusSet) map[string]*Build {
	t.Helper()
	dbgOnce.Do(func() {
		dbgOnly = map[string]*Build{}
		for _, m := range cs.manifests {
			d, err := os.Open(m.DebugFile())
			if err != nil {
				dbgErr = err
				return
			}
			res, err := Indexer{}.Build(context.Background(), fileReader{d}, nil)
			d.Close()
			if err != nil {
				dbgErr = fmt.Errorf("%s: %w", m.Variant, err)
				return
			}
			b, err := OpenBuild("", res.Data)
			if err != nil {
				dbgErr = err
				return
			}
			dbgOnly[m.Variant] = b
		}
	})
	if dbgErr != nil {
		t.Fatal(dbgErr)
	}
	return dbgOnly
}

// storeConfig is one way of storing the corpus builds.
type storeConfig struct {
	name    string
	withExe func(i int, m *corpus.Manifest) bool
}

var storeConfigs = []storeConfig{
	{"executables", func(int, *corpus.Manifest) bool { return true }},
	{"debug files only", func(int, *corpus.Manifest) bool { return false }},
	// Every other build with its executable: twins, versions and machines
	// each split between both kinds.
	{"mixed", func(i int, _ *corpus.Manifest) bool { return i%2 == 1 }},
}

// configSource stores every corpus build, each with its executable's index
// or its debug file's alone, in manifest order.
func configSource(t testing.TB, cs *corpusSet, withExe func(i int, m *corpus.Manifest) bool) *Local {
	dbg := loadDebugOnly(t, cs)
	src := NewLocal()
	for i, m := range cs.manifests {
		id := aotsym.BuildID(m.Build.BuildID)
		if withExe(i, m) {
			b, _ := cs.src.Open(context.Background(), id)
			meta, _ := cs.src.Get(context.Background(), id)
			src.Add(b, meta)
			continue
		}
		src.Add(dbg[m.Variant], aotsym.Build{Arch: dbg[m.Variant].Index.Arch(), Files: []aotsym.StoredFile{{Kind: aotsym.FileDebug, Name: m.Build.DebugFile}}})
	}
	return src
}

// detectTally counts one configuration's outcomes.
type detectTally struct {
	inputs, detected, twins, undecided, none, wrong int
	undecidedBuilds                                 int // candidates summed over undecided inputs
	// ToString() frames with a line in the manifest (not flagged):
	lined, resolved, ambiguous, noLine, faultNoted, wrongLines int
}

func TestDetectionConfigurations(t *testing.T) {
	cs := loadCorpus(t)
	tallies := make([]detectTally, len(storeConfigs))
	for k, cfg := range storeConfigs {
		t.Run(strings.ReplaceAll(cfg.name, " ", "_"), func(t *testing.T) {
			src := configSource(t, cs, cfg.withExe)
			var exe []string
			for i, m := range cs.manifests {
				if cfg.withExe(i, m) {
					exe = append(exe, m.Variant)
				}
			}
			t.Logf("%s: stored with the executable: %s", cfg.name, strings.Join(exe, ", "))
			r := NewResolver(src)
			tl := &tallies[k]
			for _, m := range cs.manifests {
				for ci := range m.Cases {
					c := &m.Cases[ci]
					exp := caseExpectations(c)
					for _, in := range caseInputs(t, m, c) {
						name := in.name
						res, err := r.Symbolicate(context.Background(), in.text, Options{})
						if err != nil {
							t.Fatalf("%s %s %s: %v", m.Variant, c.Scenario, name, err)
						}
						what := fmt.Sprintf("%s: %s %s %s", cfg.name, m.Variant, c.Scenario, name)
						if !judgeDetection(t, cs, m, what, res.Trace, tl) {
							continue
						}
						for i := range res.Trace.Frames {
							fr := &res.Trace.Frames[i]
							if fr.Kind != aotsym.FrameManaged && fr.Kind != aotsym.FrameRVA {
								continue
							}
							if es := exp[fr.Input]; len(es) > 0 {
								judgeAnswer(t, what, m, fr, es[0].f, tl, name == "ToString")
							}
						}
					}
				}
			}
			t.Logf("%s: %d inputs of ≥ 2 frames: %d detected alone, %d detected with their twins, %d undecided (%.1f builds each), %d none, %d wrong; ToString() lined frames: %d resolved of %d, %d ambiguous, %d no_line, %d fault leaves with the assumption stated, %d wrong",
				cfg.name, tl.inputs, tl.detected, tl.twins, tl.undecided, avg(tl.undecidedBuilds, tl.undecided), tl.none, tl.wrong, tl.resolved, tl.lined, tl.ambiguous, tl.noLine, tl.faultNoted, tl.wrongLines)
		})
	}
	t.Logf("| stored | inputs (≥ 2 frames) | right build detected | … with its identical-code twin | undecided (builds each) | none | wrong build | lined frames resolved (ToString) | wrong lines |")
	t.Logf("|---|---|---|---|---|---|---|---|---|")
	for k, cfg := range storeConfigs {
		tl := &tallies[k]
		t.Logf("| %s | %d | %d | %d | %d (%.1f) | %d | %d | %d of %d (%.1f %%) | %d |", cfg.name, tl.inputs, tl.detected+tl.twins, tl.twins, tl.undecided, avg(tl.undecidedBuilds, tl.undecided), tl.none, tl.wrong, tl.resolved, tl.lined, pct(tl.resolved, tl.lined), tl.wrongLines)
	}
}

func avg(sum, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// judgeDetection checks how the build of one input was chosen; it returns
// false for inputs of fewer than two frames, which it does not judge.
func judgeDetection(t *testing.T, cs *corpusSet, m *corpus.Manifest, what string, tr *aotsym.Trace, tl *detectTally) bool {
	t.Helper()
	if addressedFrames(tr) < 2 {
		return false
	}
	tl.inputs++
	want := aotsym.BuildID(m.Build.BuildID)
	b := tr.Build
	switch b.How {
	case "detected":
		chosen := append([]aotsym.BuildID{tr.BuildID}, b.Tied...)
		if !hasID(chosen, want) {
			tl.wrong++
			t.Errorf("%s: WRONG BUILD detected %s (tied %v), want %s: %s", what, tr.BuildID, b.Tied, want, b.Note)
			return true
		}
		for _, id := range chosen {
			if o := cs.byID[id]; o == nil || !sameCodeCached(t, o, m) {
				tl.wrong++
				t.Errorf("%s: tied with %s, whose code differs: %s", what, id, b.Note)
				return true
			}
		}
		if len(chosen) > 1 {
			tl.twins++
		} else {
			tl.detected++
		}
	case "undecided":
		if tr.BuildID != "" || len(b.Tied) > 0 {
			t.Errorf("%s: undecided, yet build %s (tied %v) is named", what, tr.BuildID, b.Tied)
		}
		if !hasID(b.Candidates, want) {
			tl.wrong++
			t.Errorf("%s: undecided between %v, without the right build %s: %s", what, b.Candidates, want, b.Note)
			return true
		}
		distinct := false
		for _, id := range b.Candidates {
			distinct = distinct || !sameCodeCached(t, cs.byID[id], m)
		}
		if !distinct {
			t.Errorf("%s: undecided between builds of identical code %v: they should be detected as twins", what, b.Candidates)
		}
		if !strings.Contains(b.Note, "build-id:") {
			t.Errorf("%s: the note does not say what would decide: %s", what, b.Note)
		}
		tl.undecided++
		tl.undecidedBuilds += len(b.Candidates)
	default:
		tl.none++
		t.Errorf("%s: no build chosen although the right one is stored: %+v", what, b)
	}
	return true
}

func hasID(ids []aotsym.BuildID, id aotsym.BuildID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// judgeAnswer checks one frame's answer, whichever builds it came from:
// never a line other than the manifest's, and where several builds answer
// (candidates naming their build), the right build's answer is the right one.
func judgeAnswer(t *testing.T, what string, m *corpus.Manifest, fr *aotsym.FrameResult, f *corpus.Frame, tl *detectTally, primary bool) {
	t.Helper()
	want := aotsym.BuildID(m.Build.BuildID)
	lined := f.Expected != nil && f.Expected.File != "" && f.Expected.Line > 0 && !f.LineRowBeforeSymbol
	sameLine := func(file string, line int) bool {
		return lined && line == f.Expected.Line && path.Base(file) == path.Base(f.Expected.File)
	}
	count := func(p *int) {
		if primary && lined {
			(*p)++
		}
	}
	count(&tl.lined)
	switch fr.Status {
	case aotsym.StatusResolved:
		if sameLine(fr.File, fr.Line) {
			count(&tl.resolved)
			return
		}
		if f.FaultLeaf && strings.Contains(fr.Reason, "no executable uploaded") {
			count(&tl.faultNoted) // the assumption is stated, with the other line
			return
		}
		count(&tl.wrongLines)
		t.Errorf("%s: WRONG %q → %s:%d, manifest %+v (flagged %v): %s", what, fr.Input, fr.File, fr.Line, f.Expected, f.LineRowBeforeSymbol, fr.Reason)
	case aotsym.StatusAmbiguous:
		count(&tl.ambiguous)
		var mine, any []aotsym.Location
		for _, c := range fr.Candidates {
			if c.BuildID == want {
				mine = append(mine, c)
			}
			any = append(any, c)
		}
		if len(mine) == 0 {
			mine = any
		}
		ok := false
		for _, c := range mine {
			switch {
			case lined:
				ok = ok || sameLine(c.File, c.Line) || c.Line == 0
			default:
				ok = ok || c.Line == 0 || (f.Expected != nil && !f.LineRowBeforeSymbol && c.Line == f.Expected.Line)
			}
		}
		if !ok && !(f.FaultLeaf && strings.Contains(fr.Reason, "no executable uploaded")) {
			t.Errorf("%s: %q is ambiguous and the right build's candidates %+v lack the manifest's %+v", what, fr.Input, mine, f.Expected)
		}
	case aotsym.StatusNoLine:
		count(&tl.noLine)
	default:
		if lined {
			t.Errorf("%s: %q %s, manifest %s:%d: %s", what, fr.Input, fr.Status, f.Expected.File, f.Expected.Line, fr.Reason)
		}
	}
}

// sameCodeCached is sameCode with the executables' code read once.
func sameCodeCached(t testing.TB, a, b *corpus.Manifest) bool {
	if a == b {
		return true
	}
	return codeSum(t, a.Executable()) == codeSum(t, b.Executable())
}

func codeSum(t testing.TB, exe string) [32]byte {
	if v, ok := codeSums.Load(exe); ok {
		return v.([32]byte)
	}
	code, err := codeOf(exe)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range code {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s %d\n", n, len(code[n]))
		h.Write(code[n])
	}
	var s [32]byte
	h.Sum(s[:0])
	codeSums.Store(exe, s)
	return s
}

// TestDetectMixedEvidence (a regression test): net10.0 stored with its
// executable, net8.0 and net9.0 as debug files only. A net9.0 trace fits
// every frame of net9.0; net10.0 misses some, one of them because its code
// shows the address follows no call, so net10.0 cannot have produced it,
// whatever its code confirms elsewhere (the scoring this replaced weighed
// those confirmations against plain fit: here it detected net10.0, which fits
// 4 of 7 frames; with more builds stored it answered "none"). The answer
// names net9.0, or is undecided between builds that all fit every frame;
// never "none", never net10.0.
func TestDetectMixedEvidence(t *testing.T) {
	cs := loadCorpus(t)
	n8 := variant(t, cs, "net8.0-linux-x64")
	n9 := variant(t, cs, "net9.0-linux-x64")
	n10 := variant(t, cs, "net10.0-linux-x64")
	src := configSource(t, cs, func(_ int, m *corpus.Manifest) bool { return m == n10 })
	// Only these three builds, newest first.
	only := NewLocal()
	for _, m := range []*corpus.Manifest{n10, n9, n8} {
		id := aotsym.BuildID(m.Build.BuildID)
		b, _ := src.Open(context.Background(), id)
		meta, _ := src.Get(context.Background(), id)
		only.Add(b, meta)
	}
	r := NewResolver(only)
	c := scenario(t, n9, "inner-exceptions")
	for _, in := range caseInputs(t, n9, c) {
		name := in.name
		res := symbolicate(t, r, string(in.text), Options{})
		b := res.Trace.Build
		switch b.How {
		case "detected":
			if string(res.Trace.BuildID) != n9.Build.BuildID {
				t.Errorf("%s: detected %s, want net9.0 %s: %s", name, res.Trace.BuildID, n9.Build.BuildID, b.Note)
			}
		case "undecided":
			if !hasID(b.Candidates, aotsym.BuildID(n9.Build.BuildID)) || hasID(b.Candidates, aotsym.BuildID(n10.Build.BuildID)) {
				t.Errorf("%s: undecided between %v: want net9.0 among them and not net10.0: %s", name, b.Candidates, b.Note)
			}
		default:
			t.Errorf("%s: %s: %s", name, b.How, b.Note)
		}
		if b.Score != b.Frames {
			t.Errorf("%s: the chosen builds fit %d of %d frames, net9.0 fits all", name, b.Score, b.Frames)
		}
		if b.RunnerUp != aotsym.BuildID(n10.Build.BuildID) || !strings.Contains(b.Note, "not follow a call in its code") {
			t.Errorf("%s: the note should say net10.0's code rules it out (runner-up %s): %s", name, b.RunnerUp, b.Note)
		}
		tl := &detectTally{}
		exp := caseExpectations(c)
		for i := range res.Trace.Frames {
			fr := &res.Trace.Frames[i]
			if es := exp[fr.Input]; len(es) > 0 {
				judgeAnswer(t, name, n9, fr, es[0].f, tl, true)
			}
		}
		t.Logf("%s: %s %s %v; %d of %d lined frames resolved", name, b.How, res.Trace.BuildID, b.Candidates, tl.resolved, tl.lined)
	}
}

// TestDetectUndecidedAnswer: with only the debug files of net8.0, net9.0 and
// net10.0, a trace that fits all three is undecided: no build is named, the
// note says what would decide, frames where the builds agree are resolved,
// and an ambiguous frame lists each build's answer under its build ID.
func TestDetectUndecidedAnswer(t *testing.T) {
	cs := loadCorpus(t)
	dbg := loadDebugOnly(t, cs)
	src := NewLocal()
	var ids []aotsym.BuildID
	for _, v := range []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64"} {
		src.Add(dbg[v], aotsym.Build{Files: []aotsym.StoredFile{{Kind: aotsym.FileDebug, Name: v + ".dbg"}}})
		ids = append(ids, dbg[v].ID)
	}
	r := NewResolver(src)
	n10 := variant(t, cs, "net10.0-linux-x64")
	undecided, agreed, split := 0, 0, 0
	for ci := range n10.Cases {
		c := &n10.Cases[ci]
		if len(c.PrintedFrames()) < 2 {
			continue
		}
		res := symbolicate(t, r, c.ExceptionToString, Options{})
		b := res.Trace.Build
		if b.How != "undecided" {
			continue
		}
		undecided++
		if res.Trace.BuildID != "" {
			t.Errorf("%s: undecided but build %s named", c.Scenario, res.Trace.BuildID)
		}
		for _, want := range []string{"aotsym upload --publish-dir", "build-id:", "debug files alone cannot tell them apart"} {
			if !strings.Contains(b.Note, want) {
				t.Errorf("%s: note lacks %q: %s", c.Scenario, want, b.Note)
			}
		}
		for _, fr := range res.Trace.Frames {
			switch fr.Status {
			case aotsym.StatusResolved:
				agreed++
			case aotsym.StatusAmbiguous:
				per := map[aotsym.BuildID]bool{}
				for _, l := range fr.Candidates {
					per[l.BuildID] = true
				}
				if per[""] {
					continue // ambiguous within one build
				}
				split++
				if len(per) < 2 || !strings.Contains(fr.Reason, "answer differently") {
					t.Errorf("%s: %q: ambiguous across builds, but candidates name %d builds: %s", c.Scenario, fr.Input, len(per), fr.Reason)
				}
			}
		}
	}
	if undecided == 0 || agreed == 0 || split == 0 {
		t.Errorf("undecided traces %d, frames answered alike by every build %d, frames split between builds %d: want some of each", undecided, agreed, split)
	}
	t.Logf("net10.0 traces undecided between %v: %d; frames resolved where all agree: %d; ambiguous across builds: %d", ids, undecided, agreed, split)
}

// TestDetectionSignals measures, for every printed frame below an exception's
// first, what the debug files say about the right build and about every other
// build of the same machine whose function fits the frame's offset, so that
// only signals that never rule out the right build are used, and their worth
// is known. `go test -run TestDetectionSignals -v` prints the table.
func TestDetectionSignals(t *testing.T) {
	cs := loadCorpus(t)
	dbg := loadDebugOnly(t, cs)
	type counts struct {
		frames, rowAtCall, onRow, beforeRows, afterCall, withCode int
		managed, paramsDiffer                                     int
	}
	differ := func(c *counts, cands []cand) {
		c.managed++
		for _, cd := range cands {
			if cd.match.Params != dotnet.ParamsDiffer {
				return
			}
		}
		c.paramsDiffer++
	}
	var right, wrong counts
	measure := func(c *counts, b, exe *Build, cd cand, f *aotsym.Frame) {
		c.frames++
		if instructionBefore(b, cd) {
			c.rowAtCall++
		}
		if a := b.Index.Lookup(cd.addr); !a.NoLine && a.RowAddress == cd.addr {
			c.onRow++
		}
		if a := b.Index.Lookup(cd.addr - 1); a.NoLine {
			c.beforeRows++
		}
		if known, ret := exe.Index.ReturnAddressAt(cd.addr); known {
			c.withCode++
			if ret {
				c.afterCall++
			}
		}
	}
	for _, m := range cs.manifests {
		rb := dbg[m.Variant]
		for ci := range m.Cases {
			c := &m.Cases[ci]
			doc, err := trace.Parse([]byte(c.ExceptionToString), trace.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			leaf := leaves(doc)
			exp := caseExpectations(c)
			for i := range doc.Frames {
				f := &doc.Frames[i]
				es := exp["at "+f.Text]
				if leaf[i] || len(es) == 0 || es[0].f.Symbol == nil || es[0].f.FaultLeaf {
					continue
				}
				if f.Kind != aotsym.FrameManaged && f.Kind != aotsym.FrameRVA {
					continue
				}
				rva := corpus.Hex(es[0].f.RVA)
				for _, o := range cs.manifests {
					b := dbg[o.Variant]
					if b.Index.Machine() != rb.Index.Machine() {
						continue
					}
					exe, _ := cs.src.Open(context.Background(), aotsym.BuildID(o.Build.BuildID))
					var cands []cand
					if f.Kind == aotsym.FrameManaged {
						cands, _, _ = managedCands(b, f, dotnet.NewQuery(f.Method, f.Params, f.HasParams))
					} else if cd, ok := candAt(b, b.Index.ImageBase()+f.Offset); ok {
						cands = []cand{cd}
					}
					if o == m {
						if f.Kind == aotsym.FrameManaged {
							differ(&right, cands)
						}
						for _, cd := range cands {
							if cd.addr-b.Index.ImageBase() != rva {
								continue
							}
							measure(&right, b, exe, cd, f)
							if instructionBefore(b, cd) {
								t.Errorf("%s %s: %q: the right build's address %#x is ruled out: an instruction starts one byte before it", m.Variant, c.Scenario, f.Text, cd.addr)
							}
						}
						continue
					}
					if b.tableSum() == rb.tableSum() {
						continue // a twin: the same code
					}
					if len(cands) > 0 && (b.Index.Machine() != elf.EM_AARCH64 || cands[0].addr%4 == 0) {
						measure(&wrong, b, exe, cands[0], f)
						if f.Kind == aotsym.FrameManaged {
							differ(&wrong, cands)
						}
					}
				}
			}
		}
	}
	row := func(name string, c counts) {
		t.Logf("| %s | %d | %d (%.1f %%) | %d (%.1f %%) | %d (%.1f %%) | %d of %d (%.1f %%) | %d of %d (%.1f %%) |", name, c.frames,
			c.rowAtCall, pct(c.rowAtCall, c.frames), c.onRow, pct(c.onRow, c.frames), c.beforeRows, pct(c.beforeRows, c.frames),
			c.paramsDiffer, c.managed, pct(c.paramsDiffer, c.managed), c.afterCall, c.withCode, pct(c.afterCall, c.withCode))
	}
	t.Logf("| frames below the first | addresses | a line row starts at address−1 (rules out; x86-64) | on a line row's start | address−1 before the function's first row | every method of the name has other parameter types (managed) | follows a call (the executable's code) |")
	t.Logf("|---|---|---|---|---|---|---|")
	row("right build", right)
	row("other builds (not twins) whose function fits the offset", wrong)
	if right.frames == 0 || wrong.frames == 0 {
		t.Fatal("nothing measured")
	}
}

// TestDetectionWithoutTheBuild stores every corpus build but the one that
// produced a trace (and the builds of identical code, which would be right
// to choose), each with its executable, and symbolicates the trace with the
// build detected: what a user gets who forgot to upload a release. The
// answer should be "none"; a build of the same program may still fit every
// frame (the same methods compiled alike), and then its lines must be the
// right ones when the source is the same (it is not always: net10.0's
// Program.Main in the pathmap variant differs from the plain one's, and both
// fit the frames: only a build ID tells them apart). A build contradicted by
// a frame (an offset past the method's end, an address its code cannot have
// on a stack) must never be chosen.
func TestDetectionWithoutTheBuild(t *testing.T) {
	cs := loadCorpus(t)
	var inputs, none, detected, undecided, lines, wrongLines int
	for _, m := range cs.manifests {
		src := NewLocal()
		for _, o := range cs.manifests {
			if sameCodeCached(t, o, m) {
				continue
			}
			id := aotsym.BuildID(o.Build.BuildID)
			b, _ := cs.src.Open(context.Background(), id)
			meta, _ := cs.src.Get(context.Background(), id)
			src.Add(b, meta)
		}
		r := NewResolver(src)
		for ci := range m.Cases {
			c := &m.Cases[ci]
			exp := caseExpectations(c)
			for _, in := range caseInputs(t, m, c) {
				name := in.name
				res, err := r.Symbolicate(context.Background(), in.text, Options{})
				if err != nil {
					t.Fatalf("%s %s %s: %v", m.Variant, c.Scenario, name, err)
				}
				tr := res.Trace
				if addressedFrames(tr) < 2 {
					continue
				}
				inputs++
				what := fmt.Sprintf("%s %s %s", m.Variant, c.Scenario, name)
				switch tr.Build.How {
				case "none":
					none++
					if !strings.Contains(tr.Build.Note, "upload") {
						t.Errorf("%s: the note does not say what to do: %s", what, tr.Build.Note)
					}
					continue
				case "detected":
					detected++
				case "undecided":
					undecided++
				}
				if tr.Build.Score != tr.Build.Frames {
					// On the corpus another build is chosen only where it
					// fits every frame: the same program built otherwise.
					t.Errorf("%s: %s although only %d of %d frames fit: %s", what, tr.Build.How, tr.Build.Score, tr.Build.Frames, tr.Build.Note)
				}
				for i := range tr.Frames {
					fr := &tr.Frames[i]
					es := exp[fr.Input]
					if fr.Status != aotsym.StatusResolved || len(es) == 0 {
						continue
					}
					f := es[0].f
					if f.Expected == nil || f.Expected.Line == 0 || f.LineRowBeforeSymbol {
						continue
					}
					lines++
					if fr.Line != f.Expected.Line || path.Base(fr.File) != path.Base(f.Expected.File) {
						wrongLines++
						t.Logf("%s: another build's line %q → %s:%d, manifest %s:%d (%s: %s)", what, fr.Input, fr.File, fr.Line, f.Expected.File, f.Expected.Line, tr.Build.How, tr.Build.Note)
					}
				}
			}
		}
	}
	t.Logf("without the producing build: %d inputs of ≥ 2 frames: %d none, %d detected another build, %d undecided; %d lines given, %d of them not the manifest's", inputs, none, detected, undecided, lines, wrongLines)
	// Measured: 788 of 892 none; the other 104 are traces of three to five
	// frames that fit another build of the same program in every frame.
	if none*10 < inputs*8 {
		t.Errorf("only %d of %d inputs answered none without their build", none, inputs)
	}
}

// TestDetectionOneOtherBuild stores a single build that did not produce the
// trace (every pair of corpus builds whose code differs) and symbolicates each
// case's Exception.ToString() with the build detected: the one build stored
// is not chosen merely for being the only one. It is chosen only when it fits
// every frame (the same program, the same methods compiled alike).
func TestDetectionOneOtherBuild(t *testing.T) {
	cs := loadCorpus(t)
	var inputs, none, chosen int
	for _, o := range cs.manifests {
		src := NewLocal()
		id := aotsym.BuildID(o.Build.BuildID)
		b, _ := cs.src.Open(context.Background(), id)
		meta, _ := cs.src.Get(context.Background(), id)
		src.Add(b, meta)
		r := NewResolver(src)
		for _, m := range cs.manifests {
			if sameCodeCached(t, o, m) {
				continue
			}
			for ci := range m.Cases {
				c := &m.Cases[ci]
				res, err := r.Symbolicate(context.Background(), []byte(c.ExceptionToString), Options{})
				if err != nil {
					t.Fatalf("%s %s against %s: %v", m.Variant, c.Scenario, o.Variant, err)
				}
				tr := res.Trace
				if addressedFrames(tr) < 2 {
					continue
				}
				inputs++
				if tr.Build.How == "none" {
					none++
					for _, fr := range tr.Frames {
						if fr.Status == aotsym.StatusResolved {
							t.Errorf("%s %s against %s: none, yet %q resolved", m.Variant, c.Scenario, o.Variant, fr.Input)
						}
					}
					continue
				}
				chosen++
				if tr.Build.Score != tr.Build.Frames {
					t.Errorf("%s %s: %s, the only build stored, %s although only %d of %d frames fit: %s", m.Variant, c.Scenario, o.Variant, tr.Build.How, tr.Build.Score, tr.Build.Frames, tr.Build.Note)
				}
			}
		}
	}
	t.Logf("one other build stored: %d traces of ≥ 2 frames, %d none, %d answered by a build that fits every frame", inputs, none, chosen)
	if none*10 < inputs*8 {
		t.Errorf("only %d of %d traces answered none against another single build", none, inputs)
	}
}
