// Package bolt is the default build store: one machine, one directory (the
// --data DIR of `aotsym serve`), bbolt for everything small and plain files
// for the uploads.
//
// Layout of DIR:
//
//	aotsym.db                  bbolt database
//	    builds  <id>                      → JSON record: aotsym.Build + index checksum
//	    index   <id> 0x00 be32(n)         → chunk n of the build's index (at most ChunkSize)
//	    bytime  be64(created ns) <id>     → empty (List, newest first)
//	    bytag   key=value 0x00 be64(created ns) <id> → empty (FindByTags)
//	    meta    "layout"                  → layout version
//	            "clean-close"             → be64(txid): written by a clean Close (orphans.go)
//	files/<id>/debuginfo       the uploaded debug file, byte for byte
//	files/<id>/executable      the uploaded executable
//	tmp/                       uploads being received (emptied at Open)
//
// Uploads never enter bbolt: tens-of-MB values make it several times slower
// and bigger. The index goes in ≤1 MiB chunks, so one build's index never
// needs one big contiguous value.
//
// # Crash consistency
//
// Put streams the upload to tmp/, builds the index, then makes the file
// durable under files/<id>/ (fsync the file, rename, fsync the directory) and
// only then commits one bbolt transaction holding the record, the index
// chunks and the lookup keys. The record is what makes a build visible, and
// bbolt commits a transaction atomically, so a crash before the commit leaves
// at most a file under files/ that no record names. Delete commits the
// removal first and then deletes the files, so a crash in between again
// leaves only unreferenced files. Open empties tmp/; the unreferenced files
// it removes in the background, and only when the last process did not close
// the store cleanly (orphans.go), so that starting takes the same time with
// one stored build or a million.
//
// One process at a time opens DIR (bbolt locks the file); inside it, work on
// one build is serialised by a per-build lock that exists only while in use.
// Nothing per stored build is kept in memory: List, Get and FindByTags read
// bbolt (memory-mapped, paged in and out by the kernel) and never the index
// chunks. What they read is decoded afresh unless its bytes are those of a
// record read shortly before (records.go: a few hundred at most, compared
// byte for byte on every read).
package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/internal/ingest"
	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ChunkSize is the largest piece of an index stored as one bbolt value.
const ChunkSize = 1 << 20

// layoutVersion is the version of the layout above, recorded in the database
// so that a later release can migrate it.
const layoutVersion = "1"

var (
	bucketBuilds = []byte("builds")
	bucketIndex  = []byte("index")
	bucketByTime = []byte("bytime")
	bucketByTag  = []byte("bytag")
	bucketMeta   = []byte("meta")
)

