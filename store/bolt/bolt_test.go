package bolt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

// TestOpenRemovesLeftovers checks that Open removes what a crash leaves: a
// half-received upload in tmp/, a file no record names, the files of a build
// whose delete was committed, and leaves stored builds alone.
func TestOpenRemovesLeftovers(t *testing.T) {
	fx := storetest.Fixtures(t)
	dir := t.TempDir()
	ix := storetest.NewIndexer()
	s, err := Open(dir, ix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept := fx["net8.0-linux-x64"]
	r, _ := os.Open(kept.Debug)
	s.Put(context.Background(), r, store.PutOptions{})
	r.Close()
	s.Close()
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
	for _, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Open", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "0123456789abcdef")); !os.IsNotExist(err) {
		t.Errorf("the directory of a build with no record survived Open")
	}
	if _, err := s.OpenFile(context.Background(), kept.ID, aotsym.FileDebug); err != nil {
		t.Errorf("a stored build lost its file: %v", err)
	}
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
