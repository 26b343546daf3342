// Package s3 is the scaled-out build store: any number of stateless aotsym
// servers (or Lambda handlers) over one S3 bucket (`--store
// s3://BUCKET/PREFIX`). Each keeps only a bounded cache of index files in its
// own --data directory.
//
// # Object layout
//
// Under PREFIX/ (keys relative to it):
//
//	builds/<id>.json                        the build's record: aotsym.Build plus the keys of
//	                                        its objects and the index checksum (the commit point)
//	files/<id>/debuginfo/<nonce>            the uploaded debug file, byte for byte
//	files/<id>/executable/<nonce>           the uploaded executable
//	files/<id>/index/v<version>-<nonce>     the index, in the Indexer's format <version>
//	tags/<h>/<t>-<id>-<nonce>               empty: build <id> carries the tag whose
//	                                        "key=value" hashes to <h>; <t> orders newest first
//
// Every data object is written once, under a key no other writer uses (a
// random nonce), and never overwritten; the record names the objects that
// make up the build. Files larger than the part size go up as multipart
// uploads, several parts at a time.
//
// # Commit protocol
//
// Put writes the file object and the index object first, then the record:
// with If-None-Match: * for a new build, with If-Match: <the ETag it read>
// when it adds an executable to a .dbg (or the reverse), re-tags, or stores a
// rebuilt index. S3 applies each PUT atomically, and the conditional header
// makes the record change only from the state the writer read. So:
//   - a reader, which reads the record first and the objects it names after,
//     never sees a partial build: the objects exist before the record does;
//   - two replicas uploading the same build race on the record: one wins,
//     the other's PUT fails with 412, and it reads the record again and
//     re-plans (usually to "already there"), deleting the objects it wrote
//     for nothing;
//   - a process killed anywhere before the record is written leaves only
//     objects no record names (and maybe an incomplete multipart upload):
//     invisible, and removed by Expire once older than Options.OrphanAge.
//
// Delete removes the record first (If-Match, so a concurrent change is not
// lost), then the objects it named. Tag lookup objects follow the same rule
// as data objects: written, under their writer's own key, before the record
// that names them; deleted after the record stops naming them.
//
// # Listing and tags without reading every record
//
// FindByTags lists the lookup objects of the query's tags (one small
// ListObjectsV2 per tag, newest first, in parallel), walks the shortest list,
// and confirms the first candidate by reading its record: one LIST per tag
// and usually one GET, whatever the number of stored builds, and always
// current, since lookup objects are written before the record that names
// them. A lookup object whose record does not (or no longer) carry the tag is
// skipped; Expire sweeps such leftovers.
//
// List answers from a catalog held in memory: each build's record and ETag.
// Before answering, the catalog is brought up to date with one
// ListObjectsV2 of builds/ (1,000 builds per page, each with its ETag),
// fetching only the records whose ETag changed since the last look;
// concurrent callers share one refresh. With 1,000 stored builds and nothing
// changed, a List costs one LIST request, never 1,000 GETs.
// Options.CatalogMaxAge trades that request for staleness. Get, Index and
// OpenFile always read the record itself, so a build uploaded through one
// server is served by every other one at once.
//
// # Memory and the local cache
//
// Index returns bytes the caller owns and keeps no opened index. Index
// objects are cached as files in DATA/index-cache, evicted least recently
// used when their total passes Options.CacheBytes; a cached file is named
// after its immutable object key, so it is never stale. The catalog holds one
// small record per build (no index, no file data).
package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/internal/ingest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options tune a Store. The zero value is the production configuration.
type Options struct {
	// MaxSize is the largest upload accepted; 0 means store.DefaultMaxSize.
	MaxSize int64
	// CacheBytes bounds the local cache of index files; 0 means 1 GiB, a
	// negative value turns the cache off.
	CacheBytes int64
	// PartSize is the part size of multipart uploads, which files larger than
	// it use; 0 means 16 MiB. S3 needs at least 5 MiB.
	PartSize int64
	// Concurrency is how many parts of one file are uploaded at once; 0
	// means 4.
	Concurrency int
	// CatalogMaxAge is how old the listing behind List may be; 0 means it is
	// brought up to date (one LIST request) on every call.
	CatalogMaxAge time.Duration
	// TouchInterval is how often Touch calls are written; 0 means 1 minute.
	TouchInterval time.Duration
	// TouchGranularity: a build's last-use time is rewritten only when it
	// moves by more than this; 0 means 1 hour. It bounds the writes Touch
	// causes to one per build per granularity.
	TouchGranularity time.Duration
	// OrphanAge is how old an object no record names (or an incomplete
	// multipart upload) must be before Expire removes it; 0 means 1 hour.
	// It must exceed the longest upload.
	OrphanAge time.Duration
	// AWSConfig replaces config.LoadDefaultConfig (tests); nil means the
	// standard AWS environment.
	AWSConfig *aws.Config
	// PathStyle forces path-style addressing; it is on anyway when a custom
	// endpoint is configured (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).
	PathStyle bool
	// Now is the clock for build ages (tests move it); nil means time.Now.
	Now func() time.Time
	// OnStage, when set, is called at each stage of Put (ingest's Stage*
	// names) so that tests can kill the process at a precise point.
	OnStage func(stage string)
	// Logger receives what the store repairs on its own; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Store is the S3 build store. It implements store.Store.
type Store struct {
	client  *awss3.Client
	bucket  string
	prefix  string // "" or ending in "/"
	dataDir string
	ix      store.Indexer
	opts    Options
	log     *slog.Logger

	locks   ingest.Locks
	touches ingest.Touches
	cache   *indexCache
	cat     catalog

	stop      chan struct{}
	flushDone chan struct{}
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// record is the JSON object builds/<id>.json.
type record struct {
	aotsym.Build
	// Objects maps each file kind to its object key (relative to PREFIX/).
	Objects     map[aotsym.FileKind]string `json:"objects"`
	IndexKey    string                     `json:"index_key"`
	IndexSHA256 string                     `json:"index_sha256"`
	// TagKeys maps each tag key to its lookup object (see tags.go).
	TagKeys map[string]string `json:"tag_keys,omitempty"`
}

func (r *record) clone() *record {
	c := *r
	c.Files = append([]aotsym.StoredFile(nil), r.Files...)
	c.Objects = make(map[aotsym.FileKind]string, len(r.Objects))
	for k, v := range r.Objects {
		c.Objects[k] = v
	}
	if r.Tags != nil {
		c.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			c.Tags[k] = v
		}
	}
	if r.TagKeys != nil {
		c.TagKeys = make(map[string]string, len(r.TagKeys))
		for k, v := range r.TagKeys {
			c.TagKeys[k] = v
		}
	}
	return &c
}

// ParseURL splits s3://BUCKET/PREFIX.
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", "", aotsym.Errorf(aotsym.EINVALID, "store URL %q is not of the form s3://BUCKET/PREFIX", aotsym.Clip(raw, 80))
	}
	bucket = u.Host
	if len(bucket) < 3 || len(bucket) > 63 {
		return "", "", aotsym.Errorf(aotsym.EINVALID, "bucket name %q must be 3 to 63 characters", bucket)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// Open opens the store at url (s3://BUCKET/PREFIX) with credentials and
// endpoint from the standard AWS environment, checks that the bucket is
// reachable, and uses dataDir for temporary files and the index cache.
func Open(ctx context.Context, rawURL string, dataDir string, ix store.Indexer, opts Options) (*Store, error) {
	if ix == nil {
		return nil, errors.New("s3: Open needs an Indexer")
	}
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if dataDir == "" {
		return nil, aotsym.Errorf(aotsym.EINVALID, "the S3 store needs a local data directory (--data) for temporary files and its index cache")
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 1 << 30
	}
	if opts.PartSize == 0 {
		opts.PartSize = 16 << 20
	}
	if opts.PartSize < 5<<20 {
		return nil, aotsym.Errorf(aotsym.EINVALID, "multipart part size %d is below the 5 MiB S3 minimum", opts.PartSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.TouchInterval <= 0 {
		opts.TouchInterval = time.Minute
	}
	if opts.TouchGranularity <= 0 {
		opts.TouchGranularity = time.Hour
	}
	if opts.OrphanAge <= 0 {
		opts.OrphanAge = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var cfg aws.Config
	if opts.AWSConfig != nil {
		cfg = opts.AWSConfig.Copy()
	} else if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
		return nil, fmt.Errorf("s3: reading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	custom := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || cfg.BaseEndpoint != nil
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.UsePathStyle = opts.PathStyle || custom
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	s := &Store{client: client, bucket: bucket, prefix: prefix, dataDir: dataDir, ix: ix, opts: opts, log: opts.Logger,
		stop: make(chan struct{}), flushDone: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	for _, d := range []string{s.tmpDir(), filepath.Join(dataDir, "index-cache")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("s3: creating the data directory: %w", err)
		}
	}
	if err := removeContents(s.tmpDir()); err != nil {
		return nil, err
	}
	if s.cache, err = openIndexCache(filepath.Join(dataDir, "index-cache"), opts.CacheBytes); err != nil {
		return nil, err
	}
	go s.flushLoop()
	return s, nil
}

func (s *Store) tmpDir() string { return filepath.Join(s.dataDir, "tmp") }

func (s *Store) stage(name string) {
	if s.opts.OnStage != nil {
		s.opts.OnStage(name)
	}
}

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

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

// Keys, relative to the prefix.
func recordKey(id aotsym.BuildID) string { return "builds/" + string(id) + ".json" }

func newFileKey(id aotsym.BuildID, kind aotsym.FileKind) string {
	return "files/" + string(id) + "/" + string(kind) + "/" + nonce()
}

func newIndexKey(id aotsym.BuildID, version int) string {
	return fmt.Sprintf("files/%s/index/v%d-%s", id, version, nonce())
}

func nonce() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// maxAttempts bounds how often one operation re-reads a record that another
// writer changed under it.
const maxAttempts = 8

func contention(id aotsym.BuildID) error {
	return aotsym.Errorf(aotsym.ECONFLICT, "build %s is being changed by other servers right now: try again", id)
}

// Put receives one ELF file and commits it; see store.Store and the package
// comment.
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

	p := &putter{s: s, up: up, tags: opts.Tags, indexes: map[string]*builtIndex{}, hints: hints{s: s}}
	defer p.cleanup()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		res, err := p.attempt(ctx)
		if err == errChanged {
			continue
		}
		return res, err
	}
	return store.PutResult{}, contention(up.ID)
}

// putter is one Put: what it uploaded so far, kept across attempts.
type putter struct {
	s       *Store
	up      *ingest.Upload
	tags    map[string]string
	fileKey string                 // the upload's object, once written
	indexes map[string]*builtIndex // by the SHA-256 of the other file ("" for none)
	used    map[string]bool        // object keys a committed record names
	hints   hints
	final   *record // the record this Put committed
}

type builtIndex struct {
	res store.IndexResult
	sha string
	key string // once written
}

// attempt reads the record, plans, writes what is missing and commits; it
// returns errChanged when the record changed under it.
func (p *putter) attempt(ctx context.Context) (store.PutResult, error) {
	s, up := p.s, p.up
	cur, etag, err := s.getRecord(ctx, up.ID)
	if err != nil {
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
	tags, tagsChanged, err := store.ApplyTags(curTags, p.tags, nil)
	if err != nil {
		return store.PutResult{}, err
	}
	res := store.PutResult{Kind: up.Kind, TagsChanged: tagsChanged}
	if action == ingest.Noop {
		missing, err := s.missing(ctx, cur.Objects[up.Kind])
		if err != nil {
			return store.PutResult{}, err
		}
		if !missing && !tagsChanged {
			res.Build = cur.Build
			return res, nil
		}
		next := cur.clone()
		next.Tags = tags
		if missing {
			// The record names an object that is gone (removed by hand, or
			// by a delete racing an earlier upload): put it back.
			s.log.Warn("s3: restoring a stored file that was missing", "build_id", up.ID, "kind", up.Kind)
			if err := p.writeFile(ctx); err != nil {
				return store.PutResult{}, err
			}
			next.Objects[up.Kind] = p.fileKey
			res.Added = true
		}
		if err := p.hints.prepare(ctx, cur, next); err != nil {
			return store.PutResult{}, err
		}
		newTag, err := s.putRecord(ctx, next, etag)
		if err != nil {
			return store.PutResult{}, err
		}
		p.commit(next)
		p.hints.committed(ctx, cur, next)
		s.cat.put(next, newTag)
		res.Build = next.Build
		return res, nil
	}

	// The index, from the upload and the stored file of the other kind.
	other := ingest.Other(up.Kind)
	otherSHA := ""
	if action == ingest.Add {
		f, _ := cur.File(other)
		otherSHA = f.SHA256
	}
	bi := p.indexes[otherSHA]
	if bi == nil {
		readers := map[aotsym.FileKind]store.SizedReaderAt{up.Kind: up.ReaderAt()}
		if action == ingest.Add {
			f, err := s.download(ctx, cur, other)
			if err != nil {
				return store.PutResult{}, err
			}
			defer func() { f.Close(); os.Remove(f.Name()) }()
			readers[other] = sizedFile{f, fileSize(cur, other)}
		}
		ix, err := ingest.BuildIndex(ctx, s.ix, readers[aotsym.FileDebug], readers[aotsym.FileExecutable])
		if err != nil {
			return store.PutResult{}, err
		}
		bi = &builtIndex{res: ix, sha: sha256Hex(ix.Data)}
		p.indexes[otherSHA] = bi
		s.stage(ingest.StageIndexed)
	}
	version := s.ix.Version()
	if err := p.writeFile(ctx); err != nil {
		return store.PutResult{}, err
	}
	s.stage(ingest.StageFileWritten)
	if bi.key == "" {
		key := newIndexKey(up.ID, version)
		if err := s.putBytes(ctx, key, bi.res.Data, "application/octet-stream"); err != nil {
			return store.PutResult{}, err
		}
		bi.key = key
	}

	var next *record
	if cur != nil {
		next = cur.clone()
	} else {
		next = &record{Build: aotsym.Build{ID: up.ID, Arch: up.Info.Arch, Created: s.now()}, Objects: map[aotsym.FileKind]string{}}
	}
	next.Files = ingest.SetFile(next.Files, up.StoredFile())
	next.Objects[up.Kind] = p.fileKey
	next.Tags = tags
	next.setIndex(bi.res, bi.sha, bi.key, version)
	if err := p.hints.prepare(ctx, cur, next); err != nil {
		return store.PutResult{}, err
	}
	s.stage(ingest.StageIndexWritten)
	newTag, err := s.putRecord(ctx, next, etag)
	if err != nil {
		return store.PutResult{}, err
	}
	s.stage(ingest.StageCommitted)
	p.commit(next)
	p.hints.committed(ctx, cur, next)
	s.cat.put(next, newTag)
	if cur != nil && cur.IndexKey != "" && cur.IndexKey != next.IndexKey {
		s.deleteObjects(ctx, cur.IndexKey)
	}
	res.Build = next.Build
	res.Created, res.Added = action == ingest.Create, action == ingest.Add
	return res, nil
}

func (r *record) setIndex(ix store.IndexResult, sha, key string, version int) {
	r.IndexVersion = version
	r.IndexSize = int64(len(ix.Data))
	r.IndexSHA256 = sha
	r.IndexKey = key
	r.Functions, r.LineRows, r.HasCode = ix.Functions, ix.LineRows, ix.HasCode
}

func (p *putter) writeFile(ctx context.Context) error {
	if p.fileKey != "" {
		return nil
	}
	key := newFileKey(p.up.ID, p.up.Kind)
	if err := p.s.uploadFile(ctx, key, p.up.File, p.up.Size, p.up.SHA256); err != nil {
		return err
	}
	p.fileKey = key
	return nil
}

func (p *putter) commit(r *record) {
	p.final = r
	p.used = map[string]bool{r.IndexKey: true}
	for _, k := range r.Objects {
		p.used[k] = true
	}
}

// cleanup deletes the objects this Put wrote that no committed record names
// (it lost a race, or failed).
func (p *putter) cleanup() {
	keys := p.hints.unnamed(p.final)
	if p.fileKey != "" && !p.used[p.fileKey] {
		keys = append(keys, p.fileKey)
	}
	for _, bi := range p.indexes {
		if bi.key != "" && !p.used[bi.key] {
			keys = append(keys, bi.key)
		}
	}
	p.s.deleteUnnamed(p.up.ID, keys)
}

// deleteUnnamed deletes objects an operation wrote and did not commit, except
// any the build's record names after all: a record write that failed from
// this side (a timeout, a canceled request) may still have been applied.
// When the record cannot be read, it deletes nothing and leaves the objects
// to Expire's sweep.
func (s *Store) deleteUnnamed(id aotsym.BuildID, keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, _, err := s.getRecord(ctx, id)
	if err != nil {
		s.log.Warn("s3: leaving uncommitted objects to Expire", "build_id", id, "err", err)
		return
	}
	named := map[string]bool{}
	if r != nil {
		named[r.IndexKey] = true
		for _, k := range r.Objects {
			named[k] = true
		}
		for _, k := range r.TagKeys {
			named[k] = true
		}
	}
	var drop []string
	for _, k := range keys {
		if !named[k] {
			drop = append(drop, k)
		}
	}
	s.deleteObjects(ctx, drop...)
}

func fileSize(r *record, kind aotsym.FileKind) int64 {
	f, _ := r.File(kind)
	return f.Size
}

// sizedFile is an *os.File with its size, for the Indexer.
type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

// Get returns a build's metadata, read from its record.
func (s *Store) Get(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error) {
	r, _, err := s.getRecord(ctx, id)
	if err != nil {
		return aotsym.Build{}, err
	}
	if r == nil {
		return aotsym.Build{}, store.BuildNotFound(id)
	}
	return r.Build, nil
}

// List returns builds newest first, from the catalog.
func (s *Store) List(ctx context.Context, opts store.ListOptions) ([]aotsym.Build, error) {
	if err := s.refreshCatalog(ctx, false); err != nil {
		return nil, err
	}
	return s.cat.list(opts.Tags, opts.Limit), nil
}

// FindByTags returns the newest build carrying all the tags (the newest of
// all when tags is empty): from the tag lookup objects (tags.go), confirmed
// by reading the record, so it costs one small LIST per tag and about one
// GET, whatever the number of builds.
func (s *Store) FindByTags(ctx context.Context, tags map[string]string) (aotsym.Build, error) {
	if err := store.ValidateTags(tags, nil); err != nil {
		return aotsym.Build{}, err
	}
	if len(tags) == 0 {
		if err := s.refreshCatalog(ctx, false); err != nil {
			return aotsym.Build{}, err
		}
		l := s.cat.list(nil, 1)
		if len(l) == 0 {
			return aotsym.Build{}, store.NoBuildWithTags(nil)
		}
		return l[0], nil
	}
	r, err := s.findByHints(ctx, tags)
	if err != nil {
		return aotsym.Build{}, err
	}
	if r == nil {
		return aotsym.Build{}, store.NoBuildWithTags(tags)
	}
	return r.Build, nil
}

// SetTags sets and removes tags of a build (If-Match on its record).
func (s *Store) SetTags(ctx context.Context, id aotsym.BuildID, set map[string]string, remove []string) (aotsym.Build, error) {
	if err := store.ValidateTags(set, remove); err != nil {
		return aotsym.Build{}, err
	}
	unlock := s.locks.Lock(id)
	defer unlock()
	h := hints{s: s}
	var final *record
	defer func() { s.deleteUnnamed(id, h.unnamed(final)) }()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, etag, err := s.getRecord(ctx, id)
		if err != nil {
			return aotsym.Build{}, err
		}
		if cur == nil {
			return aotsym.Build{}, store.BuildNotFound(id)
		}
		tags, changed, err := store.ApplyTags(cur.Tags, set, remove)
		if err != nil || !changed {
			final = cur
			return cur.Build, err
		}
		next := cur.clone()
		next.Tags = tags
		if err := h.prepare(ctx, cur, next); err != nil {
			return aotsym.Build{}, err
		}
		newTag, err := s.putRecord(ctx, next, etag)
		if err == errChanged {
			continue
		}
		if err != nil {
			return aotsym.Build{}, err
		}
		final = next
		h.committed(ctx, cur, next)
		s.cat.put(next, newTag)
		return next.Build, nil
	}
	return aotsym.Build{}, contention(id)
}

// Delete removes a build: its record first (If-Match), then its objects.
func (s *Store) Delete(ctx context.Context, id aotsym.BuildID) error {
	_, err := s.deleteIf(ctx, id, nil)
	return err
}

func (s *Store) deleteIf(ctx context.Context, id aotsym.BuildID, drop func(*record) bool) (bool, error) {
	unlock := s.locks.Lock(id)
	defer unlock()
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, etag, err := s.getRecord(ctx, id)
		if err != nil {
			return false, err
		}
		if cur == nil {
			s.cat.remove(id)
			return false, store.BuildNotFound(id)
		}
		if drop != nil && !drop(cur) {
			return false, nil
		}
		err = s.deleteRecord(ctx, id, etag)
		if err == errChanged {
			continue
		}
		if err != nil {
			return false, err
		}
		s.cat.remove(id)
		keys := []string{cur.IndexKey}
		for _, k := range cur.Objects {
			keys = append(keys, k)
		}
		for _, k := range cur.TagKeys {
			keys = append(keys, k)
		}
		s.deleteObjects(ctx, keys...)
		return true, nil
	}
	return false, contention(id)
}

// OpenFile opens one of a build's stored files; reads are ranged GETs.
func (s *Store) OpenFile(ctx context.Context, id aotsym.BuildID, kind aotsym.FileKind) (store.File, error) {
	r, _, err := s.getRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, store.BuildNotFound(id)
	}
	sf, ok := r.File(kind)
	if !ok || r.Objects[kind] == "" {
		return nil, noFile(id, kind)
	}
	return &objectFile{s: s, ctx: ctx, key: r.Objects[kind], size: sf.Size}, nil
}

func noFile(id aotsym.BuildID, kind aotsym.FileKind) error {
	what := "the executable (the file without .dbg)"
	if kind == aotsym.FileDebug {
		what = "the debug file (.dbg)"
	}
	return aotsym.Errorf(aotsym.ENOTFOUND, "build %s has no %s stored: upload %s", id, kind, what)
}

// Index returns the build's index in the Indexer's current version: from the
// local cache, else from its object, else rebuilt from the stored files (and
// saved, when the stored one is older).
func (s *Store) Index(ctx context.Context, id aotsym.BuildID) ([]byte, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		cur, etag, err := s.getRecord(ctx, id)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, store.BuildNotFound(id)
		}
		version := s.ix.Version()
		if cur.IndexVersion == version {
			data, err := s.readIndex(ctx, cur)
			switch err {
			case nil:
				return data, nil
			case errChanged:
				// The index object is gone: replaced or deleted since the
				// record was read, or lost.
				_, now, err := s.getRecord(ctx, id)
				if err != nil {
					return nil, err
				}
				if now != etag {
					continue
				}
				s.log.Error("s3: the index object is missing; rebuilding it from the stored files", "build_id", id, "key", cur.IndexKey)
			case errCorrupt:
				s.log.Error("s3: the stored index does not match its checksum; rebuilding it from the stored files", "build_id", id, "key", cur.IndexKey)
			default:
				return nil, err
			}
		}
		data, err := s.rebuild(ctx, cur, etag)
		if err == errChanged {
			continue
		}
		return data, err
	}
	return nil, contention(id)
}

