package trace

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym"
)

// textState is what the line parser carries from one line to the next: where in
// the exception tree it is, and which message is still being continued.
type textState struct {
	stack []string // exception paths, innermost last

	// cont is the path of the exception whose message continues on the next
	// line, "" when none; the message is contSeg.text[contStart:contEnd].
	cont               string
	contSeg            *seg
	contStart, contEnd int
	weak               bool // the previous line may be a header: kept until a frame confirms it
	weakType           string
	weakSeg            *seg
	weakStart, weakEnd int // its message
	weakLine           int // line number of the candidate
	line               int // lines seen
	pinned             bool
	pinPath            string // pinned: every frame belongs to this exception
	listed             bool   // pinned: list the frames in the exception
	requestID          string // of the last CloudWatch prefix
}

func newTextState() *textState { return &textState{listed: true} }

// maxNesting bounds the depth of ` ---> ` chains, so that a hostile input cannot
// make paths quadratic in its size.
const maxNesting = 32

func (st *textState) top() string {
	if st.pinned {
		return st.pinPath
	}
	if len(st.stack) == 0 {
		return ""
	}
	return st.stack[len(st.stack)-1]
}

// endString closes what cannot continue past the end of a JSON string.
func (p *parser) endString(st *textState) {
	p.endCont(st)
	st.weak = false
}

// endText closes the state at the end of a text or a log event.
func (p *parser) endText(st *textState) {
	p.endCont(st)
	st.weak = false
	st.stack = st.stack[:0]
}

func (p *parser) endCont(st *textState) {
	if st.cont != "" {
		p.setMessage(st.cont, message(st.contSeg.text[st.contStart:st.contEnd]))
		st.cont = ""
	}
}

// message normalises a message span: line ends without carriage returns.
func message(b []byte) string {
	b = bytes.TrimRight(b, " \t\r")
	if bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// parseText reads s line by line.
func (p *parser) parseText(s *seg, st *textState) {
	text := s.text
	// a string that is itself a JSON document (a Lambda error document
	// logged pretty-printed, say)
	if !st.pinned && s.level > 0 && s.level < maxStringLevels {
		i := 0
		for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
			i++
		}
		if i < len(text) && (text[i] == '{' || text[i] == '[') {
			if vals, ok := parseJSONValues(text); ok {
				p.endText(st)
				inner := newTextState()
				for _, v := range vals {
					p.walkJSON(s, v, inner)
				}
				p.endText(inner)
				return
			}
		}
	}
	for start := 0; start <= len(text) && !p.stopped(); {
		end := bytes.IndexByte(text[start:], '\n')
		next := 0
		if end < 0 {
			end = len(text)
			next = len(text) + 1
		} else {
			end += start
			next = end + 1
		}
		p.parseLine(s, st, start, end)
		start = next
	}
}

