package dotnet

import "strings"

// TypeMatch is how a printed parameter type compares with the DWARF type of a
// candidate's parameter.
type TypeMatch int

const (
	// TypeMismatch: the types differ.
	TypeMismatch TypeMatch = iota
	// TypeWildcard: the printed type is a type variable (`T`, `TKey`) or the
	// DWARF type is shared generic code (`System___Canon`), so they may match.
	TypeWildcard
	// TypeEqual: the same type.
	TypeEqual
)

// printedType is a parameter type as the runtime prints it, taken apart into
// its base name and its modifiers from the outermost in: `Byte*[]&` is base
// Byte with [byref, array 1, pointer].
type printedType struct {
	base string
	mods []mod
}

// mod is one type constructor: a byref ('&'), a pointer ('*') or an array
// of the given rank.
type mod struct {
	kind byte // '&', '*' or '['
	rank int
}

func parsePrinted(s string) printedType {
	var t printedType
	s = strings.TrimSpace(s)
	for s != "" {
		switch {
		case strings.HasSuffix(s, "&"):
			t.mods = append(t.mods, mod{kind: '&'})
			s = s[:len(s)-1]
		case strings.HasSuffix(s, "*") && !strings.HasSuffix(s, "[*]"):
			t.mods = append(t.mods, mod{kind: '*'})
			s = s[:len(s)-1]
		case strings.HasSuffix(s, "]"):
			j := strings.LastIndexByte(s, '[')
			spec := ""
			if j > 0 {
				spec = s[j+1 : len(s)-1]
			}
			if j <= 0 || strings.Trim(spec, ",*") != "" {
				t.base = s
				return t
			}
			t.mods = append(t.mods, mod{kind: '[', rank: 1 + strings.Count(spec, ",")})
			s = s[:j]
		default:
			t.base = s
			return t
		}
	}
	return t
}

// dwarfType is a DWARF parameter type of the managed compile unit, or a
// mangled type name inside an array's <…>, taken apart: `byte *&` is base
// byte with ['&', '*'] (outermost first); a reference type is `X &`, so it
// carries one '&' more than the printed type; in a mangled name a pointer is
// `X<Pointer>` and a byref `X<ByRef>`.
type dwarfType struct {
	base string
	mods []byte
}

func parseDWARF(s string) dwarfType {
	var t dwarfType
	s = strings.TrimSpace(s)
	for s != "" {
		switch s[len(s)-1] {
		case '&', '*':
			t.mods = append(t.mods, s[len(s)-1])
		case ' ':
		default:
			t.base = s
			return t
		}
		s = s[:len(s)-1]
	}
	return t
}

func parseMangled(s string) dwarfType {
	var t dwarfType
	for {
		if b, ok := strings.CutSuffix(s, "<Pointer>"); ok {
			t.mods = append(t.mods, '*')
			s = b
			continue
		}
		if b, ok := strings.CutSuffix(s, "<ByRef>"); ok {
			t.mods = append(t.mods, '&')
			s = b
			continue
		}
		t.base = s
		return t
	}
}

// typeContext is what a comparison may use besides the two names: the method's
// generic parameter names as printed and the instantiation text of the
// candidate (type and method instantiations of its symbol).
type typeContext struct {
	generic []string
	inst    string
}

// CompareType compares a printed parameter type with a DWARF parameter type
// name. generic lists the method's generic parameter names as printed ([T]),
// inst the instantiation text of the candidate's symbol (what <…> hold).
func CompareType(printed, dwarf string, generic []string, inst string) TypeMatch {
	return compareType(parsePrinted(printed), parseDWARF(dwarf), typeContext{generic, inst}, true)
}

