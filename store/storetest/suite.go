package storetest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
)

// Run runs the whole suite against a backend. Every subtest starts from a new
// location.
func Run(t *testing.T, b Backend) {
	h := &harness{b: b}
	t.Run("PutGetList", h.testPutGetList)
	t.Run("PutAgainIsNoop", h.testPutAgain)
	t.Run("ExecutableAndDebugCombine", h.testCombine)
	t.Run("Conflict", h.testConflict)
	t.Run("Tags", h.testTags)
	t.Run("FindByTagsMatchesList", h.testFindMatchesList)
	t.Run("Delete", h.testDelete)
	t.Run("OpenFile", h.testOpenFile)
	t.Run("ConcurrentSameBuild", h.testConcurrentSame)
	t.Run("ConcurrentDifferentBuilds", h.testConcurrentDifferent)
	t.Run("Restart", h.testRestart)
	t.Run("IndexVersionBump", h.testVersionBump)
	t.Run("Expire", h.testExpire)
	t.Run("Limits", h.testLimits)
	t.Run("CanceledUpload", h.testCanceled)
	t.Run("KilledMidUpload", h.testKilled)
}

type harness struct{ b Backend }

// env is one location with the clock and indexer the suite opens it with.
type env struct {
	h       *harness
	loc     string
	clock   *Clock
	ix      *Indexer
	dataDir string
	maxSize int64
}

func (h *harness) newEnv(t *testing.T) *env {
	return &env{h: h, loc: h.b.NewLocation(t), clock: NewClock(), ix: NewIndexer(), dataDir: t.TempDir()}
}

// open opens a store instance on the env's location; it is closed at the end
// of the test (Close twice is allowed).
func (e *env) open(t testing.TB) store.Store {
	t.Helper()
	s, err := e.h.b.Open(e.loc, Config{Indexer: e.ix, DataDir: e.dataDir, MaxSize: e.maxSize, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("opening the %s store at %s: %v", e.h.b.Name, e.loc, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putFile(t testing.TB, s store.Store, path string, tags map[string]string) store.PutResult {
	t.Helper()
	res, err := tryPut(s, path, tags)
	if err != nil {
		t.Fatalf("Put %s: %v", path, err)
	}
	return res
}

func tryPut(s store.Store, path string, tags map[string]string) (store.PutResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.PutResult{}, err
	}
	defer f.Close()
	return s.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(path), Tags: tags})
}

// expectIndex builds, with a fresh indexer of the same version, the index the
// store must return for a build of these files ("" for none).
func expectIndex(t testing.TB, version int, debugPath, exePath string) []byte {
	t.Helper()
	ix := NewIndexer()
	ix.SetVersion(version)
	open := func(p string) store.SizedReaderAt {
		if p == "" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))
	}
	res, err := ix.Build(context.Background(), open(debugPath), open(exePath))
	if err != nil {
		t.Fatal(err)
	}
	return res.Data
}

func checkIndex(t testing.TB, s store.Store, id aotsym.BuildID, want []byte) {
	t.Helper()
	got, err := s.Index(context.Background(), id)
	if err != nil {
		t.Fatalf("Index(%s): %v", id.Short(), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Index(%s): %d bytes, sha256 %.16s, built from\n%s\nwant %d bytes, sha256 %.16s, built from\n%s",
			id.Short(), len(got), Hash(got), IndexHeader(got), len(want), Hash(want), IndexHeader(want))
	}
}

func wantCode(t testing.TB, what string, err error, code string, msgParts ...string) {
	t.Helper()
	if aotsym.ErrorCode(err) != code {
		t.Fatalf("%s: got error %v (code %s), want code %s", what, err, aotsym.ErrorCode(err), code)
	}
	for _, p := range msgParts {
		if !strings.Contains(aotsym.ErrorMessage(err), p) {
			t.Errorf("%s: message %q does not mention %q", what, aotsym.ErrorMessage(err), p)
		}
	}
}