// Options tune a Store. The zero value is the production configuration.
type Options struct {
	// MaxSize is the largest upload accepted; 0 means store.DefaultMaxSize.
	MaxSize int64
	// LockTimeout is how long Open waits for another process to release the
	// database; 0 means 1 second.
	LockTimeout time.Duration
	// TouchInterval is how often Touch calls are written; 0 means 1 minute.
	TouchInterval time.Duration
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time
	// OnStage, when set, is called at each stage of Put (ingest's Stage*
	// names) so that tests can kill the process at a precise point.
	OnStage func(stage string)
	// Logger receives what the store repairs on its own; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Store is the bbolt build store. It implements store.Store.
type Store struct {
	dir  string
	db   *bbolt.DB
	ix   store.Indexer
	opts Options
	log  *slog.Logger

	locks   ingest.Locks
	touches ingest.Touches
	decoded decoded

	// sweepDone is closed when the background sweep for files of unfinished
	// uploads ends (nil when the last process closed the store cleanly);
	// swept says the sweep finished, or was not needed; strayed says a
	// failed write of this process may have left such files. Close writes the
	// clean-shutdown marker only when swept && !strayed (orphans.go).
	sweepDone chan struct{}
	swept     atomic.Bool
	strayed   atomic.Bool
	// writing is read-held by every write that creates or removes files
	// under files/, from its first file operation until its commit and
	// clean-up are over; Close write-holds it, so that no such write is half
	// done when it marks the store clean, and none starts after (closed).
	writing sync.RWMutex
	closed  bool

	stop      chan struct{}
	flushDone chan struct{}
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir, empties tmp/, and starts
// writing Touch calls in the background. When the last process using dir did
// not close it cleanly, it also starts removing the files of uploads and
// deletes that did not finish, in the background: the time Open takes does
// not grow with the number of stored builds.
func Open(dir string, ix store.Indexer, opts Options) (*Store, error) {
	if ix == nil {
		return nil, errors.New("bolt: Open needs an Indexer")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{dir: dir, ix: ix, opts: opts, log: opts.Logger, stop: make(chan struct{}), flushDone: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, d := range []string{dir, s.filesDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("bolt: creating the data directory: %w", err)
		}
	}
	if err := removeContents(s.tmpDir()); err != nil {
		return nil, fmt.Errorf("bolt: emptying %s: %w", s.tmpDir(), err)
	}
	path := filepath.Join(dir, "aotsym.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &aotsym.Error{Code: aotsym.ECONFLICT, Err: err, Message: fmt.Sprintf(
			"%s is in use by another process (another aotsym serve?): stop it, or give this one another --data directory", path)}
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: opening %s: %w", path, err)
	}
	s.db = db
	clean := false
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketBuilds, bucketIndex, bucketByTime, bucketByTag, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("layout")); {
		case v == nil:
			if err := meta.Put([]byte("layout"), []byte(layoutVersion)); err != nil {
				return err
			}
		case string(v) != layoutVersion:
			return fmt.Errorf("bolt: %s has layout version %s; this aotsym reads version %s: use the aotsym release that wrote it", path, v, layoutVersion)
		}
		clean = cleanlyClosed(meta.Get(keyCleanClose), tx.ID())
		return meta.Delete(keyCleanClose)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if clean {
		s.swept.Store(true)
	} else {
		s.sweepDone = make(chan struct{})
		go s.sweep()
	}
	go s.flushLoop()
	return s, nil
}

func (s *Store) filesDir() string { return filepath.Join(s.dir, "files") }
func (s *Store) tmpDir() string   { return filepath.Join(s.dir, "tmp") }
func (s *Store) filePath(id aotsym.BuildID, kind aotsym.FileKind) string {
	return filepath.Join(s.filesDir(), string(id), string(kind))
}

func (s *Store) stage(name string) {
	if s.opts.OnStage != nil {
		s.opts.OnStage(name)
	}
}

// errClosed is the error of a write that comes after Close.
var errClosed = errors.New("bolt: the store is closed")

// beginFiles starts a write that creates or removes files under files/ (see
// Store.writing); the caller calls the function it returns when the write's
// commit and clean-up are over.
func (s *Store) beginFiles() (end func(), err error) {
	s.writing.RLock()
	if s.closed {
		s.writing.RUnlock()
		return nil, errClosed
	}
	return s.writing.RUnlock, nil
}

