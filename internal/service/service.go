// Package service puts the symbolizer over a store: the symbolizer's indexer
// as a store.Indexer, the resolver reading builds through a byte-budget cache of
// opened indexes, and that resolver as the HTTP layer's api.Symbolicator.
// `aotsym serve` and the Lambda function (both of its modes) wire the same
// pieces through this package, so symbolizer never imports a store and the store
// never imports the symbolizer.
package service

import (
	"context"
	"io"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/symbolizer"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Indexer returns the symbolizer's indexer as a store.Indexer.
func Indexer() store.Indexer { return storeIndexer{} }

type storeIndexer struct{ ix symbolizer.Indexer }

func (s storeIndexer) Inspect(r io.ReaderAt, size int64) (store.ELFInfo, error) {
	in, err := s.ix.Inspect(r, size)
	if err != nil {
		return store.ELFInfo{}, err
	}
	return store.ELFInfo{BuildID: in.BuildID, Arch: in.Arch, HasDebug: in.HasDebug, HasCode: in.HasCode}, nil
}

func (s storeIndexer) Build(ctx context.Context, debug, exe store.SizedReaderAt) (store.IndexResult, error) {
	// A nil store.SizedReaderAt must reach elfindex as a nil interface.
	var d, e elfindex.SizedReaderAt
	if debug != nil {
		d = debug
	}
	if exe != nil {
		e = exe
	}
	res, err := s.ix.Build(ctx, d, e)
	if err != nil {
		return store.IndexResult{}, err
	}
	return store.IndexResult{Data: res.Data, Functions: res.Functions, LineRows: res.LineRows, HasCode: res.HasCode}, nil
}

func (s storeIndexer) Version() int { return s.ix.Version() }

// Service is the resolver over one store.
type Service struct {
	Store    store.Store
	Cache    *symbolizer.Cache
	Resolver *symbolizer.Resolver
	// Limits bound every trace (input bytes, frames); zero values mean the
	// parser's defaults.
	Limits trace.Limits
}

// New puts the resolver over st, with a cache of opened indexes of at most
// cacheBytes (0: symbolizer.DefaultCacheBudget).
func New(st store.Store, cacheBytes int64, limits trace.Limits) *Service {
	cache := symbolizer.NewCache(cacheBytes, st.Index)
	return &Service{
		Store:    st,
		Cache:    cache,
		Resolver: symbolizer.NewResolver(source{st: st, cache: cache}),
		Limits:   limits,
	}
}

// Options returns the resolver's options for a build choice: by ID, by tags
// (the newest build carrying all of them), or neither (a `build-id:` line of
// the trace, else detection).
func (s *Service) Options(id aotsym.BuildID, tags map[string]string) symbolizer.Options {
	return symbolizer.Options{BuildID: id, Tags: tags, Limits: s.Limits}
}

// API returns the service as the HTTP layer's Symbolicator (with cache
// metrics and forgetting of deleted builds).
func (s *Service) API() api.Symbolicator { return apiSymbolicator{s} }

type apiSymbolicator struct{ s *Service }

func (a apiSymbolicator) options(o api.SymbolicateOptions) symbolizer.Options {
	if o.How == "tags" {
		return a.s.Options("", o.Tags) // the resolver finds the newest build and says so
	}
	return a.s.Options(o.BuildID, nil)
}

func (a apiSymbolicator) Symbolicate(ctx context.Context, input []byte, o api.SymbolicateOptions) (*api.Symbolicated, error) {
	r, err := a.s.Resolver.Symbolicate(ctx, input, a.options(o))
	if err != nil {
		return nil, err
	}
	return &api.Symbolicated{Trace: r.Trace, Text: r.Text}, nil
}

func (a apiSymbolicator) ResolveFrame(ctx context.Context, frame string, o api.SymbolicateOptions) (aotsym.FrameResult, error) {
	return a.s.Resolver.ResolveFrame(ctx, frame, a.options(o))
}

func (a apiSymbolicator) CacheStats() api.CacheStats {
	st := a.s.Cache.Stats()
	return api.CacheStats{Hits: uint64(st.Hits), Misses: uint64(st.Misses), Bytes: st.Bytes, Entries: st.Builds}
}

// Forget drops a build's opened index after it was deleted or got a new file.
func (a apiSymbolicator) Forget(id aotsym.BuildID) { a.s.Cache.Remove(id) }

// source is the resolver's view of the store: metadata from the store, opened
// indexes from the cache.
type source struct {
	st    store.Store
	cache *symbolizer.Cache
}

func (s source) Open(ctx context.Context, id aotsym.BuildID) (*symbolizer.Build, error) {
	return s.cache.Get(ctx, id)
}

func (s source) Get(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error) {
	return s.st.Get(ctx, id)
}

func (s source) FindByTags(ctx context.Context, tags map[string]string) (aotsym.Build, error) {
	return s.st.FindByTags(ctx, tags)
}

func (s source) List(ctx context.Context, limit int) ([]aotsym.Build, error) {
	return s.st.List(ctx, store.ListOptions{Limit: limit})
}
