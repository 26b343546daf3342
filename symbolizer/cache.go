package symbolizer

import (
	"container/list"
	"context"
	"sync"

	"github.com/aotsym/aotsym"
)

// Loader returns the index bytes of a build (store.Store.Index, say).
type Loader func(ctx context.Context, id aotsym.BuildID) ([]byte, error)

// Cache keeps opened builds in memory, least recently used first out, within a
// byte budget counted in index bytes (Build.Size). A miss loads the index
// through the Loader and opens it; concurrent misses of one build load it once.
// A build larger than the whole budget is opened for the caller but not kept.
// It is safe for concurrent use.
type Cache struct {
	budget int64
	load   Loader

	mu       sync.Mutex
	used     int64
	lru      *list.List // of *cacheEntry, most recent at the front
	entries  map[aotsym.BuildID]*list.Element
	inflight map[aotsym.BuildID]*cacheCall
	stats    CacheStats
}

type cacheEntry struct {
	b *Build
}

type cacheCall struct {
	done chan struct{}
	b    *Build
	err  error
}

// CacheStats counts what a Cache did, for metrics.
type CacheStats struct {
	Hits, Misses, Loads, Evictions int64
	Builds                         int
	Bytes                          int64
}

// DefaultCacheBudget is the budget NewCache uses for a budget <= 0: 1 GiB,
// about fifty builds of a large web API.
const DefaultCacheBudget = 1 << 30

// NewCache returns an empty cache of budget bytes that loads through load.
func NewCache(budget int64, load Loader) *Cache {
	if budget <= 0 {
		budget = DefaultCacheBudget
	}
	return &Cache{
		budget:   budget,
		load:     load,
		lru:      list.New(),
		entries:  make(map[aotsym.BuildID]*list.Element),
		inflight: make(map[aotsym.BuildID]*cacheCall),
	}
}

// Get returns the opened build, loading and opening it on a miss. The load
// runs to completion even when ctx is cancelled, so that other callers
// waiting for the same build still get it; Get itself returns ctx.Err().
func (c *Cache) Get(ctx context.Context, id aotsym.BuildID) (*Build, error) {
	c.mu.Lock()
	if el, ok := c.entries[id]; ok {
		c.lru.MoveToFront(el)
		c.stats.Hits++
		b := el.Value.(*cacheEntry).b
		c.mu.Unlock()
		return b, nil
	}
	c.stats.Misses++
	call, ok := c.inflight[id]
	if !ok {
		call = &cacheCall{done: make(chan struct{})}
		c.inflight[id] = call
		c.stats.Loads++
		go c.fill(context.WithoutCancel(ctx), id, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.b, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Cache) fill(ctx context.Context, id aotsym.BuildID, call *cacheCall) {
	data, err := c.load(ctx, id)
	var b *Build
	if err == nil {
		b, err = OpenBuild(id, data)
	}
	call.b, call.err = b, err
	c.mu.Lock()
	delete(c.inflight, id)
	if err == nil {
		c.add(b)
	}
	c.mu.Unlock()
	close(call.done)
}

// Put adds an opened build, replacing any cached build of the same ID.
func (c *Cache) Put(b *Build) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(b.ID)
	c.add(b)
}

// add inserts b and evicts from the back until the budget holds; c.mu held.
func (c *Cache) add(b *Build) {
	if b.Size() > c.budget {
		return
	}
	if _, ok := c.entries[b.ID]; ok {
		return
	}
	c.entries[b.ID] = c.lru.PushFront(&cacheEntry{b: b})
	c.used += b.Size()
	for c.used > c.budget && c.lru.Len() > 1 {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.entries, e.b.ID)
		c.used -= e.b.Size()
		c.stats.Evictions++
	}
}

// Remove drops a build from the cache (after it was deleted or re-indexed).
func (c *Cache) Remove(id aotsym.BuildID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(id)
}

func (c *Cache) removeLocked(id aotsym.BuildID) {
	if el, ok := c.entries[id]; ok {
		c.lru.Remove(el)
		delete(c.entries, id)
		c.used -= el.Value.(*cacheEntry).b.Size()
	}
}

// Cached reports whether a build is in the cache, without loading it or
// changing its place.
func (c *Cache) Cached(id aotsym.BuildID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[id]
	return ok
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Builds = c.lru.Len()
	s.Bytes = c.used
	return s
}
