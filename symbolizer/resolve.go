package symbolizer

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/dotnet"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Options say how to resolve one input.
type Options struct {
	// BuildID names the build; empty: a `build-id:` line of the input, then
	// Tags, then detection.
	BuildID aotsym.BuildID
	// Tags choose the newest build carrying all of them.
	Tags map[string]string
	// Limits bound the input (trace.DefaultLimits when zero).
	Limits trace.Limits
	// MaxCandidates bounds detection (DefaultMaxCandidates when <= 0).
	MaxCandidates int
}

// Result is one symbolicated input.
type Result struct {
	// Trace is the JSON answer (shared/interface.md).
	Trace *aotsym.Trace
	// Text is the input with every resolved frame written the way the JIT
	// writes it.
	Text []byte
}

// Resolver resolves traces against the builds of a Source. It is safe for
// concurrent use.
type Resolver struct {
	src Source
}

// NewResolver returns a Resolver over src.
func NewResolver(src Source) *Resolver { return &Resolver{src: src} }

// Symbolicate parses input, chooses its build and resolves every frame. It
// fails only on bad input (over a limit: ETOOLARGE), a build named by the
// caller that does not exist or tags no build carries (ENOTFOUND), or a
// failing Source; frames that cannot be resolved get a status and a reason.
func (r *Resolver) Symbolicate(ctx context.Context, input []byte, opts Options) (*Result, error) {
	doc, err := trace.Parse(input, opts.Limits)
	if err != nil {
		return nil, err
	}
	return r.Resolve(ctx, doc, opts)
}

// Resolve is Symbolicate for an input already parsed.
func (r *Resolver) Resolve(ctx context.Context, doc *trace.Document, opts Options) (*Result, error) {
	qs := frameQueries(doc)
	ch, err := r.choose(ctx, doc, qs, opts)
	if err != nil {
		return nil, err
	}
	results := r.resolveWith(doc, qs, ch)
	t := doc.Trace(results)
	if ch.how != "" {
		c := ch.builds[0]
		ch.bc.Score, ch.bc.Frames = c.score.Fits, c.score.Frames
		ch.bc.Note = fitNote(ch.how, c)
	}
	if len(ch.builds) > 0 && !ch.undecided {
		t.BuildID = ch.builds[0].meta.ID
	}
	bc := ch.bc
	t.Build = &bc
	return &Result{Trace: t, Text: doc.RenderText(results)}, nil
}

// ResolveFrame resolves one frame (`at Ns.T.M() + 0x1c`, `app!<BaseAddress>+0x…`,
// a native frame): the single-frame route for IDE plugins. The build is
// chosen as for Symbolicate; one frame is thin evidence for detection, so
// give BuildID or Tags where possible.
func (r *Resolver) ResolveFrame(ctx context.Context, frameText string, opts Options) (aotsym.FrameResult, error) {
	text := strings.TrimSpace(frameText)
	if strings.ContainsAny(text, "\n\r") {
		return aotsym.FrameResult{}, aotsym.Errorf(aotsym.EINVALID, "give one frame on one line; to resolve a whole trace use the symbolicate route")
	}
	if !strings.HasPrefix(text, "at ") && looksManaged(text) {
		text = "at " + text
	}
	doc, err := trace.Parse([]byte(text), opts.Limits)
	if err != nil {
		return aotsym.FrameResult{}, err
	}
	if len(doc.Frames) != 1 {
		return aotsym.FrameResult{}, aotsym.Errorf(aotsym.EINVALID,
			"%q is not a stack frame: give a line such as `at Ns.Type.Method(Int32) + 0x1c`, `app!<BaseAddress>+0x1a2b` or `libfoo.so+0x1f50f`", aotsym.Clip(text, 80))
	}
	res, err := r.Resolve(ctx, doc, opts)
	if err != nil {
		return aotsym.FrameResult{}, err
	}
	fr := res.Trace.Frames[0]
	if fr.BuildID == "" {
		fr.BuildID = res.Trace.BuildID
	}
	if fr.Status == aotsym.StatusUnknownBuild && res.Trace.Build != nil && res.Trace.Build.Note != "" && fr.Reason == "" {
		fr.Reason = res.Trace.Build.Note
	}
	return fr, nil
}

