package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/internal/ingest"
	"github.com/aotsym/aotsym/store/s3/s3test"
	"github.com/aotsym/aotsym/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	testBucket    = s3test.Bucket
	testAccessKey = "aotsymtest"
)

// s3Server returns the versitygw shared by this test binary.
func s3Server(t testing.TB) *s3test.Server { return s3test.Shared(t) }

// testConfig loads the standard AWS configuration (pointed at the test
// server by s3test.Shared), with requests counted when counter is set.
func testConfig(counter *requestCounter) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if counter != nil {
		cfg.HTTPClient = counter
	}
	return cfg, err
}

// requestCounter is an HTTP client that counts S3 requests by kind.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) Do(r *http.Request) (*http.Response, error) {
	kind := r.Method
	q := r.URL.Query()
	switch {
	case q.Has("list-type"):
		kind = "LIST"
	case q.Has("partNumber"):
		kind = "PART"
	case strings.Contains(r.URL.Path, "/builds/"):
		kind += " record"
	case strings.Contains(r.URL.Path, "/index/"):
		kind += " index"
	case strings.Contains(r.URL.Path, "/files/"):
		kind += " file"
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind]++
	c.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	if n == nil {
		n = map[string]int{}
	}
	return n
}

func newLocation(t testing.TB) string { return s3Server(t).URL(t) }

var backend = storetest.Backend{
	Name:        "s3",
	NewLocation: newLocation,
	Open: func(loc string, cfg storetest.Config) (store.Store, error) {
		return Open(context.Background(), loc, cfg.DataDir, cfg.Indexer, Options{
			MaxSize: cfg.MaxSize, Now: cfg.Now, OnStage: cfg.OnStage,
			PartSize: 5 << 20, // the 20 MB web API .dbg goes up in 4 parts
		})
	},
	Stages: []string{ingest.StageFileWritten, ingest.StageIndexWritten, ingest.StageCommitted},
}

func TestMain(m *testing.M) {
	if storetest.IsChild() {
		os.Exit(storetest.RunChild(backend))
	}
	code := m.Run()
	s3test.StopShared()
	os.Exit(code)
}

func TestSuite(t *testing.T) { storetest.Run(t, backend) }

func openAt(t testing.TB, loc string, ix store.Indexer, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), loc, t.TempDir(), ix, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s store.Store, path string, tags map[string]string) store.PutResult {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := s.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(path), Tags: tags})
	if err != nil {
		t.Fatalf("Put %s: %v", path, err)
	}
	return res
}

// objects lists the keys under the location's files/ prefix.
func objects(t testing.TB, loc, under string) []string {
	t.Helper()
	bucket, prefix, _ := ParseURL(loc)
	client := s3Server(t).Client()
	var keys []string
	p := awss3.NewListObjectsV2Paginator(client, &awss3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + under)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	return keys
}

func expectIndex(t testing.TB, debugPath, exePath string) []byte {
	t.Helper()
	ix := storetest.NewIndexer()
	rd := func(p string) store.SizedReaderAt {
		if p == "" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b)))
	}
	res, err := ix.Build(context.Background(), rd(debugPath), rd(exePath))
	if err != nil {
		t.Fatal(err)
	}
	return res.Data
}

