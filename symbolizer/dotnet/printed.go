package dotnet

import "strings"

// Split is one reading of a printed qualified method name: the type part and
// the method's metadata name (`Ns.Warehouse` and `Ns.IStockSource.Reserve` for
// `Ns.Warehouse.Ns.IStockSource.Reserve`).
type Split struct {
	Type   string
	Method string
}

// maxSplits bounds the readings tried for one name; a printed name has one dot
// per namespace level, nesting level and interface-name part.
const maxSplits = 64

// CutGenericParams splits a printed method into its name and the names of its
// generic parameters: `Map[TResult]` gives `Map` and [TResult].
func CutGenericParams(method string) (string, []string) {
	if !strings.HasSuffix(method, "]") {
		return method, nil
	}
	depth := 0
	for i := len(method) - 1; i >= 0; i-- {
		switch method[i] {
		case ']':
			depth++
		case '[':
			depth--
			if depth == 0 {
				inner := method[i+1 : len(method)-1]
				if inner == "" || i == 0 {
					return method, nil
				}
				var names []string
				for _, n := range strings.Split(inner, ",") {
					names = append(names, strings.TrimSpace(n))
				}
				return method[:i], names
			}
		}
	}
	return method, nil
}

// Splits returns every way to read a printed qualified name (without generic
// parameters) as type + '.' + method, innermost split (shortest method name)
// first. Dots inside <…> (compiler-generated names, generic interface names)
// do not split. The method part may start with '.' (`.ctor`, `.cctor`).
func Splits(qualified string) []Split { return appendSplits(nil, qualified) }

// appendSplits appends Splits(qualified) to out. It walks the name from the
// end: where the brackets balance, the depth at a dot is the number of '>'
// after it less the number of '<'.
func appendSplits(out []Split, qualified string) []Split {
	balanced := isBalanced(qualified)
	depth := 0
	n := 0
	for i := len(qualified) - 1; i >= 0 && n < maxSplits; i-- {
		switch qualified[i] {
		case '>':
			depth++
			continue
		case '<':
			depth--
			continue
		case '.':
		default:
			continue
		}
		if depth != 0 && balanced {
			continue
		}
		typ, meth := qualified[:i], qualified[i+1:]
		if typ == "" || meth == "" || strings.HasSuffix(typ, ".") || strings.HasSuffix(meth, ".") {
			continue
		}
		out = append(out, Split{Type: typ, Method: meth})
		n++
	}
	return out
}

func isBalanced(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			depth++
		case '>':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// cutTrailingInst splits a mangled name ending in a generic instantiation into
// the name and the instantiation's contents: `A_1<B__C<D>>` gives `A_1` and
// `B__C<D>`. ok is false when the name does not end in a balanced <…>.
func cutTrailingInst(s string) (base, inst string, ok bool) {
	if !strings.HasSuffix(s, ">") {
		return s, "", false
	}
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '>':
			depth++
		case '<':
			depth--
			if depth == 0 {
				if i == 0 {
					return s, "", false
				}
				return s[:i], s[i+1 : len(s)-1], true
			}
		}
	}
	return s, "", false
}

// cutDedup removes a trailing `_N` that ILCompiler appends to make a name
// unique: `Format_2` gives `Format` and true.
func cutDedup(s string) (string, bool) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 || !allDigits(s[i+1:]) {
		return s, false
	}
	return s[:i], true
}
