package symbolizer

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
)

func variant(t testing.TB, cs *corpusSet, name string) *corpus.Manifest {
	t.Helper()
	for _, m := range cs.manifests {
		if m.Variant == name {
			return m
		}
	}
	t.Fatalf("no variant %s", name)
	return nil
}

func scenario(t testing.TB, m *corpus.Manifest, name string) *corpus.Case {
	t.Helper()
	for i := range m.Cases {
		if m.Cases[i].Scenario == name {
			return &m.Cases[i]
		}
	}
	t.Fatalf("%s has no scenario %s", m.Variant, name)
	return nil
}

// indexBytes returns the index bytes of every corpus build.
func indexBytes(t testing.TB, cs *corpusSet) map[aotsym.BuildID][]byte {
	out := map[aotsym.BuildID][]byte{}
	for id := range cs.byID {
		b, err := cs.src.Open(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = b.Index.Bytes()
	}
	return out
}

func TestCacheLRUWithinBudget(t *testing.T) {
	cs := loadCorpus(t)
	data := indexBytes(t, cs)
	var loads atomic.Int64
	load := func(ctx context.Context, id aotsym.BuildID) ([]byte, error) {
		loads.Add(1)
		b, ok := data[id]
		if !ok {
			return nil, aotsym.Errorf(aotsym.ENOTFOUND, "no build %s", id)
		}
		return b, nil
	}
	ids := []aotsym.BuildID{
		aotsym.BuildID(variant(t, cs, "net10.0-linux-x64").Build.BuildID),
		aotsym.BuildID(variant(t, cs, "net9.0-linux-x64").Build.BuildID),
		aotsym.BuildID(variant(t, cs, "net8.0-linux-x64").Build.BuildID),
	}
	ctx := context.Background()
	b0, err := OpenBuild(ids[0], data[ids[0]])
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := OpenBuild(ids[1], data[ids[1]])
	b2, _ := OpenBuild(ids[2], data[ids[2]])
	// Room for the first and either other build, not all three.
	budget := b0.Size() + max(b1.Size(), b2.Size())
	c := NewCache(budget, load)
	for _, id := range ids[:2] {
		if _, err := c.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Get(ctx, ids[0]); err != nil { // ids[0] is now the most recent
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if !c.Cached(ids[0]) || c.Cached(ids[1]) || !c.Cached(ids[2]) {
		t.Errorf("after using 0, 1, 0, 2 the cache should hold 0 and 2: %v %v %v", c.Cached(ids[0]), c.Cached(ids[1]), c.Cached(ids[2]))
	}
	st := c.Stats()
	if st.Bytes > budget || st.Evictions != 1 || st.Hits != 1 || st.Misses != 3 || loads.Load() != 3 {
		t.Errorf("stats %+v, loads %d", st, loads.Load())
	}
	// A build over the whole budget is opened but not kept.
	small := NewCache(1, load)
	b, err := small.Get(ctx, ids[0])
	if err != nil || b == nil || small.Cached(ids[0]) || small.Stats().Bytes != 0 {
		t.Errorf("over-budget build: %v, cached %v, %+v", err, small.Cached(ids[0]), small.Stats())
	}
	// A failed load is an error for every caller and is not cached.
	if _, err := c.Get(ctx, "00112233445566778899"); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("missing build: %v", err)
	}
	c.Remove(ids[2])
	if c.Cached(ids[2]) {
		t.Error("Remove kept the build")
	}
}

func TestCacheConcurrentMissesLoadOnce(t *testing.T) {
	cs := loadCorpus(t)
	data := indexBytes(t, cs)
	id := aotsym.BuildID(variant(t, cs, "net10.0-linux-x64").Build.BuildID)
	var loads atomic.Int64
	release := make(chan struct{})
	c := NewCache(0, func(ctx context.Context, id aotsym.BuildID) ([]byte, error) {
		loads.Add(1)
		<-release
		return data[id], nil
	})
	var wg sync.WaitGroup
	builds := make([]*Build, 16)
	for i := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.Get(context.Background(), id)
			if err != nil {
				t.Error(err)
			}
			builds[i] = b
		}()
	}
	// A caller that gives up does not stop the load for the others.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled caller: %v", err)
	}
	close(release)
	wg.Wait()
	if loads.Load() != 1 {
		t.Errorf("%d loads for concurrent misses of one build, want 1", loads.Load())
	}
	for _, b := range builds {
		if b != builds[0] || b == nil {
			t.Fatal("callers got different builds")
		}
	}
}

