package symbolizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/dotnet"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/ianlancetaylor/demangle"
)

// Build is one opened build: its elfindex.Index and the Native AOT name table
// stored in it. Opening reads no DWARF: both are views over the index bytes.
// A Build is immutable and safe for concurrent use.
type Build struct {
	ID    aotsym.BuildID
	Index *elfindex.Index
	// Names finds functions by printed method name and by symbol.
	Names *dotnet.Table
	calls *callTable // direct call targets; nil without the executable's code
	// printsNames: the build holds the runtime's method name formatter
	// (System.Private.StackTraceMetadata), so it can print managed frames
	// by name; a build published with StackTraceSupport=false cannot.
	printsNames bool
	size        int64
	// sum is the digest of the function table (tableSum), made once.
	sumOnce sync.Once
	sum     [32]byte
}

// OpenBuild opens the index bytes of build id (as Indexer.Build wrote them).
// An index without the name table (built by another program) gets one built
// in memory from its function table. data must not change while the Build is
// in use.
func OpenBuild(id aotsym.BuildID, data []byte) (*Build, error) {
	ix, err := elfindex.Open(data)
	if err != nil {
		if errors.Is(err, elfindex.ErrVersion) {
			return nil, &aotsym.Error{Code: aotsym.EINTERNAL, Message: fmt.Sprintf("the index of build %s is of another format version: rebuild it from the build's files", id.Short()), Err: err}
		}
		return nil, &aotsym.Error{Code: aotsym.EINTERNAL, Message: fmt.Sprintf("the index of build %s is damaged (%v): rebuild it from the build's files", id.Short(), err), Err: err}
	}
	if id != "" && ix.BuildID() != "" && ix.BuildID() != id {
		return nil, aotsym.Errorf(aotsym.EINTERNAL, "the index stored for build %s is that of build %s: rebuild it", id.Short(), ix.BuildID().Short())
	}
	if id == "" {
		id = ix.BuildID()
	}
	b := &Build{ID: id, Index: ix, size: int64(ix.Size())}
	if ext := ix.Extension(dotnet.TableName); ext != nil {
		b.Names, err = dotnet.OpenTable(ext, ix.NumFunctions())
	}
	if b.Names == nil {
		// Built by another program or an older release (whose table, if
		// any, has another name): build the table from the function
		// table (no DWARF is read).
		tab := buildNameTable(ix)
		if b.Names, err = dotnet.OpenTable(tab, ix.NumFunctions()); err != nil {
			return nil, &aotsym.Error{Code: aotsym.EINTERNAL, Message: fmt.Sprintf("build %s: %v", id.Short(), err), Err: err}
		}
		b.size += int64(len(tab))
	}
	b.size += int64(b.Names.Size())
	if ext := ix.Extension(callsName); ext != nil {
		// Without a usable call table frames are only not linked.
		b.calls, _ = openCalls(ext, ix.NumFunctions())
	}
	b.printsNames = hasNameFormatter(b)
	return b, nil
}

// hasNameFormatter reports whether the build holds
// Internal.StackTraceMetadata.MethodNameFormatter.FormatMethodName, which is
// how a Native AOT program prints a managed frame's method (from stack trace
// metadata or, for reflectable methods, from reflection metadata).
func hasNameFormatter(b *Build) bool {
	found := false
	var m dotnet.Method
	formatterQuery.Lookup(b.Names, func(i int) bool {
		n := b.Index.Names(i)
		methodOfNames(&n, &m)
		_, found = formatterQuery.MatchName(&m)
		return !found
	})
	return found
}

var formatterQuery = dotnet.NewQuery("Internal.StackTraceMetadata.MethodNameFormatter.FormatMethodName", nil, false)

// Size returns the bytes the build holds in memory, for Cache's budget.
func (b *Build) Size() int64 { return b.size }

// nameExtension stores the dotnet name table in the index at ingest.
type nameExtension struct{}

// NameExtension returns the elfindex.Extension that stores the Native AOT name
// table (dotnet.TableName) in an index; Indexer.Build adds it.
func NameExtension() elfindex.Extension { return nameExtension{} }

func (nameExtension) Name() string { return dotnet.TableName }

func (nameExtension) Build(core *elfindex.Index) ([]byte, error) {
	return buildNameTable(core), nil
}

// buildNameTable builds the name table from the index's names alone: no
// parameters or declarations are decoded, and the builder keeps only its
// entries.
func buildNameTable(ix *elfindex.Index) []byte {
	var tb dotnet.TableBuilder
	var m dotnet.Method
	for i := 0; i < ix.NumFunctions(); i++ {
		n := ix.Names(i)
		methodOfNames(&n, &m)
		tb.Add(i, &m)
	}
	return tb.Finish()
}

// methodOfNames sets m to what name matching needs from a function's
// names (not its parameters): the linkage name (else the symbol) as the
// symbol, and the function's other names, each once, as aliases. m's alias
// slice is reused.
func methodOfNames(n *elfindex.Names, m *dotnet.Method) {
	aliases := m.Aliases[:0]
	*m = dotnet.Method{Symbol: n.LinkageName, Class: n.Class, Name: n.ShortName}
	if m.Symbol == "" {
		m.Symbol = n.Name
	}
	add := func(s string) {
		if s == "" || s == m.Symbol {
			return
		}
		for _, a := range aliases {
			if a == s {
				return
			}
		}
		aliases = append(aliases, s)
	}
	add(n.Name)
	add(n.Symbol)
	for _, s := range n.Aliases {
		add(s)
	}
	m.Aliases = aliases
}

// symbolOf returns the name a user searches for: the symbol table's, else the
// DWARF linkage name.
func symbolOf(f *elfindex.Function) string {
	switch {
	case f.Symbol != "":
		return f.Symbol
	case f.Name != "":
		return f.Name
	}
	return f.LinkageName
}

// displayName names a function found by address: for Native AOT code the
// DWARF class and method name (`app_Ns_Type.Method`: the class stays mangled,
// since '_' cannot be told from '.' in it), otherwise the demangled symbol.
func displayName(f *elfindex.Function) string {
	if f.Class != "" && f.ShortName != "" && isManagedSymbol(f) {
		return f.Class + "." + f.ShortName
	}
	name := symbolOf(f)
	if name == "" {
		name = f.ShortName
	}
	if strings.HasPrefix(name, "_Z") || strings.HasPrefix(name, "_R") {
		return demangle.Filter(name, demangle.MaxLength(maxDemangleLength))
	}
	return name
}

// maxDemangleLength caps demangled names (a power of two, demangle's unit).
const maxDemangleLength = 16

// isManagedSymbol reports whether a function's symbol is ILCompiler's
// Class__Method form.
func isManagedSymbol(f *elfindex.Function) bool {
	sym := f.LinkageName
	if sym == "" {
		sym = f.Name
	}
	return strings.HasPrefix(sym, f.Class+"__")
}
