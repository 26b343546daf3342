package symbolizer

import (
	"context"
	"io"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
)

// Indexer reads ELF files and builds the index of a build: elfindex's core
// index plus the Native AOT name table (NameExtension). It has the methods of
// store.Indexer with this package's own types (symbolizer imports no store
// package); symbolizer/storeindex adapts it to store.Indexer.
type Indexer struct {
	// Limits cap what indexing reads; zero fields take elfindex's defaults.
	Limits elfindex.Limits
}

// FileInfo is what Inspect reads from one ELF file (store.ELFInfo's fields).
type FileInfo struct {
	BuildID  aotsym.BuildID
	Arch     string
	HasDebug bool
	HasCode  bool
}

// IndexResult is a built index and its counts (store.IndexResult's fields).
type IndexResult struct {
	Data      []byte
	Functions int
	LineRows  int
	HasCode   bool
}

// Inspect reads the identity of one ELF file. A file that is not ELF, or has
// no GNU build ID, is an aotsym.EINVALID error saying so.
func (Indexer) Inspect(r io.ReaderAt, size int64) (FileInfo, error) {
	in, err := elfindex.Inspect(r, size)
	if err != nil {
		return FileInfo{}, err
	}
	if in.BuildID == "" {
		return FileInfo{}, aotsym.Errorf(aotsym.EINVALID,
			"the file has no GNU build ID note, so a trace cannot be tied to it: link with --build-id (dotnet publish does by default)")
	}
	return FileInfo{BuildID: in.BuildID, Arch: in.Arch, HasDebug: in.HasDebug, HasCode: in.HasCode}, nil
}

// Build builds the index of a build from its debug file and/or its
// executable; either may be nil, not both. With the executable, return
// addresses can be told from faulting instructions.
func (ix Indexer) Build(ctx context.Context, debug, exe elfindex.SizedReaderAt) (IndexResult, error) {
	data, st, err := elfindex.BuildContext(ctx, debug, exe, elfindex.Options{
		Extensions: []elfindex.Extension{NameExtension(), callTargetExtension{exe: exe}},
		Limits:     ix.Limits,
	})
	if err != nil {
		return IndexResult{}, err
	}
	return IndexResult{Data: data, Functions: st.Functions, LineRows: st.LineRows, HasCode: st.HasCode}, nil
}

// extensionsVersion changes whenever the name table's keys or encoding
// (dotnet.TableName) or the call table (calls/1) change, so that stored
// indexes are rebuilt from their files.
const extensionsVersion = 5

// Version is the version of the indexes Build writes: elfindex's format
// version and this package's extensions' together.
func (Indexer) Version() int { return elfindex.Version*1000 + extensionsVersion }
