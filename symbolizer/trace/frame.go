package trace

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aotsym/aotsym"
)

// Render styles: how a resolved frame is rewritten (doc.go).
const (
	styleNone    uint8 = iota // never rewritten (lined, unknown)
	styleManaged              // replace [a,b) (the offset, or nothing) with " in FILE:line N"
	styleWrap                 // "FUNC (" at a, ") in FILE:line N" at b
	styleParen                // "in FUNC " at a (the '(' of a sanitizer token) unless named; " in FILE:line N" at b
	styleAppend               // replace [c,d) (gdb's "??") with FUNC when c<d; " in FILE:line N" at b
)

// frameInfo is what the Document keeps per frame beyond aotsym.Frame: the
// input text and where a rewrite goes, as offsets of the input.
type frameInfo struct {
	input      string
	style      uint8
	level      int // JSON string levels: how many times inserted text is escaped
	a, b, c, d int
	named      bool // the line already names the function
}

// span is a range of offsets in the line being read.
type span struct{ s, e int }

func (x span) add(n int) span { return span{x.s + n, x.e + n} }

// lineFrame is a frame recognised in one trimmed line. Offsets are relative to
// the line, and the strings of the frame are made only once it is certain to
// be one: a single copy of the line, of which every field is a substring.
type lineFrame struct {
	kind                             aotsym.FrameKind
	method, module, symbol, file     span
	params                           span // inside the parentheses
	extra                            [4]span
	nextra                           int // the JIT's `+MoveNext()` parts: method += "+" + extra[i]
	hasParams, hasOffset, hasAddress bool
	offset, address                  uint64
	line                             int
	text                             span
	inputEnd                         int
	style                            uint8
	a, b, c, d                       int
	named, aggEnd                    bool
}

func (lf *lineFrame) shift(n int) {
	lf.method, lf.module, lf.symbol, lf.file = lf.method.add(n), lf.module.add(n), lf.symbol.add(n), lf.file.add(n)
	lf.params, lf.text = lf.params.add(n), lf.text.add(n)
	for i := 0; i < lf.nextra; i++ {
		lf.extra[i] = lf.extra[i].add(n)
	}
	lf.a += n
	lf.b += n
	lf.c += n
	lf.d += n
}

// build makes the frame from in, the line's text up to the end of the frame.
func (lf *lineFrame) build(in string) aotsym.Frame {
	sub := func(x span) string { return in[x.s:x.e] }
	f := aotsym.Frame{
		Kind: lf.kind, Text: sub(lf.text),
		Method: sub(lf.method), HasParams: lf.hasParams,
		Offset: lf.offset, HasOffset: lf.hasOffset,
		Module: sub(lf.module), Symbol: sub(lf.symbol),
		Address: lf.address, HasAddress: lf.hasAddress,
		File: sub(lf.file), Line: lf.line,
	}
	if lf.hasParams {
		f.Params = parseParams(sub(lf.params))
	}
	for i := 0; i < lf.nextra; i++ {
		f.Method += "+" + sub(lf.extra[i])
	}
	return f
}

// recognizeFrame reads one line (indentation removed) as a frame.
func recognizeFrame(t []byte) (lineFrame, bool) {
	// the end of the frame: trailing space and the aggregate marker go
	end := len(t)
	for end > 0 && (t[end-1] == ' ' || t[end-1] == '\t' || t[end-1] == '\r') {
		end--
	}
	agg := false
	if bytes.HasSuffix(t[:end], aggMarker) {
		agg = true
		end -= len(aggMarker)
		for end > 0 && t[end-1] == ' ' {
			end--
		}
	}
	body := t[:end]
	if len(body) < 4 {
		return lineFrame{}, false
	}
	var lf lineFrame
	var ok bool
	switch {
	case body[0] == 'a' && body[1] == 't' && body[2] == ' ':
		j := 3
		for j < len(body) && body[j] == ' ' {
			j++
		}
		lf, ok = atFrame(body[j:])
		if ok {
			lf.shift(j)
		}
	case body[0] == '#':
		lf, ok = hashFrame(body)
	default:
		if bytes.Contains(body, []byte("+0x")) {
			lf, ok = bareFrame(body)
			if !ok {
				lf, ok = renderedFrame(body)
			}
		}
	}
	if !ok {
		return lineFrame{}, false
	}
	lf.inputEnd = end
	lf.aggEnd = agg
	return lf, true
}