// parseLine reads the line s.text[ls:le].
func (p *parser) parseLine(s *seg, st *textState, ls, le int) {
	st.line++
	line := s.text[ls:le]
	for len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	off := ls
	lineEnd := ls + len(line) // before prefixes are cut off the front
	if ls == 0 && len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		line, off = line[3:], 3 // a byte order mark
	}

	if !st.pinned {
		// A CloudWatch prefix starts a new log event. An event of another
		// request starts afresh; otherwise the trace may go on, as it does
		// where every line is an event of its own (ECS, EC2 agents).
		if msg, rid, ok := cloudWatchPrefix(line); ok {
			if s.level == 0 {
				p.sawCloudWatch = true
			}
			p.addRequestID(rid)
			if rid != "" && rid != st.requestID {
				p.endText(st)
				st.requestID = rid
			} else {
				p.endCont(st)
			}
			line = line[msg:]
			off += msg
		}
		if rid, ok := platformLine(line); ok {
			p.addRequestID(rid)
			p.endText(st)
			st.requestID = rid
			return
		}
	}

	// indentation
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	t := line[i:]
	off += i
	if len(t) == 0 {
		p.endCont(st)
		st.weak = false
		return
	}

	if !st.pinned && (t[0] == '{' || t[0] == '[') && s.level < maxStringLevels {
		if v, ok := parseJSONLine(s.text[:off+len(t)], off); ok {
			p.endText(st)
			inner := newTextState()
			p.walkJSON(s, v, inner)
			p.endText(inner)
			return
		}
	}

	if lf, ok := recognizeFrame(t); ok {
		p.frameLine(s, st, off, t, &lf)
		return
	}

	switch t[0] {
	case '-':
		if p.structureLine(s, st, off, t) {
			return
		}
	case 'b', 'B':
		if id, ok := buildIDLine(t); ok {
			p.addBuildID(id)
			p.endCont(st)
			st.weak = false
			return
		}
	}
	if st.pinned {
		return
	}

	forced := false
	ht := t
	hoff := off
	if rest, ok := cutUnhandled(t); ok {
		forced = true
		hoff += len(t) - len(rest)
		ht = rest
	}
	if h, ok := parseHeader(ht, forced); ok {
		if h.strong {
			p.endText(st)
			path := p.newRoot()
			if p.addException(path, h.typ, "") {
				st.stack = append(st.stack, path)
				p.startCont(st, s, path, hoff+h.msg, hoff+len(ht))
			}
			return
		}
		if st.cont == "" {
			st.weak = true
			st.weakType = h.typ
			st.weakSeg, st.weakStart, st.weakEnd = s, hoff+h.msg, hoff+len(ht)
			st.weakLine = st.line
			return
		}
	}
	// message continuation
	if st.cont != "" {
		st.contEnd = lineEnd
		return
	}
	st.weak = false
}

// startCont records a new exception's message span, which the next lines may
// continue.
func (p *parser) startCont(st *textState, s *seg, path string, ms, me int) {
	if ms > me {
		ms = me
	}
	st.cont, st.contSeg, st.contStart, st.contEnd = path, s, ms, me
	st.weak = false
}

// promoteWeak turns the previous line's header candidate into a new root,
// because a frame or an inner exception follows it.
func (p *parser) promoteWeak(st *textState) {
	if !st.weak || st.weakLine != st.line-1 {
		st.weak = false
		return
	}
	st.weak = false
	p.endText(st)
	path := p.newRoot()
	if p.addException(path, st.weakType, message(st.weakSeg.text[st.weakStart:st.weakEnd])) {
		st.stack = append(st.stack, path)
	}
}

// frameLine records the frame found in line t at offset off of s.
func (p *parser) frameLine(s *seg, st *textState, off int, t []byte, lf *lineFrame) {
	p.endCont(st)
	if !st.pinned && st.weak {
		p.promoteWeak(st)
	}
	st.weak = false
	in := string(t[:lf.inputEnd])
	f := lf.build(in)
	f.Start = s.raw(off + lf.text.s)
	f.End = s.raw(off + lf.text.e)
	fi := frameInfo{
		input: in,
		style: lf.style,
		level: s.level,
		a:     s.raw(off + lf.a),
		b:     s.raw(off + lf.b),
		c:     s.raw(off + lf.c),
		d:     s.raw(off + lf.d),
		named: lf.named,
	}
	listed := true
	if st.pinned {
		listed = st.listed
	}
	p.addFrame(f, fi, st.top(), listed)
	if lf.aggEnd && !st.pinned && len(st.stack) > 1 {
		st.stack = st.stack[:len(st.stack)-1]
	}
}

var (
	endInner    = []byte("--- End of inner exception stack trace ---")
	endPrevious = []byte("--- End of stack trace from previous location")
	innerArrow  = []byte("--->")
	innerMember = []byte("(Inner Exception #")
	aggMarker   = []byte("<---")
)

