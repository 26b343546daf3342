package ingest

import (
	"github.com/aotsym/aotsym"
)

// Action is what an upload does to its build.
type Action int

const (
	// Noop: the build already holds this exact file.
	Noop Action = iota
	// Create: no build with this ID is stored; the upload creates it.
	Create
	// Add: the build exists without a file of this kind; the upload adds it
	// and the index is rebuilt from both files.
	Add
)

// Plan decides what upload u does to the stored build existing (nil when
// there is none), or returns an ECONFLICT error when u contradicts it.
func Plan(existing *aotsym.Build, u *Upload) (Action, error) {
	if existing == nil {
		return Create, nil
	}
	if existing.Arch != "" && u.Info.Arch != "" && existing.Arch != u.Info.Arch {
		return 0, aotsym.Errorf(aotsym.ECONFLICT,
			"build %s is stored for %s but this %s is for %s: two different programs claim the same build ID; check the file, or delete the stored build first",
			u.ID, existing.Arch, u.Kind, u.Info.Arch)
	}
	f, ok := existing.File(u.Kind)
	if !ok {
		return Add, nil
	}
	if f.SHA256 == u.SHA256 && f.Size == u.Size {
		return Noop, nil
	}
	return 0, aotsym.Errorf(aotsym.ECONFLICT,
		"build %s already has a different %s (%s, sha256 %.16s…, uploaded %s); this one is %s, sha256 %.16s…. Two different files claim the same build ID: check that this file belongs to the build, or delete the stored build first",
		u.ID, u.Kind, FormatBytes(f.Size), f.SHA256, existing.Created.UTC().Format("2006-01-02 15:04 UTC"), FormatBytes(u.Size), u.SHA256)
}

// Other returns the kind of the build's other file.
func Other(k aotsym.FileKind) aotsym.FileKind {
	if k == aotsym.FileExecutable {
		return aotsym.FileDebug
	}
	return aotsym.FileExecutable
}

// SetFile returns files with f replacing any file of its kind, the debug file
// first.
func SetFile(files []aotsym.StoredFile, f aotsym.StoredFile) []aotsym.StoredFile {
	var out []aotsym.StoredFile
	for _, g := range files {
		if g.Kind != f.Kind {
			out = append(out, g)
		}
	}
	out = append(out, f)
	if len(out) == 2 && out[0].Kind != aotsym.FileDebug {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// Stages of an upload, reported to a backend's OnStage option so that tests
// can kill a process at a precise point.
const (
	StageReceived     = "received"      // spooled to a temporary file and identified
	StageIndexed      = "indexed"       // index built, nothing written yet
	StageFileWritten  = "file-written"  // the uploaded file is in place (bolt: renamed in; s3: object written)
	StageIndexWritten = "index-written" // s3: the index and tag lookup objects are written; only the record is missing
	StageCommitted    = "committed"     // the build's metadata is committed: the upload is visible
)
