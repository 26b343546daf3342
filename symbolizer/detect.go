package symbolizer

import (
	"context"
	"debug/elf"
	"fmt"
	"sort"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Build detection. When neither the caller nor the input names the build, the
// trace's frames are scored against candidate builds. Per frame, a build gets
//
//   - 1 point when the frame fits: it names an existing method (managed), a
//     function holds its RVA (rva, or an offset in the build's module) or its
//     symbol exists (native); its offset lies inside that function; and its
//     address can be what a stack holds there: on arm64 4-byte aligned, and
//     below the leaf frame just after a call instruction (known when the
//     build's executable was indexed). A managed frame does not fit a build
//     that cannot print method names (published with StackTraceSupport=false:
//     it lacks the runtime's method name formatter) when another build can;
//   - 1 more when the code confirms the address follows a call;
//   - 1 more when the frame's caller (the next frame, same exception, no
//     `---` line between) calls it with a direct call, and 2 less when the
//     caller's instruction there is a direct call to another function (the
//     right build does that only around a hidden frame, a tail call or a
//     rethrow; a wrong build whenever its code at that offset calls
//     something else).
//
// Repeated frames (recursion) and repeated pairs count once.
//
// The build with most points is chosen only when it clearly wins: its lead
// over every other build is at least Margin(frames) points. Builds that score
// exactly alike (the same program with other DWARF settings, whose code is
// identical) are reported as tied and answered together: a frame is resolved
// when they agree on its line.
//
// The work is bounded: at most MaxCandidates builds are considered (those a
// `build-id:` line names, else the newest), each costing one index load
// (through the Source's cache) and a few name-table lookups per frame; a cheap
// prefilter (up to 8 distinct frames' names) drops builds that name none of
// them before the full scoring.

// DefaultMaxCandidates is how many stored builds detection considers, newest
// first, when Options.MaxCandidates is not set.
const DefaultMaxCandidates = 32

// prefilterFrames is how many distinct frames the prefilter tries.
const prefilterFrames = 8

// Margin is the lead in points by which the best build must beat every
// other to be chosen, for a trace of that many distinct frames: a quarter of
// the frames, at least 2. So one frame never picks a build that another
// build also fits (a fit and a confirmed return address against a fit is a
// lead of 1), and a longer trace needs distinguishing evidence from several
// frames. (Measured on the corpus: testdata/nativeaot, README section "Native
// AOT resolution on the corpus".)
func Margin(frames int) int {
	return max(2, (frames+3)/4)
}

// contender is a build in play for one input.
type contender struct {
	meta  aotsym.Build
	b     *Build
	names []string // what frames may call its module
	score detectScore
	order int
}

// detectScore is how well a trace fits a build.
type detectScore struct {
	Frames    int // frames that can be scored (managed, rva, native)
	Fits      int // frames that fit
	Confirmed int // … whose return address the code confirmed
	Links     int // frames whose caller calls them directly
	// Contradicted counts frames whose caller's call instruction directly
	// calls another function.
	Contradicted int
}

// Points is the score builds are ranked by. A contradicted call counts
// against twice: the right build contradicts a pair of frames only when a
// frame between them is hidden ([StackTraceHidden]), a wrong one whenever its
// code at that offset calls something else.
func (s detectScore) Points() int { return s.Fits + s.Confirmed + s.Links - 2*s.Contradicted }

// choice is the outcome of choosing a build for one input.
type choice struct {
	builds []*contender // chosen first, then builds tied with it
	single bool         // only one build in play: any module name is it
	bc     aotsym.BuildChoice
	refuse string // why no build was chosen (frames are unknown_build)
	// how, when set, says how the single build was chosen without scoring:
	// Resolve scores it from the frames it resolves and writes the note.
	how string
}

func (r *Resolver) choose(ctx context.Context, doc *trace.Document, opts Options) (*choice, error) {
	switch {
	case opts.BuildID != "":
		c, err := r.contender(ctx, opts.BuildID)
		if err != nil {
			return nil, err
		}
		ch := &choice{builds: []*contender{c}, single: true, how: "the build was given"}
		ch.bc = aotsym.BuildChoice{How: "given"}
		return ch, nil
	case len(doc.BuildIDs) > 0:
		return r.chooseNamed(ctx, doc, opts)
	case len(opts.Tags) > 0:
		meta, err := r.src.FindByTags(ctx, opts.Tags)
		if err != nil {
			return nil, err
		}
		c, err := r.contender(ctx, meta.ID)
		if err != nil {
			return nil, err
		}
		ch := &choice{builds: []*contender{c}, single: true, how: fmt.Sprintf("the newest build with tags %s", tagsText(opts.Tags))}
		ch.bc = aotsym.BuildChoice{How: "tags"}
		return ch, nil
	}
	limit := opts.MaxCandidates
	if limit <= 0 {
		limit = DefaultMaxCandidates
	}
	metas, err := r.src.List(ctx, limit)
	if err != nil {
		return nil, err
	}
	var cs []*contender
	for _, m := range metas {
		c, err := r.contender(ctx, m.ID)
		if err != nil {
			if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
				continue // deleted since it was listed
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	return detect(cs, doc, "detected", ""), nil
}

// chooseNamed handles inputs with `build-id:` lines.
func (r *Resolver) chooseNamed(ctx context.Context, doc *trace.Document, opts Options) (*choice, error) {
	var cs []*contender
	var missing []string
	for _, id := range doc.BuildIDs {
		c, err := r.contender(ctx, id)
		if err != nil {
			if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
				missing = append(missing, id.String())
				continue
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		note := fmt.Sprintf("the trace names build %s (a `build-id:` line), which is not stored: upload its debug file (aotsym upload app.dbg) and try again", strings.Join(missing, ", "))
		return &choice{bc: aotsym.BuildChoice{How: "none", Note: note}, refuse: note}, nil
	}
	if len(cs) == 1 {
		ch := &choice{builds: cs, single: true, how: "the trace names the build in a `build-id:` line"}
		ch.bc = aotsym.BuildChoice{How: "named"}
		return ch, nil
	}
	return detect(cs, doc, "named", "the trace names several builds; "), nil
}

func (r *Resolver) contender(ctx context.Context, id aotsym.BuildID) (*contender, error) {
	meta, err := r.src.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := r.src.Open(ctx, id)
	if err != nil {
		return nil, err
	}
	if meta.ID == "" {
		meta.ID = id
	}
	return &contender{meta: meta, b: b, names: moduleNames(meta)}, nil
}

// detect scores the contenders and chooses.
func detect(cs []*contender, doc *trace.Document, how, prefix string) *choice {
	if len(cs) == 0 {
		note := "no build is stored: upload the program's debug file (aotsym upload app.dbg) and try again"
		return &choice{bc: aotsym.BuildChoice{How: "none", Note: note}, refuse: note}
	}
	single := len(cs) == 1
	names := false
	for _, c := range cs {
		names = names || c.b.printsNames
	}
	for i, c := range cs {
		c.order = i
		if !single && !prefilter(c, doc) {
			c.score = detectScore{Frames: scorable(doc)}
			continue
		}
		c.score = scoreBuild(c, doc, single, names && !c.b.printsNames)
	}
	if single {
		c := cs[0]
		ch := &choice{builds: cs, single: true}
		ch.bc = aotsym.BuildChoice{How: how, Score: c.score.Fits, Frames: c.score.Frames}
		ch.bc.Note = fitNote(prefix+"it is the only build in play", c)
		return ch
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].score, cs[j].score
		if a.Points() != b.Points() {
			return a.Points() > b.Points()
		}
		if a.Fits != b.Fits {
			return a.Fits > b.Fits
		}
		return cs[i].order < cs[j].order
	})
	best := cs[0]
	n := best.score.Frames
	tied := []*contender{best}
	var runner *contender
	for _, c := range cs[1:] {
		if c.score == best.score {
			tied = append(tied, c)
			continue
		}
		runner = c
		break
	}
	bc := aotsym.BuildChoice{How: how, Score: best.score.Fits, Frames: n}
	if runner != nil {
		bc.RunnerUp, bc.RunnerUpScore = runner.meta.ID, runner.score.Fits
	}
	for _, c := range tied[1:] {
		bc.Tied = append(bc.Tied, c.meta.ID)
	}
	lead := best.score.Points()
	if runner != nil {
		lead -= runner.score.Points()
	}
	if best.score.Fits == 0 {
		note := fmt.Sprintf("%sno build fits the trace: none of the %d builds considered has its methods at its offsets; upload the program's debug file, or give its build ID", prefix, len(cs))
		bc.How, bc.Note = "none", note
		bc.RunnerUp, bc.RunnerUpScore = "", 0
		return &choice{bc: bc, refuse: note}
	}
	if lead < Margin(n) {
		note := fmt.Sprintf("%sno build clearly fits the trace: %s scores %s, %s %s (a lead of %d points is needed); give the build ID (--build-id, ?build_id=) or log a `build-id:` line", prefix,
			idsText(tied), best.score.text(), runner.meta.ID.Short(), runner.score.text(), Margin(n))
		bc.How, bc.Note = "none", note
		return &choice{bc: bc, refuse: note}
	}
	var note strings.Builder
	note.WriteString(prefix)
	fmt.Fprintf(&note, "detected build %s: it scores %s", best.meta.ID.Short(), best.score.text())
	if runner != nil {
		fmt.Fprintf(&note, "; the next best, %s, %s", runner.meta.ID.Short(), runner.score.text())
	} else if len(tied) == len(cs) {
		note.WriteString("; no other build was considered")
	}
	if len(tied) > 1 {
		fmt.Fprintf(&note, "; builds %s fit exactly as well (identical code, other debug settings?): frames are answered where they agree", idsText(tied[1:]))
	}
	bc.Note = note.String()
	return &choice{builds: tied, bc: bc}
}

// text describes a score in words.
func (s detectScore) text() string {
	return fmt.Sprintf("%d points (%d of %d frames fit, %d return addresses confirmed by the code, %d direct calls between frames)", s.Points(), s.Fits, s.Frames, s.Confirmed, s.Links)
}

func idsText(cs []*contender) string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.meta.ID.Short())
	}
	return strings.Join(ids, ", ")
}

