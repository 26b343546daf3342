package s3

import (
	"container/list"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// indexCache keeps index objects as files in a directory, at most budget
// bytes in total, evicting the least recently used. Names are immutable
// object keys, so an entry never goes stale. Its bookkeeping is one entry
// per cached file, bounded by the budget, not by the number of builds.
type indexCache struct {
	dir    string
	budget int64 // ≤0: disabled

	mu      sync.Mutex
	lru     *list.List // front: most recently used; values *cacheEntry
	entries map[string]*list.Element
	total   int64
}

type cacheEntry struct {
	name string
	size int64
}

// openIndexCache indexes the files already in dir, oldest use first, and
// trims them to the budget.
func openIndexCache(dir string, budget int64) (*indexCache, error) {
	c := &indexCache{dir: dir, budget: budget, lru: list.New(), entries: map[string]*list.Element{}}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("s3: reading the index cache %s: %w", dir, err)
	}
	type file struct {
		name string
		size int64
		mod  time.Time
	}
	var files []file
	for _, de := range des {
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if strings.HasPrefix(de.Name(), ".tmp-") {
			os.Remove(filepath.Join(dir, de.Name()))
			continue
		}
		files = append(files, file{de.Name(), fi.Size(), fi.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	for _, f := range files {
		c.entries[f.name] = c.lru.PushFront(&cacheEntry{f.name, f.size})
		c.total += f.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// get returns a cached index and marks it used.
func (c *indexCache) get(name string) ([]byte, bool) {
	if c.budget <= 0 {
		return nil, false
	}
	c.mu.Lock()
	el, ok := c.entries[name]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	path := filepath.Join(c.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		c.remove(name)
		return nil, false
	}
	now := time.Now()
	os.Chtimes(path, now, now) // so the order survives a restart
	return data, true
}

// put stores an index (written to a temporary name and renamed in), then
// evicts down to the budget. An index bigger than the budget is not cached.
func (c *indexCache) put(name string, data []byte) {
	if c.budget <= 0 || int64(len(data)) > c.budget {
		return
	}
	c.mu.Lock()
	_, ok := c.entries[name]
	c.mu.Unlock()
	if ok {
		return
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[name]; ok {
		return
	}
	c.entries[name] = c.lru.PushFront(&cacheEntry{name, int64(len(data))})
	c.total += int64(len(data))
	c.evictLocked()
}

func (c *indexCache) remove(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[name]; ok {
		c.dropLocked(el)
	}
}

func (c *indexCache) evictLocked() {
	for c.total > c.budget && c.lru.Len() > 0 {
		c.dropLocked(c.lru.Back())
	}
}

func (c *indexCache) dropLocked(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.name)
	c.total -= e.size
	os.Remove(filepath.Join(c.dir, e.name))
}

// size returns the bytes the cache accounts for.
func (c *indexCache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}