// looksManaged reports whether a frame given without `at ` is a managed one
// (`Ns.Type.Method(…) + 0x1c`), which the trace parser only knows with it.
func looksManaged(s string) bool {
	return strings.Contains(s, "(") && strings.Contains(s, ")") && !strings.HasPrefix(s, "#")
}

// frameQueries prepares each managed frame's printed method for matching,
// once per request: every build in play (detection's prefilter and scoring,
// then the resolution) looks the same queries up. Frames printing the same
// method share one. Other frames get nil.
func frameQueries(doc *trace.Document) []*dotnet.Query {
	qs := make([]*dotnet.Query, len(doc.Frames))
	first := make(map[string]int)
	for i := range doc.Frames {
		f := &doc.Frames[i]
		if f.Kind != aotsym.FrameManaged {
			continue
		}
		if j, ok := first[f.Method]; ok {
			if g := &doc.Frames[j]; g.HasParams == f.HasParams && slices.Equal(g.Params, f.Params) {
				qs[i] = qs[j]
				continue
			}
		} else {
			first[f.Method] = i
		}
		qs[i] = dotnet.NewQuery(f.Method, f.Params, f.HasParams)
	}
	return qs
}

// resolveWith answers every frame against the chosen build(s).
func (r *Resolver) resolveWith(doc *trace.Document, qs []*dotnet.Query, ch *choice) []aotsym.FrameResult {
	if len(ch.builds) == 0 {
		results := make([]aotsym.FrameResult, len(doc.Frames))
		for i := range doc.Frames {
			switch doc.Frames[i].Kind {
			case aotsym.FrameManaged, aotsym.FrameRVA, aotsym.FrameNative:
				results[i] = aotsym.FrameResult{Status: aotsym.StatusUnknownBuild, Reason: ch.refuse}
			}
		}
		return results
	}
	single := ch.single
	per := make([][]aotsym.FrameResult, len(ch.builds))
	for k, c := range ch.builds {
		ws := c.ws // gathered and linked when detection scored the build
		if ws == nil {
			ws = gatherAll(c, doc, qs, single)
			linkFrames(c.b, doc, ws)
		}
		per[k] = answerFrames(c, ws)
		if ch.how != "" {
			c.score = scoreWork(c.b, doc, ws, false)
		}
	}
	if len(per) == 1 {
		return per[0]
	}
	results := make([]aotsym.FrameResult, len(doc.Frames))
	for i := range results {
		results[i] = mergeTied(ch.builds, per, i, ch.undecided)
	}
	return results
}

// work is one frame being resolved against one build: its candidate
// functions, or its final result.
type work struct {
	f       *aotsym.Frame
	fc      frameCtx
	printed string // managed frames: the method as printed
	cands   []cand
	final   bool
	r       aotsym.FrameResult
}

// answerFrames answers every frame against one build, from the candidates
// gatherAll found and linkFrames narrowed: each candidate is looked up.
func answerFrames(c *contender, ws []work) []aotsym.FrameResult {
	results := make([]aotsym.FrameResult, len(ws))
	var answers []answer // reused: conclude keeps none
	for i := range ws {
		w := &ws[i]
		if w.final || len(w.cands) == 0 {
			results[i] = w.r
			continue
		}
		answers = answers[:0]
		for _, cd := range w.cands {
			answers = append(answers, lookupCand(c.b, cd, w.fc))
		}
		conclude(&w.r, answers, w.printed)
		if !w.fc.leaf && w.cands[0].known && !w.cands[0].ret {
			w.r.Reason = joinReason(w.r.Reason, fmt.Sprintf("%#x does not follow a call instruction, as a caller's address must: the trace may come from another build", w.cands[0].addr))
		}
		results[i] = w.r
	}
	return results
}

// gatherAll finds every frame's candidates in build c; qs are the frames'
// queries (frameQueries).
func gatherAll(c *contender, doc *trace.Document, qs []*dotnet.Query, single bool) []work {
	ws := make([]work, len(doc.Frames))
	leaf := leaves(doc)
	for i := range doc.Frames {
		w := &ws[i]
		w.f = &doc.Frames[i]
		w.fc = frameCtx{leaf: leaf[i], single: single}
		switch w.f.Kind {
		case aotsym.FrameManaged:
			gatherManaged(c.b, w, qs[i])
		case aotsym.FrameRVA:
			gatherModuleOffset(c, w)
		case aotsym.FrameNative:
			gatherNative(c, w)
		case aotsym.FrameUnknown:
			w.final = true
			w.r.Status = aotsym.StatusNotFound
			w.r.Reason = "the frame names no method and no address"
		default:
			w.final = true // lined: the Document answers it
		}
	}
	return ws
}

