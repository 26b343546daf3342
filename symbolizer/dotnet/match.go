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

// Query is a printed managed method prepared for matching.
type Query struct {
	// Printed is the method as printed, without parameters
	// (`Ns.Repository`1.Map[TResult]`).
	Printed string
	// Generic holds the method's generic parameter names ([TResult]).
	Generic   []string
	Params    []aotsym.Param
	HasParams bool

	splits []querySplit
}

type querySplit struct {
	Split
	typeSan   []string // Sanitize variants of the type part
	methodSan []string // Sanitize variants of the method part
	wellKnown string   // the prefix-less mangled name of a core type, or ""
}

// NewQuery prepares a printed method (trace.Frame's Method, Params and
// HasParams) for matching.
func NewQuery(method string, params []aotsym.Param, hasParams bool) *Query {
	q := &Query{Printed: method, Params: params, HasParams: hasParams}
	name, generic := CutGenericParams(method)
	q.Generic = generic
	for _, s := range Splits(name) {
		q.splits = append(q.splits, querySplit{
			Split:     s,
			typeSan:   sanitizeVariants(s.Type),
			methodSan: sanitizeVariants(s.Method),
			wellKnown: wellKnown[s.Type],
		})
	}
	return q
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
	for _, s := range q.splits {
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
		for _, t := range s.typeSan {
			addTail(TypeTail(t))
		}
		if s.wellKnown != "" {
			addTail(s.wellKnown)
		}
		for _, t := range tails[:n] {
			yield(keyName + s.Method + keyTail + t)
			for _, m := range s.methodSan {
				yield(keySanitized + m + keyTail + t)
			}
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
	for _, s := range q.splits {
		if mt, ok := q.matchSplit(&s, m); ok {
			mt.Split = s.Split
			mt.Params = q.compareParams(m)
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
		if rest, ok := strings.CutPrefix(m.Symbol, m.Class+"__"); ok {
			if !s.matchMethodPart(rest, len(q.Generic) > 0) {
				return Match{}, false
			}
		}
		return Match{Loose: loose, ByName: true}, true
	}
	if m.Name != "" && m.Name != s.Method {
		return Match{}, false
	}
	for _, sym := range symbolsOf(m) {
		if loose, ok := s.matchSymbol(sym, len(q.Generic) > 0); ok {
			return Match{Loose: loose}, true
		}
	}
	return Match{}, false
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
	for _, t := range s.typeSan {
		if hasPrefixedSuffix(base, t) {
			return false, true
		}
	}
	if b, ok := cutDedup(base); ok {
		for _, t := range s.typeSan {
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
	for _, m := range s.methodSan {
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
	for _, m := range s.methodSan {
		for i := strings.Index(sym, "__"+m); i >= 0; {
			typ, rest := sym[:i], sym[i+2:]
			if s.matchMethodPart(rest, generic) {
				if loose, ok := s.matchType(typ); ok {
					return loose, true
				}
			}
			j := strings.Index(sym[i+1:], "__"+m)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return false, false
}

// hasPrefixedSuffix reports whether name is prefix + "_" + suffix with a
// non-empty prefix (an assembly name).
func hasPrefixedSuffix(name, suffix string) bool {
	return len(name) > len(suffix)+1 && strings.HasSuffix(name, suffix) && name[len(name)-len(suffix)-1] == '_'
}

func symbolsOf(m *Method) []string {
	if len(m.Aliases) == 0 {
		return []string{m.Symbol}
	}
	return append([]string{m.Symbol}, m.Aliases...)
}

// compareParams compares the printed parameters with the DWARF ones.
func (q *Query) compareParams(m *Method) ParamMatch {
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