func ids(bs []aotsym.Build) []aotsym.BuildID {
	out := make([]aotsym.BuildID, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func fileSHA(t testing.TB, path string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Hash(b), int64(len(b))
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (h *harness) testPutGetList(t *testing.T) {
	fx := Fixtures(t)
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	order := []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-arm64"}
	for _, v := range order {
		res := putFile(t, s, fx[v].Debug, nil)
		if !res.Created || res.Added || res.Kind != aotsym.FileDebug || res.Build.ID != fx[v].ID {
			t.Fatalf("Put %s: %+v; want Created, kind debuginfo, ID %s", v, res, fx[v].ID)
		}
	}
	for _, v := range order {
		f := fx[v]
		b, err := s.Get(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		sha, size := fileSHA(t, f.Debug)
		want := expectIndex(t, 1, f.Debug, "")
		wantArch := map[bool]string{true: "aarch64", false: "x86_64"}[strings.Contains(v, "arm64")]
		if b.ID != f.ID || b.Arch != wantArch || len(b.Files) != 1 || b.Files[0] != (aotsym.StoredFile{Kind: aotsym.FileDebug, Name: "app.dbg", Size: size, SHA256: sha}) ||
			b.IndexVersion != 1 || b.IndexSize != int64(len(want)) || b.Functions == 0 || b.HasCode || b.Created.IsZero() {
			t.Errorf("Get(%s) = %s", v, jsonOf(b))
		}
		checkIndex(t, s, f.ID, want)
	}
	list, err := s.List(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []aotsym.BuildID{fx[order[2]].ID, fx[order[1]].ID, fx[order[0]].ID}
	if fmt.Sprint(ids(list)) != fmt.Sprint(want) {
		t.Errorf("List = %v, want newest first %v", ids(list), want)
	}
	if list, _ := s.List(ctx, store.ListOptions{Limit: 2}); fmt.Sprint(ids(list)) != fmt.Sprint(want[:2]) {
		t.Errorf("List(Limit 2) = %v, want %v", ids(list), want[:2])
	}
	_, err = s.Get(ctx, aotsym.BuildID("00112233445566778899"))
	wantCode(t, "Get of an unknown build", err, aotsym.ENOTFOUND, "0011223344", "upload")
	_, err = s.Index(ctx, aotsym.BuildID("00112233445566778899"))
	wantCode(t, "Index of an unknown build", err, aotsym.ENOTFOUND)
}

func (h *harness) testPutAgain(t *testing.T) {
	f := Fixtures(t)["net8.0-linux-x64"]
	e := h.newEnv(t)
	s := e.open(t)
	first := putFile(t, s, f.Debug, nil)
	builds := e.ix.Builds()
	again := putFile(t, s, f.Debug, nil)
	if again.Created || again.Added || again.TagsChanged || again.Kind != aotsym.FileDebug {
		t.Errorf("second Put of the same file: %+v, want neither created nor added", again)
	}
	if jsonOf(again.Build) != jsonOf(first.Build) {
		t.Errorf("second Put changed the build:\n%s\n%s", jsonOf(first.Build), jsonOf(again.Build))
	}
	if e.ix.Builds() != builds {
		t.Errorf("a no-op Put built the index again")
	}
	checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, ""))
}

func (h *harness) testCombine(t *testing.T) {
	fx := Fixtures(t)
	for _, order := range []string{"debug-then-executable", "executable-then-debug"} {
		t.Run(order, func(t *testing.T) {
			f := fx["net9.0-linux-x64"]
			first, second := f.Debug, f.Exe
			if order == "executable-then-debug" {
				f = fx["net10.0-linux-x64"]
				first, second = f.Exe, f.Debug
			}
			e := h.newEnv(t)
			s := e.open(t)
			r1 := putFile(t, s, first, map[string]string{"service": "orders"})
			want1 := expectIndex(t, 1, f.Debug, "")
			if first == f.Exe {
				want1 = expectIndex(t, 1, "", f.Exe)
			}
			checkIndex(t, s, f.ID, want1)
			r2 := putFile(t, s, second, nil)
			if !r1.Created || r2.Created || !r2.Added {
				t.Fatalf("first Put %+v, second %+v: want Created then Added", r1, r2)
			}
			b, err := s.Get(context.Background(), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			dsha, dsize := fileSHA(t, f.Debug)
			esha, esize := fileSHA(t, f.Exe)
			d, okD := b.File(aotsym.FileDebug)
			x, okX := b.File(aotsym.FileExecutable)
			if len(b.Files) != 2 || !okD || !okX || d.SHA256 != dsha || d.Size != dsize || x.SHA256 != esha || x.Size != esize || x.Name != "app" {
				t.Errorf("combined build files: %s", jsonOf(b.Files))
			}
			if !b.HasCode || b.Tags["service"] != "orders" || !b.Created.Equal(r1.Build.Created) {
				t.Errorf("combined build: %s (want has_code, the first upload's tags and creation time)", jsonOf(b))
			}
			checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, f.Exe))
			// Each file again: no-ops.
			for _, p := range []string{first, second} {
				if r := putFile(t, s, p, nil); r.Created || r.Added {
					t.Errorf("Put %s a second time: %+v", p, r)
				}
			}
		})
	}
}

// flipByteInSection returns a copy of the ELF file with one byte of a section
// changed: same build ID, different content.
func flipByteInSection(t testing.TB, path, section string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(section)
	if s == nil || s.Type == elf.SHT_NOBITS || s.FileSize < 64 {
		t.Fatalf("%s has no usable %s section", path, section)
	}
	b[s.Offset+s.FileSize/2] ^= 0x5a
	return b
}

func (h *harness) testConflict(t *testing.T) {
	f := Fixtures(t)["net8.0-linux-x64"]
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	orig := putFile(t, s, f.Debug, nil)
	changed := flipByteInSection(t, f.Debug, ".debug_str")
	_, err := s.Put(ctx, bytes.NewReader(changed), store.PutOptions{Name: "app.dbg"})
	wantCode(t, "Put of different bytes with the same build ID", err, aotsym.ECONFLICT, string(f.ID), "different", "delete")
	b, err := s.Get(ctx, f.ID)
	if err != nil || jsonOf(b) != jsonOf(orig.Build) {
		t.Errorf("a rejected upload changed the build: %v %s", err, jsonOf(b))
	}
	checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, ""))

	// Same build ID, another architecture.
	id := SyntheticBuildID(1)
	x := SyntheticELF(ELFSpec{BuildID: id, Machine: elf.EM_X86_64})
	a := SyntheticELF(ELFSpec{BuildID: id, Machine: elf.EM_AARCH64, Code: true})
	if _, err := s.Put(ctx, bytes.NewReader(x), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, bytes.NewReader(a), store.PutOptions{})
	wantCode(t, "Put of an aarch64 executable for an x86_64 build", err, aotsym.ECONFLICT, "aarch64", "x86_64")
}

