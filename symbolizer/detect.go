package symbolizer

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/dotnet"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Build detection. When neither the caller nor the input names the build, the
// trace's frames are checked against candidate builds. The build that
// produced a trace fits every one of its frames, so the evidence is first of
// all what rules a build out; what merely agrees with a build is weighed only
// between builds where it could have been measured.
//
// A frame fits a build when it names an existing method (managed), a
// function holds its RVA (rva, or an offset in the build's module) or its
// symbol exists (native); its offset lies inside that function; and its
// address can be what a stack holds there. Below an exception's first frame
// every address is a return address: the end of a call instruction. So a
// frame does not fit when
//
//   - arm64: the address is not 4-byte aligned;
//   - the build's executable was indexed and its code shows the instruction
//     before the address is no call;
//   - x86-64, managed and rva frames: an instruction starts at address−1 (a
//     line row starts there, or it is the function's first byte), so no call
//     instruction (2 bytes at least) can end at the address. This one needs
//     only the debug file.
//
// A managed frame does not fit a build that cannot print method names
// (published with StackTraceSupport=false: it lacks the runtime's method name
// formatter) when another build can. Frames that fit no build at all (another
// module, garbage) say nothing about any.
//
// The rules, in order:
//
//  1. Builds are ranked by the number of distinct frames that fit. Only the
//     builds that fit the most are in play: one that misses a frame another
//     build fits is worse, whatever else it has for it.
//     When every one of them is contradicted by a frame (an offset past
//     the method's end, an address that cannot be on its stack) or lacks
//     more of its own frames (managed methods, RVAs of its module) than it
//     fits, or none of its managed and RVA frames fits, no build is chosen
//     ("none"): the producing build is not stored. This holds for a lone
//     stored build too: being the only one is no evidence.
//  2. Among those, the code decides between builds whose executables were
//     indexed, and only between those: direct calls between adjacent frames
//     (the caller's call instruction before its return address targets the
//     callee's function), then fewer contradicted calls (the caller's direct
//     call targets another function: the right build does that only around a
//     hidden frame), then return addresses the code confirms. A build without
//     its executable is never ranked below one with it for lack of that
//     evidence.
//  3. The builds left are grouped by their function tables: builds with the
//     same functions at the same addresses and sizes (the same code, built
//     with other debug settings) are one group. One group: the build is
//     detected, the others of its group are reported as tied, and frames are
//     answered where their line tables agree. Several groups: the trace is
//     "undecided" between them; no build is named, frames where every
//     remaining build gives the same answer are answered, the others are
//     ambiguous with each build's answer, and the note says what would
//     decide (the executables, or a `build-id:` line).
//
// Measured on the corpus (TestDetectionSignals; README section "Native AOT
// resolution on the corpus"): the .dbg tells little about another build of
// the same program, whose methods are mostly compiled to the same code at the
// same offsets (39 % of the other builds' addresses follow a call). A line
// row at address−1 rules out 2.5 % of the other builds' addresses and never
// the right build's. Measured and left out: an address on a line row's start
// (15.5 % of the right build's, 10.9 % of the others': no signal); address−1
// before the function's first row (the right build's async resume points
// are: unsound); every method of the name having other parameter types (0.6 %
// of the others', and only as sound as the type-name matching); location-list
// and lexical-block bounds as further instruction starts (4 more of 1,206
// wrong addresses ruled out, no trace more decided); variables in
// caller-saved registers across the address (about 200 real return addresses
// per build lie inside such ranges: unsound).
//
// Repeated frames (recursion) and repeated pairs count once.
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

// contender is a build in play for one input.
type contender struct {
	meta  aotsym.Build
	b     *Build
	names []string // what frames may call its module
	score detectScore
	order int
	// ws are the frames' candidates gathered and linked when the build
	// was scored, which resolving against it reuses.
	ws []work
}

