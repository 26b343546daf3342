package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aotsym/aotsym"
	bbolt "go.etcd.io/bbolt"
)

// record is the JSON stored under builds/<id>.
type record struct {
	aotsym.Build
	IndexSHA256 string `json:"index_sha256"`
}

// clone returns a copy of r that shares nothing a caller may change.
func (r *record) clone() *record {
	c := *r
	c.Files = slices.Clone(r.Files)
	c.Tags = maps.Clone(r.Tags)
	return &c
}

// decodedMax bounds the decoded records kept: enough for build detection's
// newest candidates and the builds in use, small next to anything stored.
const decodedMax = 256

// decoded remembers, for recently read builds, a record's stored bytes and
// what they decode to. Every read still reads the record from bbolt; when its
// bytes are the remembered ones, the JSON decoding (most of a read's cost on
// the symbolicate routes) is skipped. The memo never answers for bbolt: a
// changed, deleted or re-created record has other bytes (or none) and is
// decoded afresh, whatever changed it. It holds at most decodedMax entries
// (a few hundred kilobytes), however many builds are stored.
type decoded struct {
	mu sync.Mutex
	m  map[aotsym.BuildID]*decodedEntry
}

// decodedEntry is immutable once made.
type decodedEntry struct {
	raw []byte
	rec *record
}

func (d *decoded) get(id aotsym.BuildID) *decodedEntry {
	d.mu.Lock()
	e := d.m[id]
	d.mu.Unlock()
	return e
}

func (d *decoded) put(id aotsym.BuildID, e *decodedEntry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[aotsym.BuildID]*decodedEntry)
	}
	if _, ok := d.m[id]; !ok && len(d.m) >= decodedMax {
		// Start over rather than evict one: the entries then die together
		// instead of leaving survivors scattered over the heap's spans
		// (measured: evicting at random kept 10 times the memo's size in
		// use under churn), and the builds in use come back on their next
		// read.
		clear(d.m)
	}
	d.m[id] = e
}

func (d *decoded) forget(id aotsym.BuildID) {
	d.mu.Lock()
	delete(d.m, id)
	d.mu.Unlock()
}

// listRemembered is how many of the builds a List returns (the newest: build
// detection's candidates) it adds to the memo, so that listing every build
// does not fill it with builds nobody resolves against.
const listRemembered = 64

// getRecord reads a build's record in tx: nil when there is none. The
// record is the caller's to change.
func (s *Store) getRecord(tx *bbolt.Tx, id aotsym.BuildID) (*record, error) {
	return s.readRecord(tx, id, true)
}

// readRecord is getRecord; remember says whether a record decoded afresh
// goes into the memo.
func (s *Store) readRecord(tx *bbolt.Tx, id aotsym.BuildID, remember bool) (*record, error) {
	v := tx.Bucket(bucketBuilds).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	if e := s.decoded.get(id); e != nil && bytes.Equal(e.raw, v) {
		return e.rec.clone(), nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("bolt: the record of build %s is unreadable: %w", id, err)
	}
	if remember {
		// v belongs to bbolt only while tx is open: keep a copy.
		s.decoded.put(id, &decodedEntry{raw: bytes.Clone(v), rec: r.clone()})
	}
	return &r, nil
}