func symbolicate(t *testing.T, r *Resolver, in string, opts Options) *Result {
	t.Helper()
	res, err := r.Symbolicate(context.Background(), []byte(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDetectOneFrame: one frame alone (a leaf, so no return-address check)
// is detected only when no other build fits it; otherwise it is undecided
// between the builds it fits, and answered where they all agree. Never a
// wrong build, never a wrong line.
func TestDetectOneFrame(t *testing.T) {
	cs := loadCorpus(t)
	r := NewResolver(cs.src)
	undecided, picked, answered := 0, 0, 0
	tl := &detectTally{}
	for _, m := range cs.manifests {
		for _, c := range m.Cases {
			frames := c.PrintedFrames()
			if len(frames) == 0 {
				continue
			}
			f := frames[len(frames)-1] // the outermost frame, Main's in most
			res := symbolicate(t, r, *f.Printed, Options{})
			b := res.Trace.Build
			fr := &res.Trace.Frames[0]
			switch b.How {
			case "undecided":
				undecided++
				if !hasID(b.Candidates, aotsym.BuildID(m.Build.BuildID)) || res.Trace.BuildID != "" {
					t.Errorf("%s %s: one frame undecided between %v (named %q), without the right build: %s", m.Variant, c.Scenario, b.Candidates, res.Trace.BuildID, b.Note)
				}
				if fr.Status == aotsym.StatusResolved {
					answered++
				}
			case "detected":
				picked++
				if !hasID(append([]aotsym.BuildID{res.Trace.BuildID}, b.Tied...), aotsym.BuildID(m.Build.BuildID)) {
					t.Errorf("%s %s: one frame %q picked %s: %s", m.Variant, c.Scenario, *f.Printed, res.Trace.BuildID, b.Note)
				}
			default:
				t.Errorf("%s %s: %s: %s", m.Variant, c.Scenario, b.How, b.Note)
			}
			judgeAnswer(t, m.Variant+" "+c.Scenario, m, fr, f, tl, true)
		}
	}
	if undecided == 0 {
		t.Error("no one-frame input was undecided: one frame cannot tell most builds apart")
	}
	t.Logf("one-frame inputs: %d detected (all right), %d undecided (%d of them resolved, every candidate build agreeing)", picked, undecided, answered)
}

// TestDetectTwins: net10.0-linux-x64 and its DWARF 5 twin have identical
// code; a trace of either is reported as a tie, answered with the first
// build's file paths, and the answer says the files differ.
func TestDetectTwins(t *testing.T) {
	cs := loadCorpus(t)
	r := NewResolver(cs.src)
	x64 := variant(t, cs, "net10.0-linux-x64")
	dw5 := variant(t, cs, "net10.0-linux-x64-dwarf5-pathmap")
	res := symbolicate(t, r, scenario(t, dw5, "overloads").ExceptionToString, Options{})
	tr := res.Trace
	got := map[string]bool{string(tr.BuildID): true}
	for _, id := range tr.Build.Tied {
		got[string(id)] = true
	}
	if len(got) != 2 || !got[x64.Build.BuildID] || !got[dw5.Build.BuildID] {
		t.Fatalf("want the twins tied, got %s tied %v: %s", tr.BuildID, tr.Build.Tied, tr.Build.Note)
	}
	if tr.Build.How != "detected" || !strings.Contains(tr.Build.Note, "the same functions at the same addresses") {
		t.Errorf("note does not report the tie: %s", tr.Build.Note)
	}
	for _, f := range tr.Frames {
		if f.Status != aotsym.StatusResolved {
			t.Errorf("%q: %s %s", f.Input, f.Status, f.Reason)
			continue
		}
		if strings.HasPrefix(f.File, "/src/aotsample/") && !strings.Contains(f.Reason, "/_/src/") {
			t.Errorf("%q: the twins' paths differ (PathMap) but the reason does not say so: %q", f.Input, f.Reason)
		}
	}
}

func TestNamedAndGivenBuilds(t *testing.T) {
	cs := loadCorpus(t)
	r := NewResolver(cs.src)
	n8 := variant(t, cs, "net8.0-linux-x64")
	n10 := variant(t, cs, "net10.0-linux-x64")
	in := scenario(t, n10, "overloads").ExceptionToString

	// A build-id: line is honoured, even when the frames fit another build
	// better: the trace says where it comes from.
	res := symbolicate(t, r, "build-id: "+n8.Build.BuildID+"\n"+in, Options{})
	if res.Trace.Build.How != "named" || string(res.Trace.BuildID) != n8.Build.BuildID {
		t.Errorf("named: %s %+v", res.Trace.BuildID, res.Trace.Build)
	}
	if !strings.Contains(res.Trace.Build.Note, "may come from another build") {
		t.Errorf("named build that does not fit: the note should warn: %s", res.Trace.Build.Note)
	}
	// A named build that is not stored: nothing is guessed.
	res = symbolicate(t, r, "build-id: 00112233445566778899aabbccddeeff00112233\n"+in, Options{})
	if res.Trace.Build.How != "none" || res.Trace.BuildID != "" {
		t.Errorf("unstored named build: %s %+v", res.Trace.BuildID, res.Trace.Build)
	}
	for _, f := range res.Trace.Frames {
		if f.Status != aotsym.StatusUnknownBuild || !strings.Contains(f.Reason, "not stored") {
			t.Errorf("%q: %s %s", f.Input, f.Status, f.Reason)
		}
	}
	// A given build that does not exist is an error, not an answer.
	_, err := r.Symbolicate(context.Background(), []byte(in), Options{BuildID: "00112233445566778899aabbccddeeff00112233"})
	if aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("missing given build: %v", err)
	}
	// Given: used as it is.
	res = symbolicate(t, r, in, Options{BuildID: aotsym.BuildID(n10.Build.BuildID)})
	if res.Trace.Build.How != "given" || res.Trace.Summary[aotsym.StatusResolved] != len(res.Trace.Frames) {
		t.Errorf("given: %+v %v", res.Trace.Build, res.Trace.Summary)
	}
}

func TestTagsAndBoundedDetection(t *testing.T) {
	cs := loadCorpus(t)
	n9 := variant(t, cs, "net9.0-linux-x64")
	src := NewLocal()
	for _, m := range cs.manifests {
		b, _ := cs.src.Open(context.Background(), aotsym.BuildID(m.Build.BuildID))
		meta, _ := cs.src.Get(context.Background(), b.ID)
		meta.Tags = map[string]string{"tfm": strings.SplitN(m.Variant, "-", 2)[0]}
		src.Add(b, meta)
	}
	r := NewResolver(src)
	in := scenario(t, n9, "throw-helper").ExceptionToString
	res := symbolicate(t, r, in, Options{Tags: map[string]string{"tfm": "net9.0"}})
	if res.Trace.Build.How != "tags" || string(res.Trace.BuildID) != n9.Build.BuildID {
		t.Errorf("tags: %s %+v", res.Trace.BuildID, res.Trace.Build)
	}
	if _, err := r.Symbolicate(context.Background(), []byte(in), Options{Tags: map[string]string{"tfm": "net7.0"}}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("no build with the tags: %v", err)
	}
	// Detection considers at most MaxCandidates builds (the first listed):
	// net9.0 is the sixth, so with five it is neither chosen nor a candidate.
	order, _ := src.List(context.Background(), 0)
	pos := -1
	for i, b := range order {
		if string(b.ID) == n9.Build.BuildID {
			pos = i
		}
	}
	res = symbolicate(t, r, in, Options{MaxCandidates: pos})
	if string(res.Trace.BuildID) == n9.Build.BuildID || hasID(res.Trace.Build.Candidates, aotsym.BuildID(n9.Build.BuildID)) {
		t.Errorf("detection looked past MaxCandidates=%d", pos)
	}
	res = symbolicate(t, r, in, Options{MaxCandidates: pos + 1})
	if string(res.Trace.BuildID) != n9.Build.BuildID {
		t.Errorf("with net9.0 among the candidates: %s %+v", res.Trace.BuildID, res.Trace.Build)
	}
}

// TestWithoutExecutable: only the .dbg, so the code cannot tell return
// addresses from faulting instructions. Frames are taken for return
// addresses; a hardware fault's leaf frame, where that matters, says so.
func TestWithoutExecutable(t *testing.T) {
	m, err := corpus.Load("net10.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(m.DebugFile())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := Indexer{}.Build(context.Background(), fileReader{d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.HasCode {
		t.Fatal("a .dbg has no code")
	}
	b, err := OpenBuild("", res.Data)
	if err != nil {
		t.Fatal(err)
	}
	src := NewLocal()
	src.Add(b, aotsym.Build{Files: []aotsym.StoredFile{{Kind: aotsym.FileDebug, Name: "app.dbg"}}})
	r := NewResolver(src)
	noted := 0
	for _, c := range m.Cases {
		exp := caseExpectations(&c)
		out := symbolicate(t, r, c.ExceptionToString, Options{})
		for _, fr := range out.Trace.Frames {
			es := exp[fr.Input]
			if len(es) == 0 || es[0].f.Expected == nil || es[0].f.LineRowBeforeSymbol {
				continue
			}
			f := es[0].f
			if strings.Contains(fr.Reason, "no executable uploaded") {
				noted++
				if !f.FaultLeaf {
					t.Errorf("%s: %q notes the fault assumption but is not a fault leaf", c.Scenario, fr.Input)
				}
				continue
			}
			if f.Expected.File != "" && fr.Status == aotsym.StatusResolved && fr.Line != f.Expected.Line {
				t.Errorf("%s: %q → %d, want %d, and no assumption noted: %s", c.Scenario, fr.Input, fr.Line, f.Expected.Line, fr.Reason)
			}
		}
	}
	t.Logf("%d fault leaves say that their line rests on an assumption", noted)

	// One frame alone is a leaf: it may be a faulting instruction. Where
	// the line at the address differs from the line at address−1, the
	// answer (taken as a return address) says what the other line would be.
	noted = 0
	for _, c := range m.Cases {
		for _, f := range c.PrintedFrames() {
			if f.Expected == nil || f.Expected.File == "" || f.LineRowBeforeSymbol || f.FaultLeaf {
				continue
			}
			out := symbolicate(t, r, *f.Printed, Options{})
			fr := out.Trace.Frames[0]
			if fr.Status == aotsym.StatusResolved && fr.Line != f.Expected.Line {
				t.Errorf("%s: %q alone → %d, want %d (a return address)", c.Scenario, fr.Input, fr.Line, f.Expected.Line)
			}
			if strings.Contains(fr.Reason, "no executable uploaded") {
				noted++
				if !strings.Contains(fr.Reason, "if it was a hardware fault") {
					t.Errorf("%q: %s", fr.Input, fr.Reason)
				}
			}
		}
	}
	if noted == 0 {
		t.Error("no single frame noted the return-address assumption")
	}
	t.Logf("%d single frames say that their line rests on an assumption", noted)
}

func TestResolveFrame(t *testing.T) {
	cs := loadCorpus(t)
	r := NewResolver(cs.src)
	m := variant(t, cs, "net10.0-linux-arm64")
	c := scenario(t, m, "overloads")
	f := c.PrintedFrames()[0]
	fr, err := r.ResolveFrame(context.Background(), strings.TrimPrefix(f.PrintedText(), "at "), Options{BuildID: aotsym.BuildID(m.Build.BuildID)})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Status != aotsym.StatusResolved || fr.Line != f.Expected.Line || string(fr.BuildID) != m.Build.BuildID {
		t.Errorf("%q: %+v", f.PrintedText(), fr)
	}
	if _, err := r.ResolveFrame(context.Background(), "two\nlines", Options{}); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Errorf("two lines: %v", err)
	}
	if _, err := r.ResolveFrame(context.Background(), "hello world", Options{}); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Errorf("not a frame: %v", err)
	}
}