func tagsText(tags map[string]string) string {
	var kv []string
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// fitNote says how a build was chosen and how well the trace fits it.
func fitNote(how string, c *contender) string {
	s := fmt.Sprintf("%s: %s fits %d of %d frames", how, c.meta.ID.Short(), c.score.Fits, c.score.Frames)
	if n := c.score.Frames - c.score.Fits; n > 0 {
		s += fmt.Sprintf("; %d of them do not fit it, so the trace may come from another build", n)
	}
	return s
}

// scorable counts the frames detection looks at.
func scorable(doc *trace.Document) int {
	n := 0
	for i := range doc.Frames {
		switch doc.Frames[i].Kind {
		case aotsym.FrameManaged, aotsym.FrameRVA, aotsym.FrameNative:
			n++
		}
	}
	return n
}

// prefilter reports whether a build names any of the first few distinct
// managed methods of the trace (true when the trace has none): a hash lookup
// each, to skip unrelated programs before scoring every frame.
func prefilter(c *contender, doc *trace.Document) bool {
	tried := 0
	seen := map[string]bool{}
	for i := range doc.Frames {
		f := &doc.Frames[i]
		if f.Kind != aotsym.FrameManaged || seen[f.Method] {
			continue
		}
		seen[f.Method] = true
		if _, named, _ := managedCands(c.b, f); named > 0 {
			return true
		}
		if tried++; tried == prefilterFrames {
			return false
		}
	}
	return tried == 0
}

// scoreBuild scores how well doc fits build c. noNames: managed frames do not
// fit (the build cannot print method names and another build can).
func scoreBuild(c *contender, doc *trace.Document, single, noNames bool) detectScore {
	ws := gatherAll(c, doc, single)
	linkFrames(c.b, doc, ws)
	return scoreWork(c.b, doc, ws, noNames)
}

// scoreWork scores the gathered candidates of doc's frames in build b.
func scoreWork(b *Build, doc *trace.Document, ws []work, noNames bool) detectScore {
	var s detectScore
	arm := b.Index.Machine() == elf.EM_AARCH64
	// A frame repeated (recursion) or a pair repeated tells nothing new.
	seen := make(map[string]bool, len(ws))
	for i := range ws {
		w := &ws[i]
		switch w.f.Kind {
		case aotsym.FrameManaged, aotsym.FrameRVA, aotsym.FrameNative:
		default:
			continue
		}
		if seen[w.f.Text] {
			continue
		}
		seen[w.f.Text] = true
		s.Frames++
		if w.final || len(w.cands) == 0 || (noNames && w.f.Kind == aotsym.FrameManaged) {
			if w.r.Status == aotsym.StatusNoLine && w.f.Kind == aotsym.FrameNative {
				s.Fits++ // a gdb frame whose symbol exists
			}
			continue
		}
		fits, confirmed := false, false
		for _, cd := range w.cands {
			if arm && cd.addr%4 != 0 {
				continue
			}
			if cd.known && !cd.ret && !w.fc.leaf {
				continue
			}
			fits = true
			confirmed = confirmed || (cd.known && cd.ret)
		}
		if fits {
			s.Fits++
		}
		if confirmed {
			s.Confirmed++
		}
	}
	if b.calls == nil {
		return s
	}
	pairs := make(map[[2]string]bool)
	for i := 0; i+1 < len(ws); i++ {
		w, caller := &ws[i], &ws[i+1]
		if noNames && (w.f.Kind == aotsym.FrameManaged || caller.f.Kind == aotsym.FrameManaged) {
			continue
		}
		key := [2]string{w.f.Text, caller.f.Text}
		if pairs[key] || !adjacent(doc, i, w, caller) {
			continue
		}
		pairs[key] = true
		switch linkOf(b, w, caller) {
		case linkYes:
			s.Links++
		case linkNo:
			s.Contradicted++
		}
	}
	return s
}

type link int

const (
	linkUnknown link = iota // no direct call at the caller's return address
	linkYes                 // the caller calls one of the callee's candidates
	linkNo                  // the caller's direct calls all go elsewhere
)

// linkOf says whether the caller's candidates call the callee's directly.
func linkOf(b *Build, callee, caller *work) link {
	direct, all := 0, len(caller.cands)
	for _, c := range caller.cands {
		t, ok := b.calls.target(c.addr)
		if !ok {
			continue
		}
		direct++
		for _, d := range callee.cands {
			if d.fn.Index == t {
				return linkYes
			}
		}
	}
	if direct == all && direct > 0 {
		return linkNo
	}
	return linkUnknown
}
