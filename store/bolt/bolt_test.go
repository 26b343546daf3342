package bolt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/internal/ingest"
	"github.com/aotsym/aotsym/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

var backend = storetest.Backend{
	Name:        "bolt",
	NewLocation: func(t testing.TB) string { return t.TempDir() },
	Open: func(loc string, cfg storetest.Config) (store.Store, error) {
		return Open(loc, cfg.Indexer, Options{MaxSize: cfg.MaxSize, Now: cfg.Now, OnStage: cfg.OnStage})
	},
	Stages: []string{ingest.StageFileWritten, ingest.StageCommitted},
}

func TestMain(m *testing.M) {
	if storetest.IsChild() {
		os.Exit(storetest.RunChild(backend))
	}
	os.Exit(m.Run())
}

func TestSuite(t *testing.T) { storetest.Run(t, backend) }

// TestChunking checks that a big index is stored as ≤1 MiB bbolt values and
// that the uploads are files, not values.
func TestChunking(t *testing.T) {
	f := storetest.Fixtures(t)["webapi"]
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	ix.Ratio = 8 // 29 MB of files → a 3.6 MB index
	s, err := Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f.Debug, f.Exe} {
		r, _ := os.Open(p)
		if _, err := s.Put(context.Background(), r, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	want, err := s.Index(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 3*ChunkSize {
		t.Fatalf("index of %d bytes is too small to test chunking", len(want))
	}
	s.Close()

	db, err := bbolt.Open(filepath.Join(dir, "aotsym.db"), 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []byte
	chunks, largest := 0, 0
	db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketIndex).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !bytes.Equal(k, chunkKey(f.ID, chunks)) {
				t.Errorf("chunk %d has key %q", chunks, k)
			}
			got = append(got, v...)
			chunks++
			largest = max(largest, len(v))
		}
		return tx.Bucket(bucketBuilds).ForEach(func(k, v []byte) error {
			if len(v) > 4096 {
				t.Errorf("the record of %s is %d bytes", k, len(v))
			}
			return nil
		})
	})
	if !bytes.Equal(got, want) || largest > ChunkSize || chunks != (len(want)+ChunkSize-1)/ChunkSize {
		t.Errorf("%d chunks, largest %d bytes, reassembled %d bytes; want %d chunks of at most %d making the %d-byte index",
			chunks, largest, len(got), (len(want)+ChunkSize-1)/ChunkSize, ChunkSize, len(want))
	}
	fi, err := os.Stat(filepath.Join(dir, "aotsym.db"))
	if err != nil || fi.Size() > int64(len(want))*3 {
		t.Errorf("aotsym.db is %d bytes for a %d-byte index: the uploads must not be in it", fi.Size(), len(want))
	}
	for _, k := range []aotsym.FileKind{aotsym.FileDebug, aotsym.FileExecutable} {
		if _, err := os.Stat(filepath.Join(dir, "files", string(f.ID), string(k))); err != nil {
			t.Errorf("the %s is not stored as a file: %v", k, err)
		}
	}
}

// crash leaves s as a killed process would: the database closed without
// Close's clean-shutdown marker.
func crash(s *Store) {
	close(s.stop)
	<-s.flushDone
	if s.sweepDone != nil {
		<-s.sweepDone
	}
	s.db.Close()
}

// swept waits for the background sweep of s, if one runs, and reports
// whether one ran.
func swept(s *Store) bool {
	if s.sweepDone == nil {
		return false
	}
	<-s.sweepDone
	return true
}