// atFrame reads what follows `at `.
func atFrame(t []byte) (lineFrame, bool) {
	if len(t) == 0 {
		return lineFrame{}, false
	}
	if t[0] == '<' {
		if lf, ok := unknownFrame(t); ok {
			return lf, true
		}
	}
	if lf, ok := rvaFrame(t); ok {
		return lf, true
	}
	if lf, ok := managedFrame(t); ok {
		return lf, true
	}
	if lf, ok := renderedFrame(t); ok {
		return lf, true
	}
	return bareFrame(t)
}

// unknownFrame reads `<unknown>` (any case, optionally with an offset).
func unknownFrame(t []byte) (lineFrame, bool) {
	const u = "<unknown"
	if len(t) < len(u)+1 || !bytes.EqualFold(t[:len(u)], []byte(u)) {
		return lineFrame{}, false
	}
	k := bytes.IndexByte(t, '>')
	if k < 0 {
		return lineFrame{}, false
	}
	rest := t[k+1:]
	if len(rest) > 0 {
		if _, n, ok := offsetSuffix(rest); !ok || n != len(rest) {
			return lineFrame{}, false
		}
	}
	return lineFrame{kind: aotsym.FrameUnknown, text: span{0, len(t)}}, true
}

// rvaFrame reads `module!<BaseAddress>+0x1a2b`.
func rvaFrame(t []byte) (lineFrame, bool) {
	const ba = "!<BaseAddress>"
	k := bytes.Index(t, []byte(ba))
	if k <= 0 {
		return lineFrame{}, false
	}
	for _, c := range t[:k] {
		if c == ' ' || c == '!' || c == '(' || c == ')' {
			return lineFrame{}, false
		}
	}
	rest := t[k+len(ba):]
	off, n, ok := offsetSuffix(rest)
	if !ok || n != len(rest) {
		return lineFrame{}, false
	}
	return lineFrame{kind: aotsym.FrameRVA, module: span{0, k}, offset: off, hasOffset: true,
		text: span{0, len(t)}, style: styleWrap, a: 0, b: len(t)}, true
}

// offsetSuffix reads ` + 0x1a`, `+0x1a` and the like at the start of t and
// returns the value and the bytes read.
func offsetSuffix(t []byte) (uint64, int, bool) {
	i := 0
	for i < len(t) && t[i] == ' ' {
		i++
	}
	if i >= len(t) || t[i] != '+' {
		return 0, 0, false
	}
	i++
	for i < len(t) && t[i] == ' ' {
		i++
	}
	v, n, ok := hexNumber(t[i:])
	if !ok {
		return 0, 0, false
	}
	return v, i + n, true
}

// hexNumber reads `0x` and 1 to 16 hex digits.
func hexNumber(t []byte) (uint64, int, bool) {
	if len(t) < 3 || t[0] != '0' || (t[1] != 'x' && t[1] != 'X') {
		return 0, 0, false
	}
	var v uint64
	i := 2
	for i < len(t) && unhex(t[i]) >= 0 {
		if i-2 >= 16 {
			return 0, 0, false
		}
		v = v<<4 | uint64(unhex(t[i]))
		i++
	}
	if i == 2 {
		return 0, 0, false
	}
	return v, i, true
}

// managedFrame reads `Ns.Type.Method[T](Type name, …) + 0x1c` and the JIT's
// `… in /path/File.cs:line 42`.
func managedFrame(t []byte) (lineFrame, bool) {
	n, ok := methodName(t, true)
	if !ok {
		return lineFrame{}, false
	}
	lf := lineFrame{kind: aotsym.FrameManaged, method: span{0, n}, style: styleManaged}
	i := n
	if i < len(t) && t[i] == '(' {
		close := matchParen(t, i)
		if close < 0 {
			return lineFrame{}, false
		}
		lf.hasParams, lf.params = true, span{i + 1, close}
		i = close + 1
		// the JIT's iterator and IValueTaskSource frames:
		// `T.M(String s)+MoveNext()`, `T.M()+System.…IValueTaskSource<System.Boolean>.GetResult()`
		for i+1 < len(t) && t[i] == '+' && t[i+1] != ' ' && t[i+1] != '0' {
			m, ok := methodName(t[i+1:], false)
			if !ok || lf.nextra == len(lf.extra) || i+1+m >= len(t) || t[i+1+m] != '(' {
				return lineFrame{}, false
			}
			close := matchParen(t, i+1+m)
			if close < 0 {
				return lineFrame{}, false
			}
			lf.extra[lf.nextra] = span{i + 1, i + 1 + m}
			lf.nextra++
			i = close + 1
		}
	}
	lf.a, lf.b = i, i
	if off, m, ok := offsetSuffix(t[i:]); ok {
		lf.offset, lf.hasOffset = off, true
		lf.b = i + m
		i += m
	}
	if i < len(t) {
		file, line, ok := inFileLine(t[i:])
		if !ok {
			return lineFrame{}, false
		}
		lf.kind, lf.file, lf.line = aotsym.FrameLined, file.add(i), line
		lf.style = styleNone
		i = len(t)
	}
	if !lf.hasParams && !lf.hasOffset && lf.kind == aotsym.FrameManaged {
		return lineFrame{}, false // `at X.Y` alone is prose, not a frame
	}
	lf.text = span{0, i}
	return lf, true
}

