package trace

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader that keeps byte positions. encoding/json cannot say where
// a string was in the input, and rendering must rewrite strings in place.

type jkind uint8

const (
	jObject jkind = iota + 1
	jArray
	jString
	jScalar // number, true, false, null
)

// jnode is one JSON value. Positions are offsets in the text it was read from.
type jnode struct {
	kind       jkind
	start, end int // strings: the content between the quotes; others: the value
	esc        bool
	members    []jmember
	elems      []*jnode
}

type jmember struct{ key, val *jnode }

// maxJSONDepth bounds nesting, so that `[[[[…` costs neither stack nor time.
const maxJSONDepth = 200

// str returns the decoded value of a string node ("" for other kinds).
func (n *jnode) str(src []byte) string {
	if n == nil || n.kind != jString {
		return ""
	}
	if !n.esc {
		return string(src[n.start:n.end])
	}
	b, _ := decodeJSONString(src[n.start:n.end])
	return string(b)
}

// member returns the value of key k of an object node, or nil.
func (n *jnode) member(src []byte, k string) *jnode {
	if n == nil || n.kind != jObject {
		return nil
	}
	for _, m := range n.members {
		if m.key.end-m.key.start == len(k) || m.key.esc {
			if m.key.str(src) == k {
				return m.val
			}
		}
	}
	return nil
}

// parseJSONValues reads src as a sequence of JSON values separated by white
// space (one document, or one event per line). ok is false unless all of src is
// such a sequence with at least one value.
func parseJSONValues(src []byte) ([]*jnode, bool) {
	r := jreader{src: src}
	r.skipBOM()
	var vals []*jnode
	for {
		r.skipSpace()
		if r.pos >= len(src) {
			break
		}
		if c := src[r.pos]; c != '{' && c != '[' {
			return nil, false
		}
		v := r.value(0)
		if v == nil {
			return nil, false
		}
		vals = append(vals, v)
	}
	return vals, len(vals) > 0
}

// parseJSONLine reads src[start:] (the rest of one line) as exactly one JSON
// object or array, with nothing but white space after it. Positions are offsets
// of src.
func parseJSONLine(src []byte, start int) (*jnode, bool) {
	r := jreader{src: src, pos: start}
	r.skipSpace()
	if r.pos >= len(src) || (src[r.pos] != '{' && src[r.pos] != '[') {
		return nil, false
	}
	v := r.value(0)
	if v == nil {
		return nil, false
	}
	r.skipSpace()
	return v, r.pos == len(src)
}

type jreader struct {
	src []byte
	pos int
}

func (r *jreader) skipBOM() {
	if len(r.src) >= 3 && r.src[0] == 0xEF && r.src[1] == 0xBB && r.src[2] == 0xBF {
		r.pos = 3
	}
}

