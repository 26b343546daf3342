package symbolizer

import (
	"context"
	"path"
	"strings"
	"sync"

	"github.com/aotsym/aotsym"
)

// Source is what the Resolver needs from wherever builds live: the store
// behind the HTTP service (symbolizer/storeindex), local files for the
// offline CLI (Local), or anything else that can list builds and give their
// indexes.
type Source interface {
	// Open returns the opened build (aotsym.ENOTFOUND when there is none).
	Open(ctx context.Context, id aotsym.BuildID) (*Build, error)
	// Get returns a build's metadata: its files' names say what frames call
	// its module (`app` in `app!<BaseAddress>+0x…`).
	Get(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error)
	// FindByTags returns the newest build carrying all the tags
	// (aotsym.ENOTFOUND when there is none).
	FindByTags(ctx context.Context, tags map[string]string) (aotsym.Build, error)
	// List returns at most limit builds, newest first: the candidates of
	// build detection.
	List(ctx context.Context, limit int) ([]aotsym.Build, error)
}

// Local is a Source over builds held in memory: the offline CLI's debug files,
// and tests. List returns them in the order they were added. It is safe for
// concurrent use.
type Local struct {
	mu     sync.RWMutex
	order  []aotsym.BuildID
	builds map[aotsym.BuildID]localBuild
}

type localBuild struct {
	b    *Build
	meta aotsym.Build
}

// NewLocal returns an empty Local.
func NewLocal() *Local { return &Local{builds: make(map[aotsym.BuildID]localBuild)} }

// Add adds an opened build with its metadata (meta.ID is set from b).
// Adding a build ID again replaces it.
func (l *Local) Add(b *Build, meta aotsym.Build) {
	l.mu.Lock()
	defer l.mu.Unlock()
	meta.ID = b.ID
	if _, ok := l.builds[b.ID]; !ok {
		l.order = append(l.order, b.ID)
	}
	l.builds[b.ID] = localBuild{b: b, meta: meta}
}

// Len returns the number of builds.
func (l *Local) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.order)
}

// Open implements Source.
func (l *Local) Open(_ context.Context, id aotsym.BuildID) (*Build, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	lb, ok := l.builds[id]
	if !ok {
		return nil, aotsym.Errorf(aotsym.ENOTFOUND, "build %s is not among the debug files given", id)
	}
	return lb.b, nil
}

// Get implements Source.
func (l *Local) Get(_ context.Context, id aotsym.BuildID) (aotsym.Build, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	lb, ok := l.builds[id]
	if !ok {
		return aotsym.Build{}, aotsym.Errorf(aotsym.ENOTFOUND, "build %s is not among the debug files given", id)
	}
	return lb.meta, nil
}

// FindByTags implements Source.
func (l *Local) FindByTags(_ context.Context, tags map[string]string) (aotsym.Build, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := len(l.order) - 1; i >= 0; i-- {
		m := l.builds[l.order[i]].meta
		ok := true
		for k, v := range tags {
			if m.Tags[k] != v {
				ok = false
				break
			}
		}
		if ok {
			return m, nil
		}
	}
	return aotsym.Build{}, aotsym.Errorf(aotsym.ENOTFOUND, "no build carries the tags %v", tags)
}

// List implements Source.
func (l *Local) List(_ context.Context, limit int) ([]aotsym.Build, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []aotsym.Build
	for _, id := range l.order {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, l.builds[id].meta)
	}
	return out, nil
}

// moduleNames returns the names a frame may give a build's module: each file
// name of the build, and a debug file's name without `.dbg`/`.debug`.
func moduleNames(meta aotsym.Build) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, f := range meta.Files {
		name := path.Base(strings.ReplaceAll(f.Name, `\`, "/"))
		if name == "." || name == "/" {
			continue
		}
		add(name)
		for _, ext := range []string{".dbg", ".debug"} {
			if s, ok := strings.CutSuffix(name, ext); ok {
				add(s)
			}
		}
	}
	return out
}

// moduleMatches reports whether a frame's module names the build: the base
// name of the module (`/var/task/bootstrap` → `bootstrap`) is one of names.
func moduleMatches(module string, names []string) bool {
	base := path.Base(strings.ReplaceAll(module, `\`, "/"))
	for _, n := range names {
		if base == n {
			return true
		}
	}
	return false
}