// inFileLine reads ` in FILE:line N` filling all of t.
func inFileLine(t []byte) (span, int, bool) {
	if !bytes.HasPrefix(t, []byte(" in ")) {
		return span{}, 0, false
	}
	k := bytes.LastIndex(t, []byte(":line "))
	if k <= 4 {
		return span{}, 0, false
	}
	line, ok := decimal(t[k+6:])
	if !ok {
		return span{}, 0, false
	}
	return span{4, k}, line, true
}

// decimal reads a whole slice of 1 to 9 digits.
func decimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// methodName returns the length of a qualified managed method name at the
// start of t: identifier characters and `.<>|`$@'-~`, generic arguments in
// `[…]`, at least one dot (with needDot), not starting with a digit.
func methodName(t []byte, needDot bool) (int, bool) {
	n, depth, dots := 0, 0, 0
	for n < len(t) {
		c := t[n]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
			case c >= '0' && c <= '9':
				if n == 0 {
					return 0, false
				}
			case c == '.':
				dots++
			case c == '<' || c == '>' || c == '|' || c == '`' || c == '$' || c == '@' || c == '\'' || c == '-' || c == '~':
			case c == '[':
				depth++
			case c == ']':
				if depth == 0 {
					return 0, false
				}
				depth--
			case c == ',' && depth > 0:
			default:
				goto done
			}
			n++
			continue
		}
		r, size := utf8.DecodeRune(t[n:])
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Pc, r)) {
			break
		}
		n += size
	}
done:
	if n == 0 || depth != 0 || (needDot && dots == 0) || t[0] == '.' || t[n-1] == '.' {
		return 0, false
	}
	return n, true
}

// matchParen returns the index of the ')' closing the '(' at i, or -1.
func matchParen(t []byte, i int) int {
	depth := 0
	for j := i; j < len(t); j++ {
		switch t[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// parseParams splits `Int32 x, Func`2, String[] args`; the strings are
// substrings of s.
func parseParams(s string) []aotsym.Param {
	s = strings.Trim(s, " \t")
	if len(s) == 0 {
		return nil
	}
	n := 1
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '<', '(':
			depth++
		case ']', '>', ')':
			depth--
		case ',':
			if depth == 0 {
				n++
			}
		}
	}
	out := make([]aotsym.Param, 0, n)
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '[', '<', '(':
				depth++
				continue
			case ']', '>', ')':
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		p := strings.Trim(s[start:i], " \t")
		start = i + 1
		var par aotsym.Param
		if k := strings.LastIndexByte(p, ' '); k > 0 {
			par.Type, par.Name = strings.TrimRight(p[:k], " \t"), p[k+1:]
		} else {
			par.Type = p
		}
		out = append(out, par)
	}
	return out
}

// renderedFrame reads what RenderText writes for a resolved rva or native
// frame: `FUNC (TOKEN) in FILE:line N`.
func renderedFrame(t []byte) (lineFrame, bool) {
	k := bytes.Index(t, []byte(") in "))
	if k <= 0 {
		return lineFrame{}, false
	}
	j := bytes.LastIndex(t[:k], []byte(" ("))
	if j <= 0 {
		return lineFrame{}, false
	}
	file, line, ok := inFileLine(t[k+1:])
	if !ok {
		return lineFrame{}, false
	}
	inner := t[j+2 : k]
	lf, ok := rvaFrame(inner)
	if !ok {
		if lf, ok = bareFrame(inner); !ok {
			return lineFrame{}, false
		}
	}
	lf.shift(j + 2)
	lf.kind, lf.file, lf.line = aotsym.FrameLined, file.add(k+1), line
	lf.method = span{0, j}
	lf.text, lf.style = span{0, len(t)}, styleNone
	return lf, true
}