// compareType walks the printed modifiers from the outermost in, consuming the
// DWARF ones. top is true for a DWARF parameter type, false for an array
// element's mangled name (which never carries a reference '&').
func compareType(p printedType, d dwarfType, ctx typeContext, top bool) TypeMatch {
	dm := d.mods
	for i, m := range p.mods {
		switch m.kind {
		case '&', '*':
			if len(dm) == 0 || dm[0] != m.kind {
				return TypeMismatch
			}
			dm = dm[1:]
		case '[':
			// An array is a reference: `__Array<E> &` at the top.
			if top && len(dm) == 1 && dm[0] == '&' {
				dm = dm[1:]
			}
			if len(dm) != 0 {
				return TypeMismatch
			}
			elem, ok := arrayElement(d.base, m.rank)
			if !ok {
				return TypeMismatch
			}
			return compareType(printedType{base: p.base, mods: p.mods[i+1:]}, parseMangled(elem), ctx, false)
		}
	}
	switch {
	case len(dm) == 0:
	case len(dm) == 1 && dm[0] == '&' && top: // a reference type
	default:
		// A function pointer prints as IntPtr and is a pointer in DWARF.
		if !(p.base == "IntPtr" && len(p.mods) == 0 && strings.HasPrefix(d.base, "__FnPtr_")) {
			return TypeMismatch
		}
	}
	return compareBase(p.base, d.base, ctx)
}

// arrayElement returns the element type name of a mangled array type of the
// given rank: `__Array<E>` (rank 1) or `__MDArray<E,rank>`.
func arrayElement(name string, rank int) (string, bool) {
	if rest, ok := strings.CutPrefix(name, "__Array<"); ok && rank == 1 && strings.HasSuffix(rest, ">") {
		return rest[:len(rest)-1], true
	}
	if rest, ok := strings.CutPrefix(name, "__MDArray<"); ok && strings.HasSuffix(rest, ">") {
		inner := rest[:len(rest)-1]
		i := strings.LastIndexByte(inner, ',')
		if i < 0 || inner[i+1:] != itoa(rank) {
			return "", false
		}
		return inner[:i], true
	}
	return "", false
}

// compareBase compares a printed base type name with a mangled or DWARF base
// type name.
func compareBase(pbase, dbase string, ctx typeContext) TypeMatch {
	if containsGeneric(ctx.generic, pbase) {
		return TypeWildcard
	}
	name, _, _ := cutTrailingInst(dbase)
	if short, ok := shortOfMangled[name]; ok {
		if short == pbase {
			return TypeEqual
		}
		if isTypeVariable(pbase, ctx) && instHas(ctx.inst, name) {
			return TypeWildcard
		}
		return TypeMismatch
	}
	if strings.HasPrefix(name, "__FnPtr_") && pbase == "IntPtr" {
		return TypeEqual
	}
	variants, nv := sanitizeVariants(pbase)
	for _, s := range variants[:nv] {
		if name == s || hasPrefixedSuffix(name, s) {
			return TypeEqual
		}
		if n, ok := cutDedup(name); ok && (n == s || hasPrefixedSuffix(n, s)) {
			return TypeEqual
		}
	}
	if isTypeVariable(pbase, ctx) && (name == "System___Canon" || instHas(ctx.inst, dbase)) {
		return TypeWildcard
	}
	return TypeMismatch
}

// isTypeVariable reports whether a printed type name can stand for a generic
// parameter: one the method declares, or any simple name that is not one of the
// core library's primitive, Object or String (type parameters of the owning
// type are printed by name and not declared anywhere in the frame).
func isTypeVariable(name string, ctx typeContext) bool {
	if containsGeneric(ctx.generic, name) {
		return true
	}
	if _, ok := mangledOfShort[name]; ok {
		return false
	}
	return name != "" && !strings.ContainsAny(name, "`.<>")
}

func containsGeneric(generic []string, name string) bool {
	for _, g := range generic {
		if g == name {
			return true
		}
	}
	return false
}

// instHas reports whether a mangled type name appears as a whole argument
// name in an instantiation text.
func instHas(inst, name string) bool {
	if inst == "" || name == "" {
		return false
	}
	if short, ok := shortOfMangled[name]; ok {
		if m, ok := mangledOfShort[short]; ok {
			name = m
		}
	}
	for i := 0; ; {
		j := strings.Index(inst[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		before := j == 0 || inst[j-1] == '<' || inst[j-1] == '_' || inst[j-1] == ','
		after := end == len(inst) || inst[end] == '>' || inst[end] == '_' || inst[end] == ',' || inst[end] == '<'
		if before && after {
			return true
		}
		i = j + 1
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