// TestInstancesRace runs two store instances (two servers, as far as the
// bucket can tell) on one location: conditional writes decide every race,
// and the losers clean up what they wrote.
func TestInstancesRace(t *testing.T) {
	fx := storetest.Fixtures(t)
	loc := newLocation(t)
	a := openAt(t, loc, storetest.NewIndexer(), Options{})
	b := openAt(t, loc, storetest.NewIndexer(), Options{})
	both := []*Store{a, b}
	ctx := context.Background()

	race := func(n int, fn func(i int) (store.PutResult, error)) []store.PutResult {
		t.Helper()
		out := make([]store.PutResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); <-start; out[i], errs[i] = fn(i) }()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("racing Put %d: %v", i, err)
			}
		}
		return out
	}
	putVia := func(s *Store, path string) (store.PutResult, error) {
		f, err := os.Open(path)
		if err != nil {
			return store.PutResult{}, err
		}
		defer f.Close()
		return s.Put(ctx, f, store.PutOptions{Name: filepath.Base(path)})
	}

	// The same .dbg through both instances at once.
	f := fx["net8.0-linux-x64"]
	res := race(8, func(i int) (store.PutResult, error) { return putVia(both[i%2], f.Debug) })
	created := 0
	for _, r := range res {
		if r.Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d of 8 racing uploads over two instances created the build, want 1", created)
	}
	if keys := objects(t, loc, "files/"+string(f.ID)+"/"); len(keys) != 2 {
		t.Errorf("after the race the build has objects %v; want its .dbg and its index, the losers' copies deleted", keys)
	}

	// The .dbg through one, the executable through the other, at once.
	g := fx["net9.0-linux-x64"]
	res = race(6, func(i int) (store.PutResult, error) {
		if i%2 == 0 {
			return putVia(a, g.Debug)
		}
		return putVia(b, g.Exe)
	})
	var c, ad int
	for _, r := range res {
		if r.Created {
			c++
		}
		if r.Added {
			ad++
		}
	}
	if c != 1 || ad != 1 {
		t.Errorf("racing .dbg (A) and executable (B): %d created, %d added; want 1 and 1", c, ad)
	}
	want := expectIndex(t, g.Debug, g.Exe)
	for i, s := range both {
		got, err := s.Index(ctx, g.ID)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("instance %d: Index after the race: %d bytes %v; want the index of both files (%s)", i, len(got), err, storetest.IndexHeader(got))
		}
	}
	if keys := objects(t, loc, "files/"+string(g.ID)+"/"); len(keys) != 3 {
		t.Errorf("after the race the build has objects %v; want .dbg, executable and one index", keys)
	}

	// Tags set through both at once: no update is lost.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := both[i%2].SetTags(ctx, g.ID, map[string]string{fmt.Sprintf("k%d", i): "v"}, nil); err != nil {
				t.Errorf("SetTags %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if got, _ := a.Get(ctx, g.ID); len(got.Tags) != 20 {
		t.Errorf("after 20 racing SetTags over two instances the build has %d tags: %v", len(got.Tags), got.Tags)
	}
	if keys := objects(t, loc, "tags/"); len(keys) != 20 {
		t.Errorf("after 20 racing SetTags: %d tag lookup objects, want 20 (losers delete theirs)", len(keys))
	}
	for i := 0; i < 20; i += 3 {
		if got, err := both[(i+1)%2].FindByTags(ctx, map[string]string{fmt.Sprintf("k%d", i): "v"}); err != nil || got.ID != g.ID {
			t.Errorf("FindByTags(k%d=v) after the race: %s, %v", i, got.ID, err)
		}
	}
	// Deleting through one is seen by the other at once.
	if err := a.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, f.ID); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("Get through B after Delete through A: %v", err)
	}
	if l, _ := b.List(ctx, store.ListOptions{}); len(l) != 1 || l[0].ID != g.ID {
		t.Errorf("List through B after Delete through A: %v", l)
	}
	if keys := objects(t, loc, "files/"+string(f.ID)+"/"); len(keys) != 0 {
		t.Errorf("Delete left objects %v", keys)
	}
}

