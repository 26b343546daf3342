package dotnet

import (
	"strings"

	"github.com/aotsym/aotsym"
)

// Method is what a build's debug file says about one function, as far as name
// matching needs it.
type Method struct {
	// Symbol is the function's linkage name (DW_AT_linkage_name, or the ELF
	// symbol); Aliases are other symbols at the same address.
	Symbol  string
	Aliases []string
	// Class is the DWARF class (the mangled owning type, with instantiation);
	// Name the method's metadata name (`MoveNext`, `.ctor`,
	// `Ns.IStockSource.Reserve`). Empty when the DWARF has no declaration.
	Class string
	Name  string
	// Params are the DWARF types of the declared parameters, `this` excluded;
	// HasParams is false when the DWARF did not say.
	Params    []string
	HasParams bool
}

// Query is a printed managed method prepared for matching. It depends on
// the printed text alone, so one Query serves every build a trace is
// resolved against. It is not modified after NewQuery and is safe for
// concurrent use.
type Query struct {
	// Printed is the method as printed, without parameters
	// (`Ns.Repository`1.Map[TResult]`).
	Printed string
	// Generic holds the method's generic parameter names ([TResult]).
	Generic   []string
	Params    []aotsym.Param
	HasParams bool

	splits []querySplit
	keys   []uint32 // the hashes of the name-table keys, in Keys' order

	// Most names have a few splits, each a key or two: they live in the
	// Query itself, one allocation.
	splitBuf [6]querySplit
	keyBuf   [20]uint32
}

type querySplit struct {
	Split
	// The type part and the method part sanitized (Sanitize), and their
	// SanitizeUTF16 forms where those differ (names outside the BMP: rare).
	typeSan, methodSan string
	utf16              *[2]string // type, method; "" where alike
	wellKnown          string     // the prefix-less mangled name of a core type, or ""
}

// types returns the forms the type part may have in a symbol, in buf.
func (s *querySplit) types(buf *[2]string) []string {
	buf[0] = s.typeSan
	if s.utf16 != nil && s.utf16[0] != "" {
		buf[1] = s.utf16[0]
		return buf[:2]
	}
	return buf[:1]
}

// methods returns the forms the method part may have in a symbol, in buf.
func (s *querySplit) methods(buf *[2]string) []string {
	buf[0] = s.methodSan
	if s.utf16 != nil && s.utf16[1] != "" {
		buf[1] = s.utf16[1]
		return buf[:2]
	}
	return buf[:1]
}

