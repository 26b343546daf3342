package lambda

import (
	"container/list"
	"sync"
	"time"
)

// seenSet remembers keys of traces already written, least recently added
// first out, up to max keys: a warm container's memory of what it did, so
// that a retried invocation (asynchronous invokes are retried) does not write
// the same trace twice. It is safe for concurrent use.
type seenSet struct {
	mu   sync.Mutex
	max  int
	lru  *list.List // of string, newest at the front
	keys map[string]*list.Element
}

func newSeenSet(max int) *seenSet {
	return &seenSet{max: max, lru: list.New(), keys: map[string]*list.Element{}}
}

func (s *seenSet) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[key]
	return ok
}

func (s *seenSet) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.keys[key]; ok {
		s.lru.MoveToFront(el)
		return
	}
	s.keys[key] = s.lru.PushFront(key)
	for s.lru.Len() > s.max {
		el := s.lru.Back()
		s.lru.Remove(el)
		delete(s.keys, el.Value.(string))
	}
}

// streamIDs remembers the last request ID seen in each log stream, so that
// the frames of a trace that a subscription delivered in the next batch, as
// lines without a request ID, still get it. Bounded like seenSet.
type streamIDs struct {
	s *seenSet // keys "stream\x00id", newest first
	m map[string]string
	u sync.Mutex
}

func newStreamIDs(max int) *streamIDs {
	return &streamIDs{s: newSeenSet(max), m: map[string]string{}}
}

func (t *streamIDs) get(stream string) string {
	t.u.Lock()
	defer t.u.Unlock()
	return t.m[stream]
}

func (t *streamIDs) set(stream, id string) {
	t.u.Lock()
	defer t.u.Unlock()
	if _, ok := t.m[stream]; !ok && len(t.m) >= t.s.max {
		clear(t.m) // rare: more streams than remembered; start over
	}
	t.m[stream] = id
}

// timeNow is the clock (a variable for tests).
var timeNow = time.Now
