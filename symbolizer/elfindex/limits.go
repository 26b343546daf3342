package elfindex

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/aotsym/aotsym"
)

// Limits caps what Build reads and keeps, so that a hostile or broken file
// costs a bounded amount of memory and time. A zero field means its default.
type Limits struct {
	// MaxInputSize is the largest ELF file read (default 4 GiB).
	MaxInputSize int64
	// MaxSectionSize is the largest section read, after decompression
	// (default 1 GiB). A compressed section whose header claims more is
	// refused before anything is decompressed.
	MaxSectionSize int64
	// MaxDebugSize caps the sum of all sections read from one file, after
	// decompression (default 3 GiB).
	MaxDebugSize int64
	// MaxCompressionRatio caps how many times its compressed size a
	// compressed section may claim to inflate to (default 200), beyond
	// compressionSlack, so that what decompression holds in memory stays
	// proportional to the file: real debug sections compress 1.5 to 13
	// times (zlib and zstd, every section of the corpus's largest .dbg);
	// a stream of zeros compresses about 1,000 times (zlib) or far more
	// (zstd).
	MaxCompressionRatio int
	// MaxSymbols caps the entries of one symbol table (default 20 million).
	MaxSymbols int
	// MaxFunctions caps the functions of the index (default 10 million).
	MaxFunctions int
	// MaxLineRows caps the line-table rows read from all compile units
	// (default 200 million).
	MaxLineRows int
	// MaxInlineNodes caps the DW_TAG_inlined_subroutine entries kept
	// (default 50 million).
	MaxInlineNodes int
	// MaxDWARFRecords caps the other DWARF entries kept while indexing
	// (subprograms, types, classes and namespaces; default 50 million), so
	// that memory stays proportional to what is indexed, not to what a
	// .debug_info claims.
	MaxDWARFRecords int
}

// Default limits.
const (
	DefaultMaxInputSize        = 4 << 30
	DefaultMaxSectionSize      = 1 << 30
	DefaultMaxDebugSize        = 3 << 30
	DefaultMaxCompressionRatio = 200
	DefaultMaxSymbols          = 20_000_000
	DefaultMaxFunctions        = 10_000_000
	DefaultMaxLineRows         = 200_000_000
	DefaultMaxInlineNodes      = 50_000_000
	DefaultMaxDWARFRecords     = 50_000_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxInputSize <= 0 {
		l.MaxInputSize = DefaultMaxInputSize
	}
	if l.MaxSectionSize <= 0 {
		l.MaxSectionSize = DefaultMaxSectionSize
	}
	if l.MaxDebugSize <= 0 {
		l.MaxDebugSize = DefaultMaxDebugSize
	}
	if l.MaxCompressionRatio <= 0 {
		l.MaxCompressionRatio = DefaultMaxCompressionRatio
	}
	if l.MaxSymbols <= 0 {
		l.MaxSymbols = DefaultMaxSymbols
	}
	if l.MaxFunctions <= 0 {
		l.MaxFunctions = DefaultMaxFunctions
	}
	if l.MaxLineRows <= 0 {
		l.MaxLineRows = DefaultMaxLineRows
	}
	if l.MaxInlineNodes <= 0 {
		l.MaxInlineNodes = DefaultMaxInlineNodes
	}
	if l.MaxDWARFRecords <= 0 {
		l.MaxDWARFRecords = DefaultMaxDWARFRecords
	}
	return l
}

// recoveredPanics counts panics that Build caught and turned into errors.
// Each one is a bug that the fuzz tests report.
var recoveredPanics atomic.Int64

// ErrVersion is wrapped by Open's error for an index written by another
// version of this package: rebuild the index from the build's files.
var ErrVersion = errors.New("index format version differs")

// ErrNotELF is wrapped by the error of Inspect and Build for a file that is
// not ELF at all.
var ErrNotELF = errors.New("not an ELF file")

// ErrLimit is wrapped by errors about input over a Limits cap.
var ErrLimit = errors.New("over a size limit")

// FormatError is a malformed ELF file, DWARF section or index: what is wrong
// and where (the file's role, the section, the offset when known).
type FormatError struct {
	File    string // "debug file", "executable", "index"
	Section string // ".debug_info", ".symtab", "functions", …; "" for the file itself
	Offset  int64  // -1 when not known
	Problem string
	Err     error // the underlying cause, if any
}

func (e *FormatError) Error() string {
	where := e.File
	if e.Section != "" {
		where += " section " + e.Section
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" at offset %#x", e.Offset)
	}
	return where + ": " + e.Problem
}

// Unwrap returns the underlying cause.
func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(file, section string, off int64, err error, format string, args ...any) error {
	return &FormatError{File: file, Section: section, Offset: off, Problem: fmt.Sprintf(format, args...), Err: err}
}

// coded wraps err as an aotsym.Error so that the CLI and HTTP layers answer
// with the right status: over a limit is ETOOLARGE, anything else EINVALID.
func coded(err error) error {
	if err == nil {
		return nil
	}
	var ae *aotsym.Error
	if errors.As(err, &ae) {
		return err
	}
	code := aotsym.EINVALID
	if errors.Is(err, ErrLimit) {
		code = aotsym.ETOOLARGE
	}
	return &aotsym.Error{Code: code, Message: err.Error(), Err: err}
}