// detectScore is what a trace's frames say about one build.
type detectScore struct {
	Frames  int // distinct frames that can be scored (managed, rva, native)
	Printed int // … of them managed or rva: as a Native AOT program prints them
	Fits    int // … that fit
	// Why the others do not (a frame counts under the first that applies).
	Missing    int // no such method or symbol, no function at the RVA, module of another build
	OutOfRange int // the method exists, but the offset is past its end
	// Absent counts the Missing frames that are the build's own, had it
	// produced the trace: managed methods of a .NET build it does not
	// have, RVAs of its module that no function holds.
	Absent     int
	Misaligned int // arm64: not 4-byte aligned
	NotCall    int // the code shows no call before the address
	RowAtCall  int // x86-64: a line row starts at address−1
	// Code evidence, only when the build's executable was indexed (Code),
	// and direct calls only when its call table is there too (Calls).
	Code, Calls bool
	Confirmed   int // frames whose address the code shows follows a call
	Links       int // frames whose caller calls them directly
	// Contradicted counts frames whose caller's call instruction directly
	// calls another function.
	Contradicted int
}

// against counts the frames that contradict the build: they name its
// method or function, but at an address the build's code cannot have had on
// a stack. The build that produced a trace has none.
func (s detectScore) against() int {
	return s.OutOfRange + s.Misaligned + s.NotCall + s.RowAtCall
}

// ruledOut reports whether the frames rule the build out as the one that
// produced them (rule 1b): a frame contradicts it, more of its own frames are
// absent than fit, or the trace has frames as a Native AOT program prints
// them (managed, `app!<BaseAddress>+…`) and none of its frames fits. A
// native trace alone mixes modules, so that nothing of it fits one build
// says nothing.
func (s detectScore) ruledOut() bool {
	return s.against() > 0 || s.Absent > s.Fits || (s.Printed > 0 && s.Fits == 0)
}

// noneFits is the answer when no build in play can have produced the trace:
// c is the closest.
func noneFits(c *contender, prefix string, fits, frames int) *choice {
	note := fmt.Sprintf("%sno stored build fits the trace: the closest, %s, %s; the build that produced a trace fits its frames, so it is most likely not stored: upload the program's debug file (aotsym upload), or give its build ID", prefix, c.meta.ID.Short(), c.score.text())
	bc := aotsym.BuildChoice{How: "none", Note: note, Score: fits, Frames: frames, RunnerUp: c.meta.ID, RunnerUpScore: fits}
	return &choice{bc: bc, refuse: note}
}

// codeBetter reports whether the code evidence of a is stronger than b's;
// both builds must have their call tables (Calls). A direct call from a
// caller to exactly the function of the frame above it is what a wrong build
// shows only where its code is that of the right build; a caller calling
// another function is what the right build shows only around a hidden frame
// or a tail call, which a build of the same program then shows too. Whether
// the first frame of an exception follows a call is not weighed: a hardware
// fault's does not.
func codeBetter(a, b detectScore) bool {
	if a.Links != b.Links {
		return a.Links > b.Links
	}
	return a.Contradicted < b.Contradicted
}

func sameCodeEvidence(a, b detectScore) bool {
	return a.Links == b.Links && a.Contradicted == b.Contradicted
}

// choice is the outcome of choosing a build for one input.
type choice struct {
	// builds: the chosen build then its twins (same function table), or,
	// undecided, every build still in play.
	builds    []*contender
	undecided bool
	single    bool // only one build in play: any module name is it
	bc        aotsym.BuildChoice
	refuse    string // why no build was chosen (frames are unknown_build)
	// how, when set, says how the single build was chosen without scoring:
	// Resolve scores it from the frames it resolves and writes the note.
	how string
}

func (r *Resolver) choose(ctx context.Context, doc *trace.Document, qs []*dotnet.Query, opts Options) (*choice, error) {
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
		return r.chooseNamed(ctx, doc, qs, opts)
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
	return detect(cs, doc, qs, "detected", ""), nil
}