// structureLine handles the lines that shape the exception tree. It reports
// whether t was one.
func (p *parser) structureLine(s *seg, st *textState, off int, t []byte) bool {
	switch {
	case bytes.HasPrefix(t, endInner):
		p.endCont(st)
		st.weak = false
		if !st.pinned && len(st.stack) > 1 {
			st.stack = st.stack[:len(st.stack)-1]
		}
		return true
	case bytes.HasPrefix(t, endPrevious):
		p.endCont(st)
		st.weak = false
		return true
	case bytes.HasPrefix(t, innerArrow) && !st.pinned:
		p.endCont(st)
		if st.weak {
			p.promoteWeak(st)
		}
		rest := t[len(innerArrow):]
		roff := off + len(innerArrow)
		for len(rest) > 0 && rest[0] == ' ' {
			rest, roff = rest[1:], roff+1
		}
		child := 0
		if bytes.HasPrefix(rest, innerMember) {
			j := len(innerMember)
			k := j
			for k < len(rest) && k-j < 9 && rest[k] >= '0' && rest[k] <= '9' {
				k++
			}
			if k > j && k < len(rest) && rest[k] == ')' {
				child, _ = strconv.Atoi(string(rest[j:k]))
				k++
				for k < len(rest) && rest[k] == ' ' {
					k++
				}
				rest, roff = rest[k:], roff+k
			}
		}
		closes := false
		if bytes.HasSuffix(rest, aggMarker) {
			rest = rest[:len(rest)-len(aggMarker)]
			closes = true
		}
		if len(st.stack) == 0 {
			// the outer exception's header was not pasted
			path := p.newRoot()
			if !p.addException(path, "", "") {
				return true
			}
			st.stack = append(st.stack, path)
		}
		parent := st.stack[len(st.stack)-1]
		if len(st.stack) >= maxNesting {
			return true
		}
		path := parent + "." + strconv.Itoa(child)
		typ, ms := "", 0
		if h, ok := parseHeader(rest, true); ok {
			typ, ms = h.typ, h.msg
		}
		p.addException(path, typ, "")
		if closes {
			p.setMessage(path, message(rest[ms:]))
			return true
		}
		st.stack = append(st.stack, path)
		p.startCont(st, s, path, roff+ms, roff+len(rest))
		return true
	}
	return false
}

// header is an exception header line: `Type: message` or `Type`.
type header struct {
	typ    string
	msg    int // offset of the message in the line
	strong bool
}

// parseHeader reads `Type: message`. Without forced, the type must be a
// qualified name; it is strong (certainly a header) when its last part ends in
// "Exception", weak otherwise (a header only if a frame follows).
func parseHeader(t []byte, forced bool) (header, bool) {
	n := 0
	dots := 0
	seg0 := 0 // start of the current dotted part
	last := 0 // start of the last part
	for n < len(t) {
		c := t[n]
		if c == '.' || c == '+' {
			if n == seg0 {
				return header{}, false // empty part
			}
			dots++
			n++
			seg0, last = n, n
			continue
		}
		if c == '`' || c == '[' || c == ']' || c == ',' {
			if n == 0 {
				return header{}, false
			}
			n++
			continue
		}
		r, size := decodeRune(t[n:])
		if !isIdentRune(r, n == seg0) {
			break
		}
		n += size
	}
	if n == 0 || n == seg0 {
		return header{}, false
	}
	h := header{typ: string(t[:n])}
	switch {
	case n == len(t):
		h.msg = n
		if !forced && !endsWithException(t[last:n]) {
			return header{}, false
		}
	case t[n] == ':' && (n+1 == len(t) || t[n+1] == ' '):
		h.msg = n + 1
		if n+1 < len(t) {
			h.msg = n + 2
		}
	default:
		return header{}, false
	}
	if forced {
		h.strong = true
		return h, true
	}
	if dots == 0 {
		return header{}, false
	}
	h.strong = endsWithException(t[last:n])
	return h, true
}

func endsWithException(part []byte) bool {
	if i := bytes.IndexByte(part, '`'); i >= 0 {
		part = part[:i]
	}
	return bytes.HasSuffix(part, []byte("Exception"))
}

// cutUnhandled strips the runtime's unhandled-exception prefixes.
func cutUnhandled(t []byte) ([]byte, bool) {
	for _, p := range [][]byte{[]byte("Unhandled exception. "), []byte("Unhandled Exception: ")} {
		if bytes.HasPrefix(t, p) {
			rest := t[len(p):]
			for len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
			return rest, true
		}
	}
	return t, false
}

