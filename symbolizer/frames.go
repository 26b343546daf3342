package symbolizer

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/dotnet"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/ianlancetaylor/demangle"
)

// A frame's address is a return address (the instruction before it is a
// call; its line is that of address−1) except in a hardware fault's leaf
// frame, where it is the faulting instruction. The index knows which when it
// was built with the executable's code; without it every address is taken
// for a return address, and where that assumption changes a leaf frame's
// line the answer says so.

// maxCandidates bounds the functions one printed name may match (overloads
// and generic instantiations); the rest are left out of an answer.
const maxCandidates = 64

// cand is one function a frame may be in.
type cand struct {
	fn    elfindex.Function
	addr  uint64 // the frame's address in the build (start + offset, or the RVA's)
	match dotnet.Match
	known bool // the code says whether addr follows a call
	ret   bool // … and it does
}

// frameCtx is what resolving one frame needs to know about its neighbours.
type frameCtx struct {
	// leaf: the first frame of its exception, whose address may be a
	// faulting instruction; every other frame's is a return address.
	leaf bool
	// single: the build is the only one in play, so any module name is it.
	single bool
}

// managedCands finds the functions a managed frame can name in build b, with
// the frame's address in each; q is the frame's query (one per distinct
// printed method of a request, shared by every build). The second result
// counts the functions whose name matched before the offset was checked.
func managedCands(b *Build, f *aotsym.Frame, q *dotnet.Query) (cands []cand, named int, biggest uint64) {
	var seenList [16]int // small sets: an array; large ones: the map
	nseen := 0
	var seenMap map[int]struct{}
	scanned := 0
	var m dotnet.Method
	q.Lookup(b.Names, func(i int) bool {
		if scanned++; scanned > maxScanned {
			return false
		}
		if seenMap != nil {
			if _, ok := seenMap[i]; ok {
				return true
			}
			seenMap[i] = struct{}{}
		} else {
			for _, s := range seenList[:nseen] {
				if s == i {
					return true
				}
			}
			if nseen < len(seenList) {
				seenList[nseen] = i
				nseen++
			} else {
				seenMap = make(map[int]struct{}, 64)
				for _, s := range seenList {
					seenMap[s] = struct{}{}
				}
				seenMap[i] = struct{}{}
			}
		}
		// Names first: most entries of a key are other methods of types
		// ending alike; only a match is decoded whole.
		n := b.Index.Names(i)
		methodOfNames(&n, &m)
		mt, ok := q.MatchName(&m)
		if !ok {
			return true
		}
		named++
		start, end, _ := b.Index.Range(i)
		size := end - start
		biggest = max(biggest, size)
		off := f.Offset
		if off > size || len(cands) == maxCandidates {
			return true
		}
		fn := b.Index.Function(i)
		m.Params, m.HasParams = fn.Params, fn.HasDWARF
		mt.Params = q.CompareParams(&m)
		cands = append(cands, cand{fn: fn, addr: fn.Start + off, match: mt})
		return true
	})
	return cands, named, biggest
}

// maxScanned bounds the name-table entries one frame looks at (functions of
// one method name whose types end alike: the instantiations of a generic
// type, say), so that a hostile input costs a bounded time per frame.
const maxScanned = 1024

// narrow keeps the best candidates by the evidence that tells functions of one
// printed name apart, strongest first; each step applies only when it leaves
// some candidate.
func narrow(b *Build, cands []cand, fc frameCtx) []cand {
	// An exact type name before one that needed a uniqueness suffix or
	// belongs to a stub.
	cands = keepIf(cands, func(c *cand) bool { return !c.match.Loose })
	// Parameter types: matching, then unknown, before differing.
	if hasAny(cands, func(c *cand) bool { return c.match.Params == dotnet.ParamsMatch }) {
		cands = keepIf(cands, func(c *cand) bool { return c.match.Params == dotnet.ParamsMatch })
	} else {
		cands = keepIf(cands, func(c *cand) bool { return c.match.Params != dotnet.ParamsDiffer })
	}
	for i := range cands {
		cands[i].known, cands[i].ret = b.Index.ReturnAddressAt(cands[i].addr)
	}
	// Below the leaf, the address follows a call; without the code, an
	// instruction known to start at address−1 says it does not.
	if !fc.leaf {
		cands = keepIf(cands, func(c *cand) bool { return !c.known || c.ret })
		cands = keepIf(cands, func(c *cand) bool { return c.known || !instructionBefore(b, *c) })
	}
	// arm64 instructions are 4 bytes, aligned: an address that is not
	// cannot be a return address or a faulting instruction.
	if b.Index.Machine() == elf.EM_AARCH64 {
		cands = keepIf(cands, func(c *cand) bool { return c.addr%4 == 0 })
	}
	return cands
}

