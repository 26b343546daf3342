package aotsym

import "time"

// FileKind says which file of a build a stored file is.
type FileKind string

const (
	// FileDebug is the debug file (`app.dbg`): DWARF and the symbol table.
	FileDebug FileKind = "debuginfo"
	// FileExecutable is the shipped executable: its code tells return addresses
	// from faulting instructions; debuginfod serves it as /executable.
	FileExecutable FileKind = "executable"
)

// StoredFile describes one uploaded file of a build.
type StoredFile struct {
	Kind   FileKind `json:"kind"`
	Name   string   `json:"name,omitempty"` // the file name given at upload, for people
	Size   int64    `json:"size"`
	SHA256 string   `json:"sha256"`
}

// Build is a stored build: its files, the facts read from them, and its tags.
type Build struct {
	ID   BuildID `json:"build_id"`
	Arch string  `json:"arch"` // "x86_64", "aarch64", …
	// Files holds the debug file, the executable, or both.
	Files []StoredFile `json:"files"`
	// Tags are key=value labels (`service=orders`, `version=1.4.2`,
	// `lambda=orders-api:42`, `git=abc123`, `repo=https://…`).
	Tags map[string]string `json:"tags,omitempty"`
	// IndexVersion is the format version of the stored index; builds with an
	// older one are re-indexed from their files when next used.
	IndexVersion int   `json:"index_version"`
	IndexSize    int64 `json:"index_size"`
	// Functions and LineRows count what the index holds, so a user can tell a
	// debug file from a stripped executable at a glance.
	Functions int `json:"functions"`
	LineRows  int `json:"line_rows"`
	// HasCode is true when the executable's code was available at indexing, so
	// return addresses and faulting instructions can be told apart.
	HasCode  bool      `json:"has_code"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitempty"`
}

// File returns the stored file of the given kind, if the build has one.
func (b *Build) File(kind FileKind) (StoredFile, bool) {
	for _, f := range b.Files {
		if f.Kind == kind {
			return f, true
		}
	}
	return StoredFile{}, false
}
