package aotsym

import (
	"fmt"
	"strings"
)

// Status is what became of one frame. The values are public names
// (shared/interface.md): they appear in JSON answers and never change meaning.
type Status string

const (
	// StatusResolved: one function, file and line (or several candidates that
	// all agree on file and line).
	StatusResolved Status = "resolved"
	// StatusAmbiguous: several functions match the printed name and they give
	// different lines; Candidates lists every one.
	StatusAmbiguous Status = "ambiguous"
	// StatusNoLine: the function is known, but no line row of that function
	// covers the address (code without line information, or the address is
	// before the function's first row). Never the previous function's line.
	StatusNoLine Status = "no_line"
	// StatusNotFound: no function of the build matches the frame, or the frame
	// names nothing that can be looked up.
	StatusNotFound Status = "not_found"
	// StatusOffsetOutOfRange: the method exists but the offset is past its end,
	// which usually means the trace comes from another build.
	StatusOffsetOutOfRange Status = "offset_out_of_range"
	// StatusUnknownBuild: no stored build could be chosen for this frame.
	StatusUnknownBuild Status = "unknown_build"
)

// Statuses lists every status in the order summaries show them.
var Statuses = []Status{StatusResolved, StatusAmbiguous, StatusNoLine, StatusNotFound, StatusOffsetOutOfRange, StatusUnknownBuild}

// Location is one answer: a function and, when known, its source position.
type Location struct {
	// Function is the name a user reads: the runtime's printed form for
	// managed code when known, otherwise the demangled symbol.
	Function string `json:"function"`
	// Symbol is the linkage (ELF symbol) name, when it differs from Function.
	Symbol string `json:"symbol,omitempty"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Address is the address that was looked up, as an RVA in hex (0x…).
	Address string `json:"address,omitempty"`
	// BuildID names the build this answer comes from, when a frame is
	// answered from several builds (an undecided or tied detection).
	BuildID BuildID `json:"build_id,omitempty"`
	// Inlined is set when the code at the address was inlined (native code;
	// Native AOT records no managed inlining): Function, File and Line are then
	// the innermost frame, the code actually at the address, and Inlined lists
	// the functions it was inlined into, from the nearest caller out to the
	// function that holds the code, each with the call site's file and line.
	// The same order as `llvm-symbolizer --inlines`.
	Inlined []InlinedFrame `json:"inlined,omitempty"`
}

// InlinedFrame is one level of an inline chain.
type InlinedFrame struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
}

// FrameResult is the answer for one frame of a trace; its JSON fields are
// public names (shared/interface.md).
type FrameResult struct {
	// Index is the frame's position among all frames of the input, from 0.
	Index int `json:"index"`
	// Exception is the path of the exception the frame belongs to ("0", "0.1"),
	// empty when the input had no exception header before it.
	Exception string    `json:"exception,omitempty"`
	Input     string    `json:"input"`
	Kind      FrameKind `json:"kind"`
	Status    Status    `json:"status"`
	// BuildID is the build this frame was resolved against, when it differs
	// from the document's (native frames of other modules).
	BuildID BuildID `json:"build_id,omitempty"`
	// The answer, when there is one (resolved, no_line: Function only).
	Function string         `json:"function,omitempty"`
	Symbol   string         `json:"symbol,omitempty"`
	File     string         `json:"file,omitempty"`
	Line     int            `json:"line,omitempty"`
	Column   int            `json:"column,omitempty"`
	Address  string         `json:"address,omitempty"`
	Inlined  []InlinedFrame `json:"inlined,omitempty"`
	// Candidates lists every candidate of an ambiguous frame.
	Candidates []Location `json:"candidates,omitempty"`
	// Reason says in plain words why a frame is not resolved, or what was
	// assumed (for example that the address is a return address).
	Reason string `json:"reason,omitempty"`
}

// Exception is one exception of a trace: the exception itself is "0", its
// inner exceptions "0.0", "0.1", and so on.
type Exception struct {
	Path    string `json:"path"`
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	// Frames are indexes into Trace.Frames.
	Frames []int `json:"frames"`
}

// BuildChoice says how the build of a trace was chosen.
type BuildChoice struct {
	// How is "given" (by the caller), "named" (a `build-id:` line in the
	// trace), "tags" (the newest build with the given tags), "detected" (scored
	// against candidate builds), "undecided" (several builds of different
	// code fit the trace equally well: no build is named, Candidates lists
	// them, and frames are answered where they all agree), or "none".
	How string `json:"how"`
	// Score is how many frames of the trace matched the chosen build, of Frames.
	Score  int `json:"score,omitempty"`
	Frames int `json:"frames,omitempty"`
	// Tied lists other builds that scored as well as the chosen one (builds
	// whose code is identical, such as the same program with other DWARF
	// settings); the answer is the same for all of them only if their line
	// tables agree.
	Tied []BuildID `json:"tied,omitempty"`
	// Candidates lists, when How is "undecided", every build the trace
	// fits equally well (some may have the same code as others; Note says).
	Candidates []BuildID `json:"candidates,omitempty"`
	// RunnerUp and RunnerUpScore name the best build that lost.
	RunnerUp      BuildID `json:"runner_up,omitempty"`
	RunnerUpScore int     `json:"runner_up_score,omitempty"`
	// Note explains the choice in a sentence.
	Note string `json:"note,omitempty"`
}

// Trace is the JSON answer for one symbolicated input.
type Trace struct {
	BuildID BuildID      `json:"build_id,omitempty"`
	Build   *BuildChoice `json:"build,omitempty"`
	// Format is the container the input was found in: "text", "cloudwatch",
	// "lambda_error", "json_events", "aws_logs".
	Format     string         `json:"format"`
	Exceptions []Exception    `json:"exceptions,omitempty"`
	Frames     []FrameResult  `json:"frames"`
	Summary    map[Status]int `json:"summary"`
}

// SummaryText says how many frames ended in each status, in the order of
// Statuses ("3 resolved, 1 no_line"); "" when there are none.
func (t *Trace) SummaryText() string {
	var parts []string
	for _, s := range Statuses {
		if n := t.Summary[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// Summarize counts frames by status into t.Summary.
func (t *Trace) Summarize() {
	t.Summary = make(map[Status]int, len(Statuses))
	for _, f := range t.Frames {
		t.Summary[f.Status]++
	}
}
