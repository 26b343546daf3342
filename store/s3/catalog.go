package s3

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// catalog is this server's view of every build's record, for List and
// FindByTags; see the package comment.
type catalog struct {
	mu      sync.Mutex
	entries map[aotsym.BuildID]*catEntry

	refreshMu sync.Mutex // one refresh at a time
	lastStart time.Time  // when the last complete refresh started
	loaded    bool
}

// catEntry is what the catalog keeps of one record: the build's metadata
// for List and the object keys for Expire's sweep, not the whole record.
type catEntry struct {
	etag    string
	build   aotsym.Build
	keys    []string  // the objects the record names
	written time.Time // when this server last wrote it itself
}

func newCatEntry(r *record, etag string) *catEntry {
	e := &catEntry{etag: etag, build: copyBuild(r.Build), keys: make([]string, 0, 1+len(r.Objects)+len(r.TagKeys))}
	e.keys = append(e.keys, r.IndexKey)
	for _, k := range r.Objects {
		e.keys = append(e.keys, k)
	}
	for _, k := range r.TagKeys {
		e.keys = append(e.keys, k)
	}
	return e
}

// put records a record this server just wrote or read.
func (c *catalog) put(r *record, etag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[aotsym.BuildID]*catEntry)
	}
	e := newCatEntry(r, etag)
	e.written = time.Now()
	c.entries[r.ID] = e
}

// remove forgets a build this server deleted.
func (c *catalog) remove(id aotsym.BuildID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

func (c *catalog) get(id aotsym.BuildID) (aotsym.Build, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return aotsym.Build{}, false
	}
	return e.build, true
}

// list returns the builds carrying tags, newest first, at most limit (0: all).
func (c *catalog) list(tags map[string]string, limit int) []aotsym.Build {
	c.mu.Lock()
	var out []aotsym.Build
	for _, e := range c.entries {
		if store.MatchTags(e.build.Tags, tags) {
			out = append(out, e.build)
		}
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return store.Newer(&out[i], &out[j]) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i] = copyBuild(out[i])
	}
	return out
}

func copyBuild(b aotsym.Build) aotsym.Build {
	b.Files = append([]aotsym.StoredFile(nil), b.Files...)
	if b.Tags != nil {
		t := make(map[string]string, len(b.Tags))
		for k, v := range b.Tags {
			t[k] = v
		}
		b.Tags = t
	}
	return b
}

// referenced returns every object key the known records name.
func (c *catalog) referenced() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, 3*len(c.entries))
	for _, e := range c.entries {
		for _, k := range e.keys {
			out[k] = true
		}
	}
	return out
}

// refreshCatalog brings the catalog up to date: one listing of builds/, and
// a GET of each record whose ETag changed. Unless force, a refresh that
// started within CatalogMaxAge before the call (or after it: concurrent
// callers share one) is enough.
func (s *Store) refreshCatalog(ctx context.Context, force bool) error {
	arrival := time.Now()
	c := &s.cat
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if !force && c.loaded && !c.lastStart.Before(arrival.Add(-s.opts.CatalogMaxAge)) {
		return nil
	}
	start := time.Now()
	listed := make(map[aotsym.BuildID]string)
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: s.key("builds/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.wrap("listing", "builds/", err)
		}
		for _, o := range page.Contents {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(o.Key), s.prefix+"builds/"), ".json")
			id, err := aotsym.ParseBuildID(name)
			if err != nil || string(id) != name {
				continue
			}
			listed[id] = aws.ToString(o.ETag)
		}
	}

	// Fetch the records that are new or changed, a few at a time.
	c.mu.Lock()
	var stale []aotsym.BuildID
	for id, etag := range listed {
		if e, ok := c.entries[id]; !ok || e.etag != etag {
			stale = append(stale, id)
		}
	}
	c.mu.Unlock()
	type fetched struct {
		id   aotsym.BuildID
		rec  *record
		etag string
		err  error
	}
	results := make(chan fetched, len(stale))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, id := range stale {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, etag, err := s.getRecord(ctx, id)
			results <- fetched{id, r, etag, err}
		}()
	}
	wg.Wait()
	close(results)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[aotsym.BuildID]*catEntry)
	}
	for f := range results {
		if f.err != nil {
			return f.err
		}
		if e, ok := c.entries[f.id]; ok && e.written.After(start) {
			continue // this server wrote it after the listing began: newer
		}
		if f.rec == nil {
			delete(c.entries, f.id)
			continue
		}
		c.entries[f.id] = newCatEntry(f.rec, f.etag)
	}
	for id, e := range c.entries {
		if _, ok := listed[id]; !ok && !e.written.After(start) {
			delete(c.entries, id)
		}
	}
	c.lastStart, c.loaded = start, true
	return nil
}