// rebuild builds the index from the stored files. It saves it (new index
// object, record If-Match) unless the stored index is of a newer version than
// this server's Indexer: an older server in a rolling deploy must not
// downgrade what newer ones wrote.
func (s *Store) rebuild(ctx context.Context, cur *record, etag string) ([]byte, error) {
	unlock := s.locks.Lock(cur.ID)
	defer unlock()
	if _, now, err := s.getRecord(ctx, cur.ID); err != nil {
		return nil, err
	} else if now != etag {
		return nil, errChanged // someone else rebuilt (or changed) it meanwhile
	}
	readers := map[aotsym.FileKind]store.SizedReaderAt{}
	for _, sf := range cur.Files {
		f, err := s.download(ctx, cur, sf.Kind)
		if err != nil {
			return nil, err
		}
		defer func() { f.Close(); os.Remove(f.Name()) }()
		readers[sf.Kind] = sizedFile{f, sf.Size}
	}
	version := s.ix.Version()
	ix, err := ingest.BuildIndex(ctx, s.ix, readers[aotsym.FileDebug], readers[aotsym.FileExecutable])
	if err != nil {
		return nil, fmt.Errorf("rebuilding the index of build %s: %w", cur.ID, err)
	}
	if cur.IndexVersion > version {
		return ix.Data, nil
	}
	key := newIndexKey(cur.ID, version)
	if err := s.putBytes(ctx, key, ix.Data, "application/octet-stream"); err != nil {
		return nil, err
	}
	next := cur.clone()
	next.setIndex(ix, sha256Hex(ix.Data), key, version)
	newTag, err := s.putRecord(ctx, next, etag)
	if err != nil {
		s.deleteUnnamed(cur.ID, []string{key})
		return nil, err
	}
	s.cat.put(next, newTag)
	if cur.IndexKey != "" {
		s.deleteObjects(ctx, cur.IndexKey)
	}
	s.cache.put(cacheName(next), ix.Data)
	return ix.Data, nil
}

