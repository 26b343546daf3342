package trace

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/aotsym/aotsym"
)

// edit replaces input[start:end] with text, escaped level times for JSON.
type edit struct {
	start, end int
	text       string
	level      int
}

// RenderText returns the input with every resolved frame rewritten the way the
// JIT prints it (doc.go, "Rendering"): status "resolved" with a File and a
// Line. results[i] is the answer for Frames[i];
// a nil or short slice leaves the rest unresolved. Nothing else changes: with no
// resolved frame the result is the input byte for byte, and JSON stays JSON.
func (d *Document) RenderText(results []aotsym.FrameResult) []byte {
	var edits []edit
	for i := range d.Frames {
		if i >= len(results) {
			break
		}
		r := &results[i]
		if r.Status != aotsym.StatusResolved || r.File == "" || r.Line <= 0 {
			continue
		}
		edits = d.frameEdits(edits, i, r)
	}
	out := make([]byte, 0, len(d.raw)+len(edits)*64)
	if len(edits) == 0 {
		return append(out, d.raw...)
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	pos := 0
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > len(d.raw) {
			continue // cannot happen for edits of distinct frames; never corrupt the output
		}
		out = append(out, d.raw[pos:e.start]...)
		out = append(out, escapeLevels(e.text, e.level)...)
		pos = e.end
	}
	return append(out, d.raw[pos:]...)
}

// position is what replaces a frame's offset: ` in FILE:line N`.
func position(r *aotsym.FrameResult) string {
	return " in " + oneLine(r.File) + ":line " + strconv.Itoa(r.Line)
}

// function names the code of a resolved frame for the rva and native forms.
func function(r *aotsym.FrameResult) string {
	if r.Function != "" {
		return oneLine(r.Function)
	}
	return oneLine(r.Symbol)
}

// oneLine replaces control characters, so that a name read from a debug file
// cannot add lines to the trace.
func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] < 0x20 || b[j] == 0x7f {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return s
}

func (d *Document) frameEdits(edits []edit, i int, r *aotsym.FrameResult) []edit {
	fi := &d.info[i]
	pos := position(r)
	fn := function(r)
	switch fi.style {
	case styleManaged:
		edits = append(edits, edit{fi.a, fi.b, pos, fi.level})
	case styleWrap:
		if fn == "" {
			edits = append(edits, edit{fi.b, fi.b, pos, fi.level})
			break
		}
		edits = append(edits,
			edit{fi.a, fi.a, fn + " (", fi.level},
			edit{fi.b, fi.b, ")" + pos, fi.level})
	case styleParen:
		if !fi.named && fn != "" {
			edits = append(edits, edit{fi.a, fi.a, "in " + fn + " ", fi.level})
		}
		edits = append(edits, edit{fi.b, fi.b, pos, fi.level})
	case styleAppend:
		if fi.c < fi.d && fn != "" {
			edits = append(edits, edit{fi.c, fi.d, fn, fi.level})
		}
		edits = append(edits, edit{fi.b, fi.b, pos, fi.level})
	}
	return edits
}

// escapeLevels escapes s as JSON string content n times.
func escapeLevels(s string, n int) string {
	for ; n > 0; n-- {
		s = escapeJSON(s)
	}
	return s
}

// escapeJSON escapes s for the inside of a JSON string: quotes, backslashes
// and control characters; invalid UTF-8 becomes U+FFFD. Everything else,
// `<`, `>` and non-ASCII letters included, is written as it is.
func escapeJSON(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return string(b)
}

// Trace returns the JSON document of shared/interface.md: Format, the
// exception tree, and per frame its Index, Exception, Input and Kind from the
// document and everything else from results[i]. A frame without a result is
// "not_found" (nothing was looked up), except a lined frame, which is
// "resolved" at the position it already names. Summary counts the statuses;
// BuildID and Build are the resolver's to fill.
func (d *Document) Trace(results []aotsym.FrameResult) *aotsym.Trace {
	t := &aotsym.Trace{
		Format: d.Format,
		Frames: make([]aotsym.FrameResult, len(d.Frames)),
	}
	if len(d.Exceptions) > 0 {
		t.Exceptions = make([]aotsym.Exception, len(d.Exceptions))
		for i, e := range d.Exceptions {
			e.Frames = slices.Clone(e.Frames)
			if e.Frames == nil {
				e.Frames = []int{}
			}
			t.Exceptions[i] = e
		}
	}
	for i := range d.Frames {
		f := &d.Frames[i]
		var r aotsym.FrameResult
		if i < len(results) {
			r = results[i]
		}
		r.Index = i
		r.Exception = d.FrameException[i]
		r.Input = d.Input(i)
		r.Kind = f.Kind
		if r.Status == "" {
			if f.Kind == aotsym.FrameLined {
				r.Status = aotsym.StatusResolved
				r.Function = f.Method
				if r.Function == "" {
					r.Function = f.Symbol
				}
				r.File, r.Line = f.File, f.Line
				r.Reason = "the frame already names its source position"
			} else {
				r.Status = aotsym.StatusNotFound
				r.Reason = "the frame was not looked up"
			}
		}
		t.Frames[i] = r
	}
	t.Summarize()
	return t
}