func (h *harness) testTags(t *testing.T) {
	fx := Fixtures(t)
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	n8, n9, n10 := fx["net8.0-linux-x64"], fx["net9.0-linux-x64"], fx["net10.0-linux-x64"]
	putFile(t, s, n8.Debug, map[string]string{"service": "orders", "version": "1.4.1"})
	putFile(t, s, n9.Debug, map[string]string{"service": "orders", "version": "1.4.2", "git": "abc123"})
	putFile(t, s, n10.Debug, map[string]string{"service": "billing"})
	find := func(tags map[string]string, want aotsym.BuildID) {
		t.Helper()
		b, err := s.FindByTags(ctx, tags)
		if want == "" {
			wantCode(t, fmt.Sprintf("FindByTags(%v)", tags), err, aotsym.ENOTFOUND, store.FormatTags(tags))
			return
		}
		if err != nil || b.ID != want {
			t.Fatalf("FindByTags(%v) = %s, %v; want %s", tags, b.ID, err, want)
		}
	}
	find(map[string]string{"service": "orders"}, n9.ID)
	find(map[string]string{"service": "orders", "version": "1.4.1"}, n8.ID)
	find(map[string]string{"version": "1.4.2", "service": "orders", "git": "abc123"}, n9.ID)
	find(map[string]string{"service": "orders", "git": "nope"}, "")
	find(map[string]string{"service": "nope"}, "")
	find(nil, n10.ID)

	b, err := s.SetTags(ctx, n9.ID, nil, []string{"service"})
	if err != nil || b.Tags["service"] != "" || b.Tags["git"] != "abc123" {
		t.Fatalf("SetTags remove: %s, %v", jsonOf(b), err)
	}
	find(map[string]string{"service": "orders"}, n8.ID)
	if _, err := s.SetTags(ctx, n8.ID, map[string]string{"version": "1.5.0", "lambda": "orders-api:42"}, nil); err != nil {
		t.Fatal(err)
	}
	find(map[string]string{"version": "1.4.1"}, "")
	find(map[string]string{"lambda": "orders-api:42"}, n8.ID)
	if got, _ := s.Get(ctx, n8.ID); jsonOf(got.Tags) != `{"lambda":"orders-api:42","service":"orders","version":"1.5.0"}` {
		t.Errorf("tags after SetTags: %s", jsonOf(got.Tags))
	}
	_, err = s.SetTags(ctx, aotsym.BuildID("0123456789abcdef"), map[string]string{"a": "b"}, nil)
	wantCode(t, "SetTags of an unknown build", err, aotsym.ENOTFOUND)

	list, err := s.List(ctx, store.ListOptions{Tags: map[string]string{"service": "orders"}})
	if err != nil || fmt.Sprint(ids(list)) != fmt.Sprint([]aotsym.BuildID{n8.ID}) {
		t.Errorf("List(service=orders) = %v, %v", ids(list), err)
	}

	// Re-uploading a stored file with a new tag adds the tag and says so.
	res := putFile(t, s, n10.Debug, map[string]string{"lambda": "billing-api:7"})
	if res.Created || res.Added || !res.TagsChanged || res.Build.Tags["lambda"] != "billing-api:7" || res.Build.Tags["service"] != "billing" {
		t.Errorf("re-upload with a new tag: %+v", res)
	}
	find(map[string]string{"lambda": "billing-api:7"}, n10.ID)
	// A tag value moved from one build to another resolves to the newest
	// carrier only while the older one still has it.
	if _, err := s.SetTags(ctx, n9.ID, map[string]string{"lambda": "orders-api:42"}, nil); err != nil {
		t.Fatal(err)
	}
	find(map[string]string{"lambda": "orders-api:42"}, n9.ID)
	if _, err := s.SetTags(ctx, n9.ID, nil, []string{"lambda"}); err != nil {
		t.Fatal(err)
	}
	find(map[string]string{"lambda": "orders-api:42"}, n8.ID)
}