// readIndex reads the record's index from the cache or from its object and
// checks it against the record's checksum.
func (s *Store) readIndex(ctx context.Context, r *record) ([]byte, error) {
	name := cacheName(r)
	if data, ok := s.cache.get(name); ok {
		if int64(len(data)) == r.IndexSize && sha256Hex(data) == r.IndexSHA256 {
			return data, nil
		}
		s.cache.remove(name)
	}
	data, err := s.getBytes(ctx, r.IndexKey, r.IndexSize)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != r.IndexSize || sha256Hex(data) != r.IndexSHA256 {
		return nil, errCorrupt
	}
	s.cache.put(name, data)
	return data, nil
}

func cacheName(r *record) string {
	return string(r.ID) + "-" + filepath.Base(r.IndexKey)
}

var errCorrupt = errors.New("s3: index does not match its checksum")

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
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			s.flushTouches(ctx)
			cancel()
		}
	}
}

// flushTouches writes last-use times that moved by more than the
// granularity. Failures are logged: a lost last-use time only delays expiry.
func (s *Store) flushTouches(ctx context.Context) {
	for id, t := range s.touches.Take() {
		if b, ok := s.cat.get(id); ok && !t.After(b.LastUsed.Add(s.opts.TouchGranularity)) && !b.LastUsed.IsZero() {
			continue
		}
		for attempt := 0; attempt < 3; attempt++ {
			cur, etag, err := s.getRecord(ctx, id)
			if err != nil || cur == nil {
				break
			}
			if !cur.LastUsed.IsZero() && !t.After(cur.LastUsed.Add(s.opts.TouchGranularity)) {
				break
			}
			next := cur.clone()
			next.LastUsed = t.UTC()
			newTag, err := s.putRecord(ctx, next, etag)
			if err == errChanged {
				continue
			}
			if err != nil {
				s.log.Warn("s3: writing a last-use time", "build_id", id, "err", err)
			} else {
				s.cat.put(next, newTag)
			}
			break
		}
	}
}