func (r *jreader) skipSpace() {
	for r.pos < len(r.src) {
		switch r.src[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// value reads one value; nil means the text is not valid JSON.
func (r *jreader) value(depth int) *jnode {
	if depth > maxJSONDepth {
		return nil
	}
	r.skipSpace()
	if r.pos >= len(r.src) {
		return nil
	}
	switch c := r.src[r.pos]; {
	case c == '{':
		n := &jnode{kind: jObject, start: r.pos}
		r.pos++
		r.skipSpace()
		if r.pos < len(r.src) && r.src[r.pos] == '}' {
			r.pos++
			n.end = r.pos
			return n
		}
		for {
			r.skipSpace()
			if r.pos >= len(r.src) || r.src[r.pos] != '"' {
				return nil
			}
			k := r.string()
			if k == nil {
				return nil
			}
			r.skipSpace()
			if r.pos >= len(r.src) || r.src[r.pos] != ':' {
				return nil
			}
			r.pos++
			v := r.value(depth + 1)
			if v == nil {
				return nil
			}
			n.members = append(n.members, jmember{k, v})
			r.skipSpace()
			if r.pos >= len(r.src) {
				return nil
			}
			if r.src[r.pos] == ',' {
				r.pos++
				continue
			}
			if r.src[r.pos] == '}' {
				r.pos++
				n.end = r.pos
				return n
			}
			return nil
		}
	case c == '[':
		n := &jnode{kind: jArray, start: r.pos}
		r.pos++
		r.skipSpace()
		if r.pos < len(r.src) && r.src[r.pos] == ']' {
			r.pos++
			n.end = r.pos
			return n
		}
		for {
			v := r.value(depth + 1)
			if v == nil {
				return nil
			}
			n.elems = append(n.elems, v)
			r.skipSpace()
			if r.pos >= len(r.src) {
				return nil
			}
			if r.src[r.pos] == ',' {
				r.pos++
				continue
			}
			if r.src[r.pos] == ']' {
				r.pos++
				n.end = r.pos
				return n
			}
			return nil
		}
	case c == '"':
		return r.string()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	}
	return nil
}

func (r *jreader) literal(lit string) *jnode {
	if len(r.src)-r.pos < len(lit) || string(r.src[r.pos:r.pos+len(lit)]) != lit {
		return nil
	}
	n := &jnode{kind: jScalar, start: r.pos, end: r.pos + len(lit)}
	r.pos += len(lit)
	return n
}

func (r *jreader) digits() int {
	s := r.pos
	for r.pos < len(r.src) && r.src[r.pos] >= '0' && r.src[r.pos] <= '9' {
		r.pos++
	}
	return r.pos - s
}

func (r *jreader) number() *jnode {
	n := &jnode{kind: jScalar, start: r.pos}
	if r.src[r.pos] == '-' {
		r.pos++
	}
	if r.pos < len(r.src) && r.src[r.pos] == '0' {
		r.pos++
	} else if r.digits() == 0 {
		return nil
	}
	if r.pos < len(r.src) && r.src[r.pos] == '.' {
		r.pos++
		if r.digits() == 0 {
			return nil
		}
	}
	if r.pos < len(r.src) && (r.src[r.pos] == 'e' || r.src[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.src) && (r.src[r.pos] == '+' || r.src[r.pos] == '-') {
			r.pos++
		}
		if r.digits() == 0 {
			return nil
		}
	}
	n.end = r.pos
	return n
}

// string reads a string at r.pos (a '"'); nil when it is malformed.
func (r *jreader) string() *jnode {
	r.pos++
	n := &jnode{kind: jString, start: r.pos}
	for r.pos < len(r.src) {
		c := r.src[r.pos]
		switch {
		case c == '"':
			n.end = r.pos
			r.pos++
			return n
		case c == '\\':
			n.esc = true
			if r.pos+1 >= len(r.src) {
				return nil
			}
			switch r.src[r.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.pos += 2
			case 'u':
				if r.pos+6 > len(r.src) {
					return nil
				}
				for _, h := range r.src[r.pos+2 : r.pos+6] {
					if unhex(h) < 0 {
						return nil
					}
				}
				r.pos += 6
			default:
				return nil
			}
		case c < 0x20:
			return nil
		default:
			r.pos++
		}
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func hex4(b []byte) rune {
	var v rune
	for _, c := range b[:4] {
		v = v<<4 | rune(unhex(c))
	}
	return v
}

// escMark says that decoded offset dec corresponds to raw offset raw; between
// marks the two advance together. A mark is recorded after every escape.
type escMark struct{ dec, raw int }

// decodeJSONString decodes the content of a well-formed JSON string (without
// its quotes) and returns the marks that map decoded offsets back to raw ones.
func decodeJSONString(raw []byte) ([]byte, []escMark) {
	out := make([]byte, 0, len(raw))
	var marks []escMark
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			out = append(out, '\b')
			i += 2
		case 'f':
			out = append(out, '\f')
			i += 2
		case 'n':
			out = append(out, '\n')
			i += 2
		case 'r':
			out = append(out, '\r')
			i += 2
		case 't':
			out = append(out, '\t')
			i += 2
		case 'u':
			if i+6 > len(raw) {
				out = append(out, raw[i:]...)
				i = len(raw)
				break
			}
			r := hex4(raw[i+2:])
			n := 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
					r2 = hex4(raw[i+8:])
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r, n = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			i += n
		default: // '"', '\\', '/'
			out = append(out, raw[i+1])
			i += 2
		}
		marks = append(marks, escMark{len(out), i})
	}
	return out, marks
}

// seg is text the line parser reads: the input itself, or the decoded content
// of a JSON string found in a parent seg.
type seg struct {
	text  []byte
	up    *seg
	base  int // offset in up.text of the string's content
	marks []escMark
	level int // JSON string levels between this text and the input
}

// child returns the decoded string n of s, nil when the nesting is too deep.
func (s *seg) child(n *jnode) *seg {
	if s.level >= maxStringLevels {
		return nil
	}
	c := &seg{up: s, base: n.start, level: s.level + 1}
	if n.esc {
		c.text, c.marks = decodeJSONString(s.text[n.start:n.end])
	} else {
		c.text = s.text[n.start:n.end]
	}
	return c
}

// maxStringLevels is how deep traces inside JSON strings inside JSON strings
// are followed.
const maxStringLevels = 3

// raw maps an offset of s.text to an offset of the input.
func (s *seg) raw(p int) int {
	for x := s; x.up != nil; x = x.up {
		p = x.base + x.toUp(p)
	}
	return p
}

// toUp maps a decoded offset to the raw offset in the string's content.
func (s *seg) toUp(p int) int {
	if len(s.marks) == 0 {
		return p
	}
	// the last mark with dec <= p
	lo, hi := 0, len(s.marks)
	for lo < hi {
		m := (lo + hi) / 2
		if s.marks[m].dec <= p {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return p
	}
	m := s.marks[lo-1]
	return m.raw + (p - m.dec)
}

// walkJSON reads every string of a JSON value as text, treating Lambda error
// documents as exception trees, and notes request IDs, log groups and streams.
func (p *parser) walkJSON(s *seg, n *jnode, st *textState) {
	if p.stopped() {
		return
	}
	switch n.kind {
	case jObject:
		if isLambdaError(s.text, n) {
			p.endText(st)
			p.lambdaError(s, n, p.newRoot(), st)
			return
		}
		for _, m := range n.members {
			if m.val.kind == jString {
				switch m.key.str(s.text) {
				case "requestId", "requestID", "RequestId", "RequestID", "request_id", "awsRequestId", "AwsRequestId":
					p.addRequestID(clipID(m.val.str(s.text)))
				case "logGroup", "logGroupName":
					if p.doc.LogGroup == "" {
						p.doc.LogGroup = clipID(m.val.str(s.text))
					}
				case "logStream", "logStreamName":
					p.addLogStream(clipID(m.val.str(s.text)))
				}
			}
			p.walkJSON(s, m.val, st)
		}
	case jArray:
		for _, e := range n.elems {
			p.walkJSON(s, e, st)
		}
	case jString:
		if c := s.child(n); c != nil {
			p.parseText(c, st)
			p.endString(st)
		}
	}
}

// clipID bounds identifiers copied from the input.
func clipID(s string) string {
	if len(s) > 512 {
		return s[:512]
	}
	return s
}

// isLambdaError reports whether an object is a Lambda error document: a
// string errorType or errorMessage next to a stackTrace, or both strings
// (Runtime.ExitError and the like have no stack trace).
func isLambdaError(src []byte, n *jnode) bool {
	if n.kind != jObject {
		return false
	}
	typ, msg := n.member(src, "errorType"), n.member(src, "errorMessage")
	hasType, hasMsg := typ != nil && typ.kind == jString, msg != nil && msg.kind == jString
	if hasType && hasMsg {
		return true
	}
	st := n.member(src, "stackTrace")
	return st != nil && (st.kind == jArray || st.kind == jString) && (hasType || hasMsg)
}

// lambdaError records the exception of a Lambda error document at path, its
// stackTrace frames, and its causes.
func (p *parser) lambdaError(s *seg, n *jnode, path string, outer *textState) {
	if p.stopped() {
		return
	}
	typ := n.member(s.text, "errorType").str(s.text)
	msg := n.member(s.text, "errorMessage").str(s.text)
	listed := p.addException(path, typ, msg)
	if st := n.member(s.text, "stackTrace"); st != nil {
		elems := st.elems
		if st.kind == jString {
			elems = []*jnode{st} // one string of lines
		}
		for _, e := range elems {
			if e.kind != jString {
				continue
			}
			if c := s.child(e); c != nil {
				pin := newTextState()
				pin.pinned, pin.pinPath, pin.listed = true, path, listed
				p.parseText(c, pin)
			}
		}
	}
	// Only the first `cause` and `causes` count: repeated keys must not make
	// the walk exponential.
	cause := n.member(s.text, "cause")
	causesNode := n.member(s.text, "causes")
	var causes []*jnode
	if causesNode != nil && causesNode.kind == jArray {
		causes = causesNode.elems
	}
	// cause repeats causes[0] (an AggregateException's InnerException is its
	// first inner exception); when it does not, it gets a path of its own.
	causePath := path + ".0"
	if cause != nil && len(causes) > 0 && !sameError(s.text, cause, causes[0]) {
		causePath = path + "." + strconv.Itoa(len(causes))
	}
	for _, m := range n.members {
		switch {
		case m.val == cause:
			if isErrorObject(s.text, cause) {
				p.lambdaError(s, cause, causePath, outer)
			}
		case m.val == causesNode:
			for i, c := range causes {
				if isErrorObject(s.text, c) {
					p.lambdaError(s, c, path+"."+strconv.Itoa(i), outer)
				}
			}
		default:
			switch m.key.str(s.text) {
			case "errorType", "errorMessage", "stackTrace", "cause", "causes":
			default:
				p.walkJSON(s, m.val, outer)
			}
		}
	}
}

// isErrorObject accepts a cause: an object with errorType or errorMessage
// (its stackTrace may be missing).
func isErrorObject(src []byte, n *jnode) bool {
	return n.kind == jObject && (n.member(src, "errorType") != nil || n.member(src, "errorMessage") != nil)
}

func sameError(src []byte, a, b *jnode) bool {
	return a.member(src, "errorType").str(src) == b.member(src, "errorType").str(src) &&
		a.member(src, "errorMessage").str(src) == b.member(src, "errorMessage").str(src)
}
