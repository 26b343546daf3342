// Package ingest holds what every store backend does the same way with an
// upload: stream it to a temporary file with a size limit, recognise what it
// is, read its identity through the Indexer, decide what it means for the
// stored build (create, add, no-op, conflict), and build the index. The
// backends only differ in how they commit the result.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
)

// Upload is one received file, spooled to a temporary file and identified.
type Upload struct {
	File   *os.File // open for reading; the temporary file until Kept
	Path   string
	Size   int64
	SHA256 string // hex
	Info   store.ELFInfo
	ID     aotsym.BuildID
	Kind   aotsym.FileKind
	Name   string

	kept bool
}

// headLen is how much of an upload is read before anything is written: enough
// to tell ELF from the usual wrong uploads (a tar header's magic is at 257).
const headLen = 512

// Receive streams r into a new temporary file in dir, never holding more than
// a copy buffer in memory. It rejects a body that is empty, not ELF (saying
// what it looks like instead) or larger than maxSize (stopping at maxSize+1
// bytes), then asks ix for the file's identity. The caller must Discard the
// Upload.
func Receive(ctx context.Context, r io.Reader, dir string, maxSize int64, ix store.Indexer, name string) (*Upload, error) {
	if maxSize <= 0 {
		maxSize = store.DefaultMaxSize
	}
	r = ctxReader{ctx, r}
	head := make([]byte, headLen)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	switch {
	case err == io.EOF:
		return nil, aotsym.Errorf(aotsym.EINVALID, "the upload is empty: send the ELF file (the executable or its .dbg) as the request body")
	case err != nil && err != io.ErrUnexpectedEOF:
		return nil, readError(err)
	}
	if what, ok := Sniff(head); !ok {
		return nil, aotsym.Errorf(aotsym.EINVALID, "the upload is not an ELF file: it looks like %s. Upload the Linux executable or its debug file (app.dbg) itself", what)
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("store: creating a temporary file for an upload: %w", err)
	}
	u := &Upload{File: f, Path: f.Name(), Name: name}
	ok := false
	defer func() {
		if !ok {
			u.Discard()
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	if _, err := w.Write(head); err != nil {
		return nil, fmt.Errorf("store: writing an upload to %s: %w", f.Name(), err)
	}
	buf := make([]byte, 1<<20)
	copied, err := io.CopyBuffer(w, io.LimitReader(r, maxSize+1-int64(len(head))), buf)
	if err != nil {
		if isReadErr(err) {
			return nil, readError(err)
		}
		return nil, fmt.Errorf("store: writing an upload to %s: %w", f.Name(), err)
	}
	u.Size = int64(len(head)) + copied
	if u.Size > maxSize {
		return nil, aotsym.Errorf(aotsym.ETOOLARGE, "the upload is larger than the limit of %s: upload the debug file alone (not an archive of several), or raise the server's upload limit", FormatBytes(maxSize))
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("store: syncing an upload to disk: %w", err)
	}
	u.SHA256 = hex.EncodeToString(h.Sum(nil))
	info, err := Inspect(ix, f, u.Size)
	if err != nil {
		return nil, err
	}
	id, err := aotsym.ParseBuildID(string(info.BuildID))
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "the file's build ID note is unusable: %s", aotsym.ErrorMessage(err))
	}
	info.BuildID = id
	u.Info, u.ID, u.Kind = info, id, info.Kind()
	ok = true
	return u, nil
}

// ReaderAt returns the upload as the Indexer reads it.
func (u *Upload) ReaderAt() store.SizedReaderAt { return io.NewSectionReader(u.File, 0, u.Size) }

// StoredFile describes the upload as a file of its build.
func (u *Upload) StoredFile() aotsym.StoredFile {
	return aotsym.StoredFile{Kind: u.Kind, Name: u.Name, Size: u.Size, SHA256: u.SHA256}
}

// Keep moves the upload to path (same file system) and syncs the directory,
// so that the file survives a crash from then on. The open file stays valid.
func (u *Upload) Keep(path string) error {
	if err := os.Rename(u.Path, path); err != nil {
		return fmt.Errorf("store: moving an upload into place: %w", err)
	}
	u.kept = true
	u.Path = path
	return SyncDir(path)
}

// Discard closes the upload and removes its temporary file unless it was Kept.
func (u *Upload) Discard() {
	if u == nil {
		return
	}
	if u.File != nil {
		u.File.Close()
	}
	if !u.kept {
		os.Remove(u.Path)
	}
}

// SyncDir fsyncs the directory holding path, making a rename or create in it
// durable.
func SyncDir(path string) error {
	dir := path
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		dir = parent(path)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}

// Inspect calls ix.Inspect, turning a panic into an error: the store never
// crashes on a hostile file, whatever the Indexer does with it.
func Inspect(ix store.Indexer, r io.ReaderAt, size int64) (info store.ELFInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &aotsym.Error{Code: aotsym.EINVALID, Message: "the ELF file could not be read (its headers are malformed): check that the upload is complete and uncorrupted",
				Err: fmt.Errorf("indexer panic in Inspect: %v\n%s", p, debug.Stack())}
		}
	}()
	info, err = ix.Inspect(r, size)
	if err != nil {
		return info, err
	}
	if info.BuildID == "" {
		return info, aotsym.Errorf(aotsym.EINVALID, "the ELF file has no GNU build ID note: link with -Wl,--build-id (the .NET SDK does this), then upload again")
	}
	return info, nil
}

// BuildIndex calls ix.Build, turning a panic into an error.
func BuildIndex(ctx context.Context, ix store.Indexer, debugFile, exe store.SizedReaderAt) (res store.IndexResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &aotsym.Error{Code: aotsym.EINVALID, Message: "the file's debug information could not be indexed (it is malformed): check that the upload is complete and uncorrupted",
				Err: fmt.Errorf("indexer panic in Build: %v\n%s", p, debug.Stack())}
		}
	}()
	if debugFile == nil && exe == nil {
		return res, fmt.Errorf("store: BuildIndex without files")
	}
	res, err = ix.Build(ctx, nilIfEmpty(debugFile), nilIfEmpty(exe))
	if err != nil {
		return res, err
	}
	if len(res.Data) == 0 {
		return res, fmt.Errorf("store: the indexer returned an empty index")
	}
	return res, nil
}

// nilIfEmpty turns a typed nil into an untyped nil interface, so that the
// Indexer can compare its arguments with nil.
func nilIfEmpty(r store.SizedReaderAt) store.SizedReaderAt {
	if s, ok := r.(*io.SectionReader); ok && s == nil {
		return nil
	}
	return r
}

// ctxReader stops reading once ctx is done, so that an abandoned upload does
// not go on filling the disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, readErr{err}
	}
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = readErr{err}
	}
	return n, err
}

// readErr marks a failure of the upload's reader (the client), as opposed to
// the local disk.
type readErr struct{ error }

func (e readErr) Unwrap() error { return e.error }

func isReadErr(err error) bool {
	_, ok := err.(readErr)
	return ok
}

func readError(err error) error {
	if e, ok := err.(readErr); ok {
		err = e.error
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return err
	}
	return &aotsym.Error{Code: aotsym.EINVALID, Message: "the upload was cut off before its end: send it again", Err: err}
}

// FormatBytes writes n bytes for people: "2 GiB", "1.5 MiB", "512 bytes".
func FormatBytes(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