// TestTwoProcesses proves the scale-out claim with two OS processes on one
// bucket: a build uploaded through one is found, by tags, and read through
// the other, in both directions, and both uploading the same file at once
// create it once.
func TestTwoProcesses(t *testing.T) {
	fx := storetest.Fixtures(t)
	loc := newLocation(t)
	ctx := context.Background()
	s := openAt(t, loc, storetest.NewIndexer(), Options{})
	if l, err := s.List(ctx, store.ListOptions{}); err != nil || len(l) != 0 {
		t.Fatalf("List of a new location: %v, %v", l, err)
	}

	// The child uploads; this process finds and reads it.
	f := fx["net8.0-linux-x64"]
	c := storetest.StartChild(t, storetest.ChildJob{Op: "put", Loc: loc, File: f.Debug, Tags: map[string]string{"service": "orders", "version": "1.4.2"}})
	if r := c.Result(t); !r.Put.Created {
		t.Fatalf("child upload: %+v", r.Put)
	}
	b, err := s.FindByTags(ctx, map[string]string{"service": "orders", "version": "1.4.2"})
	if err != nil || b.ID != f.ID {
		t.Fatalf("FindByTags after another process uploaded: %s, %v", b.ID, err)
	}
	got, err := s.Index(ctx, f.ID)
	if err != nil || !bytes.Equal(got, expectIndex(t, f.Debug, "")) {
		t.Errorf("Index of the build another process uploaded: %d bytes, %v", len(got), err)
	}

	// This process uploads; the child finds and reads it.
	g := fx["net10.0-linux-arm64"]
	put(t, s, g.Debug, map[string]string{"service": "billing"})
	r := storetest.StartChild(t, storetest.ChildJob{Op: "read", Loc: loc, Tags: map[string]string{"service": "billing"}}).Result(t)
	wantFile, _ := os.ReadFile(g.Debug)
	if r.Build.ID != g.ID || r.IndexSHA256 != storetest.Hash(expectIndex(t, g.Debug, "")) || r.FileSHA256 != storetest.Hash(wantFile) {
		t.Errorf("the other process read build %s, index %.16s, file %.16s", r.Build.ID, r.IndexSHA256, r.FileSHA256)
	}

	// Both upload the same big file at once.
	h := fx["webapi"]
	c = storetest.StartChild(t, storetest.ChildJob{Op: "put", Loc: loc, File: h.Debug})
	mine := put(t, s, h.Debug, nil)
	theirs := c.Result(t).Put
	if mine.Created == theirs.Created {
		t.Errorf("two processes uploading one file: created here %v, there %v; want exactly one", mine.Created, theirs.Created)
	}
	if keys := objects(t, loc, "files/"+string(h.ID)+"/"); len(keys) != 2 {
		t.Errorf("objects after two processes uploaded one file: %v", keys)
	}
}