func (h *harness) testDelete(t *testing.T) {
	fx := Fixtures(t)
	f, other := fx["net9.0-linux-x64"], fx["net8.0-linux-x64"]
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	putFile(t, s, f.Debug, map[string]string{"service": "orders"})
	putFile(t, s, f.Exe, nil)
	putFile(t, s, other.Debug, map[string]string{"service": "orders"})
	if err := s.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, f.ID)
	wantCode(t, "Get after Delete", err, aotsym.ENOTFOUND)
	_, err = s.Index(ctx, f.ID)
	wantCode(t, "Index after Delete", err, aotsym.ENOTFOUND)
	for _, k := range []aotsym.FileKind{aotsym.FileDebug, aotsym.FileExecutable} {
		_, err = s.OpenFile(ctx, f.ID, k)
		wantCode(t, "OpenFile after Delete", err, aotsym.ENOTFOUND)
	}
	if b, err := s.FindByTags(ctx, map[string]string{"service": "orders"}); err != nil || b.ID != other.ID {
		t.Errorf("FindByTags after Delete = %s, %v; want the other build %s", b.ID, err, other.ID)
	}
	if list, _ := s.List(ctx, store.ListOptions{}); fmt.Sprint(ids(list)) != fmt.Sprint([]aotsym.BuildID{other.ID}) {
		t.Errorf("List after Delete = %v", ids(list))
	}
	wantCode(t, "Delete twice", s.Delete(ctx, f.ID), aotsym.ENOTFOUND)
	checkIndex(t, s, other.ID, expectIndex(t, 1, other.Debug, ""))

	// The build can be uploaded again, from scratch: the executable is gone.
	res := putFile(t, s, f.Debug, nil)
	if !res.Created || len(res.Build.Files) != 1 || res.Build.Tags != nil {
		t.Errorf("Put after Delete: %+v, want a new build with only the .dbg and no tags", res)
	}
	checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, ""))
	_, err = s.OpenFile(ctx, f.ID, aotsym.FileExecutable)
	wantCode(t, "OpenFile of the deleted executable", err, aotsym.ENOTFOUND, "executable")
}