func keepIf(cands []cand, keep func(*cand) bool) []cand {
	if !hasAny(cands, keep) {
		return cands
	}
	out := cands[:0]
	for i := range cands {
		if keep(&cands[i]) {
			out = append(out, cands[i])
		}
	}
	return out
}

func hasAny(cands []cand, pred func(*cand) bool) bool {
	for i := range cands {
		if pred(&cands[i]) {
			return true
		}
	}
	return false
}

// answer is one candidate's lookup.
type answer struct {
	c       cand
	lookup  uint64 // the address looked up
	base    uint64 // the build's image base: lookup − base is the RVA
	noLine  bool
	file    string
	line    int
	column  int
	inlined []aotsym.InlinedFrame
	leafFn  string // the innermost frame's function (native inlining)
	note    string // an assumption that mattered
}

// lookupCand looks a candidate up: address−1 for a return address, the
// address itself for a faulting instruction. Rows never come from another
// function than the candidate's.
func lookupCand(b *Build, c cand, fc frameCtx) answer {
	a := answer{c: c, base: b.Index.ImageBase()}
	off := c.addr - c.fn.Start
	switch {
	case off == 0:
		// A method's first instruction: address−1 would be the previous
		// function's.
		a.lookup = c.addr
	case c.known:
		a.lookup = c.addr
		if c.ret {
			a.lookup = c.addr - 1
		}
	default:
		a.lookup = c.addr - 1
	}
	fill(b, &a, a.lookup)
	if !c.known && fc.leaf && off != 0 && !b.Index.HasCode() {
		// Without the code, a leaf frame might be a faulting instruction.
		var alt answer
		alt.c = c
		fill(b, &alt, c.addr)
		if alt.noLine != a.noLine || alt.file != a.file || alt.line != a.line {
			a.note = fmt.Sprintf("no executable uploaded for this build, so the leaf frame was taken for a return address (looked up %#x); if it was a hardware fault (null reference, division by zero) the line is %s",
				a.lookup, lineText(alt.file, alt.line, alt.noLine))
		}
	}
	return a
}

func lineText(file string, line int, noLine bool) string {
	if noLine || file == "" {
		return "unknown"
	}
	return file + ":" + strconv.Itoa(line)
}

// fill looks addr up and keeps the answer only when it is the candidate's own
// function (or code nested in it).
func fill(b *Build, a *answer, addr uint64) {
	var frames [8]elfindex.Frame // the answer's strings are views: no copy is kept
	ans := b.Index.LookupAppend(addr, frames[:0])
	if ans.Function < 0 || !within(b.Index, ans.Function, a.c.fn.Index) || len(ans.Frames) == 0 || ans.NoLine {
		a.noLine = true
		return
	}
	fr := ans.Frames[0]
	a.file, a.line, a.column = fr.File, fr.Line, fr.Column
	if fr.File == "" {
		a.noLine = true
		return
	}
	if len(ans.Frames) > 1 {
		a.leafFn = demangleName(fr.FunctionName)
		for _, o := range ans.Frames[1:] {
			a.inlined = append(a.inlined, aotsym.InlinedFrame{Function: demangleName(o.FunctionName), File: o.File, Line: o.Line, Column: o.Column})
		}
	}
}

// within reports whether function i is fn or nested in it.
func within(ix *elfindex.Index, i, fn int) bool {
	for steps := 0; steps < 64 && i >= 0; steps++ {
		if i == fn {
			return true
		}
		_, _, p := ix.Range(i)
		if p < 0 || p >= i {
			return false
		}
		i = p
	}
	return false
}

func demangleName(s string) string {
	if strings.HasPrefix(s, "_Z") || strings.HasPrefix(s, "_R") {
		return demangle.Filter(s, demangle.MaxLength(maxDemangleLength))
	}
	return s
}