// bareFrame reads a native frame that is a single token: `module+0x1234`,
// `symbol+0x12`, `module!symbol+0x12`, `(module+0x1234)`, glibc's
// `module(symbol+0x12) [0x7f…]`.
func bareFrame(t []byte) (lineFrame, bool) {
	tok := t
	lf := lineFrame{kind: aotsym.FrameNative, text: span{0, len(t)}, style: styleWrap, a: 0, b: len(t)}
	if sp := bytes.IndexByte(t, ' '); sp >= 0 {
		// glibc's trailing absolute address is the only thing allowed after it
		tok = t[:sp]
		rest := t[sp+1:]
		if len(rest) < 4 || rest[0] != '[' || rest[len(rest)-1] != ']' {
			return lineFrame{}, false
		}
		v, n, ok := hexNumber(rest[1 : len(rest)-1])
		if !ok || n != len(rest)-2 {
			return lineFrame{}, false
		}
		lf.address, lf.hasAddress = v, true
	} else if k := bytes.LastIndexByte(t, '['); k > 0 && t[len(t)-1] == ']' && t[k-1] == ')' {
		v, n, ok := hexNumber(t[k+1 : len(t)-1])
		if !ok || n != len(t)-k-2 {
			return lineFrame{}, false
		}
		tok = t[:k]
		lf.address, lf.hasAddress = v, true
	}
	if len(tok) < 4 {
		return lineFrame{}, false // the shortest is `a+0x0`
	}
	switch {
	case tok[0] == '(' && tok[len(tok)-1] == ')':
		name, off, ok := nameOffset(tok[1 : len(tok)-1])
		if !ok || !looksLikeModule(tok[1:1+name]) {
			return lineFrame{}, false
		}
		lf.module, lf.offset, lf.hasOffset = span{1, 1 + name}, off, true
	case tok[len(tok)-1] == ')':
		// glibc: module(symbol+0x12) or module(+0x1234)
		open := bytes.IndexByte(tok, '(')
		if open <= 0 {
			return lineFrame{}, false
		}
		mod := tok[:open]
		inner := tok[open+1 : len(tok)-1]
		plus := bytes.LastIndex(inner, []byte("+0x"))
		if plus < 0 || !looksLikeModule(mod) || !validToken(mod) {
			return lineFrame{}, false
		}
		off, n, ok := hexNumber(inner[plus+1:])
		if !ok || plus+1+n != len(inner) {
			return lineFrame{}, false
		}
		if plus > 0 && !validSymbol(inner[:plus]) {
			return lineFrame{}, false
		}
		lf.module, lf.symbol = span{0, open}, span{open + 1, open + 1 + plus}
		lf.offset, lf.hasOffset = off, true
	default:
		if lf.hasAddress {
			return lineFrame{}, false
		}
		name, off, ok := nameOffset(tok)
		if !ok {
			return lineFrame{}, false
		}
		nm := tok[:name]
		if bang := bytes.IndexByte(nm, '!'); bang >= 0 {
			if bang == 0 || !validToken(nm[:bang]) || !validSymbol(nm[bang+1:]) {
				return lineFrame{}, false
			}
			lf.module, lf.symbol = span{0, bang}, span{bang + 1, name}
		} else if looksLikeModule(nm) {
			lf.module = span{0, name}
		} else {
			if !validSymbol(nm) {
				return lineFrame{}, false
			}
			lf.symbol = span{0, name}
		}
		lf.offset, lf.hasOffset = off, true
	}
	return lf, true
}

// nameOffset splits `name+0x1f` (no spaces) at its last `+0x` and returns the
// length of the name.
func nameOffset(t []byte) (int, uint64, bool) {
	plus := bytes.LastIndex(t, []byte("+0x"))
	if plus <= 0 {
		return 0, 0, false
	}
	off, n, ok := hexNumber(t[plus+1:])
	if !ok || plus+1+n != len(t) || !validToken(t[:plus]) {
		return 0, 0, false
	}
	return plus, off, true
}