func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Put receives one ELF file and commits it; see store.Store.
func (s *Store) Put(ctx context.Context, r io.Reader, opts store.PutOptions) (store.PutResult, error) {
	if err := store.ValidateTags(opts.Tags, nil); err != nil {
		return store.PutResult{}, err
	}
	maxSize := opts.MaxSize
	if maxSize <= 0 {
		maxSize = s.opts.MaxSize
	}
	up, err := ingest.Receive(ctx, r, s.tmpDir(), maxSize, s.ix, opts.Name)
	if err != nil {
		return store.PutResult{}, err
	}
	defer up.Discard()
	s.stage(ingest.StageReceived)

	unlock := s.locks.Lock(up.ID)
	defer unlock()
	var cur *record
	if err := s.db.View(func(tx *bbolt.Tx) (err error) { cur, err = s.getRecord(tx, up.ID); return err }); err != nil {
		return store.PutResult{}, err
	}
	var curBuild *aotsym.Build
	var curTags map[string]string
	if cur != nil {
		curBuild, curTags = &cur.Build, cur.Tags
	}
	action, err := ingest.Plan(curBuild, up)
	if err != nil {
		return store.PutResult{}, err
	}
	tags, tagsChanged, err := store.ApplyTags(curTags, opts.Tags, nil)
	if err != nil {
		return store.PutResult{}, err
	}
	res := store.PutResult{Kind: up.Kind}
	if action == ingest.Noop {
		res.Build = cur.Build
		if tagsChanged {
			b, _, err := s.setTags(up.ID, opts.Tags, nil)
			if err != nil {
				return store.PutResult{}, err
			}
			res.Build, res.TagsChanged = b, true
		}
		return res, nil
	}

	// Build the index from the upload and, when adding, the stored file of
	// the other kind.
	readers := map[aotsym.FileKind]store.SizedReaderAt{up.Kind: up.ReaderAt()}
	if action == ingest.Add {
		other := ingest.Other(up.Kind)
		f, err := s.openStored(cur, other)
		if err != nil {
			return store.PutResult{}, err
		}
		defer f.Close()
		readers[other] = f
	}
	ix, err := ingest.BuildIndex(ctx, s.ix, readers[aotsym.FileDebug], readers[aotsym.FileExecutable])
	if err != nil {
		return store.PutResult{}, err
	}
	s.stage(ingest.StageIndexed)

	// Make the file durable in its final place, then commit. Until the
	// commit, a failure may leave a file (or an empty directory) that no
	// record names: Close then leaves the store marked unclean, so that the
	// next Open removes it.
	end, err := s.beginFiles()
	if err != nil {
		return store.PutResult{}, err
	}
	defer end()
	committed := false
	defer func() {
		if !committed {
			s.strayed.Store(true)
		}
	}()
	path := s.filePath(up.ID, up.Kind)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return store.PutResult{}, err
	}
	if err := ingest.SyncDir(s.filesDir()); err != nil {
		return store.PutResult{}, err
	}
	if err := up.Keep(path); err != nil {
		return store.PutResult{}, err
	}
	s.stage(ingest.StageFileWritten)

	next := record{IndexSHA256: sha256Hex(ix.Data)}
	if cur != nil {
		next.Build = cur.Build
	} else {
		next.Build = aotsym.Build{ID: up.ID, Arch: up.Info.Arch, Created: s.opts.Now().UTC()}
	}
	next.Files = ingest.SetFile(next.Files, up.StoredFile())
	next.Tags = tags
	setIndex(&next, ix, s.ix.Version())
	err = s.db.Update(func(tx *bbolt.Tx) error {
		now, err := s.getRecord(tx, up.ID)
		if err != nil {
			return err
		}
		if (now == nil) != (cur == nil) || now != nil && !sameFiles(now.Files, cur.Files) {
			return fmt.Errorf("bolt: build %s changed during an upload despite the lock", up.ID)
		}
		if now != nil {
			next.LastUsed = now.LastUsed // a Touch flush may have run meanwhile
		}
		return putRecord(tx, now, &next, ix.Data)
	})
	if err != nil {
		// Remove the file unless the record names it after all (a commit
		// whose final sync failed may still be on disk); the next Open
		// removes it otherwise.
		var now *record
		if s.db.View(func(tx *bbolt.Tx) (err error) { now, err = s.getRecord(tx, up.ID); return err }) == nil {
			if f, ok := now.fileOrNone(up.Kind); !ok || f.SHA256 != up.SHA256 {
				os.Remove(path)
			}
		}
		return store.PutResult{}, err
	}
	committed = true
	s.stage(ingest.StageCommitted)
	res.Build = next.Build
	res.Created, res.Added = action == ingest.Create, action == ingest.Add
	res.TagsChanged = tagsChanged
	return res, nil
}

// fileOrNone is File on a record that may be nil.
func (r *record) fileOrNone(kind aotsym.FileKind) (aotsym.StoredFile, bool) {
	if r == nil {
		return aotsym.StoredFile{}, false
	}
	return r.File(kind)
}

func setIndex(r *record, ix store.IndexResult, version int) {
	r.IndexVersion = version
	r.IndexSize = int64(len(ix.Data))
	r.IndexSHA256 = sha256Hex(ix.Data)
	r.Functions, r.LineRows, r.HasCode = ix.Functions, ix.LineRows, ix.HasCode
}