func (h *harness) testOpenFile(t *testing.T) {
	f := Fixtures(t)["net10.0-linux-arm64"]
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	putFile(t, s, f.Debug, nil)
	putFile(t, s, f.Exe, nil)
	for kind, path := range map[aotsym.FileKind]string{aotsym.FileDebug: f.Debug, aotsym.FileExecutable: f.Exe} {
		want, _ := os.ReadFile(path)
		sf, err := s.OpenFile(ctx, f.ID, kind)
		if err != nil {
			t.Fatal(err)
		}
		if sf.Size() != int64(len(want)) {
			t.Errorf("%s: Size %d, want %d", kind, sf.Size(), len(want))
		}
		got, err := io.ReadAll(sf)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes (%v), differ from the upload", kind, len(got), err)
		}
		// Random access, as debuginfod clients and the indexer use it.
		off := int64(len(want) / 3)
		buf := make([]byte, 4096)
		if n, err := sf.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, want[off:off+4096]) {
			t.Errorf("%s: ReadAt(%d) = %d, %v", kind, off, n, err)
		}
		if pos, err := sf.Seek(-100, io.SeekEnd); err != nil || pos != int64(len(want))-100 {
			t.Errorf("%s: Seek end-100 = %d, %v", kind, pos, err)
		}
		tail, _ := io.ReadAll(sf)
		if !bytes.Equal(tail, want[len(want)-100:]) {
			t.Errorf("%s: read after Seek gave %d bytes, not the last 100", kind, len(tail))
		}
		if err := sf.Close(); err != nil {
			t.Error(err)
		}
	}
	// A .dbg-only build has no executable.
	g := Fixtures(t)["net8.0-linux-x64"]
	putFile(t, s, g.Debug, nil)
	_, err := s.OpenFile(ctx, g.ID, aotsym.FileExecutable)
	wantCode(t, "OpenFile of a missing executable", err, aotsym.ENOTFOUND, "executable")
}

func (h *harness) testConcurrentSame(t *testing.T) {
	fx := Fixtures(t)
	e := h.newEnv(t)
	s := e.open(t)
	// Many uploads of the same .dbg: exactly one creates the build.
	f := fx["net8.0-linux-x64"]
	results := runConcurrently(t, 8, func(i int) (store.PutResult, error) { return tryPut(s, f.Debug, nil) })
	if c := count(results, func(r store.PutResult) bool { return r.Created }); c != 1 {
		t.Errorf("%d of 8 concurrent uploads of one file created the build, want 1", c)
	}
	checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, ""))

	// The .dbg and the executable of one build, four times each, all at once:
	// one creates, one adds, the rest are no-ops, and the index covers both.
	g := fx["net9.0-linux-x64"]
	results = runConcurrently(t, 8, func(i int) (store.PutResult, error) {
		if i%2 == 0 {
			return tryPut(s, g.Debug, nil)
		}
		return tryPut(s, g.Exe, nil)
	})
	created := count(results, func(r store.PutResult) bool { return r.Created })
	added := count(results, func(r store.PutResult) bool { return r.Added })
	if created != 1 || added != 1 {
		t.Errorf("concurrent .dbg and executable uploads: %d created, %d added; want 1 and 1", created, added)
	}
	b, err := s.Get(context.Background(), g.ID)
	if err != nil || len(b.Files) != 2 || !b.HasCode {
		t.Errorf("after concurrent uploads: %s, %v", jsonOf(b), err)
	}
	checkIndex(t, s, g.ID, expectIndex(t, 1, g.Debug, g.Exe))
}

func runConcurrently(t *testing.T, n int, fn func(i int) (store.PutResult, error)) []store.PutResult {
	t.Helper()
	results := make([]store.PutResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put %d: %v", i, err)
		}
	}
	return results
}

func count(rs []store.PutResult, pred func(store.PutResult) bool) int {
	n := 0
	for _, r := range rs {
		if pred(r) {
			n++
		}
	}
	return n
}

func (h *harness) testConcurrentDifferent(t *testing.T) {
	fx := Fixtures(t)
	e := h.newEnv(t)
	s := e.open(t)
	var paths []string
	var want []aotsym.BuildID
	for _, v := range []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64", "net10.0-linux-arm64", "net10.0-linux-x64-nostacktrace"} {
		paths = append(paths, fx[v].Debug)
		want = append(want, fx[v].ID)
	}
	for i := 0; i < 20; i++ {
		b := SyntheticELF(ELFSpec{BuildID: SyntheticBuildID(i), Code: i%2 == 0})
		p := filepath.Join(t.TempDir(), "synthetic")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		want = append(want, aotsym.BuildIDFromBytes(SyntheticBuildID(i)))
	}
	results := runConcurrently(t, len(paths), func(i int) (store.PutResult, error) {
		return tryPut(s, paths[i], map[string]string{"n": fmt.Sprint(i)})
	})
	for i, r := range results {
		if !r.Created || r.Build.ID != want[i] {
			t.Errorf("concurrent upload %d: %+v, want build %s created", i, r, want[i])
		}
	}
	list, err := s.List(context.Background(), store.ListOptions{})
	if err != nil || len(list) != len(paths) {
		t.Fatalf("List after %d concurrent uploads: %d builds, %v", len(paths), len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if !store.Newer(&list[i-1], &list[i]) {
			t.Errorf("List is not newest first at %d: %s then %s", i, list[i-1].Created, list[i].Created)
		}
	}
	for i, p := range paths[:5] {
		checkIndex(t, s, want[i], expectIndex(t, 1, p, ""))
	}
}