// validToken rejects what cannot be a module or symbol: space, quotes, a URL,
// a leading digit.
func validToken(b []byte) bool {
	if len(b) == 0 || isDigit(b[0]) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c <= ' ' || c == '"' || c == '\'' || c == '=' || c == 0x7f {
			return false
		}
		if c == ':' && i+2 < len(b) && b[i+1] == '/' && b[i+2] == '/' {
			return false
		}
	}
	return utf8.Valid(b)
}

// validSymbol accepts mangled and demangled symbols: C++ `_ZN…E`, Rust
// `_RNv…`, Go `main.(*T).m`, C `gsignal`.
func validSymbol(b []byte) bool {
	if !validToken(b) {
		return false
	}
	r, _ := utf8.DecodeRune(b)
	return unicode.IsLetter(r) || r == '_' || r == '.' || r == '$' || r == '~'
}

// looksLikeModule says whether a name is a file: a path, or a shared object,
// executable or debug file name.
func looksLikeModule(b []byte) bool {
	if bytes.IndexByte(b, '/') >= 0 || bytes.IndexByte(b, '\\') >= 0 {
		return true
	}
	for _, ext := range []string{".dll", ".exe", ".dylib", ".dbg", ".o", ".so"} {
		if bytes.HasSuffix(b, []byte(ext)) {
			return true
		}
	}
	// libfoo.so.6, libstdc++.so.6.0.30
	if k := bytes.Index(b, []byte(".so.")); k > 0 {
		for _, c := range b[k+4:] {
			if !isDigit(c) && c != '.' {
				return false
			}
		}
		return true
	}
	return false
}

// hashFrame reads gdb's and the sanitizers' numbered frames:
//
//	#3  0x00007f… in sym (args) from /lib/libc.so.6
//	#0  sym (args) at file.c:12
//	#1 0x7f… in sym (/usr/lib/libfoo.so+0x1f50f) (BuildId: …)
//	#1 0x7f… (/usr/lib/libfoo.so+0x1f50f)
//	#0 0x4f5e2d in sym /src/file.c:12:3
func hashFrame(t []byte) (lineFrame, bool) { return hashFrameAt(t, true) }

func hashFrameAt(t []byte, rendered bool) (lineFrame, bool) {
	i := 1
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == 1 || i > 8 || i >= len(t) || t[i] != ' ' {
		return lineFrame{}, false
	}
	for i < len(t) && t[i] == ' ' {
		i++
	}
	lf := lineFrame{kind: aotsym.FrameNative, text: span{i, len(t)}, style: styleAppend, b: len(t)}
	if v, n, ok := hexNumber(t[i:]); ok {
		lf.address, lf.hasAddress = v, true
		i += n
		if i < len(t) && t[i] != ' ' {
			return lineFrame{}, false
		}
		for i < len(t) && t[i] == ' ' {
			i++
		}
	}
	r := t[i:] // what follows the address
	roff := i

	// sanitizer: a trailing (BuildId: …)
	if k := bytes.LastIndex(r, []byte(" (BuildId: ")); k >= 0 && r[len(r)-1] == ')' {
		r = r[:k]
	}
	// what this package appended when it rendered the frame
	if k := bytes.LastIndex(r, []byte(" in ")); rendered && k >= 0 {
		if file, line, ok := inFileLine(r[k:]); ok {
			if inner, ok := hashFrameAt(t[:roff+k], false); ok {
				inner.kind, inner.file, inner.line = aotsym.FrameLined, file.add(roff+k), line
				inner.text, inner.style = span{inner.text.s, len(t)}, styleNone
				return inner, true
			}
		}
	}
	switch {
	case len(r) > 0 && r[0] == '(' && lf.hasAddress:
		// #1 0x7f… (module+0x1f50f)
		if r[len(r)-1] != ')' {
			return lineFrame{}, false
		}
		name, off, ok := nameOffset(r[1 : len(r)-1])
		if !ok {
			return lineFrame{}, false
		}
		lf.module, lf.offset, lf.hasOffset = span{roff + 1, roff + 1 + name}, off, true
		lf.style, lf.a, lf.b = styleParen, roff, roff+len(r)
	case bytes.HasPrefix(r, []byte("in ")) && lf.hasAddress:
		s := r[3:]
		soff := roff + 3
		if len(s) == 0 {
			return lineFrame{}, false
		}
		// sanitizer: sym (module+0x1f50f)
		if s[len(s)-1] == ')' {
			if k := bytes.LastIndex(s, []byte(" (")); k > 0 {
				if name, off, ok := nameOffset(s[k+2 : len(s)-1]); ok {
					lf.symbol, lf.module = span{soff, soff + k}, span{soff + k + 2, soff + k + 2 + name}
					lf.offset, lf.hasOffset = off, true
					lf.style, lf.named, lf.a, lf.b = styleParen, true, soff+k+1, soff+len(s)
					break
				}
			}
		}
		if gdbTail(s, soff, &lf) {
			break
		}
		// sanitizer, symbolized: sym /src/file.c:12:3
		if k := bytes.LastIndexByte(s, ' '); k > 0 {
			if file, line, ok := colonLine(s[k+1:]); ok {
				lf.kind, lf.symbol, lf.file, lf.line = aotsym.FrameLined, span{soff, soff + k}, file.add(soff+k+1), line
				break
			}
		}
		// gdb without a library: sym (args)
		if !gdbSymbol(s) {
			return lineFrame{}, false
		}
		lf.symbol = span{soff, soff + bytes.Index(s, []byte(" ("))}
	default:
		// gdb frame without an address: sym (args) at file.c:12 / from lib
		if lf.hasAddress || !gdbTail(r, roff, &lf) {
			return lineFrame{}, false
		}
	}
	if lf.kind == aotsym.FrameLined {
		lf.style = styleNone
	}
	if sym := t[lf.symbol.s:lf.symbol.e]; string(sym) == "??" {
		lf.c, lf.d = lf.symbol.s, lf.symbol.e
	} else if len(sym) > 0 {
		lf.named = true
	}
	return lf, true
}