func sameFiles(a, b []aotsym.StoredFile) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].SHA256 != b[i].SHA256 {
			return false
		}
	}
	return true
}

// putRecord writes next (replacing old, nil when new), its lookup keys, and,
// when index is not nil, its index chunks.
func putRecord(tx *bbolt.Tx, old, next *record, index []byte) error {
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketBuilds).Put([]byte(next.ID), b); err != nil {
		return err
	}
	if index != nil {
		if err := deleteIndex(tx, next.ID); err != nil {
			return err
		}
		ib := tx.Bucket(bucketIndex)
		for n := 0; n*ChunkSize < len(index); n++ {
			chunk := index[n*ChunkSize : min(len(index), (n+1)*ChunkSize)]
			if err := ib.Put(chunkKey(next.ID, n), chunk); err != nil {
				return err
			}
		}
	}
	if old == nil {
		if err := tx.Bucket(bucketByTime).Put(timeKey(next.Created, next.ID), nil); err != nil {
			return err
		}
	}
	tb := tx.Bucket(bucketByTag)
	if old != nil {
		for k, v := range old.Tags {
			if next.Tags[k] != v {
				if err := tb.Delete(tagKey(k, v, old.Created, old.ID)); err != nil {
					return err
				}
			}
		}
	}
	for k, v := range next.Tags {
		if old == nil || old.Tags[k] != v {
			if err := tb.Put(tagKey(k, v, next.Created, next.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func deleteIndex(tx *bbolt.Tx, id aotsym.BuildID) error {
	c := tx.Bucket(bucketIndex).Cursor()
	prefix := chunkPrefix(id)
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func chunkPrefix(id aotsym.BuildID) []byte { return append([]byte(id), 0) }

func chunkKey(id aotsym.BuildID, n int) []byte {
	return binary.BigEndian.AppendUint32(chunkPrefix(id), uint32(n))
}

func timeKey(t time.Time, id aotsym.BuildID) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), id...)
}

func tagPrefix(k, v string) []byte { return []byte(k + "=" + v + "\x00") }

func tagKey(k, v string, t time.Time, id aotsym.BuildID) []byte {
	return append(binary.BigEndian.AppendUint64(tagPrefix(k, v), uint64(t.UnixNano())), id...)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Get returns a build's metadata.
func (s *Store) Get(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error) {
	var r *record
	if err := s.db.View(func(tx *bbolt.Tx) (err error) { r, err = s.getRecord(tx, id); return err }); err != nil {
		return aotsym.Build{}, err
	}
	if r == nil {
		return aotsym.Build{}, store.BuildNotFound(id)
	}
	return r.Build, nil
}

// List returns builds newest first, reading one record per build returned
// (and per build skipped by the tag filter), never an index.
func (s *Store) List(ctx context.Context, opts store.ListOptions) ([]aotsym.Build, error) {
	var out []aotsym.Build
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketByTime).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := s.readRecord(tx, aotsym.BuildID(k[8:]), len(out) < listRemembered)
			if err != nil {
				return err
			}
			if r == nil || !store.MatchTags(r.Tags, opts.Tags) {
				continue
			}
			out = append(out, r.Build)
			if opts.Limit > 0 && len(out) == opts.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// FindByTags returns the newest build carrying all the tags (the newest build
// of all when tags is empty). It intersects the tags' newest-first key lists
// by seeking (a leapfrog join), so its cost follows the shortest list, and it
// decodes one record: the answer.
func (s *Store) FindByTags(ctx context.Context, tags map[string]string) (aotsym.Build, error) {
	if err := store.ValidateTags(tags, nil); err != nil {
		return aotsym.Build{}, err
	}
	if len(tags) == 0 {
		l, err := s.List(ctx, store.ListOptions{Limit: 1})
		if err != nil || len(l) == 0 {
			return aotsym.Build{}, errOr(err, store.NoBuildWithTags(nil))
		}
		return l[0], nil
	}
	var found *record
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketByTag)
		var lists []*tagList
		for k, v := range tags {
			l := &tagList{c: b.Cursor(), prefix: tagPrefix(k, v)}
			if !l.seekAtMost(nil) {
				return nil
			}
			lists = append(lists, l)
		}
		for {
			// The oldest of the current entries is the newest candidate all
			// lists may share; move every list back to it.
			target := lists[0].at
			for _, l := range lists[1:] {
				if bytes.Compare(l.at, target) < 0 {
					target = l.at
				}
			}
			agree := true
			for _, l := range lists {
				if bytes.Equal(l.at, target) {
					continue
				}
				if !l.seekAtMost(target) {
					return nil
				}
				agree = agree && bytes.Equal(l.at, target)
			}
			if !agree {
				continue
			}
			r, err := s.getRecord(tx, aotsym.BuildID(target[8:]))
			if err != nil {
				return err
			}
			if r != nil && store.MatchTags(r.Tags, tags) {
				found = r
				return nil
			}
			// A lookup key out of step with its record: skip it.
			if !lists[0].step() {
				return nil
			}
		}
	})
	if err != nil {
		return aotsym.Build{}, err
	}
	if found == nil {
		return aotsym.Build{}, store.NoBuildWithTags(tags)
	}
	return found.Build, nil
}

