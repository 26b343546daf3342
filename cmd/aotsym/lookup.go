package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/ianlancetaylor/demangle"
	"github.com/spf13/cobra"
)

func init() { register(newLookupCmd) }

// lookupFlags are llvm-symbolizer's options that `aotsym lookup` takes.
type lookupFlags struct {
	file        string
	style       string
	inlines     bool
	noInlines   bool
	demangle    bool
	noDemangle  bool
	pretty      bool
	basenames   bool
	printAddr   bool
	functions   string
	moduleLabel string
}

// newLookupCmd is `aotsym lookup --dbg FILE [--output-style=JSON] [ADDR...]`.
func newLookupCmd() *cobra.Command {
	var f lookupFlags
	cmd := &cobra.Command{
		Use:   "lookup --dbg FILE [--output-style=LLVM|JSON] [ADDR...]",
		Short: "Resolve addresses like llvm-symbolizer --obj=FILE --inlines",
		Long: `lookup resolves addresses of an ELF file (a .dbg, an unstripped executable or
library, or a stripped one with only its symbol table) to function, file and
line, innermost inlined frame first, like llvm-symbolizer --obj=FILE --inlines:
the same arguments, input and output (LLVM style by default, llvm-symbolizer's
exact JSON with --output-style=JSON). Addresses are the file's virtual
addresses (decimal, or hex with 0x), as arguments or one per line on standard
input. Names are demangled (C++, Rust) unless --no-demangle.

One difference is on purpose: where the line-table row in force starts before
the function holding the address, llvm-symbolizer reports the previous
function's line; lookup reports no line (??:0:0) with the right function.
Addresses outside every function (padding, data) resolve to ?? here, where
llvm-symbolizer names them after the nearest symbol before them.`,
		Example: `  aotsym lookup --dbg app.dbg 0x132c96
  aotsym lookup --dbg app.dbg --output-style=JSON < addresses.txt`,
		RunE: func(cmd *cobra.Command, args []string) error { return runLookup(cmd, &f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.file, "dbg", "", "the ELF file to resolve against (a .dbg, or an executable or library)")
	fl.StringVar(&f.file, "obj", "", "the same as --dbg (llvm-symbolizer's name)")
	fl.StringVarP(&f.file, "exe", "e", "", "the same as --dbg (llvm-symbolizer's name)")
	fl.StringVar(&f.style, "output-style", "LLVM", "LLVM (function, then file:line:column, a blank line between addresses) or JSON (one object per address)")
	fl.BoolVarP(&f.inlines, "inlines", "i", true, "print every inlined frame (the default)")
	fl.BoolVar(&f.noInlines, "no-inlines", false, "print one frame per address: the function, with the line of the innermost code")
	fl.BoolVarP(&f.demangle, "demangle", "C", true, "demangle C++ and Rust names (the default)")
	fl.BoolVar(&f.noDemangle, "no-demangle", false, "print linkage names as stored")
	fl.BoolVarP(&f.pretty, "pretty-print", "p", false, "one line per frame: FUNCTION at FILE:LINE:COLUMN")
	fl.BoolVarP(&f.basenames, "basenames", "s", false, "print file names without their directories")
	fl.BoolVar(&f.printAddr, "print-address", false, "print the address before its frames")
	fl.StringVarP(&f.functions, "functions", "f", "linkage", "linkage: print function names; none: leave them out")
	fl.Lookup("functions").NoOptDefVal = "linkage"
	fl.StringVar(&f.moduleLabel, "module-name", "", "ModuleName in JSON output (default: the file as given)")
	_ = fl.MarkHidden("module-name")
	return cmd
}

func runLookup(cmd *cobra.Command, f *lookupFlags, args []string) error {
	if f.file == "" {
		return usagef("lookup needs --dbg FILE: the debug file (or executable) whose addresses to resolve")
	}
	style := strings.ToUpper(f.style)
	if style != "LLVM" && style != "JSON" {
		return usagef("--output-style %q: want LLVM or JSON", f.style)
	}
	switch f.functions {
	case "linkage", "none":
	case "short":
		return usagef("--functions=short is not supported: the index keeps linkage names; use linkage (the default) or none")
	default:
		return usagef("--functions %q: want linkage or none", f.functions)
	}
	// A one-shot process: collect garbage half as often (a few MB more
	// at the peak, ~10% less CPU) unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	x, err := buildLookupIndex(f.file)
	if err != nil {
		return err
	}
	module := f.file
	if f.moduleLabel != "" {
		module = f.moduleLabel
	}
	p := &lookupPrinter{
		x: x, module: module, json: style == "JSON",
		inlines: f.inlines && !f.noInlines, demangle: f.demangle && !f.noDemangle,
		pretty: f.pretty, basenames: f.basenames, printAddr: f.printAddr,
		noNames: f.functions == "none",
	}
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	defer out.Flush()
	if len(args) > 0 {
		// Arguments: llvm-symbolizer prints one JSON array of them all.
		if p.json {
			out.WriteByte('[')
		}
		for i, a := range args {
			if p.json && i > 0 {
				out.WriteByte(',')
			}
			p.line(out, a)
		}
		if p.json {
			out.WriteString("]\n")
		}
		return out.Flush()
	}
	in := bufio.NewReaderSize(cmd.InOrStdin(), 64<<10)
	var long []byte // a line longer than the buffer
	for {
		line, err := in.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = in.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 || err == nil {
			for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
				line = line[:len(line)-1]
			}
			p.lineBytes(out, line)
			if p.json {
				out.WriteByte('\n')
			}
			// Flush when no more input is waiting, so that an interactive
			// caller gets each answer at once and a pipe stays fast.
			if in.Buffered() == 0 {
				if err := out.Flush(); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return out.Flush()
		}
		if err != nil {
			return aotsym.Errorf(aotsym.EINVALID, "reading addresses from standard input: %v", err)
		}
	}
}

// buildLookupIndex builds the file's index in memory.
func buildLookupIndex(name string) (*elfindex.Index, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "%v", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "%v", err)
	}
	r := lookupFile{file, fi.Size()}
	// The index lives as long as this process: only what lookups answer
	// from is read (no parameter types or classes, no call sweep).
	data, _, err := elfindex.Build(r, nil, elfindex.Options{LookupOnly: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return elfindex.Open(data)
}

type lookupFile struct {
	*os.File
	size int64
}

func (s lookupFile) Size() int64 { return s.size }

// lookupPrinter writes answers in llvm-symbolizer's formats.
type lookupPrinter struct {
	x                            *elfindex.Index
	module                       string
	json, inlines, demangle      bool
	pretty, basenames, printAddr bool
	noNames                      bool // --functions=none
	frames                       []elfindex.Frame
	names                        map[string]string // demangled names
	recent                       [1024]demangled   // the last demangled names, by address
	buf, moduleJSON              []byte            // one JSON answer; the module name as JSON
}

type demangled struct{ in, out string }

// line handles one input: an address (decimal, 0x hex, 0 octal, as
// llvm-symbolizer reads it), optionally after "CODE"; anything else is
// echoed (LLVM style) or reported as an error object (JSON), as
// llvm-symbolizer does.
func (p *lookupPrinter) line(w *bufio.Writer, input string) {
	addr, ok := parseAddress(input)
	p.answer(w, addr, ok, input)
}

// lineBytes is line for a line of standard input, which it does not keep:
// the address is parsed from the bytes, which become a string only when
// they are echoed.
func (p *lookupPrinter) lineBytes(w *bufio.Writer, input []byte) {
	addr, ok, sure := parseAddressBytes(input)
	if !sure {
		p.line(w, string(input))
		return
	}
	if !ok {
		p.answer(w, 0, false, string(input))
		return
	}
	p.answer(w, addr, true, "")
}

// answer writes the answer for addr, or for an input that is no address.
func (p *lookupPrinter) answer(w *bufio.Writer, addr uint64, ok bool, input string) {
	if !ok {
		if p.json {
			w.WriteString(`{"Error":{"Message":`)
			writeJSONString(w, "unable to parse arguments: "+input)
			w.WriteString(`},"ModuleName":`)
			writeJSONString(w, p.module)
			w.WriteByte('}')
		} else {
			w.WriteString(input)
			w.WriteByte('\n')
		}
		return
	}
	a := p.x.LookupAppend(addr, p.frames)
	p.frames = a.Frames[:0]
	frames := a.Frames
	if a.Function < 0 {
		frames = []elfindex.Frame{{}}
	}
	if !p.inlines && len(frames) > 1 {
		// One frame: the function's name, the innermost code's line.
		one := frames[0]
		outer := frames[len(frames)-1]
		one.FunctionName, one.StartAddress, one.HasStartAddress = outer.FunctionName, outer.StartAddress, outer.HasStartAddress
		frames = []elfindex.Frame{one}
	}
	if p.json {
		p.writeJSON(w, addr, frames)
		return
	}
	if p.printAddr {
		fmt.Fprintf(w, "0x%x", addr)
		if p.pretty {
			w.WriteString(": ")
		} else {
			w.WriteByte('\n')
		}
	}
	for i, f := range frames {
		name := p.name(f.FunctionName)
		if name == "" {
			name = "??"
		}
		file := p.file(f.File)
		if file == "" {
			file = "??"
		}
		if p.pretty {
			if i > 0 {
				w.WriteString(" (inlined by) ")
			}
			if p.noNames {
				fmt.Fprintf(w, "%s:%d:%d\n", file, f.Line, f.Column)
			} else {
				fmt.Fprintf(w, "%s at %s:%d:%d\n", name, file, f.Line, f.Column)
			}
			continue
		}
		if !p.noNames {
			w.WriteString(name)
			w.WriteByte('\n')
		}
		fmt.Fprintf(w, "%s:%d:%d\n", file, f.Line, f.Column)
	}
	w.WriteByte('\n')
}

func (p *lookupPrinter) writeJSON(w *bufio.Writer, addr uint64, frames []elfindex.Frame) {
	if p.moduleJSON == nil {
		p.moduleJSON = appendJSONString(nil, p.module)
	}
	b := append(p.buf[:0], `{"Address":"0x`...)
	b = strconv.AppendUint(b, addr, 16)
	b = append(b, `","ModuleName":`...)
	b = append(b, p.moduleJSON...)
	b = append(b, `,"Symbol":[`...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Column":`...)
		b = strconv.AppendInt(b, int64(f.Column), 10)
		b = append(b, `,"Discriminator":`...)
		b = strconv.AppendInt(b, int64(f.Discriminator), 10)
		b = append(b, `,"FileName":`...)
		b = appendJSONString(b, p.file(f.File))
		b = append(b, `,"FunctionName":`...)
		b = appendJSONString(b, p.name(f.FunctionName))
		b = append(b, `,"Line":`...)
		b = strconv.AppendInt(b, int64(f.Line), 10)
		b = append(b, `,"StartAddress":"`...)
		if f.HasStartAddress {
			b = append(b, "0x"...)
			b = strconv.AppendUint(b, f.StartAddress, 16)
		}
		b = append(b, `","StartFileName":`...)
		b = appendJSONString(b, p.file(f.StartFile))
		b = append(b, `,"StartLine":`...)
		b = strconv.AppendInt(b, int64(f.StartLine), 10)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	w.Write(b)
	p.buf = b
}

func (p *lookupPrinter) file(f string) string {
	if p.basenames && f != "" {
		return path.Base(f)
	}
	return f
}

// name demangles a linkage name as llvm-symbolizer does (see demangleName).
func (p *lookupPrinter) name(s string) string {
	if p.noNames {
		return ""
	}
	if !p.demangle || !mangled(s) {
		return s
	}
	// The index hands out the same string for a name while it keeps it
	// decoded: a direct-mapped table by its address spares hashing it.
	slot := &p.recent[(uintptr(unsafe.Pointer(unsafe.StringData(s)))>>4)%uintptr(len(p.recent))]
	if slot.in == s {
		return slot.out
	}
	if d, ok := p.names[s]; ok {
		*slot = demangled{s, d}
		return d
	}
	d := demangleName(s)
	if p.names == nil {
		p.names = make(map[string]string)
	}
	if len(p.names) < 1<<16 {
		p.names[s] = d
	}
	*slot = demangled{s, d}
	return d
}

// mangled reports whether demangleName may change s: Itanium C++ and Rust
// names. Others (Native AOT's, C's, Go's) are printed as they are, without
// a look at the cache.
func mangled(s string) bool {
	return len(s) > 2 && s[0] == '_' && (s[1] == 'Z' || s[1] == 'R')
}

// demangleName demangles a name the way llvm-symbolizer 14 prints it:
//   - Itanium C++, and legacy Rust, which llvm-symbolizer reads as C++
//     (keeping "::h<hash>" and the $LT$-style escapes);
//   - a clone suffix (".constprop.0", ".llvm.123", ".cold": everything from
//     the first dot) printed once as " (.suffix)";
//   - "> >" between closing template brackets, as LLVM 14 writes them;
//   - Rust v0 (_R) names.
//
// Anything that does not demangle is printed as it is.
func demangleName(s string) string {
	switch {
	case strings.HasPrefix(s, "_Z"):
		// The suffix starts at the first dot after which the name is
		// complete (legacy Rust names have dots inside: "app..Circle").
		for i := strings.IndexByte(s, '.'); i > 0; {
			if d, ok := demangleItanium(s[:i]); ok {
				return d + " (" + s[i:] + ")"
			}
			j := strings.IndexByte(s[i+1:], '.')
			if j < 0 {
				break
			}
			i += 1 + j
		}
		if d, ok := demangleItanium(s); ok {
			return d
		}
		return s
	case strings.HasPrefix(s, "_R"):
		d, err := demangle.ToString(s, demangle.MaxLength(24))
		if err != nil {
			return s
		}
		return d
	}
	return s
}

// demangleItanium demangles one Itanium name (no clone suffix) and writes
// it as LLVM 14 does.
func demangleItanium(s string) (string, bool) {
	d, err := demangle.ToString(s, demangle.NoRust, demangle.LLVMStyle, demangle.NoClones, demangle.MaxLength(24))
	if err != nil {
		return "", false
	}
	d = spaceClosingBrackets(d)
	// LLVM 14 writes "operator<<char>" and "operator<<<T>" without a space.
	d = strings.ReplaceAll(d, "operator< <", "operator<<")
	d = strings.ReplaceAll(d, "operator<< <", "operator<<<")
	return d, true
}

// spaceClosingBrackets writes "> >" for ">>" where a template argument list
// closes after another, leaving the operators >> and >>= alone.
func spaceClosingBrackets(s string) string {
	if !strings.Contains(s, ">>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '>' && i > 0 && s[i-1] == '>' {
			head := s[:i-1]
			if !strings.HasSuffix(head, "operator") && !strings.HasSuffix(head, "operator>") {
				b.WriteByte(' ')
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseAddress reads an address the way llvm-symbolizer does: the first
// word of the line, after an optional CODE; 0x hex, a leading 0 octal,
// otherwise decimal.
func parseAddress(s string) (uint64, bool) {
	fields := strings.Fields(s)
	if len(fields) > 0 && fields[0] == "CODE" {
		fields = fields[1:]
	}
	if len(fields) == 0 || strings.ContainsRune(fields[0], '_') {
		return 0, false
	}
	v, err := strconv.ParseUint(fields[0], 0, 64)
	return v, err == nil
}

// parseAddressBytes is parseAddress for ASCII input without allocating;
// sure is false for input with other bytes (parseAddress splits fields at
// Unicode spaces too), which the caller parses as a string.
func parseAddressBytes(b []byte) (addr uint64, ok, sure bool) {
	for _, c := range b {
		if c >= 0x80 {
			return 0, false, false
		}
	}
	field := func() []byte {
		for len(b) > 0 && asciiSpace(b[0]) {
			b = b[1:]
		}
		i := 0
		for i < len(b) && !asciiSpace(b[i]) {
			i++
		}
		f := b[:i]
		b = b[i:]
		return f
	}
	f := field()
	if string(f) == "CODE" {
		f = field()
	}
	if len(f) == 0 || bytes.IndexByte(f, '_') >= 0 {
		return 0, false, true
	}
	v, err := strconv.ParseUint(unsafe.String(&f[0], len(f)), 0, 64)
	return v, err == nil, true
}

// asciiSpace is strings.Fields's ASCII white space.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// writeJSONString writes s as a JSON string the way llvm's JSON writer
// does (see appendJSONString).
func writeJSONString(w *bufio.Writer, s string) {
	var buf [256]byte
	w.Write(appendJSONString(buf[:0], s))
}

// appendJSONString appends s as a JSON string the way llvm's JSON writer
// does: only quotes, backslashes and control characters are escaped (not
// < > &, which generic names are full of); invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b0 := len(b)
	b = append(b, '"')
	start := 0
	checked := false // the string is valid UTF-8
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && (c < 0x80 || checked) {
			continue
		}
		if c >= 0x80 {
			if checked = utf8.ValidString(s[i:]); checked {
				continue
			}
			// Rare: start over with the string made valid.
			return appendJSONString(b[:b0], strings.ToValidUTF8(s, "\uFFFD"))
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