// gdbTail reads `sym (args) from lib` or `sym (args) at file.c:12` (s starts at
// offset base of the line).
func gdbTail(s []byte, base int, lf *lineFrame) bool {
	open := bytes.Index(s, []byte(" ("))
	if open <= 0 {
		return false
	}
	close := matchParen(s, open+1)
	if close < 0 {
		return false
	}
	sym := s[:open]
	if !validSymbol(sym) && string(sym) != "??" {
		return false
	}
	rest := s[close+1:]
	switch {
	case bytes.HasPrefix(rest, []byte(" from ")) && len(rest) > 6:
		if bytes.IndexByte(rest[6:], ' ') >= 0 {
			return false
		}
		lf.symbol, lf.module = span{base, base + open}, span{base + close + 7, base + len(s)}
		return true
	case bytes.HasPrefix(rest, []byte(" at ")):
		file, line, ok := colonLine(rest[4:])
		if !ok {
			return false
		}
		lf.kind, lf.symbol, lf.file, lf.line = aotsym.FrameLined, span{base, base + open}, file.add(base+close+5), line
		return true
	}
	return false
}

// gdbSymbol reports whether s is `sym (args)`.
func gdbSymbol(s []byte) bool {
	open := bytes.Index(s, []byte(" ("))
	if open <= 0 || s[len(s)-1] != ')' || matchParen(s, open+1) != len(s)-1 {
		return false
	}
	return validSymbol(s[:open]) || string(s[:open]) == "??"
}

// colonLine reads `file.c:12` or `file.c:12:3`.
func colonLine(s []byte) (span, int, bool) {
	k := bytes.LastIndexByte(s, ':')
	if k <= 0 {
		return span{}, 0, false
	}
	if n, ok := decimal(s[k+1:]); ok {
		if j := bytes.LastIndexByte(s[:k], ':'); j > 0 {
			if m, ok := decimal(s[j+1 : k]); ok {
				return span{0, j}, m, true // file:line:column
			}
		}
		if bytes.IndexByte(s[:k], ' ') >= 0 {
			return span{}, 0, false
		}
		return span{0, k}, n, true
	}
	return span{}, 0, false
}

// decodeRune is utf8.DecodeRune that reports invalid bytes as RuneError.
func decodeRune(b []byte) (rune, int) {
	if b[0] < utf8.RuneSelf {
		return rune(b[0]), 1
	}
	return utf8.DecodeRune(b)
}

// isIdentRune accepts the letters, digits and '_' of .NET names.
func isIdentRune(r rune, first bool) bool {
	switch {
	case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	case r >= '0' && r <= '9':
		return !first
	case r < utf8.RuneSelf || r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r) || (!first && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)))
}