func (h *harness) testRestart(t *testing.T) {
	fx := Fixtures(t)
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	putFile(t, s, fx["net8.0-linux-x64"].Debug, map[string]string{"service": "orders"})
	putFile(t, s, fx["webapi"].Debug, map[string]string{"service": "api"})
	putFile(t, s, fx["webapi"].Exe, nil)
	putFile(t, s, fx["net10.0-linux-arm64"].Exe, map[string]string{"service": "orders"})
	used := e.clock.Now()
	s.Touch(fx["webapi"].ID, used)
	before, err := s.List(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[aotsym.BuildID][]byte{}
	for _, b := range before {
		if indexes[b.ID], err = s.Index(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	e.ix = NewIndexer()
	s = e.open(t)
	after, err := s.List(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i].ID == fx["webapi"].ID {
			before[i].LastUsed = used
		}
	}
	if jsonOf(after) != jsonOf(before) {
		t.Errorf("after a restart List gives\n%s\nbefore it gave\n%s", jsonOf(after), jsonOf(before))
	}
	for id, want := range indexes {
		checkIndex(t, s, id, want)
	}
	if e.ix.Builds() != 0 {
		t.Errorf("reopening rebuilt %d indexes; the stored ones are current", e.ix.Builds())
	}
	if b, err := s.FindByTags(ctx, map[string]string{"service": "orders"}); err != nil || b.ID != fx["net10.0-linux-arm64"].ID {
		t.Errorf("FindByTags after restart = %s, %v", b.ID, err)
	}
	if b, _ := s.Get(ctx, fx["webapi"].ID); !b.LastUsed.Equal(used) {
		t.Errorf("last use after restart = %s, want %s (Touch before Close)", b.LastUsed, used)
	}
}

func (h *harness) testVersionBump(t *testing.T) {
	fx := Fixtures(t)
	f, g := fx["net9.0-linux-x64"], fx["net8.0-linux-x64"]
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	putFile(t, s, f.Debug, nil)
	putFile(t, s, f.Exe, nil)
	putFile(t, s, g.Debug, nil)
	built := e.ix.Builds()
	checkIndex(t, s, f.ID, expectIndex(t, 1, f.Debug, f.Exe))
	if e.ix.Builds() != built {
		t.Fatalf("Index rebuilt a current index")
	}

	e.ix.SetVersion(2)
	checkIndex(t, s, f.ID, expectIndex(t, 2, f.Debug, f.Exe))
	if e.ix.Builds() != built+1 {
		t.Errorf("Index after a version bump built %d indexes, want 1", e.ix.Builds()-built)
	}
	b, err := s.Get(ctx, f.ID)
	want := expectIndex(t, 2, f.Debug, f.Exe)
	if err != nil || b.IndexVersion != 2 || b.IndexSize != int64(len(want)) || !b.HasCode {
		t.Errorf("after the rebuild: %s, %v", jsonOf(b), err)
	}
	checkIndex(t, s, f.ID, want)
	if e.ix.Builds() != built+1 {
		t.Errorf("the rebuilt index was not saved: Index built it again")
	}
	// The other build is untouched until used.
	if b, _ := s.Get(ctx, g.ID); b.IndexVersion != 1 {
		t.Errorf("a build not asked for was re-indexed: version %d", b.IndexVersion)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(t)
	checkIndex(t, s, f.ID, want)
	checkIndex(t, s, g.ID, expectIndex(t, 2, g.Debug, ""))
	if e.ix.Builds() != built+2 {
		t.Errorf("after reopening: %d builds of the index, want %d", e.ix.Builds(), built+2)
	}
}

func (h *harness) testExpire(t *testing.T) {
	fx := Fixtures(t)
	a, b := fx["net8.0-linux-x64"], fx["net9.0-linux-x64"]
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	putFile(t, s, a.Debug, nil)
	putFile(t, s, b.Debug, nil)
	day := 24 * time.Hour
	if gone, err := s.Expire(ctx, 7*day); err != nil || len(gone) != 0 {
		t.Fatalf("Expire of fresh builds: %v, %v", gone, err)
	}
	e.clock.Advance(10 * day)
	used := e.clock.Now()
	s.Touch(a.ID, used)
	gone, err := s.Expire(ctx, 7*day)
	if err != nil || fmt.Sprint(gone) != fmt.Sprint([]aotsym.BuildID{b.ID}) {
		t.Fatalf("Expire after 10 days with one build used: %v, %v; want [%s]", gone, err, b.ID)
	}
	_, err = s.Get(ctx, b.ID)
	wantCode(t, "Get of an expired build", err, aotsym.ENOTFOUND)
	got, err := s.Get(ctx, a.ID)
	if err != nil || !got.LastUsed.Equal(used) {
		t.Errorf("the used build: %s, %v; want last used %s", jsonOf(got), err, used)
	}
	e.clock.Advance(6 * day)
	if gone, err := s.Expire(ctx, 7*day); err != nil || len(gone) != 0 {
		t.Errorf("Expire 6 days after the last use: %v, %v", gone, err)
	}
	e.clock.Advance(2 * day)
	if gone, err := s.Expire(ctx, 7*day); err != nil || fmt.Sprint(gone) != fmt.Sprint([]aotsym.BuildID{a.ID}) {
		t.Errorf("Expire 8 days after the last use: %v, %v", gone, err)
	}
	if list, _ := s.List(ctx, store.ListOptions{}); len(list) != 0 {
		t.Errorf("builds left after expiring all: %v", ids(list))
	}
	if r := putFile(t, s, b.Debug, nil); !r.Created {
		t.Errorf("re-upload of an expired build: %+v", r)
	}
	_, err = s.Expire(ctx, 0)
	wantCode(t, "Expire(0)", err, aotsym.EINVALID)
}

// countingReader counts what the store read from an upload.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (h *harness) testLimits(t *testing.T) {
	fx := Fixtures(t)
	f := fx["net8.0-linux-x64"]
	e := h.newEnv(t)
	e.maxSize = 1 << 20
	s := e.open(t)
	ctx := context.Background()
	dbg, _ := os.ReadFile(f.Debug)

	cr := &countingReader{r: bytes.NewReader(dbg)}
	_, err := s.Put(ctx, cr, store.PutOptions{})
	wantCode(t, "Put over the store's limit", err, aotsym.ETOOLARGE, "1 MiB")
	if cr.n > 1<<20+1 {
		t.Errorf("the store read %d bytes of an upload over its 1 MiB limit; it must stop at the limit", cr.n)
	}
	small := SyntheticELF(ELFSpec{BuildID: SyntheticBuildID(99)})
	_, err = s.Put(ctx, bytes.NewReader(small), store.PutOptions{MaxSize: int64(len(small) - 1)})
	wantCode(t, "Put over the upload's own limit", err, aotsym.ETOOLARGE)

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(dbg[:4096])
	zw.Close()
	var zb bytes.Buffer
	w := zip.NewWriter(&zb)
	fw, _ := w.Create("app.dbg")
	fw.Write(dbg[:4096])
	w.Close()
	for _, c := range []struct {
		name string
		body []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"gzip", gz.Bytes(), []string{"gzip", "Content-Encoding"}},
		{"zip", zb.Bytes(), []string{"zip archive"}},
		{"PE", append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 200)...), []string{"Windows PE"}},
		{"Mach-O", append([]byte{0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01}, make([]byte, 200)...), []string{"Mach-O"}},
		{"text", []byte("<html><body>502 Bad Gateway</body></html>\n"), []string{"text", "502 Bad Gateway"}},
		{"truncated ELF", dbg[:3000], []string{"ELF"}},
		{"no build ID", SyntheticELF(ELFSpec{Code: true}), []string{"build ID"}},
	} {
		_, err := s.Put(ctx, bytes.NewReader(c.body), store.PutOptions{Name: c.name})
		wantCode(t, "Put of "+c.name, err, aotsym.EINVALID, c.want...)
	}

	tooMany := map[string]string{}
	for i := 0; i <= store.MaxTags; i++ {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = s.Put(ctx, bytes.NewReader(small), store.PutOptions{Tags: tooMany})
	wantCode(t, "Put with too many tags", err, aotsym.ETOOLARGE, fmt.Sprint(store.MaxTags))
	for _, tags := range []map[string]string{
		{"ser vice": "orders"}, {"": "x"}, {"-x": "y"}, {"service": ""}, {"service": "two words"},
		{"service": "tab\there"}, {"service": strings.Repeat("x", store.MaxTagValueLen+1)}, {strings.Repeat("k", store.MaxTagKeyLen+1): "v"},
	} {
		_, err = s.Put(ctx, bytes.NewReader(small), store.PutOptions{Tags: tags})
		wantCode(t, fmt.Sprintf("Put with tags %q", tags), err, aotsym.EINVALID)
	}
	if list, _ := s.List(ctx, store.ListOptions{}); len(list) != 0 {
		t.Fatalf("rejected uploads left builds: %v", ids(list))
	}

	// SetTags cannot push a build over the limit either.
	res, err := s.Put(ctx, bytes.NewReader(small), store.PutOptions{Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]string{}
	for i := 0; i < store.MaxTags; i++ {
		full[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = s.SetTags(ctx, res.Build.ID, full, nil)
	wantCode(t, "SetTags over the limit", err, aotsym.ETOOLARGE)
	if _, err := s.SetTags(ctx, res.Build.ID, full, []string{"a"}); err != nil {
		t.Errorf("SetTags to exactly %d tags: %v", store.MaxTags, err)
	}
	_, err = s.FindByTags(ctx, map[string]string{"bad key": "v"})
	wantCode(t, "FindByTags with a bad key", err, aotsym.EINVALID)
}

// cancelingReader cancels its context after n bytes.
type cancelingReader struct {
	r      io.Reader
	n      int64
	cancel func()
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p[:min(int64(len(p)), max(c.n, 1))])
	c.n -= int64(n)
	return n, err
}

func (h *harness) testCanceled(t *testing.T) {
	f := Fixtures(t)["webapi"]
	e := h.newEnv(t)
	s := e.open(t)
	file, err := os.Open(f.Debug)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = s.Put(ctx, &cancelingReader{r: file, n: 5 << 20, cancel: cancel}, store.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a context canceled mid-upload: %v, want context.Canceled", err)
	}
	_, err = s.Get(context.Background(), f.ID)
	wantCode(t, "Get after a canceled upload", err, aotsym.ENOTFOUND)
	if r := putFile(t, s, f.Debug, nil); !r.Created {
		t.Errorf("upload after a canceled one: %+v", r)
	}
}

// testFindMatchesList checks FindByTags against a plain filter of List for
// every combination of three tags over builds that carry them in a pattern.
func (h *harness) testFindMatchesList(t *testing.T) {
	e := h.newEnv(t)
	s := e.open(t)
	ctx := context.Background()
	const n = 30
	for i := 0; i < n; i++ {
		body := SyntheticELF(ELFSpec{BuildID: SyntheticBuildID(1000 + i)})
		tags := map[string]string{"a": fmt.Sprint(i % 2), "b": fmt.Sprint(i % 3)}
		if i%5 != 0 {
			tags["c"] = fmt.Sprint(i % 4)
		}
		if _, err := s.Put(ctx, bytes.NewReader(body), store.PutOptions{Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	// Move some tags after upload, so lookup keys are rewritten.
	for i := 0; i < n; i += 7 {
		if _, err := s.SetTags(ctx, aotsym.BuildIDFromBytes(SyntheticBuildID(1000+i)), map[string]string{"b": "x"}, []string{"c"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.List(ctx, store.ListOptions{})
	if err != nil || len(all) != n {
		t.Fatalf("List: %d, %v", len(all), err)
	}
	checked := 0
	for _, a := range []string{"", "0", "1"} {
		for _, b := range []string{"", "0", "1", "2", "x"} {
			for _, c := range []string{"", "0", "1", "2", "3"} {
				want := map[string]string{}
				for k, v := range map[string]string{"a": a, "b": b, "c": c} {
					if v != "" {
						want[k] = v
					}
				}
				var expect aotsym.BuildID
				for _, bl := range all {
					if store.MatchTags(bl.Tags, want) {
						expect = bl.ID
						break
					}
				}
				got, err := s.FindByTags(ctx, want)
				if expect == "" {
					if aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
						t.Errorf("FindByTags(%v) = %s, %v; no build matches", want, got.ID, err)
					}
					continue
				}
				checked++
				if err != nil || got.ID != expect {
					t.Errorf("FindByTags(%v) = %s, %v; the newest match in List is %s", want, got.ID, err, expect)
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d tag combinations matched a build; the test lost its power", checked)
	}
}