// TestIndexCache checks that the local cache of index files stays under its
// byte budget, serves repeated reads without fetching the index object, and
// survives a restart.
func TestIndexCache(t *testing.T) {
	fx := storetest.Fixtures(t)
	loc := newLocation(t)
	ctx := context.Background()
	var order []storetest.Fixture
	for _, v := range []string{"net8.0-linux-x64", "net9.0-linux-x64", "net10.0-linux-x64", "net10.0-linux-arm64", "webapi"} {
		order = append(order, fx[v])
	}
	w := openAt(t, loc, storetest.NewIndexer(), Options{CacheBytes: -1})
	for _, f := range order {
		put(t, w, f.Debug, nil)
	}
	const budget = 1 << 20 // the corpus .dbg indexes are 300-370 KB, the web API one 1.2 MB
	counter := &requestCounter{}
	cfg, err := testConfig(counter)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	s, err := Open(ctx, loc, dataDir, storetest.NewIndexer(), Options{CacheBytes: budget, AWSConfig: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dirSize := func() int64 {
		var n int64
		des, _ := os.ReadDir(filepath.Join(dataDir, "index-cache"))
		for _, de := range des {
			fi, _ := de.Info()
			n += fi.Size()
		}
		return n
	}
	for round := 0; round < 2; round++ {
		for _, f := range order {
			if _, err := s.Index(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
			if n := dirSize(); n > budget {
				t.Fatalf("index cache holds %d bytes, over its budget of %d", n, budget)
			}
		}
	}
	counter.take()
	last := order[len(order)-2] // cached: the web API index is over budget
	for i := 0; i < 3; i++ {
		if _, err := s.Index(ctx, last.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := counter.take(); n["GET index"] != 0 || n["GET record"] != 3 {
		t.Errorf("3 Index calls of a cached index made requests %v; want 3 record GETs, no index GET", n)
	}
	big := order[len(order)-1]
	if _, err := s.Index(ctx, big.ID); err != nil {
		t.Fatal(err)
	}
	if n := counter.take(); n["GET index"] != 1 {
		t.Errorf("an index over the budget: requests %v, want it fetched (not cached)", n)
	}
	s.Close()
	// After a restart the cache still holds what it held.
	s, err = Open(ctx, loc, dataDir, storetest.NewIndexer(), Options{CacheBytes: budget, AWSConfig: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Index(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	if n := counter.take(); n["GET index"] != 0 {
		t.Errorf("after a restart: requests %v, want the index from the cache", n)
	}
	if s.cache.size() > budget || s.cache.size() != dirSize() {
		t.Errorf("cache accounts %d bytes, directory holds %d, budget %d", s.cache.size(), dirSize(), budget)
	}
	// A corrupted cache file is noticed and replaced.
	des, _ := os.ReadDir(filepath.Join(dataDir, "index-cache"))
	for _, de := range des {
		p := filepath.Join(dataDir, "index-cache", de.Name())
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		os.WriteFile(p, b, 0o644)
	}
	got, err := s.Index(ctx, last.ID)
	if err != nil || !bytes.Equal(got, expectIndex(t, last.Debug, "")) {
		t.Errorf("Index with a corrupted cache file: %d bytes, %v", len(got), err)
	}
}

// TestListCost checks that List over many builds costs one LIST request when
// nothing changed, plus one GET per changed record, and FindByTags one LIST
// per tag and one record GET.
func TestListCost(t *testing.T) {
	loc := newLocation(t)
	ctx := context.Background()
	w := openAt(t, loc, storetest.NewIndexer(), Options{})
	const n = 40
	idOf := func(i int) aotsym.BuildID { return aotsym.BuildIDFromBytes(storetest.SyntheticBuildID(i)) }
	for i := 0; i < n; i++ {
		b := storetest.SyntheticELF(storetest.ELFSpec{BuildID: storetest.SyntheticBuildID(i)})
		if _, err := w.Put(ctx, bytes.NewReader(b), store.PutOptions{Tags: map[string]string{"n": fmt.Sprint(i), "service": "orders"}}); err != nil {
			t.Fatal(err)
		}
	}
	counter := &requestCounter{}
	cfg, err := testConfig(counter)
	if err != nil {
		t.Fatal(err)
	}
	s := openAt(t, loc, storetest.NewIndexer(), Options{AWSConfig: &cfg})
	counter.take()
	if l, err := s.List(ctx, store.ListOptions{}); err != nil || len(l) != n {
		t.Fatalf("List: %d builds, %v", len(l), err)
	}
	if got := counter.take(); got["LIST"] != 1 || got["GET record"] != n {
		t.Errorf("first List of %d builds: requests %v; want 1 LIST and %d record GETs", n, got, n)
	}
	for i := 0; i < 5; i++ {
		if l, err := s.List(ctx, store.ListOptions{Limit: 10}); err != nil || len(l) != 10 || l[0].ID != idOf(n-1) {
			t.Fatalf("List(10): %v, %v", l, err)
		}
	}
	if got := counter.take(); got["LIST"] != 5 || len(got) != 1 {
		t.Errorf("5 Lists with nothing changed: requests %v; want 5 LISTs only", got)
	}
	for _, c := range []struct {
		tags map[string]string
		want aotsym.BuildID
	}{
		{map[string]string{"n": "7"}, idOf(7)},
		{map[string]string{"service": "orders"}, idOf(n - 1)},
		{map[string]string{"service": "orders", "n": "3"}, idOf(3)},
	} {
		b, err := s.FindByTags(ctx, c.tags)
		if err != nil || b.ID != c.want {
			t.Errorf("FindByTags(%v) = %s, %v; want %s", c.tags, b.ID, err, c.want)
		}
		if got := counter.take(); got["LIST"] != len(c.tags) || got["GET record"] != 1 || len(got) != 2 {
			t.Errorf("FindByTags(%v) among %d builds: requests %v; want %d LIST and 1 record GET", c.tags, n, got, len(c.tags))
		}
	}
	// A change made through another instance: List fetches that record only;
	// FindByTags sees it at once.
	if _, err := w.SetTags(ctx, idOf(3), map[string]string{"n": "moved"}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := s.FindByTags(ctx, map[string]string{"n": "moved"}); err != nil || b.ID != idOf(3) {
		t.Errorf("FindByTags of a tag set by another instance: %s, %v", b.ID, err)
	}
	if _, err := s.FindByTags(ctx, map[string]string{"n": "3"}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("FindByTags of a tag another instance moved away: %v", err)
	}
	counter.take()
	s.List(ctx, store.ListOptions{})
	if got := counter.take(); got["LIST"] != 1 || got["GET record"] != 1 {
		t.Errorf("List after one build changed elsewhere: requests %v; want 1 LIST and 1 record GET", got)
	}
	if keys := objects(t, loc, "tags/"); len(keys) != 2*n {
		t.Errorf("%d tag lookup objects for %d builds with 2 tags each", len(keys), n)
	}
	// With a maximum age, Lists within it cost nothing.
	cached := openAt(t, loc, storetest.NewIndexer(), Options{AWSConfig: &cfg, CatalogMaxAge: time.Hour})
	cached.List(ctx, store.ListOptions{})
	counter.take()
	for i := 0; i < 5; i++ {
		cached.List(ctx, store.ListOptions{Limit: 3})
	}
	if got := counter.take(); len(got) != 0 {
		t.Errorf("List within CatalogMaxAge made requests %v", got)
	}
}

// TestMultipartAndOrphans checks that a big file goes up in parts, and that
// Expire removes what killed uploads leave (objects no record names, an
// incomplete multipart upload, a presigned upload never completed) once old
// enough, and nothing else.
func TestMultipartAndOrphans(t *testing.T) {
	fx := storetest.Fixtures(t)
	f := fx["webapi"]
	loc := newLocation(t)
	ctx := context.Background()
	counter := &requestCounter{}
	cfg, err := testConfig(counter)
	if err != nil {
		t.Fatal(err)
	}
	s := openAt(t, loc, storetest.NewIndexer(), Options{AWSConfig: &cfg, PartSize: 5 << 20, OrphanAge: time.Millisecond})
	put(t, s, f.Debug, nil)
	if got := counter.take(); got["PART"] != 4 {
		t.Errorf("uploading a 20 MB file with 5 MiB parts: requests %v, want 4 parts", got)
	}
	sf, err := s.OpenFile(ctx, f.ID, aotsym.FileDebug)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, sf)
	sf.Close()
	want, _ := os.ReadFile(f.Debug)
	if hex.EncodeToString(h.Sum(nil)) != storetest.Hash(want) {
		t.Errorf("the multipart-uploaded file reads back different")
	}

	// A process killed after writing its objects, before the record.
	g := fx["net9.0-linux-x64"]
	c := storetest.StartChild(t, storetest.ChildJob{Op: "put", Loc: loc, File: g.Debug, StopAt: ingest.StageIndexWritten, Tags: map[string]string{"service": "x"}})
	c.KillAt(t, ingest.StageIndexWritten)
	if keys := objects(t, loc, "files/"+string(g.ID)+"/"); len(keys) != 2 {
		t.Fatalf("the killed upload left objects %v; want its file and index", keys)
	}
	if keys := objects(t, loc, "tags/"); len(keys) != 1 {
		t.Fatalf("the killed upload left tag lookup objects %v; want one", keys)
	}
	if _, err := s.FindByTags(ctx, map[string]string{"service": "x"}); aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		t.Errorf("FindByTags through the killed upload's lookup object: %v", err)
	}
	// An incomplete multipart upload.
	bucket, prefix, _ := ParseURL(loc)
	client := s3Server(t).Client()
	mp, err := client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "files/" + string(g.ID) + "/debuginfo/partial")})
	if err != nil {
		t.Fatal(err)
	}
	// A presigned upload nobody completed.
	if _, err := client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "incoming/abandoned"), Body: strings.NewReader("half a file")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // S3 times have one-second resolution
	if gone, err := s.Expire(ctx, 24*time.Hour); err != nil || len(gone) != 0 {
		t.Fatalf("Expire: %v, %v", gone, err)
	}
	if keys := append(append(objects(t, loc, "files/"+string(g.ID)+"/"), objects(t, loc, "tags/")...), objects(t, loc, "incoming/")...); len(keys) != 0 {
		t.Errorf("Expire left the orphans %v", keys)
	}
	ups, err := client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("Expire left multipart uploads %v (%v); upload id %s", ups.Uploads, err, aws.ToString(mp.UploadId))
	}
	if keys := objects(t, loc, "files/"+string(f.ID)+"/"); len(keys) != 2 {
		t.Errorf("Expire touched a stored build's objects: %v", keys)
	}
	if got, err := s.Index(ctx, f.ID); err != nil || !bytes.Equal(got, expectIndex(t, f.Debug, "")) {
		t.Errorf("Index of the stored build after the sweep: %v", err)
	}
}

// TestOpenErrors checks the messages for a bad URL, a missing bucket and bad
// credentials.
func TestOpenErrors(t *testing.T) {
	s3Server(t)
	ctx := context.Background()
	for _, c := range []struct{ url, code, want string }{
		{"http://bucket/x", aotsym.EINVALID, "s3://BUCKET/PREFIX"},
		{"s3://ab/x", aotsym.EINVALID, "3 to 63"},
		{"s3://no-such-bucket-here/x", aotsym.ENOTFOUND, "does not exist"},
	} {
		_, err := Open(ctx, c.url, t.TempDir(), storetest.NewIndexer(), Options{})
		if aotsym.ErrorCode(err) != c.code || !strings.Contains(aotsym.ErrorMessage(err), c.want) {
			t.Errorf("Open(%s): %v (code %s), want %s mentioning %q", c.url, err, aotsym.ErrorCode(err), c.code, c.want)
		}
	}
	cfg, _ := testConfig(nil)
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: "wrong"}, nil
	})
	_, err := Open(ctx, "s3://"+testBucket+"/x", t.TempDir(), storetest.NewIndexer(), Options{AWSConfig: &cfg})
	if !strings.Contains(aotsym.ErrorMessage(err), "denied") {
		t.Errorf("Open with a wrong secret: %v", err)
	}
}