func (w *work) finish(status aotsym.Status, reason string) {
	w.final = true
	w.r.Status = status
	w.r.Reason = reason
}

func gatherManaged(b *Build, w *work, q *dotnet.Query) {
	f := w.f
	w.printed = printedMethod(f)
	cands, named, biggest := managedCands(b, f, q)
	switch {
	case named == 0:
		w.r.Function = w.printed
		w.finish(aotsym.StatusNotFound, fmt.Sprintf("build %s has no method `%s`: the trace may come from another build, or the method was trimmed", b.ID.Short(), f.Method))
		return
	case len(cands) == 0:
		w.r.Function = w.printed
		w.finish(aotsym.StatusOffsetOutOfRange, fmt.Sprintf("`%s` is %d bytes long in build %s, and offset %#x is past its end: the trace probably comes from another build", f.Method, biggest, b.ID.Short(), f.Offset))
		return
	}
	w.cands = narrow(b, cands, w.fc)
}

// gatherModuleOffset handles a frame that gives an offset from the module's
// image base: `app!<BaseAddress>+0x1a2b`, `libfoo.so+0x1f50f`.
func gatherModuleOffset(c *contender, w *work) {
	b, f := c.b, w.f
	if !w.fc.single && f.Module != "" && !moduleMatches(f.Module, c.names) {
		w.finish(aotsym.StatusUnknownBuild, fmt.Sprintf("module %s is not build %s (%s); upload its debug file to resolve it", f.Module, b.ID.Short(), namesText(c.names)))
		return
	}
	base := b.Index.ImageBase()
	addr := base + f.Offset
	if addr < base {
		w.finish(aotsym.StatusNotFound, fmt.Sprintf("offset %#x is outside any address space", f.Offset))
		return
	}
	if b.Index.Machine() == elf.EM_AARCH64 && addr%4 != 0 {
		w.finish(aotsym.StatusNotFound, fmt.Sprintf("RVA %#x is not 4-byte aligned, so it is no arm64 code address: the trace comes from another build", f.Offset))
		return
	}
	cd, ok := candAt(b, addr)
	if !ok {
		w.finish(aotsym.StatusNotFound, fmt.Sprintf("no function of build %s holds RVA %#x: the trace may come from another build", b.ID.Short(), f.Offset))
		return
	}
	w.cands = []cand{cd}
}

// candAt returns the function holding a frame's address: the one holding
// address−1 for a return address (a call can be a function's last
// instruction), the address itself for a faulting instruction.
func candAt(b *Build, addr uint64) (cand, bool) {
	known, ret := b.Index.ReturnAddressAt(addr)
	probe := addr
	if addr > 0 && (ret || !known) {
		probe = addr - 1
	}
	i, ok := b.Index.FunctionAt(probe)
	if !ok && probe != addr {
		i, ok = b.Index.FunctionAt(addr)
	}
	if !ok {
		return cand{}, false
	}
	return cand{fn: b.Index.Function(i), addr: addr, known: known, ret: ret}, true
}

