package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aotsym/aotsym"
	bbolt "go.etcd.io/bbolt"
)

// Files under files/ that no record names are what a crash leaves between
// writing an upload's file and committing its record, or between committing
// a delete and removing its files (see the package documentation). They are
// never visible (a build is its record), only disk space, so finding them
// need not delay the start: Open looks for them only when the last process
// did not close the store cleanly, and then in the background while the
// store serves.
//
// A clean Close writes keyCleanClose, holding the ID of the transaction that
// writes it; every later write transaction has a higher ID, whoever runs it
// (this release, an older one, a tool). So Open trusts the marker only when
// its own transaction is the very next one, and removes it in that
// transaction: a crash from then on finds no marker, and neither does a data
// directory written by a release that did not know it.

// keyCleanClose is the clean-shutdown marker in the meta bucket.
var keyCleanClose = []byte("clean-close")

// sweepBatch is how many directories of files/ one read transaction of the
// sweep checks, so that no read transaction stays open long (a long one
// holds back bbolt's remapping when a commit grows the file).
const sweepBatch = 512

// sweepHook, when set (by tests, before Open), is called as the sweep starts
// ("start") and before it locks a suspect build ("stray").
var sweepHook func(point string, id aotsym.BuildID)

// errStopping ends a sweep that Close interrupted.
var errStopping = errors.New("bolt: closing")

// cleanlyClosed reports whether marker (keyCleanClose's value, or nil) was
// written by the transaction just before the write transaction txid.
func cleanlyClosed(marker []byte, txid int) bool {
	return len(marker) == 8 && binary.BigEndian.Uint64(marker) == uint64(txid-1)
}

// markClean writes the clean-shutdown marker. Close calls it only when no
// file under files/ can lack its record: the sweep of this Open (if any)
// finished, no failed write left files behind, and no write is in flight.
func (s *Store) markClean() error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyCleanClose, binary.BigEndian.AppendUint64(nil, uint64(tx.ID())))
	})
}

func (s *Store) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// sweep runs removeOrphans in the background after an unclean shutdown.
func (s *Store) sweep() {
	defer close(s.sweepDone)
	start := time.Now()
	dirs, removed, err := s.removeOrphans()
	switch {
	case errors.Is(err, errStopping):
		s.log.Info("bolt: closed before the check for files of unfinished uploads ended; the next start checks again")
	case err != nil:
		s.log.Warn("bolt: checking for files of unfinished uploads failed; the next start checks again", "err", err)
	default:
		s.swept.Store(true)
		level := slog.LevelDebug
		if removed > 0 {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "bolt: the store was not closed cleanly; checked files/ for files of unfinished uploads",
			"directories", dirs, "removed", removed, "took", time.Since(start).Round(time.Millisecond).String())
	}
}

// removeOrphans deletes files under files/ that no record names, and returns
// how many build directories it looked at and how many it changed. It lists
// files/ once, reads the records with one cursor per sweepBatch directories,
// and stats only the files a record does not name (at most one per build:
// the kind it lacks). A suspect is removed under its build's lock after its
// record is read again, so an upload or delete of that build in flight
// (which holds the lock from writing its file until its commit) is never
// disturbed.
func (s *Store) removeOrphans() (dirs, removed int, err error) {
	if sweepHook != nil {
		sweepHook("start", "")
	}
	entries, err := os.ReadDir(s.filesDir())
	if err != nil {
		return 0, 0, err
	}
	ids := make([]aotsym.BuildID, 0, len(entries))
	for _, e := range entries {
		id, err := aotsym.ParseBuildID(e.Name())
		if err != nil || string(id) != e.Name() {
			s.log.Warn("bolt: leaving a foreign entry alone", "path", filepath.Join(s.filesDir(), e.Name()))
			continue
		}
		ids = append(ids, id)
	}
	dirs = len(ids)
	var suspects []aotsym.BuildID
	for len(ids) > 0 {
		if s.stopping() {
			return dirs, removed, errStopping
		}
		batch := ids[:min(len(ids), sweepBatch)]
		ids = ids[len(batch):]
		var lacking []strayFile
		err := s.db.View(func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketBuilds).Cursor()
			for _, id := range batch {
				k, v := c.Seek([]byte(id))
				if k == nil || string(k) != string(id) {
					suspects = append(suspects, id)
					continue
				}
				kinds, err := recordKinds(v)
				if err != nil {
					s.log.Error("bolt: the record of a build is unreadable; leaving its files alone", "build_id", id, "err", err)
					continue
				}
				for _, k := range []aotsym.FileKind{aotsym.FileDebug, aotsym.FileExecutable} {
					if !kinds[k] {
						lacking = append(lacking, strayFile{id, k})
					}
				}
			}
			return nil
		})
		if err != nil {
			return dirs, removed, err
		}
		for _, f := range lacking {
			if _, err := os.Lstat(s.filePath(f.id, f.kind)); !errors.Is(err, os.ErrNotExist) {
				if n := len(suspects); n == 0 || suspects[n-1] != f.id {
					suspects = append(suspects, f.id)
				}
			}
		}
	}
	for _, id := range suspects {
		if s.stopping() {
			return dirs, removed, errStopping
		}
		changed, err := s.removeStray(id)
		if err != nil {
			return dirs, removed, err
		}
		if changed {
			removed++
		}
	}
	return dirs, removed, nil
}

type strayFile struct {
	id   aotsym.BuildID
	kind aotsym.FileKind
}

// recordKinds reads which files a stored record names, without decoding the
// rest of it.
func recordKinds(v []byte) (map[aotsym.FileKind]bool, error) {
	var r struct {
		Files []struct {
			Kind aotsym.FileKind `json:"kind"`
		} `json:"files"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	kinds := make(map[aotsym.FileKind]bool, len(r.Files))
	for _, f := range r.Files {
		kinds[f.Kind] = true
	}
	return kinds, nil
}

// removeStray removes, under the build's lock and against its record as it
// is now, the directory of a build that has no record or the files its record
// does not name. It reports whether it removed anything.
func (s *Store) removeStray(id aotsym.BuildID) (bool, error) {
	if sweepHook != nil {
		sweepHook("stray", id)
	}
	unlock := s.locks.Lock(id)
	defer unlock()
	var rec *record
	if err := s.db.View(func(tx *bbolt.Tx) (err error) { rec, err = s.getRecord(tx, id); return err }); err != nil {
		s.log.Error("bolt: the record of a build is unreadable; leaving its files alone", "build_id", id, "err", err)
		return false, nil
	}
	dir := filepath.Join(s.filesDir(), string(id))
	if rec == nil {
		s.log.Info("bolt: removing the files of an upload or delete that did not finish", "build_id", id)
		return true, os.RemoveAll(dir)
	}
	files, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	changed := false
	for _, f := range files {
		if _, ok := rec.File(aotsym.FileKind(f.Name())); !ok {
			s.log.Info("bolt: removing a file of an upload that did not finish", "build_id", id, "file", f.Name())
			if err := os.RemoveAll(filepath.Join(dir, f.Name())); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}