// BenchmarkIngest compares Put of the web API .dbg (20 MB, DWARF 5) into S3
// on versitygw with `llvm-gsymutil --convert` of the same file, in the same
// run.
func BenchmarkIngest(b *testing.B) {
	path := storetest.Fixtures(b)["webapi"].Debug
	b.Run("llvm-gsymutil", func(b *testing.B) { storetest.BenchGsymutil(b, path) })
	b.Run("s3", func(b *testing.B) {
		s := openAt(b, newLocation(b), storetest.NewIndexer(), Options{})
		storetest.BenchIngest(b, s, path)
	})
}

// BenchmarkStoredBuilds measures List, Get, FindByTags and Index with 1, 100
// and 1,000 stored builds, and the heap and RSS after using them all.
func BenchmarkStoredBuilds(b *testing.B) {
	storetest.BenchStoredBuilds(b, backend, []int{1, 100, 1000})
}

// loseRecordReply is an HTTP client that sends the first record PUT and then
// reports a failure, as a timeout after the server applied it would.
type loseRecordReply struct {
	mu   sync.Mutex
	done bool
}

func (c *loseRecordReply) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && !c.done && r.Method == "PUT" && strings.Contains(r.URL.Path, "/builds/") {
		c.done = true
		resp.Body.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return resp, err
}