// chooseNamed handles inputs with `build-id:` lines.
func (r *Resolver) chooseNamed(ctx context.Context, doc *trace.Document, qs []*dotnet.Query, opts Options) (*choice, error) {
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
	return detect(cs, doc, qs, "named", "the trace names several builds; "), nil
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
func detect(cs []*contender, doc *trace.Document, qs []*dotnet.Query, how, prefix string) *choice {
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
		if !single && !prefilter(c, doc, qs) {
			n := scorable(doc)
			c.score = detectScore{Frames: n, Missing: n}
			continue
		}
		c.score = scoreBuild(c, doc, qs, single, names && !c.b.printsNames)
	}
	if single {
		c := cs[0]
		if how == "detected" && c.score.ruledOut() {
			// The only build stored is not the trace's (rule 1b).
			return noneFits(c, prefix, c.score.Fits, c.score.Frames)
		}
		ch := &choice{builds: cs, single: true}
		ch.bc = aotsym.BuildChoice{How: how, Score: c.score.Fits, Frames: c.score.Frames}
		ch.bc.Note = fitNote(prefix+"it is the only build in play", c)
		return ch
	}
	// Rule 1: the most frames that fit.
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].score.Fits != cs[j].score.Fits {
			return cs[i].score.Fits > cs[j].score.Fits
		}
		return cs[i].order < cs[j].order
	})
	best := cs[0].score.Fits
	n := cs[0].score.Frames
	if best == 0 {
		note := fmt.Sprintf("%sno build fits the trace: none of the %d builds considered has its methods at its offsets; upload the program's debug file, or give its build ID", prefix, len(cs))
		return &choice{bc: aotsym.BuildChoice{How: "none", Note: note, Frames: n}, refuse: note}
	}
	var inPlay, fewer []*contender
	for _, c := range cs {
		if c.score.Fits == best {
			inPlay = append(inPlay, c)
		} else {
			fewer = append(fewer, c)
		}
	}
	// Rule 1b: the build that produced a trace fits its frames. A frame
	// contradicts a build when it names the build's method at an offset past
	// its end, or gives an address the build's code cannot have on a stack:
	// the producing build has no such frame, whatever its name matching
	// misses. A frame is absent from a build when the build would own it
	// (a managed method of a .NET build, an RVA of its module) but has no
	// such method or function; one the name matching misses could be, so
	// absent frames rule a build out only when they outnumber the frames
	// that fit. When every build that fits the most is ruled out, the
	// trace's build is not stored (or the trace was edited): no answer is
	// better than another build's lines.
	outweighed := true
	for _, c := range inPlay {
		outweighed = outweighed && c.score.ruledOut()
	}
	if outweighed {
		return noneFits(inPlay[0], prefix, best, n)
	}
	// Rule 2: the code, between builds that have it.
	var bestCode *contender
	for _, c := range inPlay {
		if c.score.Calls && (bestCode == nil || codeBetter(c.score, bestCode.score)) {
			bestCode = c
		}
	}
	var left, outCoded []*contender
	for _, c := range inPlay {
		if c.score.Calls && !sameCodeEvidence(c.score, bestCode.score) {
			outCoded = append(outCoded, c)
			continue
		}
		left = append(left, c)
	}
	// Rule 3: builds of one function table are one.
	groups := groupByTable(left)
	bc := aotsym.BuildChoice{How: how, Score: best, Frames: n}
	var runner *contender
	switch {
	case len(outCoded) > 0:
		runner = outCoded[0]
	case len(fewer) > 0:
		runner = fewer[0]
	}
	if runner != nil {
		bc.RunnerUp, bc.RunnerUpScore = runner.meta.ID, runner.score.Fits
	}
	if len(groups) == 1 {
		g := groups[0]
		for _, c := range g[1:] {
			bc.Tied = append(bc.Tied, c.meta.ID)
		}
		bc.Note = prefix + detectedNote(g, outCoded, fewer)
		return &choice{builds: g, bc: bc}
	}
	bc.How = "undecided"
	for _, c := range left {
		bc.Candidates = append(bc.Candidates, c.meta.ID)
	}
	bc.Note = prefix + undecidedNote(groups, left, outCoded, fewer)
	return &choice{builds: left, undecided: true, bc: bc}
}