// buildIDLine reads `build-id: <hex>`, the line src/BuildId.cs logs.
func buildIDLine(t []byte) (aotsym.BuildID, bool) {
	const key = "build-id:"
	if len(t) < len(key) || !strings.EqualFold(string(t[:len(key)]), key) {
		return "", false
	}
	v := trimSpace(t[len(key):])
	if len(v) > aotsym.MaxBuildIDHex {
		return "", false
	}
	id, err := aotsym.ParseBuildID(string(v))
	if err != nil {
		return "", false
	}
	return id, true
}

// cloudWatchPrefix reads the fields CloudWatch and the Lambda runtime put
// before a message: a timestamp, then any of a second timestamp (the console's
// copied rows), a request ID and a level, each followed by a tab. It returns
// the offset of the message.
func cloudWatchPrefix(line []byte) (msg int, requestID string, ok bool) {
	if len(line) == 0 || !(isDigit(line[0]) || line[0] == '[') {
		return 0, "", false
	}
	pos := 0
	for fields := 0; fields < 6; fields++ {
		rest := line[pos:]
		if len(rest) > 65 {
			rest = rest[:65]
		}
		tab := bytes.IndexByte(rest, '\t')
		if tab <= 0 {
			break
		}
		f := rest[:tab]
		ok := false
		switch {
		case fields == 0:
			ok = isTimestamp(f) || isBracketLevel(f)
		case isUUID(f):
			ok, requestID = true, string(f)
		default:
			ok = isTimestamp(f) || isLevel(f) || isBracketLevel(f)
		}
		if !ok {
			break
		}
		pos += tab + 1
	}
	return pos, requestID, pos > 0
}

// platformLine reads the Lambda platform's START, END and REPORT lines.
func platformLine(line []byte) (string, bool) {
	for _, p := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "} {
		if len(line) >= len(p)+36 && string(line[:len(p)]) == p {
			id := line[len(p) : len(p)+36]
			if isUUID(id) {
				return string(id), true
			}
		}
	}
	return "", false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isTimestamp accepts ISO 8601 date-times (`2026-11-25T10:15:30.123Z`,
// `2026-11-25 10:15:30,123`, `…+01:00`) and 13-digit epoch milliseconds.
func isTimestamp(f []byte) bool {
	if len(f) == 13 {
		all := true
		for _, c := range f {
			all = all && isDigit(c)
		}
		if all {
			return true
		}
	}
	const shape = "dddd-dd-ddXdd:dd:dd"
	if len(f) < len(shape) {
		return false
	}
	for i := 0; i < len(shape); i++ {
		switch shape[i] {
		case 'd':
			if !isDigit(f[i]) {
				return false
			}
		case 'X':
			if f[i] != 'T' && f[i] != ' ' {
				return false
			}
		default:
			if f[i] != shape[i] {
				return false
			}
		}
	}
	rest := f[len(shape):]
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		j := 1
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		rest = rest[j:]
	}
	switch {
	case len(rest) == 0, string(rest) == "Z":
		return true
	case rest[0] == '+' || rest[0] == '-':
		for _, c := range rest[1:] {
			if !isDigit(c) && c != ':' {
				return false
			}
		}
		return len(rest) >= 3
	}
	return false
}

func isUUID(f []byte) bool {
	if len(f) != 36 {
		return false
	}
	for i, c := range f {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if unhex(c) < 0 {
				return false
			}
		}
	}
	return true
}

var levels = map[string]bool{
	"trce": true, "dbug": true, "info": true, "warn": true, "fail": true, "crit": true,
	"trace": true, "debug": true, "information": true, "warning": true, "error": true,
	"critical": true, "fatal": true, "undefined": true,
}

func isLevel(f []byte) bool {
	if len(f) > 11 {
		return false
	}
	return levels[strings.ToLower(string(f))]
}

func isBracketLevel(f []byte) bool {
	return len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' && isLevel(f[1:len(f)-1])
}