// tagList walks the newest-first key list of one tag.
type tagList struct {
	c      *bbolt.Cursor
	prefix []byte
	at     []byte // the current entry without the prefix: be64(created) id
}

// seekAtMost moves the list to its last entry not after target (its last
// entry when target is nil) and reports whether there is one.
func (l *tagList) seekAtMost(target []byte) bool {
	var k []byte
	if target == nil {
		end := append(bytes.Clone(l.prefix[:len(l.prefix)-1]), 1)
		if k, _ = l.c.Seek(end); k == nil {
			k, _ = l.c.Last()
		} else {
			k, _ = l.c.Prev()
		}
	} else {
		seek := append(bytes.Clone(l.prefix), target...)
		if k, _ = l.c.Seek(seek); k == nil {
			k, _ = l.c.Last()
		} else if !bytes.Equal(k, seek) {
			k, _ = l.c.Prev()
		}
	}
	return l.set(k)
}

// step moves the list to its previous entry.
func (l *tagList) step() bool {
	k, _ := l.c.Prev()
	return l.set(k)
}

func (l *tagList) set(k []byte) bool {
	if k == nil || !bytes.HasPrefix(k, l.prefix) || len(k) < len(l.prefix)+8+aotsym.MinBuildIDHex {
		return false
	}
	l.at = k[len(l.prefix):]
	return true
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// SetTags sets and removes tags of a build.
func (s *Store) SetTags(ctx context.Context, id aotsym.BuildID, set map[string]string, remove []string) (aotsym.Build, error) {
	if err := store.ValidateTags(set, remove); err != nil {
		return aotsym.Build{}, err
	}
	unlock := s.locks.Lock(id)
	defer unlock()
	b, _, err := s.setTags(id, set, remove)
	return b, err
}

// setTags is SetTags for a caller holding the build's lock.
func (s *Store) setTags(id aotsym.BuildID, set map[string]string, remove []string) (aotsym.Build, bool, error) {
	var out aotsym.Build
	var changed bool
	err := s.db.Update(func(tx *bbolt.Tx) error {
		cur, err := s.getRecord(tx, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return store.BuildNotFound(id)
		}
		next := *cur
		next.Tags, changed, err = store.ApplyTags(cur.Tags, set, remove)
		if err != nil {
			return err
		}
		out = next.Build
		if !changed {
			return nil
		}
		return putRecord(tx, cur, &next, nil)
	})
	return out, changed, err
}

// Delete removes a build: first its record (the build disappears at once),
// then its files.
func (s *Store) Delete(ctx context.Context, id aotsym.BuildID) error {
	_, err := s.deleteIf(id, nil)
	return err
}

// deleteIf deletes the build when drop is nil or says so, deciding on the
// record as it is inside the deleting transaction.
func (s *Store) deleteIf(id aotsym.BuildID, drop func(*record) bool) (bool, error) {
	unlock := s.locks.Lock(id)
	defer unlock()
	end, err := s.beginFiles()
	if err != nil {
		return false, err
	}
	defer end()
	dropped := false
	err = s.db.Update(func(tx *bbolt.Tx) error {
		cur, err := s.getRecord(tx, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return store.BuildNotFound(id)
		}
		if drop != nil && !drop(cur) {
			return nil
		}
		dropped = true
		if err := tx.Bucket(bucketBuilds).Delete([]byte(id)); err != nil {
			return err
		}
		if err := deleteIndex(tx, id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketByTime).Delete(timeKey(cur.Created, id)); err != nil {
			return err
		}
		for k, v := range cur.Tags {
			if err := tx.Bucket(bucketByTag).Delete(tagKey(k, v, cur.Created, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || !dropped {
		return false, err
	}
	s.decoded.forget(id)
	if err := os.RemoveAll(filepath.Join(s.filesDir(), string(id))); err != nil {
		// The build is gone; the next Open removes what is left.
		s.strayed.Store(true)
		s.log.Warn("bolt: removing the files of a deleted build", "build_id", id, "err", err)
	}
	return true, nil
}

// osFile is a stored file opened for reading.
type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// OpenFile opens one of a build's stored files.
func (s *Store) OpenFile(ctx context.Context, id aotsym.BuildID, kind aotsym.FileKind) (store.File, error) {
	var r *record
	if err := s.db.View(func(tx *bbolt.Tx) (err error) { r, err = s.getRecord(tx, id); return err }); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, store.BuildNotFound(id)
	}
	return s.openStored(r, kind)
}

func (s *Store) openStored(r *record, kind aotsym.FileKind) (osFile, error) {
	sf, ok := r.File(kind)
	if !ok {
		return osFile{}, noFile(r.ID, kind)
	}
	f, err := os.Open(s.filePath(r.ID, kind))
	if errors.Is(err, os.ErrNotExist) {
		// Deleted between reading the record and opening the file.
		return osFile{}, store.BuildNotFound(r.ID)
	}
	if err != nil {
		return osFile{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return osFile{}, err
	}
	if fi.Size() != sf.Size {
		f.Close()
		return osFile{}, fmt.Errorf("bolt: %s is %d bytes, its record says %d: the data directory was modified by hand", f.Name(), fi.Size(), sf.Size)
	}
	return osFile{f, sf.Size}, nil
}

func noFile(id aotsym.BuildID, kind aotsym.FileKind) error {
	what := "the executable (the file without .dbg)"
	if kind == aotsym.FileDebug {
		what = "the debug file (.dbg)"
	}
	return aotsym.Errorf(aotsym.ENOTFOUND, "build %s has no %s stored: upload %s", id, kind, what)
}

// Index returns the build's index in the Indexer's current version, rebuilt
// from the stored files first when the stored one has another version or
// does not match its checksum.
func (s *Store) Index(ctx context.Context, id aotsym.BuildID) ([]byte, error) {
	data, r, err := s.readIndex(id)
	if err != nil || data != nil {
		return data, err
	}
	unlock := s.locks.Lock(id)
	defer unlock()
	if data, r, err = s.readIndex(id); err != nil || data != nil {
		return data, err
	}
	return s.rebuild(ctx, r)
}

// readIndex returns the stored index when it is current and intact, or nil
// and the record when it needs a rebuild.
func (s *Store) readIndex(id aotsym.BuildID) ([]byte, *record, error) {
	var data []byte
	var r *record
	err := s.db.View(func(tx *bbolt.Tx) (err error) {
		if r, err = s.getRecord(tx, id); err != nil || r == nil {
			return err
		}
		if r.IndexVersion != s.ix.Version() || r.IndexSize <= 0 {
			return nil
		}
		buf := make([]byte, 0, r.IndexSize)
		c := tx.Bucket(bucketIndex).Cursor()
		prefix := chunkPrefix(id)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if int64(len(buf)+len(v)) > r.IndexSize {
				buf = nil
				break
			}
			buf = append(buf, v...)
		}
		if int64(len(buf)) == r.IndexSize && sha256Hex(buf) == r.IndexSHA256 {
			data = buf
		} else {
			s.log.Error("bolt: the stored index does not match its checksum; rebuilding it from the stored files", "build_id", id)
		}
		return nil
	})
	if err == nil && r == nil {
		err = store.BuildNotFound(id)
	}
	return data, r, err
}

func (s *Store) rebuild(ctx context.Context, r *record) ([]byte, error) {
	readers := map[aotsym.FileKind]store.SizedReaderAt{}
	for _, sf := range r.Files {
		f, err := s.openStored(r, sf.Kind)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		readers[sf.Kind] = f
	}
	version := s.ix.Version()
	ix, err := ingest.BuildIndex(ctx, s.ix, readers[aotsym.FileDebug], readers[aotsym.FileExecutable])
	if err != nil {
		return nil, fmt.Errorf("rebuilding the index of build %s: %w", r.ID, err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		cur, err := s.getRecord(tx, r.ID)
		if err != nil || cur == nil || !sameFiles(cur.Files, r.Files) {
			return err // deleted meanwhile: hand out the index, store nothing
		}
		next := *cur
		setIndex(&next, ix, version)
		return putRecord(tx, cur, &next, ix.Data)
	})
	if err != nil {
		return nil, err
	}
	return ix.Data, nil
}

// Touch records that a build was used at t; the times are written every
// TouchInterval, at Expire and at Close.
func (s *Store) Touch(id aotsym.BuildID, t time.Time) { s.touches.Add(id, t) }

func (s *Store) flushLoop() {
	defer close(s.flushDone)
	t := time.NewTicker(s.opts.TouchInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.flushTouches(); err != nil {
				s.log.Warn("bolt: writing last-used times", "err", err)
			}
		}
	}
}

func (s *Store) flushTouches() error {
	pending := s.touches.Take()
	if len(pending) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		for id, t := range pending {
			cur, err := s.getRecord(tx, id)
			if err != nil {
				return err
			}
			if cur == nil || !t.After(cur.LastUsed) {
				continue
			}
			next := *cur
			next.LastUsed = t.UTC()
			if err := putRecord(tx, cur, &next, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Expire deletes the builds neither uploaded nor used within unused.
func (s *Store) Expire(ctx context.Context, unused time.Duration) ([]aotsym.BuildID, error) {
	if unused <= 0 {
		return nil, aotsym.Errorf(aotsym.EINVALID, "expiry needs a positive age, e.g. 30 days")
	}
	if err := s.flushTouches(); err != nil {
		return nil, err
	}
	cutoff := s.opts.Now().Add(-unused)
	var stale []aotsym.BuildID
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketBuilds).ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("bolt: the record of build %s is unreadable: %w", k, err)
			}
			if last := lastActive(&r.Build); last.Before(cutoff) {
				stale = append(stale, r.ID)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var deleted []aotsym.BuildID
	for _, id := range stale {
		if err := ctx.Err(); err != nil {
			return deleted, err
		}
		// Decide again inside the deleting transaction: the build may have
		// been used since the scan.
		dropped, err := s.deleteIf(id, func(r *record) bool { return lastActive(&r.Build).Before(cutoff) })
		if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
			continue
		}
		if err != nil {
			return deleted, err
		}
		if dropped {
			deleted = append(deleted, id)
		}
	}
	return deleted, nil
}

func lastActive(b *aotsym.Build) time.Time {
	if b.LastUsed.After(b.Created) {
		return b.LastUsed
	}
	return b.Created
}

// Close writes pending Touch calls, marks the store as cleanly closed when
// no file under files/ can lack its record (so that the next Open need not
// look for such files), and closes the database. It stops a sweep still
// running, and waits for uploads and deletes between writing or removing
// files and committing; writes of either kind that come later fail.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.flushDone
		if s.sweepDone != nil {
			<-s.sweepDone
		}
		s.writing.Lock()
		defer s.writing.Unlock()
		s.closed = true
		err = s.flushTouches()
		if s.swept.Load() && !s.strayed.Load() {
			if merr := s.markClean(); err == nil {
				err = merr
			}
		}
		if cerr := s.db.Close(); err == nil {
			err = cerr
		}
	})
	return err
}
