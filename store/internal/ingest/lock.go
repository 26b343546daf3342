package ingest

import (
	"sync"
	"time"

	"github.com/aotsym/aotsym"
)

// Locks serialises work on one build inside a process, so that concurrent
// uploads of the same build wait for each other instead of all building the
// index. It holds an entry only while someone holds or waits for the lock:
// its size follows the work in flight, never the number of stored builds.
type Locks struct {
	mu sync.Mutex
	m  map[aotsym.BuildID]*lockEntry
}

type lockEntry struct {
	mu   sync.Mutex
	refs int
}

// Lock locks id and returns the function that unlocks it.
func (l *Locks) Lock(id aotsym.BuildID) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[aotsym.BuildID]*lockEntry)
	}
	e := l.m[id]
	if e == nil {
		e = &lockEntry{}
		l.m[id] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// Touches collects Touch calls until a backend writes them in one batch. Its
// size follows the builds used since the last flush.
type Touches struct {
	mu sync.Mutex
	m  map[aotsym.BuildID]time.Time
}

// Add records that id was used at t.
func (p *Touches) Add(id aotsym.BuildID, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[aotsym.BuildID]time.Time)
	}
	if old, ok := p.m[id]; !ok || t.After(old) {
		p.m[id] = t
	}
}

// Take returns the pending touches and forgets them.
func (p *Touches) Take() map[aotsym.BuildID]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.m
	p.m = nil
	return m
}