// Expire deletes the builds neither uploaded nor used within unused, then
// removes objects that no record names and that are older than OrphanAge
// (what killed uploads leave).
func (s *Store) Expire(ctx context.Context, unused time.Duration) ([]aotsym.BuildID, error) {
	if unused <= 0 {
		return nil, aotsym.Errorf(aotsym.EINVALID, "expiry needs a positive age, e.g. 30 days")
	}
	s.flushTouches(ctx)
	if err := s.refreshCatalog(ctx, true); err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-unused)
	var deleted []aotsym.BuildID
	for _, b := range s.cat.list(nil, 0) {
		if !lastActive(&b).Before(cutoff) {
			continue
		}
		dropped, err := s.deleteIf(ctx, b.ID, func(r *record) bool { return lastActive(&r.Build).Before(cutoff) })
		if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
			continue
		}
		if err != nil {
			return deleted, err
		}
		if dropped {
			deleted = append(deleted, b.ID)
		}
	}
	if err := s.sweep(ctx); err != nil {
		return deleted, err
	}
	return deleted, nil
}

func lastActive(b *aotsym.Build) time.Time {
	if b.LastUsed.After(b.Created) {
		return b.LastUsed
	}
	return b.Created
}

// Close writes pending Touch calls and stops the background work.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.flushDone
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.flushTouches(ctx)
	})
	return nil
}