// gatherNative handles the native forms: `symbol+0x12` (offset from the
// symbol), `module+0x…` and `(module+0x…)` (from the module), glibc's
// `module(symbol+0x12)`, sanitizer lines `in symbol (module+0x…)` and gdb's
// `in symbol () from lib` (no offset at all).
func gatherNative(c *contender, w *work) {
	b, f := c.b, w.f
	// A native trace mixes modules (libc, the loader): a module offset is
	// this build's only when the module has its name, or when nothing names
	// the build's files and it is the only build in play.
	if f.Module != "" && !moduleMatches(f.Module, c.names) && (!w.fc.single || len(c.names) > 0) {
		w.finish(aotsym.StatusUnknownBuild, fmt.Sprintf("module %s is not build %s (%s); upload its debug file to resolve it", f.Module, b.ID.Short(), namesText(c.names)))
		return
	}
	if f.Symbol == "" || f.Symbol == "??" {
		if f.Module != "" && f.HasOffset {
			w.fc.single = true // the module is the build's (checked above)
			gatherModuleOffset(c, w)
			return
		}
		w.finish(aotsym.StatusNotFound, "the frame names neither a symbol nor a module offset")
		return
	}
	fns := symbolFunctions(b, f.Symbol)
	if len(fns) == 0 && f.Module == "" && f.HasOffset && moduleMatches(f.Symbol, c.names) {
		// `app+0x1a2b`: a bare name is the build's module when it is the
		// name of one of its files and no symbol.
		mod := *f
		mod.Module, mod.Symbol = f.Symbol, ""
		w.f = &mod
		w.fc.single = true
		gatherModuleOffset(c, w)
		return
	}
	if f.Module != "" && f.HasOffset {
		// The offset may be the module's (sanitizers) or the symbol's
		// (glibc): the module's when it lands in the named function.
		if cd, ok := candAt(b, b.Index.ImageBase()+f.Offset); ok && hasFunction(fns, cd.fn.Index) {
			w.cands = []cand{cd}
			return
		}
	}
	if len(fns) == 0 {
		w.finish(aotsym.StatusNotFound, fmt.Sprintf("build %s has no symbol %s", b.ID.Short(), f.Symbol))
		return
	}
	if !f.HasOffset {
		fn := b.Index.Function(fns[0])
		w.r.Function = displayName(&fn)
		w.r.Symbol = symbolOf(&fn)
		if w.r.Symbol == w.r.Function {
			w.r.Symbol = ""
		}
		w.finish(aotsym.StatusNoLine, "the frame gives an absolute address but not the module's load address, so only the function is known; a `module+0x…` offset would give the line")
		return
	}
	var biggest uint64
	for _, i := range fns {
		fn := b.Index.Function(i)
		size := fn.End - fn.Start
		biggest = max(biggest, size)
		if f.Offset > size {
			continue
		}
		cd := cand{fn: fn, addr: fn.Start + f.Offset}
		cd.known, cd.ret = b.Index.ReturnAddressAt(cd.addr)
		w.cands = append(w.cands, cd)
	}
	if len(w.cands) == 0 {
		w.finish(aotsym.StatusOffsetOutOfRange, fmt.Sprintf("%s is %d bytes long in build %s, and offset %#x is past its end: the trace probably comes from another build", f.Symbol, biggest, b.ID.Short(), f.Offset))
	}
}

// linkFrames narrows the candidates of adjacent frames by direct calls: when
// the caller's call instruction (before its return address) calls one of
// the callee frame's candidates, the others are not it, and callers that call
// a candidate are preferred over those that do not. Frames of different
// exceptions, or separated by a `---` line (the end of a rethrown trace),
// are not caller and callee. Nothing is ever narrowed to nothing.
func linkFrames(b *Build, doc *trace.Document, ws []work) {
	if b.calls == nil {
		return
	}
	for pass := 0; pass < 3; pass++ {
		changed := false
		for i := 0; i+1 < len(ws); i++ {
			callee, caller := &ws[i], &ws[i+1]
			if !adjacent(doc, i, callee, caller) {
				continue
			}
			targets := make(map[int]bool, len(caller.cands))
			for _, c := range caller.cands {
				if t, ok := b.calls.target(c.addr); ok {
					targets[t] = true
				}
			}
			if len(targets) == 0 {
				continue
			}
			if n := len(callee.cands); n > 1 {
				callee.cands = keepIf(callee.cands, func(c *cand) bool { return targets[c.fn.Index] })
				changed = changed || len(callee.cands) != n
			}
			if n := len(caller.cands); n > 1 {
				starts := make(map[int]bool, len(callee.cands))
				for _, c := range callee.cands {
					starts[c.fn.Index] = true
				}
				caller.cands = keepIf(caller.cands, func(c *cand) bool {
					t, ok := b.calls.target(c.addr)
					return ok && starts[t]
				})
				changed = changed || len(caller.cands) != n
			}
		}
		if !changed {
			return
		}
	}
}

// adjacent reports whether frame i+1 may be frame i's caller.
func adjacent(doc *trace.Document, i int, callee, caller *work) bool {
	if callee.final || caller.final || len(callee.cands) == 0 || len(caller.cands) == 0 {
		return false
	}
	if doc.FrameException[i] != doc.FrameException[i+1] {
		return false
	}
	raw := doc.Raw()
	a, b := doc.Frames[i].End, doc.Frames[i+1].Start
	if a < 0 || b > len(raw) || a > b {
		return false
	}
	return !bytes.Contains(raw[a:b], []byte("---"))
}

