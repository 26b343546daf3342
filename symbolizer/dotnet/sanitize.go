package dotnet

import (
	"unicode/utf8"
	"unsafe"
)

// Sanitize returns s the way ILCompiler (.NET 9 and later) writes it into a
// symbol: ASCII letters, digits and '_' are kept, every other character (a whole
// UTF-8 code point) becomes one '_', and a leading digit gets a '_' in front.
func Sanitize(s string) string { return sanitize(s, false) }

// SanitizeUTF16 is Sanitize as .NET 8's compiler did it: one '_' per UTF-16 code
// unit, so a character outside the Basic Multilingual Plane gives "__".
func SanitizeUTF16(s string) string { return sanitize(s, true) }

func sanitize(s string, utf16 bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			clean = false
			break
		}
	}
	if clean && (s == "" || !isDigit(s[0])) {
		return s
	}
	b := make([]byte, 0, len(s)+1)
	if s != "" && isDigit(s[0]) {
		b = append(b, '_')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, identByte[c])
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b = append(b, '_')
		if utf16 && r > 0xFFFF {
			b = append(b, '_') // a surrogate pair: two UTF-16 code units
		}
		i += n
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// identByte maps an ASCII byte to itself when Sanitize keeps it, else to '_'.
var identByte = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = '_'
		if isIdentByte(byte(c)) {
			t[c] = byte(c)
		}
	}
	return t
}()

// sanitizeVariants returns the forms a name may have in a symbol: Sanitize, and
// SanitizeUTF16 when it differs (only for characters outside the BMP), and
// how many there are.
func sanitizeVariants(s string) (v [2]string, n uint8) {
	v[0] = Sanitize(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xF0 { // a 4-byte UTF-8 sequence: outside the BMP
			if b := SanitizeUTF16(s); b != v[0] {
				v[1] = b
				return v, 2
			}
			break
		}
	}
	return v, 1
}

func isIdentByte(c byte) bool {
	return c == '_' || isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// wellKnown maps the core library types ILCompiler names without an assembly
// prefix to those names.
var wellKnown = map[string]string{
	"System.Boolean": "Bool",
	"System.Byte":    "UInt8",
	"System.SByte":   "Int8",
	"System.UInt16":  "UInt16",
	"System.Int16":   "Int16",
	"System.UInt32":  "UInt32",
	"System.Int32":   "Int32",
	"System.UInt64":  "UInt64",
	"System.Int64":   "Int64",
	"System.Char":    "Char",
	"System.Double":  "Double",
	"System.Single":  "Single",
	"System.IntPtr":  "IntPtr",
	"System.UIntPtr": "UIntPtr",
	"System.Object":  "Object",
	"System.String":  "String",
}

// shortOfWellKnown maps those mangled names (and the C names the DWARF writer
// uses for primitives) to the short name the runtime prints for the type.
var shortOfMangled = map[string]string{
	"Bool": "Boolean", "UInt8": "Byte", "Int8": "SByte", "UInt16": "UInt16",
	"Int16": "Int16", "UInt32": "UInt32", "Int32": "Int32", "UInt64": "UInt64",
	"Int64": "Int64", "Char": "Char", "Double": "Double", "Single": "Single",
	"IntPtr": "IntPtr", "UIntPtr": "UIntPtr", "Object": "Object", "String": "String",
	// DWARF base types of the managed compile unit
	"bool": "Boolean", "byte": "Byte", "sbyte": "SByte", "char16_t": "Char",
	"short": "Int16", "ushort": "UInt16", "int": "Int32", "uint": "UInt32",
	"long": "Int64", "ulong": "UInt64", "float": "Single", "double": "Double",
	"nint": "IntPtr", "nuint": "UIntPtr", "System.IntPtr": "IntPtr",
	"System.UIntPtr": "UIntPtr", "void": "Void",
}

// mangledOfShort is the inverse for the primitives: the mangled name of the type
// a printed short name stands for (used to find a type in an instantiation).
var mangledOfShort = map[string]string{
	"Boolean": "Bool", "Byte": "UInt8", "SByte": "Int8", "UInt16": "UInt16",
	"Int16": "Int16", "UInt32": "UInt32", "Int32": "Int32", "UInt64": "UInt64",
	"Int64": "Int64", "Char": "Char", "Double": "Double", "Single": "Single",
	"IntPtr": "IntPtr", "UIntPtr": "UIntPtr", "Object": "Object", "String": "String",
}