// TestAmbiguousCommit: the record write succeeds on the server but the
// client sees an error. The upload must not then delete the objects the
// record names as if it had lost.
func TestAmbiguousCommit(t *testing.T) {
	f := storetest.Fixtures(t)["net8.0-linux-x64"]
	loc := newLocation(t)
	cfg, err := testConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	lose := &loseRecordReply{}
	cfg.HTTPClient = lose
	s := openAt(t, loc, storetest.NewIndexer(), Options{AWSConfig: &cfg})
	file, _ := os.Open(f.Debug)
	defer file.Close()
	_, err = s.Put(context.Background(), file, store.PutOptions{Tags: map[string]string{"service": "orders"}})
	if !lose.done {
		t.Fatal("the record PUT was never intercepted")
	}
	t.Logf("Put after a lost reply: %v", err)
	other := openAt(t, loc, storetest.NewIndexer(), Options{})
	b, err := other.FindByTags(context.Background(), map[string]string{"service": "orders"})
	if err != nil || b.ID != f.ID {
		t.Fatalf("FindByTags after a lost reply: %s, %v", b.ID, err)
	}
	if got, err := other.Index(context.Background(), f.ID); err != nil || !bytes.Equal(got, expectIndex(t, f.Debug, "")) {
		t.Errorf("Index after a lost reply: %v", err)
	}
	sf, err := other.OpenFile(context.Background(), f.ID, aotsym.FileDebug)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sf)
	sf.Close()
	want, _ := os.ReadFile(f.Debug)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("the stored file after a lost reply: %d bytes, %v", len(got), err)
	}
}