// detectedNote says why the build was detected.
func detectedNote(g, outCoded, fewer []*contender) string {
	c := g[0]
	var s strings.Builder
	fmt.Fprintf(&s, "detected build %s: it %s", c.meta.ID.Short(), c.score.text())
	if c.score.Calls {
		fmt.Fprintf(&s, "; %s", c.score.codeText())
	}
	if len(outCoded) > 0 {
		fmt.Fprintf(&s, "; %s %s as many frames, but %s", idsText(outCoded), plural(len(outCoded), "fits", "fit"), codeVersus(outCoded[0].score, c.score))
	}
	if len(fewer) > 0 {
		fmt.Fprintf(&s, "; the next best, %s, %s", fewer[0].meta.ID.Short(), fewer[0].score.text())
	}
	if len(outCoded) == 0 && len(fewer) == 0 && len(g) == 1 {
		s.WriteString("; no other build was considered")
	}
	if len(g) > 1 {
		fmt.Fprintf(&s, "; %s %s the same functions at the same addresses and sizes (the same code, most likely built with other debug settings), so frames are answered where their line tables agree", idsText(g[1:]), plural(len(g)-1, "has", "have"))
	}
	return s.String()
}

// undecidedNote says which builds remain, why they cannot be told apart and
// what would tell them apart.
func undecidedNote(groups [][]*contender, left, outCoded, fewer []*contender) string {
	var s strings.Builder
	c := left[0]
	fmt.Fprintf(&s, "no build is chosen: the trace fits %d builds equally well (%d of %d frames each), %s", len(left), c.score.Fits, c.score.Frames, idsText(left))
	// Builds without the executable, except twins of one with it.
	var noCode []*contender
	for _, g := range groups {
		coded := false
		for _, c := range g {
			coded = coded || c.score.Code
		}
		for _, c := range g {
			if !coded && !c.score.Code {
				noCode = append(noCode, c)
			}
		}
	}
	noneCoded := true
	for _, c := range left {
		noneCoded = noneCoded && !c.score.Code
	}
	switch {
	case noneCoded:
		s.WriteString(", and their code differs but none has its executable uploaded: the debug files alone cannot tell them apart")
	case len(noCode) > 0:
		fmt.Fprintf(&s, ", and their code differs but %s %s no executable uploaded to check", idsText(noCode), plural(len(noCode), "has", "have"))
	default:
		s.WriteString(", and their code differs but fits the frames alike")
		if c.score.Calls {
			fmt.Fprintf(&s, " (%s)", c.score.codeText())
		}
	}
	for _, g := range groups {
		if len(g) > 1 {
			fmt.Fprintf(&s, " (%s have the same code)", idsText(g))
		}
	}
	if len(outCoded) > 0 {
		var best detectScore
		for _, c := range left {
			if c.score.Calls {
				best = c.score
			}
		}
		fmt.Fprintf(&s, "; %s %s as many frames, but %s", idsText(outCoded), plural(len(outCoded), "fits", "fit"), codeVersus(outCoded[0].score, best))
	}
	if len(fewer) > 0 {
		fmt.Fprintf(&s, "; the next best, %s, %s", fewer[0].meta.ID.Short(), fewer[0].score.text())
	}
	s.WriteString(". Frames they answer alike are answered; the others are ambiguous, with each build's answer. To decide, ")
	if len(noCode) > 0 {
		fmt.Fprintf(&s, "upload the executable%s of %s (aotsym upload --publish-dir DIR uploads the executable with its debug file) or ", plural(len(noCode), "", "s"), idsText(noCode))
	}
	s.WriteString("give the build ID (--build-id, ?build_id=); to have it in every trace, log the build ID at startup (the GNU build ID note of /proc/self/exe) as a `build-id:` line")
	return s.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// text says how many frames fit a build, and why the others do not.
func (s detectScore) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fits %d of %d frames", s.Fits, s.Frames)
	var why []string
	if s.Missing > 0 {
		why = append(why, fmt.Sprintf("%d %s no method of it", s.Missing, plural(s.Missing, "names", "name")))
	}
	if s.OutOfRange > 0 {
		why = append(why, fmt.Sprintf("%d %s an offset past the method's end", s.OutOfRange, plural(s.OutOfRange, "has", "have")))
	}
	if s.Misaligned > 0 {
		why = append(why, fmt.Sprintf("%d %s not 4-byte aligned", s.Misaligned, plural(s.Misaligned, "is", "are")))
	}
	if s.NotCall > 0 {
		why = append(why, fmt.Sprintf("%d %s not follow a call in its code", s.NotCall, plural(s.NotCall, "does", "do")))
	}
	if s.RowAtCall > 0 {
		why = append(why, fmt.Sprintf("%d cannot follow a call: a line row starts one byte before", s.RowAtCall))
	}
	if len(why) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(why, "; "))
	}
	return b.String()
}

