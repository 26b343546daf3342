// Package store keeps uploaded builds: their ELF files, metadata, tags and the
// lookup index built from them at upload. Store is the interface; store/bolt
// (the default, one machine) and store/s3 (many stateless servers over one
// bucket) implement it and pass the same suite (store/storetest).
//
// The store knows nothing about DWARF or .NET: an Indexer, provided by the
// symbolizer and injected by the command wiring, reads ELF identities and
// builds index bytes.
package store

import (
	"context"
	"io"
	"time"

	"github.com/aotsym/aotsym"
)

// ELFInfo is what the Indexer reads from one uploaded file without indexing it.
type ELFInfo struct {
	BuildID aotsym.BuildID
	Arch    string // "x86_64", "aarch64", …
	// HasDebug is true for a file with DWARF or a symbol table worth indexing
	// (a .dbg, or an unstripped executable).
	HasDebug bool
	// HasCode is true for a file whose executable sections hold code (an
	// executable or shared library, not a --only-keep-debug file).
	HasCode bool
}

// Kind returns the role the file plays in its build: a file with code is the
// executable, anything else the debug file.
func (i ELFInfo) Kind() aotsym.FileKind {
	if i.HasCode {
		return aotsym.FileExecutable
	}
	return aotsym.FileDebug
}

// IndexResult is a built index and the counts recorded in the build's metadata.
type IndexResult struct {
	Data      []byte
	Functions int
	LineRows  int
	HasCode   bool
}

// Indexer reads ELF files and builds a build's index. symbolizer provides the
// implementation.
type Indexer interface {
	// Inspect reads the identity of one ELF file. A file that is not ELF, or
	// has no build ID, gives an aotsym.EINVALID error saying so.
	Inspect(r io.ReaderAt, size int64) (ELFInfo, error)
	// Build builds the index of a build from its debug file and/or its
	// executable; either may be nil (but not both).
	Build(ctx context.Context, debug, exe SizedReaderAt) (IndexResult, error)
	// Version is the index format version Build writes. A stored index of
	// another version is rebuilt from the stored files when next loaded.
	Version() int
}

// SizedReaderAt is a file the Indexer reads: an *os.File, or a section of one.
type SizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// PutOptions go with one uploaded file.
type PutOptions struct {
	Name string            // the file's name, for people ("app.dbg")
	Tags map[string]string // tags to add to the build
	// MaxSize is the largest upload accepted; 0 means the store's default.
	MaxSize int64
}

// PutResult says what an upload did.
type PutResult struct {
	Build aotsym.Build
	Kind  aotsym.FileKind // which file of the build the upload was
	// Created is true when the upload created the build; Added is true when it
	// added a file to an existing build (an executable after its .dbg, say).
	// Both false: the file was already there and nothing changed.
	Created bool
	Added   bool
	// TagsChanged is true when the upload's tags changed the build's tags
	// (also on an upload that was otherwise a no-op: CI re-uploading a build
	// with a new lambda=… tag).
	TagsChanged bool
}

// ListOptions filter List.
type ListOptions struct {
	Tags  map[string]string // only builds carrying all of these
	Limit int               // at most this many, newest first; 0 means all
}

// File is one stored ELF file opened for reading.
type File interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
}

// Store keeps builds. Every method is safe for concurrent use, also across
// processes sharing the same backing storage (bbolt by file lock, S3 by
// conditional writes). Errors use aotsym codes: ENOTFOUND for a missing build,
// EINVALID for a bad upload, ETOOLARGE over a limit.
type Store interface {
	// Put reads one ELF file from r to a temporary file (never whole into
	// memory), reads its build ID, builds the index, and commits everything at
	// once: a reader never sees a partial build, and a process killed midway
	// leaves nothing visible.
	Put(ctx context.Context, r io.Reader, opts PutOptions) (PutResult, error)
	// Get returns a build's metadata.
	Get(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error)
	// List returns builds, newest first.
	List(ctx context.Context, opts ListOptions) ([]aotsym.Build, error)
	// FindByTags returns the newest build carrying all the tags.
	FindByTags(ctx context.Context, tags map[string]string) (aotsym.Build, error)
	// SetTags sets and removes tags of a build.
	SetTags(ctx context.Context, id aotsym.BuildID, set map[string]string, remove []string) (aotsym.Build, error)
	// Delete removes a build and its files.
	Delete(ctx context.Context, id aotsym.BuildID) error
	// OpenFile opens one of a build's stored files.
	OpenFile(ctx context.Context, id aotsym.BuildID, kind aotsym.FileKind) (File, error)
	// Index returns the build's index bytes in the Indexer's current version,
	// rebuilding and saving it first when the stored one is older. The slice
	// belongs to the caller. The store keeps no opened indexes in memory: the
	// byte-budget LRU of opened indexes lives above it (symbolizer), so memory
	// does not grow with the number of stored builds. (store/s3 keeps a
	// bounded disk cache of index objects in its --data directory.)
	Index(ctx context.Context, id aotsym.BuildID) ([]byte, error)
	// Touch records that a build was used at t (for expiry); it may be
	// batched and is never an error a caller has to act on.
	Touch(id aotsym.BuildID, t time.Time)
	// Expire deletes builds not used (or uploaded) within unused, and returns
	// their IDs.
	Expire(ctx context.Context, unused time.Duration) ([]aotsym.BuildID, error)
	Close() error
}