// symbolFunctions returns the functions with symbol name (any of their
// names), at most maxCandidates.
func symbolFunctions(b *Build, name string) []int {
	var out []int
	b.Names.LookupSymbol(name, func(i int) bool {
		fn := b.Index.Names(i)
		if fn.Name == name || fn.Symbol == name || fn.LinkageName == name || contains(fn.Aliases, name) {
			out = append(out, i)
		}
		return len(out) < maxCandidates
	})
	return out
}

func hasFunction(fns []int, i int) bool {
	for _, f := range fns {
		if f == i {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func namesText(names []string) string {
	if len(names) == 0 {
		return "file names unknown"
	}
	return "files " + strings.Join(names, ", ")
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// mergeTied answers frame i from several builds: a detected build and its
// twins (same function table), or the builds of an undecided detection. The
// first build's answer stands when they all agree on status, function, line
// and file name (the directories may differ, by PathMap say); otherwise the
// frame is ambiguous, with each build's answer naming its build.
func mergeTied(builds []*contender, per [][]aotsym.FrameResult, i int, undecided bool) aotsym.FrameResult {
	first := per[0][i]
	agree, filesDiffer := true, false
	for k := 1; k < len(per) && agree; k++ {
		o := per[k][i]
		agree = sameAnswer(&first, &o)
		filesDiffer = filesDiffer || o.File != first.File
	}
	if agree {
		if filesDiffer {
			var other []string
			for k := 1; k < len(per); k++ {
				other = append(other, fmt.Sprintf("%s in build %s", per[k][i].File, builds[k].meta.ID.Short()))
			}
			what := "the tied builds agree on this line"
			if undecided {
				what = "the builds the trace fits agree on this line"
			}
			first.Reason = joinReason(first.Reason, fmt.Sprintf("%s; the file is build %s's path (%s)", what, builds[0].meta.ID.Short(), strings.Join(other, ", ")))
		} else if undecided && first.Status == aotsym.StatusResolved {
			first.Reason = joinReason(first.Reason, fmt.Sprintf("the %d builds the trace fits all give this line", len(builds)))
		}
		return first
	}
	out := aotsym.FrameResult{Status: aotsym.StatusAmbiguous}
	var ids, none []string
	for k := range per {
		o := per[k][i]
		id := builds[k].meta.ID
		ids = append(ids, id.Short())
		if len(o.Candidates) > 0 {
			for _, c := range o.Candidates {
				c.BuildID = id
				out.Candidates = append(out.Candidates, c)
			}
			continue
		}
		if o.Function != "" || o.File != "" {
			if o.Status == aotsym.StatusNotFound || o.Status == aotsym.StatusOffsetOutOfRange || o.Status == aotsym.StatusUnknownBuild {
				none = append(none, id.Short())
				continue
			}
			out.Candidates = append(out.Candidates, aotsym.Location{Function: o.Function, Symbol: o.Symbol, File: o.File, Line: o.Line, Column: o.Column, Address: o.Address, Inlined: o.Inlined, BuildID: id})
			continue
		}
		none = append(none, id.Short())
	}
	if undecided {
		out.Reason = fmt.Sprintf("the trace fits builds %s equally well and they answer differently for this frame (each candidate names its build); the build's note says what would decide", strings.Join(ids, ", "))
	} else {
		out.Reason = fmt.Sprintf("builds %s have the same functions but answer differently for this frame (each candidate names its build); give the build ID to choose", strings.Join(ids, " and "))
	}
	if len(none) > 0 {
		out.Reason += fmt.Sprintf("; in build %s the frame names nothing", strings.Join(none, ", "))
	}
	if len(out.Candidates) == 0 {
		out.Status = aotsym.StatusNotFound
	}
	return out
}

// sameAnswer reports whether two builds answer a frame alike: the same
// status, function and line, files of the same name, and for ambiguous
// frames the same candidates.
func sameAnswer(a, b *aotsym.FrameResult) bool {
	if a.Status != b.Status || a.Function != b.Function || a.Line != b.Line || path.Base(a.File) != path.Base(b.File) || len(a.Candidates) != len(b.Candidates) || len(a.Inlined) != len(b.Inlined) {
		return false
	}
	for k := range a.Candidates {
		x, y := &a.Candidates[k], &b.Candidates[k]
		if x.Function != y.Function || x.Line != y.Line || path.Base(x.File) != path.Base(y.File) {
			return false
		}
	}
	return true
}