// codeVersus says how the code of a build that lost compares with the best.
func codeVersus(lost, best detectScore) string {
	if lost.Links != best.Links {
		return fmt.Sprintf("its code shows %d direct %s between frames, against %d", lost.Links, plural(lost.Links, "call", "calls"), best.Links)
	}
	return fmt.Sprintf("its code shows %d %s calling another function than the frame above, against %d", lost.Contradicted, plural(lost.Contradicted, "caller", "callers"), best.Contradicted)
}

// codeText describes the code evidence of a build with a call table.
func (s detectScore) codeText() string {
	t := fmt.Sprintf("its code shows %d direct %s between frames", s.Links, plural(s.Links, "call", "calls"))
	if s.Contradicted > 0 {
		t += fmt.Sprintf(" and %d caller%s calling another function", s.Contradicted, plural(s.Contradicted, "", "s"))
	}
	return t
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
	seen := map[string]bool{}
	for i := range doc.Frames {
		switch doc.Frames[i].Kind {
		case aotsym.FrameManaged, aotsym.FrameRVA, aotsym.FrameNative:
			if !seen[doc.Frames[i].Text] {
				seen[doc.Frames[i].Text] = true
				n++
			}
		}
	}
	return n
}

// prefilter reports whether a build names any of the first few distinct
// managed methods of the trace (true when the trace has none): a hash lookup
// each, to skip unrelated programs before scoring every frame.
func prefilter(c *contender, doc *trace.Document, qs []*dotnet.Query) bool {
	tried := 0
	seen := map[string]bool{}
	for i := range doc.Frames {
		f := &doc.Frames[i]
		if f.Kind != aotsym.FrameManaged || seen[f.Method] {
			continue
		}
		seen[f.Method] = true
		if _, named, _ := managedCands(c.b, f, qs[i]); named > 0 {
			return true
		}
		if tried++; tried == prefilterFrames {
			return false
		}
	}
	return tried == 0
}

// scoreBuild scores how well doc fits build c, and keeps the frames'
// candidates in c.ws for resolving. noNames: managed frames do not fit
// (the build cannot print method names and another build can).
func scoreBuild(c *contender, doc *trace.Document, qs []*dotnet.Query, single, noNames bool) detectScore {
	c.ws = gatherAll(c, doc, qs, single)
	linkFrames(c.b, doc, c.ws)
	return scoreWork(c.b, doc, c.ws, noNames)
}