// TestOpenBuildWithoutExtensions: an index written without this package's
// extensions (another program, an older release) still resolves: the name
// table is built from the function table, and frames are only not linked.
func TestOpenBuildWithoutExtensions(t *testing.T) {
	m, err := corpus.Load("net10.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := os.Open(m.DebugFile())
	defer d.Close()
	e, _ := os.Open(m.Executable())
	defer e.Close()
	data, _, err := elfindex.Build(fileReader{d}, fileReader{e}, elfindex.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenBuild(aotsym.BuildID(m.Build.BuildID), data)
	if err != nil {
		t.Fatal(err)
	}
	if b.calls != nil || b.Names == nil || b.Size() <= int64(len(data)) {
		t.Fatalf("calls %v, names %v, size %d of %d", b.calls != nil, b.Names != nil, b.Size(), len(data))
	}
	src := NewLocal()
	src.Add(b, aotsym.Build{})
	c := scenario(t, m, "overloads")
	res := symbolicate(t, NewResolver(src), c.ExceptionToString, Options{BuildID: b.ID})
	if res.Trace.Summary[aotsym.StatusResolved] != len(c.PrintedFrames()) {
		t.Errorf("summary %v", res.Trace.Summary)
	}
	// A damaged index is an error that says to rebuild it.
	if _, err := OpenBuild(b.ID, data[:len(data)/2]); err == nil || !strings.Contains(aotsym.ErrorMessage(err), "rebuild") {
		t.Errorf("damaged index: %v", err)
	}
}