// NewQuery prepares a printed method (trace.Frame's Method, Params and
// HasParams) for matching.
func NewQuery(method string, params []aotsym.Param, hasParams bool) *Query {
	q := &Query{Printed: method, Params: params, HasParams: hasParams}
	name, generic := CutGenericParams(method)
	q.Generic = generic
	var buf [16]Split
	splits := appendSplits(buf[:0], name)
	if len(splits) == 0 {
		return q
	}
	q.splits = q.splitBuf[:0]
	if len(splits) > len(q.splitBuf) {
		q.splits = make([]querySplit, 0, len(splits))
	}
	q.splits = q.splits[:len(splits)]
	// Each split's parts are a prefix and a suffix of the name, cut at a
	// '.', which Sanitize maps to one '_': for an ASCII name, the
	// sanitized parts are cuts of the sanitized name (unless a part
	// starts with a digit, which Sanitize prefixes with '_').
	whole, ascii := "", isASCII(name)
	if ascii {
		whole = Sanitize(name)
		if whole != name && len(whole) != len(name) { // a leading digit
			ascii = false
		}
	}
	for i, sp := range splits {
		s := &q.splits[i]
		s.Split = sp
		s.wellKnown = wellKnown[sp.Type]
		if ascii && !isDigit(sp.Type[0]) && !isDigit(sp.Method[0]) {
			s.typeSan = whole[:len(sp.Type)]
			s.methodSan = whole[len(sp.Type)+1:]
			continue
		}
		t, nt := sanitizeVariants(sp.Type)
		m, nm := sanitizeVariants(sp.Method)
		s.typeSan, s.methodSan = t[0], m[0]
		if nt > 1 || nm > 1 {
			s.utf16 = &[2]string{t[1], m[1]}
		}
	}
	// Most splits have one tail and one sanitized method name.
	q.keys = q.keyBuf[:0]
	q.eachKey(func(prefix, method, tail string) {
		q.keys = append(q.keys, newKey(prefix).add(method).add(keyTail).add(tail).sum())
	})
	return q
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Splits returns the readings of the query's name as type and method.
func (q *Query) Splits() []Split {
	out := make([]Split, len(q.splits))
	for i, s := range q.splits {
		out[i] = s.Split
	}
	return out
}

// Keys calls yield with every name-table key a matching function may be
// filed under (see Table).
func (q *Query) Keys(yield func(key string)) {
	q.eachKey(func(prefix, method, tail string) { yield(prefix + method + keyTail + tail) })
}

// eachKey calls yield with the parts of every key: prefix + method +
// keyTail + tail.
func (q *Query) eachKey(yield func(prefix, method, tail string)) {
	for i := range q.splits {
		s := &q.splits[i]
		var tails [4]string
		n := 0
		addTail := func(t string) {
			for _, o := range tails[:n] {
				if o == t {
					return
				}
			}
			if n < len(tails) {
				tails[n] = t
				n++
			}
		}
		var tb, mb [2]string
		for _, t := range s.types(&tb) {
			addTail(TypeTail(t))
		}
		if s.wellKnown != "" {
			addTail(s.wellKnown)
		}
		for _, t := range tails[:n] {
			yield(keyName, s.Method, t)
			for _, m := range s.methods(&mb) {
				yield(keySanitized, m, t)
			}
		}
	}
}

// Lookup calls yield with every function of the table filed under one of
// the query's keys (a function filed under several comes as often), until
// yield returns false. The candidates still need Match.
func (q *Query) Lookup(t *Table, yield func(fn int) bool) {
	for _, h := range q.keys {
		if !t.lookup(h, yield) {
			return
		}
	}
}

// Match says how a function matches a query.
type Match struct {
	// Split is the reading of the printed name that matched.
	Split Split
	// Loose is set when the owning type matched only after removing a
	// uniqueness suffix, or through a prefix-mangled stub (`<Boxed>…`): a
	// weaker match, used only when no exact one exists.
	Loose bool
	// Params compares the printed parameter types with the DWARF ones.
	Params ParamMatch
	// ByName is true when the DWARF declaration (class and metadata name)
	// matched; false when only the symbol did.
	ByName bool
}

// ParamMatch is the outcome of comparing parameter lists.
type ParamMatch int

const (
	// ParamsUnknown: the frame printed no parameters, or the DWARF has none.
	ParamsUnknown ParamMatch = iota
	// ParamsDiffer: the counts or some types differ.
	ParamsDiffer
	// ParamsMatch: same count and every type equal or a type variable.
	ParamsMatch
)

func (p ParamMatch) String() string {
	switch p {
	case ParamsDiffer:
		return "differ"
	case ParamsMatch:
		return "match"
	}
	return "unknown"
}

// Match reports whether m is a function the printed method can name, and how.
func (q *Query) Match(m *Method) (Match, bool) {
	mt, ok := q.MatchName(m)
	if ok {
		mt.Params = q.CompareParams(m)
	}
	return mt, ok
}

// MatchName is Match without comparing parameters (Params is
// ParamsUnknown; m.Params are not used): the cheap first test, for a
// function whose parameters have not been read yet.
func (q *Query) MatchName(m *Method) (Match, bool) {
	for i := range q.splits {
		s := &q.splits[i]
		if mt, ok := q.matchSplit(s, m); ok {
			mt.Split = s.Split
			return mt, true
		}
	}
	return Match{}, false
}

func (q *Query) matchSplit(s *querySplit, m *Method) (Match, bool) {
	if m.Name != "" && m.Class != "" {
		if m.Name != s.Method {
			return Match{}, false
		}
		loose, ok := s.matchType(m.Class)
		if !ok {
			return Match{}, false
		}
		// The symbol says whether the method is a generic instantiation;
		// the printed text says it with [T]. Exported methods
		// (UnmanagedCallersOnly) have other symbols: no check then.
		if rest, ok := cutClassPrefix(m.Symbol, m.Class); ok {
			if !s.matchMethodPart(rest, len(q.Generic) > 0) {
				return Match{}, false
			}
		}
		return Match{Loose: loose, ByName: true}, true
	}
	if m.Name != "" && m.Name != s.Method {
		return Match{}, false
	}
	for k := -1; k < len(m.Aliases); k++ {
		sym := m.Symbol
		if k >= 0 {
			sym = m.Aliases[k]
		}
		if loose, ok := s.matchSymbol(sym, len(q.Generic) > 0); ok {
			return Match{Loose: loose}, true
		}
	}
	return Match{}, false
}

// cutClassPrefix cuts `class__` from the front of a symbol.
func cutClassPrefix(sym, class string) (string, bool) {
	if len(sym) < len(class)+2 || sym[:len(class)] != class || sym[len(class):len(class)+2] != "__" {
		return sym, false
	}
	return sym[len(class)+2:], true
}

// matchType compares a mangled type name (from DWARF or a symbol, with its
// instantiation) with the printed type: it must be the sanitized printed name
// after a non-empty assembly prefix, or a core type's short name.
func (s *querySplit) matchType(mangled string) (loose, ok bool) {
	base, _, _ := cutTrailingInst(mangled)
	if strings.HasPrefix(base, "<") {
		// <Boxed>T, <unbox>T …: a stub for T's method.
		if i := strings.IndexByte(base, '>'); i > 0 {
			if _, ok := s.matchType(base[i+1:]); ok {
				return true, true
			}
		}
		return false, false
	}
	if s.wellKnown != "" && base == s.wellKnown {
		return false, true
	}
	var tb [2]string
	for _, t := range s.types(&tb) {
		if hasPrefixedSuffix(base, t) {
			return false, true
		}
	}
	if b, ok := cutDedup(base); ok {
		for _, t := range s.types(&tb) {
			if hasPrefixedSuffix(b, t) {
				return true, true
			}
		}
	}
	return false, false
}

// matchMethodPart checks the method part of a symbol (after `Type__`):
// the sanitized method name, an optional uniqueness suffix, and an
// instantiation exactly when the printed method is generic.
func (s *querySplit) matchMethodPart(rest string, generic bool) bool {
	name, _, hasInst := cutTrailingInst(rest)
	if hasInst != generic {
		return false
	}
	var mb [2]string
	for _, m := range s.methods(&mb) {
		if name == m {
			return true
		}
		if n, ok := cutDedup(name); ok && n == m {
			return true
		}
	}
	return false
}

// matchSymbol matches a whole symbol: Type__Method with the checks above,
// trying each `__` as the boundary (the type part may itself contain `__`).
func (s *querySplit) matchSymbol(sym string, generic bool) (loose, ok bool) {
	var mb [2]string
	for _, m := range s.methods(&mb) {
		for i := indexBoundary(sym, m, 0); i >= 0; i = indexBoundary(sym, m, i+1) {
			typ, rest := sym[:i], sym[i+2:]
			if s.matchMethodPart(rest, generic) {
				if loose, ok := s.matchType(typ); ok {
					return loose, true
				}
			}
		}
	}
	return false, false
}

// indexBoundary returns the first index i >= from of `__` + method in sym,
// or -1.
func indexBoundary(sym, method string, from int) int {
	for p := from + 2; p <= len(sym); p++ {
		k := strings.Index(sym[p:], method)
		if k < 0 {
			return -1
		}
		p += k
		if sym[p-2] == '_' && sym[p-1] == '_' {
			return p - 2
		}
	}
	return -1
}

// hasPrefixedSuffix reports whether name is prefix + "_" + suffix with a
// non-empty prefix (an assembly name).
func hasPrefixedSuffix(name, suffix string) bool {
	return len(name) > len(suffix)+1 && strings.HasSuffix(name, suffix) && name[len(name)-len(suffix)-1] == '_'
}

// CompareParams compares the printed parameters with m's DWARF ones.
func (q *Query) CompareParams(m *Method) ParamMatch {
	if !q.HasParams || !m.HasParams {
		return ParamsUnknown
	}
	if len(q.Params) != len(m.Params) {
		return ParamsDiffer
	}
	ctx := typeContext{generic: q.Generic, inst: instantiationText(m)}
	for i, p := range q.Params {
		if compareType(parsePrinted(p.Type), parseDWARF(m.Params[i]), ctx, true) == TypeMismatch {
			return ParamsDiffer
		}
	}
	return ParamsMatch
}

// instantiationText returns what the <…> of a function's class and symbol
// hold, joined: the concrete types its type variables stand for.
func instantiationText(m *Method) string {
	var parts []string
	if _, inst, ok := cutTrailingInst(m.Class); ok {
		parts = append(parts, inst)
	}
	if _, inst, ok := cutTrailingInst(m.Symbol); ok {
		parts = append(parts, inst)
	}
	return strings.Join(parts, ",")
}