// TestOpenRemovesLeftovers checks that after a crash the store removes what
// the crash left: a half-received upload in tmp/ (at Open), a file no record
// names, the files of a build whose delete was committed (in the background),
// and leaves stored builds alone.
func TestOpenRemovesLeftovers(t *testing.T) {
	fx := storetest.Fixtures(t)
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	s, err := Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := fx["net8.0-linux-x64"]
	putPath(t, s, kept.Debug)
	crash(s)
	leftovers := []string{
		filepath.Join(dir, "tmp", "upload-123"),
		filepath.Join(dir, "files", string(kept.ID), "executable"),
		filepath.Join(dir, "files", "0123456789abcdef", "debuginfo"),
	}
	for _, p := range leftovers {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(leftovers[0]); !os.IsNotExist(err) {
		t.Errorf("%s survived Open", leftovers[0])
	}
	if !swept(s) {
		t.Fatal("Open after a crash started no sweep")
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the sweep", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "0123456789abcdef")); !os.IsNotExist(err) {
		t.Errorf("the directory of a build with no record survived the sweep")
	}
	if _, err := s.OpenFile(context.Background(), kept.ID, aotsym.FileDebug); err != nil {
		t.Errorf("a stored build lost its file: %v", err)
	}
}

// TestCleanCloseSkipsSweep checks when Open trusts the clean-shutdown
// marker: right after Close, and not after any other write to the database
// (here a bare bbolt transaction, as an older aotsym or a tool would make) or
// a crash. Files put under files/ by hand after a clean Close are the one
// thing it then does not notice; the next unclean start removes them.
func TestCleanCloseSkipsSweep(t *testing.T) {
	f := storetest.Fixtures(t)["net8.0-linux-x64"]
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	open := func() *Store {
		t.Helper()
		s, err := Open(dir, ix, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	swept(s) // a new data directory has no marker
	putPath(t, s, f.Debug)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "files", "00112233445566778899", "debuginfo")
	os.MkdirAll(filepath.Dir(stray), 0o755)
	os.WriteFile(stray, []byte("by hand"), 0o644)

	s = open()
	if swept(s) {
		t.Fatal("Open swept right after a clean Close")
	}
	if _, err := os.Stat(stray); err != nil {
		t.Fatalf("the unswept file: %v", err)
	}
	s.Close()

	// Another writer between the clean Close and Open: the marker is not
	// trusted.
	db, err := bbolt.Open(filepath.Join(dir, "aotsym.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = open()
	if !swept(s) {
		t.Fatal("Open trusted a marker older than the last write")
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("the sweep left %s", stray)
	}
	if _, err := s.OpenFile(context.Background(), f.ID, aotsym.FileDebug); err != nil {
		t.Errorf("the stored build lost its file: %v", err)
	}
	s.Close()

	// A crash right after a clean start: Open removed the marker.
	s = open()
	if swept(s) {
		t.Fatal("Open swept after a clean Close")
	}
	crash(s)
	s = open()
	if !swept(s) {
		t.Fatal("Open did not sweep after a crash")
	}
	s.Close()
}

// TestSweepLeavesUploadInFlight runs the sweep after a crash while an
// executable is being added to a stored build: its file is in place and not
// yet named by the record when the sweep finds it. The sweep must wait for
// the upload's commit (the build's lock) and then keep the file.
func TestSweepLeavesUploadInFlight(t *testing.T) {
	f := storetest.Fixtures(t)["net8.0-linux-x64"]
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	s, err := Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putPath(t, s, f.Debug)
	crash(s)

	written, release, atStray := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var strayOnce sync.Once
	sweepHook = func(point string, id aotsym.BuildID) {
		switch {
		case point == "start":
			<-written // the executable is in place, its record not committed
		case point == "stray" && id == f.ID:
			strayOnce.Do(func() { close(atStray) })
		}
	}
	defer func() { sweepHook = nil }()
	s, err = Open(dir, ix, Options{OnStage: func(stage string) {
		if stage == ingest.StageFileWritten {
			close(written)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		r, err := os.Open(f.Exe)
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		_, err = s.Put(context.Background(), r, store.PutOptions{})
		done <- err
	}()
	select {
	case <-atStray:
	case <-s.sweepDone:
		close(release)
		t.Fatal("the sweep ended without finding the executable of the upload in flight")
	}
	// Give a sweep that does not wait for the lock the time to remove the file.
	select {
	case <-s.sweepDone:
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-s.sweepDone
	got, err := s.OpenFile(context.Background(), f.ID, aotsym.FileExecutable)
	if err != nil {
		t.Fatalf("the executable of the upload the sweep met: %v", err)
	}
	got.Close()
	if b, err := s.Get(context.Background(), f.ID); err != nil || len(b.Files) != 2 {
		t.Errorf("the build after the upload: %+v, %v", b, err)
	}
}

// TestCloseWaitsForUpload closes the store while an upload is between
// writing its file and committing: Close waits for the commit, the build is
// complete at the next Open (which has no reason to sweep), and a write after
// Close fails without leaving anything.
func TestCloseWaitsForUpload(t *testing.T) {
	fx := storetest.Fixtures(t)
	f := fx["net8.0-linux-x64"]
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	written, release := make(chan struct{}), make(chan struct{})
	s, err := Open(dir, ix, Options{OnStage: func(stage string) {
		if stage == ingest.StageFileWritten {
			close(written)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	swept(s)
	done := make(chan error, 1)
	go func() {
		r, _ := os.Open(f.Debug)
		defer r.Close()
		_, err := s.Put(context.Background(), r, store.PutOptions{})
		done <- err
	}()
	<-written
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an upload was between its file and its commit", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the upload Close waited for: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	other := fx["net9.0-linux-x64"]
	r, _ := os.Open(other.Debug)
	_, err = s.Put(context.Background(), r, store.PutOptions{})
	r.Close()
	if err == nil {
		t.Fatal("Put after Close succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "files", string(other.ID))); !os.IsNotExist(err) {
		t.Errorf("Put after Close left files/%s: %v", other.ID, err)
	}

	s, err = Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if swept(s) {
		t.Error("Open swept after a Close that waited for the upload")
	}
	got, err := s.OpenFile(context.Background(), f.ID, aotsym.FileDebug)
	if err != nil {
		t.Fatalf("the upload Close waited for is not stored whole: %v", err)
	}
	got.Close()
}

// TestDecodedRecords checks that the memo of decoded records never answers
// for bbolt: a record changed by SetTags, by a Touch flush, deleted and put
// again, or rewritten behind the store's back reads as it is now, and what a
// caller does to a returned build does not reach the next read.
func TestDecodedRecords(t *testing.T) {
	f := storetest.Fixtures(t)["net8.0-linux-x64"]
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := Open(dir, storetest.NewIndexer(), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	putPath(t, s, f.Debug)
	get := func() aotsym.Build {
		t.Helper()
		b, err := s.Get(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := get()
	b.Tags = map[string]string{"mutated": "yes"}
	b.Files[0].Name = "mutated"
	if b2 := get(); b2.Tags["mutated"] != "" || b2.Files[0].Name == "mutated" {
		t.Fatalf("a caller's change to a returned build reached the next Get: %+v", b2)
	}
	if _, err := s.SetTags(ctx, f.ID, map[string]string{"service": "orders"}, nil); err != nil {
		t.Fatal(err)
	}
	if b := get(); b.Tags["service"] != "orders" {
		t.Errorf("Get after SetTags: tags %v", b.Tags)
	}
	if l, err := s.List(ctx, store.ListOptions{Tags: map[string]string{"service": "orders"}}); err != nil || len(l) != 1 {
		t.Errorf("List by the new tag: %d builds, %v", len(l), err)
	}
	used := now.Add(time.Hour)
	s.Touch(f.ID, used)
	if err := s.flushTouches(); err != nil {
		t.Fatal(err)
	}
	if b := get(); !b.LastUsed.Equal(used) {
		t.Errorf("Get after a Touch flush: last used %v, want %v", b.LastUsed, used)
	}
	if err := s.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, f.ID); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("Get after Delete: %v", err)
	}
	putPath(t, s, f.Debug)
	if b := get(); len(b.Tags) != 0 || !b.LastUsed.IsZero() {
		t.Errorf("Get of the build put again: %+v", b)
	}
	// Behind the store's back (the memo keeps the old bytes and decoding).
	get()
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBuilds)
		v := bytes.Replace(bk.Get([]byte(f.ID)), []byte(`"arch":"`), []byte(`"arch":"changed-`), 1)
		return bk.Put([]byte(f.ID), v)
	}); err != nil {
		t.Fatal(err)
	}
	if b := get(); !strings.HasPrefix(b.Arch, "changed-") {
		t.Errorf("Get after the record's bytes changed: arch %q", b.Arch)
	}
}

func putPath(t testing.TB, s *Store, path string) store.PutResult {
	t.Helper()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := s.Put(context.Background(), r, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSecondOpenFails checks that a second process (or instance) on the same
// directory fails fast with a message saying what to do.
func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, storetest.NewIndexer(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(dir, storetest.NewIndexer(), Options{LockTimeout: 200 * time.Millisecond})
	if aotsym.ErrorCode(err) != aotsym.ECONFLICT || !bytes.Contains([]byte(aotsym.ErrorMessage(err)), []byte("--data")) {
		t.Errorf("second Open: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("second Open took %s", time.Since(start))
	}
}

// TestCorruptIndexIsRebuilt flips a byte of a stored index chunk: Index
// notices (checksum) and rebuilds it from the stored files.
func TestCorruptIndexIsRebuilt(t *testing.T) {
	f := storetest.Fixtures(t)["net9.0-linux-x64"]
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	s, err := Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := os.Open(f.Debug)
	s.Put(context.Background(), r, store.PutOptions{})
	r.Close()
	want, _ := s.Index(context.Background(), f.ID)
	s.Close()

	db, err := bbolt.Open(filepath.Join(dir, "aotsym.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketIndex)
		v := append([]byte(nil), b.Get(chunkKey(f.ID, 0))...)
		v[len(v)/2] ^= 1
		return b.Put(chunkKey(f.ID, 0), v)
	})
	db.Close()

	s, err = Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	built := ix.Builds()
	got, err := s.Index(context.Background(), f.ID)
	if err != nil || !bytes.Equal(got, want) || ix.Builds() != built+1 {
		t.Errorf("Index of a corrupted index: %d bytes, %v, %d rebuilds; want the original back after one rebuild", len(got), err, ix.Builds()-built)
	}
}

// BenchmarkIngest compares Put of the web API .dbg (20 MB, DWARF 5) into bolt
// with `llvm-gsymutil --convert` of the same file, in the same run. The test
// indexer hashes the whole file; rerun with the real indexer for the real
// comparison.
func BenchmarkIngest(b *testing.B) {
	path := storetest.Fixtures(b)["webapi"].Debug
	b.Run("llvm-gsymutil", func(b *testing.B) { storetest.BenchGsymutil(b, path) })
	b.Run("bolt", func(b *testing.B) {
		s, err := Open(b.TempDir(), storetest.NewIndexer(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		storetest.BenchIngest(b, s, path)
	})
}

// BenchmarkStoredBuilds measures List, Get, FindByTags and Index with 1, 100
// and 1,000 stored builds, and the heap and RSS after using them all.
func BenchmarkStoredBuilds(b *testing.B) {
	storetest.BenchStoredBuilds(b, backend, []int{1, 100, 1000})
}