// scoreWork scores the gathered candidates of doc's frames in build b.
func scoreWork(b *Build, doc *trace.Document, ws []work, noNames bool) detectScore {
	s := detectScore{Code: b.Index.HasCode(), Calls: b.Index.HasCode() && b.calls != nil}
	arm := b.Index.Machine() == elf.EM_AARCH64
	managed := b.printsNames || fitsManaged(b, ws)
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
		if w.f.Kind != aotsym.FrameNative {
			s.Printed++
		}
		if w.final || len(w.cands) == 0 || (noNames && w.f.Kind == aotsym.FrameManaged) {
			switch {
			case w.r.Status == aotsym.StatusNoLine && w.f.Kind == aotsym.FrameNative:
				s.Fits++ // a gdb frame whose symbol exists
			case w.r.Status == aotsym.StatusOffsetOutOfRange:
				s.OutOfRange++
			default:
				s.Missing++
				if w.r.Status == aotsym.StatusNotFound && (w.f.Kind == aotsym.FrameRVA || w.f.Kind == aotsym.FrameManaged && managed) {
					s.Absent++
				}
			}
			continue
		}
		var misaligned, notCall, rowAtCall bool
		fits, confirmed := false, false
		for _, cd := range w.cands {
			switch {
			case arm && cd.addr%4 != 0:
				misaligned = true
			case cd.known && !cd.ret && !w.fc.leaf:
				notCall = true
			case !cd.known && !w.fc.leaf && w.f.Kind != aotsym.FrameNative && instructionBefore(b, cd):
				rowAtCall = true
			default:
				fits = true
				confirmed = confirmed || (cd.known && cd.ret)
			}
		}
		switch {
		case fits:
			s.Fits++
		case notCall:
			s.NotCall++
		case rowAtCall:
			s.RowAtCall++
		case misaligned:
			s.Misaligned++
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

// fitsManaged reports whether some managed frame names a method of b: b is
// a .NET build, for which every managed frame of the trace it produced is
// its own (Native AOT compiles them all into the one module).
func fitsManaged(b *Build, ws []work) bool {
	for i := range ws {
		if ws[i].f.Kind == aotsym.FrameManaged && !ws[i].final && len(ws[i].cands) > 0 {
			return true
		}
	}
	return false
}

// instructionBefore reports whether an instruction is known to start one
// byte before a candidate's address, so that no call instruction can end at
// it: on x86-64 a call takes 2 bytes at least (`call rax`), so its last byte
// starts no instruction. Known instruction starts without the code: the
// function's first byte (not a label's inside a function), and the start of
// every line row (a row starts at an instruction). On arm64 alignment says
// more, and other machines are not checked.
func instructionBefore(b *Build, c cand) bool {
	if b.Index.Machine() != elf.EM_X86_64 || c.addr <= c.fn.Start {
		return false
	}
	prev := c.addr - 1
	if prev == c.fn.Start && c.fn.Parent < 0 {
		return true
	}
	ans := b.Index.Lookup(prev)
	return ans.Function >= 0 && !ans.NoLine && ans.RowAddress == prev
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

// groupByTable groups builds whose function tables are the same (every
// function's start, end, nesting and name), keeping their order.
func groupByTable(cs []*contender) [][]*contender {
	var groups [][]*contender
	for _, c := range cs {
		placed := false
		for i, g := range groups {
			if g[0].b.tableSum() == c.b.tableSum() {
				groups[i] = append(g, c)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []*contender{c})
		}
	}
	return groups
}

// tableSum returns a digest of the build's function table: every function's
// start, end, parent and names, in address order. Builds of the same code with
// other debug settings (DWARF version, PathMap) have the same digest. It is
// computed once per opened build.
func (b *Build) tableSum() [32]byte {
	b.sumOnce.Do(func() {
		h := sha256.New()
		var buf [24]byte
		zero := []byte{0}
		ix := b.Index
		for i := 0; i < ix.NumFunctions(); i++ {
			start, end, parent := ix.Range(i)
			n := ix.Names(i)
			binary.LittleEndian.PutUint64(buf[0:], start)
			binary.LittleEndian.PutUint64(buf[8:], end)
			binary.LittleEndian.PutUint64(buf[16:], uint64(int64(parent)))
			h.Write(buf[:])
			io.WriteString(h, n.Name)
			h.Write(zero)
			io.WriteString(h, n.LinkageName)
			h.Write(zero)
		}
		var m [8]byte
		binary.LittleEndian.PutUint64(m[:], uint64(ix.Machine()))
		h.Write(m[:])
		h.Sum(b.sum[:0])
	})
	return b.sum
}