// conclude turns the answers for one frame into its result: resolved when
// every candidate gives the same file and line, no_line when none has a
// line, ambiguous otherwise. printed names the function for managed frames.
func conclude(r *aotsym.FrameResult, answers []answer, printed string) {
	first := answers[0]
	agree := true
	for _, a := range answers[1:] {
		if a.noLine != first.noLine || a.file != first.file || a.line != first.line {
			agree = false
			break
		}
	}
	name := func(a *answer) string {
		if printed != "" {
			return printed
		}
		return displayName(&a.c.fn)
	}
	if !agree {
		r.Status = aotsym.StatusAmbiguous
		for i := range answers {
			a := &answers[i]
			loc := aotsym.Location{Function: name(a), Symbol: symbolOf(&a.c.fn), Address: hex(a.lookup - a.base)}
			if !a.noLine {
				loc.File, loc.Line, loc.Column = a.file, a.line, a.column
			}
			if loc.Symbol == loc.Function {
				loc.Symbol = ""
			}
			r.Candidates = append(r.Candidates, loc)
		}
		r.Reason = fmt.Sprintf("%d functions match %s and their lines differ; %s", len(answers), quoteName(printed, &first.c.fn), whyAmbiguous(answers))
		return
	}
	r.Function = name(&first)
	r.Symbol = symbolOf(&first.c.fn)
	if r.Symbol == r.Function {
		r.Symbol = ""
	}
	r.Address = hex(first.lookup - first.base)
	var buf [3]string
	notes := buf[:0]
	if first.noLine {
		r.Status = aotsym.StatusNoLine
		notes = append(notes, noLineReason(&first))
	} else {
		r.Status = aotsym.StatusResolved
		r.File, r.Line, r.Column = first.file, first.line, first.column
		if len(first.inlined) > 0 {
			r.Function = first.leafFn
			r.Inlined = first.inlined
		}
	}
	if len(answers) > 1 {
		notes = append(notes, fmt.Sprintf("%d functions match (%s); all give this answer", len(answers), symbolList(answers)))
	}
	if first.note != "" {
		notes = append(notes, first.note)
	}
	r.Reason = strings.Join(notes, "; ")
}

func quoteName(printed string, fn *elfindex.Function) string {
	if printed != "" {
		return "`" + printed + "`"
	}
	return "`" + displayName(fn) + "`"
}

// whyAmbiguous says what tells the candidates apart, in words.
func whyAmbiguous(answers []answer) string {
	generic := 0
	for i := range answers {
		if strings.Contains(symbolOf(&answers[i].c.fn), "<") {
			generic++
		}
	}
	if generic == len(answers) {
		return "they are instantiations of one generic method (shared code over reference types and code specialised for value types), which the printed frame does not tell apart"
	}
	return "the printed frame does not tell them apart (same name, parameter types the debug file cannot separate)"
}

func symbolList(answers []answer) string {
	var names []string
	for i := range answers {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(answers)-3))
			break
		}
		names = append(names, symbolOf(&answers[i].c.fn))
	}
	return strings.Join(names, ", ")
}

func noLineReason(a *answer) string {
	switch {
	case !a.c.fn.HasLines:
		return symbolOf(&a.c.fn) + " has no line information in the debug file (code compiled without a PDB, such as framework assemblies, or a stub)"
	case a.lookup == a.c.fn.Start || a.c.addr == a.c.fn.Start:
		return "no line row of " + symbolOf(&a.c.fn) + " covers its first instruction"
	default:
		var h [18]byte
		return "no line row of " + symbolOf(&a.c.fn) + " covers " + string(appendHex(h[:0], a.lookup)) + ": its first row starts after it (often the resume code of an async method); the row in force there belongs to the previous function, so it is not used"
	}
}

// hex writes v as %#x does.
func hex(v uint64) string {
	var h [18]byte
	return string(appendHex(h[:0], v))
}

func appendHex(b []byte, v uint64) []byte {
	return strconv.AppendUint(append(b, "0x"...), v, 16)
}

// printedMethod writes a managed frame's method the way the runtime printed
// it: name, generic parameters, parameter types and names.
func printedMethod(f *aotsym.Frame) string {
	if !f.HasParams {
		return f.Method
	}
	n := len(f.Method) + 2
	for i, p := range f.Params {
		n += len(p.Type) + 1 + len(p.Name) + 2*min(i, 1)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(f.Method)
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Type)
		if p.Name != "" {
			b.WriteByte(' ')
			b.WriteString(p.Name)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// leaves marks the first frame of each exception (and of an input without
// exception headers): only those can be a faulting instruction. A frame after
// `--- End of stack trace from previous location ---` is where the exception
// was rethrown, a call.
func leaves(doc *trace.Document) []bool {
	out := make([]bool, len(doc.Frames))
	for i := range doc.Frames {
		out[i] = i == 0 || doc.FrameException[i] != doc.FrameException[i-1]
	}
	return out
}
