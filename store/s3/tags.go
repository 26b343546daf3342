package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// Tag lookup objects. For each tag of each build there is an empty object
//
//	tags/<h>/<t>-<id>-<nonce>
//
// where <h> is the first 32 hex digits of SHA-256("key=value") (fixed
// length whatever the value holds), <t> is 2^64-1 minus the build's creation
// time in Unix nanoseconds as 16 hex digits (so that S3's ascending key order
// is newest first), and <nonce> makes the object its writer's own. The record
// names its lookup objects (TagKeys); like data objects they are written
// before the record and deleted after it stops naming them. They are hints:
// FindByTags lists one tag's objects newest first and confirms each
// candidate against its record, so a stale hint (a killed writer, a lost
// race) costs one GET and is swept by Expire.

func tagDir(key, value string) string {
	h := sha256.Sum256([]byte(key + "=" + value))
	return "tags/" + hex.EncodeToString(h[:16]) + "/"
}

func newHintKey(key, value string, created time.Time, id aotsym.BuildID) string {
	return fmt.Sprintf("%s%016x-%s-%s", tagDir(key, value), math.MaxUint64-uint64(created.UnixNano()), id, nonce()[:8])
}

// hintBuild returns the "<t>-<id>" part of a lookup key (which identifies the
// build) and the build ID.
func hintBuild(key string) (string, aotsym.BuildID, bool) {
	rest := key[strings.LastIndexByte(key[:len(key)-1], '/')+1:]
	i := strings.LastIndexByte(rest, '-')
	if i < 17 || rest[16] != '-' {
		return "", "", false
	}
	id, err := aotsym.ParseBuildID(rest[17:i])
	if err != nil {
		return "", "", false
	}
	return rest[:i], id, true
}

// hints writes the lookup objects of one operation, reusing them across its
// attempts, and deletes those that end up unnamed.
type hints struct {
	s       *Store
	written map[string]string // "key=value@created" → object key
}

// prepare sets next.TagKeys, writing the lookup objects next needs and cur
// (the record read, nil for none) does not name.
func (h *hints) prepare(ctx context.Context, cur, next *record) error {
	keys := make(map[string]string, len(next.Tags))
	var write []string
	for k, v := range next.Tags {
		if cur != nil && cur.Tags[k] == v && cur.Created.Equal(next.Created) && cur.TagKeys[k] != "" {
			keys[k] = cur.TagKeys[k]
			continue
		}
		memo := fmt.Sprintf("%s=%s@%d", k, v, next.Created.UnixNano())
		if h.written == nil {
			h.written = map[string]string{}
		}
		if key, ok := h.written[memo]; ok {
			keys[k] = key
			continue
		}
		key := newHintKey(k, v, next.Created, next.ID)
		h.written[memo] = key
		keys[k] = key
		write = append(write, key)
	}
	if len(keys) == 0 {
		keys = nil
	}
	next.TagKeys = keys
	return h.s.putEmpty(ctx, write)
}

// committed deletes the lookup objects cur named and next does not.
func (h *hints) committed(ctx context.Context, cur, next *record) {
	if cur == nil {
		return
	}
	named := map[string]bool{}
	for _, k := range next.TagKeys {
		named[k] = true
	}
	var drop []string
	for _, k := range cur.TagKeys {
		if !named[k] {
			drop = append(drop, k)
		}
	}
	h.s.deleteObjects(ctx, drop...)
}

// unnamed returns the lookup objects this operation wrote that final (the
// record it committed, nil for none) does not name.
func (h *hints) unnamed(final *record) []string {
	named := map[string]bool{}
	if final != nil {
		for _, k := range final.TagKeys {
			named[k] = true
		}
	}
	var out []string
	for _, k := range h.written {
		if !named[k] {
			out = append(out, k)
		}
	}
	return out
}

// putEmpty writes empty objects, a few at a time.
func (s *Store) putEmpty(ctx context.Context, keys []string) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	sem := make(chan struct{}, 8)
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.putBytes(ctx, k, nil, "application/octet-stream"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// hintPage is one page of one tag's lookup objects.
type hintPage struct {
	dir   string
	keys  []string
	next  *string // continuation token; nil at the end
	build map[string]bool
}

// hintPageSize is the page size of tag lookups: a tag carried by fewer builds
// is read whole in one request.
const hintPageSize = 200

func (s *Store) listHints(ctx context.Context, dir string, token *string) (*hintPage, error) {
	out, err := s.client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: s.key(dir),
		MaxKeys: aws.Int32(hintPageSize), ContinuationToken: token})
	if err != nil {
		return nil, s.wrap("listing", dir, err)
	}
	p := &hintPage{dir: dir, build: map[string]bool{}}
	for _, o := range out.Contents {
		k := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
		p.keys = append(p.keys, k)
		if b, _, ok := hintBuild(k); ok {
			p.build[b] = true
		}
	}
	if aws.ToBool(out.IsTruncated) {
		p.next = out.NextContinuationToken
	}
	return p, nil
}

// findByHints returns the newest build carrying all tags. It reads the first
// page of every tag's lookup objects (in parallel), walks the shortest list
// newest first, skips candidates absent from another tag's complete list,
// and confirms each remaining candidate against its record.
func (s *Store) findByHints(ctx context.Context, tags map[string]string) (*record, error) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pages := make([]*hintPage, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages[i], errs[i] = s.listHints(ctx, tagDir(k, tags[k]), nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	walk := 0
	for i, p := range pages {
		if len(p.keys) < len(pages[walk].keys) || pages[walk].next != nil && p.next == nil {
			walk = i
		}
	}
	seen := map[string]bool{}
	for p := pages[walk]; ; {
		for _, k := range p.keys {
			b, id, ok := hintBuild(k)
			if !ok || seen[b] {
				continue
			}
			seen[b] = true
			absent := false
			for i, o := range pages {
				if i != walk && o.next == nil && !o.build[b] {
					absent = true
				}
			}
			if absent {
				continue
			}
			r, _, err := s.getRecord(ctx, id)
			if err != nil {
				return nil, err
			}
			if r != nil && store.MatchTags(r.Tags, tags) {
				return r, nil
			}
		}
		if p.next == nil {
			return nil, nil
		}
		var err error
		if p, err = s.listHints(ctx, p.dir, p.next); err != nil {
			return nil, err
		}
	}
}
