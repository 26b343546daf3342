package lambda

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/service"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/s3"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// Choice says how to choose a trace's build: by ID, by tags (the newest
// build carrying all of them), or neither (a `build-id:` line of the trace,
// else detection).
type Choice struct {
	BuildID aotsym.BuildID
	Tags    map[string]string
}

// Resolved is one symbolicated trace: the JSON answer and the input with
// every resolved frame written as the JIT writes it.
type Resolved struct {
	Trace *aotsym.Trace
	Text  []byte
}

// Backend resolves traces: an aotsym server (NewServerBackend) or the S3
// store opened in the function (OpenStoreBackend).
type Backend interface {
	Symbolicate(ctx context.Context, input []byte, c Choice) (*Resolved, error)
	// Builds returns at most limit builds, newest first.
	Builds(ctx context.Context, limit int) ([]aotsym.Build, error)
	Close() error
}

// serverBackend resolves through an aotsym server's API.
type serverBackend struct{ c *client.Client }

// NewServerBackend returns a Backend over the server at url.
func NewServerBackend(url, token string) (Backend, error) {
	c, err := client.New(url, token)
	if err != nil {
		return nil, err
	}
	c.UserAgent = "aotsym-lambda"
	return serverBackend{c: c}, nil
}

func (b serverBackend) Symbolicate(ctx context.Context, input []byte, c Choice) (*Resolved, error) {
	// One batch of one trace gets the JSON and the text in one request.
	res, err := b.c.SymbolicateBatch(ctx, client.BatchRequest{Format: "both",
		Traces: []client.BatchTrace{{ID: "0", Text: string(input), BuildID: c.BuildID, Tags: c.Tags}}})
	if err != nil {
		return nil, err
	}
	if len(res.Results) != 1 {
		return nil, aotsym.Errorf(aotsym.EINTERNAL, "the server answered %d results for one trace", len(res.Results))
	}
	r := res.Results[0]
	if r.Error != nil {
		code := r.Error.Code
		if code == "" {
			code = aotsym.EINTERNAL
		}
		return nil, &aotsym.Error{Code: code, Message: r.Error.Error}
	}
	if r.Trace == nil || r.Text == nil {
		return nil, aotsym.Errorf(aotsym.EINTERNAL, "the server's answer lacks the trace or its text: is it an older aotsym?")
	}
	return &Resolved{Trace: r.Trace, Text: []byte(*r.Text)}, nil
}

func (b serverBackend) Builds(ctx context.Context, limit int) ([]aotsym.Build, error) {
	return b.c.Builds(ctx, nil, limit)
}

func (serverBackend) Close() error { return nil }

// StoreBackend resolves against a store opened in this process, with the
// symbolizer's cache of opened indexes (package service, as `aotsym serve`
// wires it); it is also the api.Symbolicator of the API on Lambda.
type StoreBackend struct {
	Store store.Store
	svc   *service.Service
}

// NewStoreBackend puts the symbolizer over st with a cache of cacheBytes.
func NewStoreBackend(st store.Store, cacheBytes int64) *StoreBackend {
	return &StoreBackend{Store: st, svc: service.New(st, cacheBytes, trace.Limits{})}
}

// OpenStoreBackend opens the S3 store at url (s3://BUCKET/PREFIX) with
// dataDir as its local cache.
func OpenStoreBackend(ctx context.Context, url, dataDir string, cacheBytes, maxUpload int64, log *slog.Logger) (*StoreBackend, error) {
	cacheDisk := int64(256 << 20) // Lambda's /tmp is 512 MiB unless configured
	st, err := s3.Open(ctx, url, dataDir, Indexer(), s3.Options{Logger: log, CacheBytes: cacheDisk, MaxSize: maxUpload})
	if err != nil {
		return nil, err
	}
	return NewStoreBackend(st, cacheBytes), nil
}

func (b *StoreBackend) Symbolicate(ctx context.Context, input []byte, c Choice) (*Resolved, error) {
	r, err := b.svc.Resolver.Symbolicate(ctx, input, b.svc.Options(c.BuildID, c.Tags))
	if err != nil {
		return nil, err
	}
	if r.Trace.BuildID != "" {
		b.Store.Touch(r.Trace.BuildID, timeNow())
	}
	return &Resolved{Trace: r.Trace, Text: r.Text}, nil
}

func (b *StoreBackend) Builds(ctx context.Context, limit int) ([]aotsym.Build, error) {
	return b.Store.List(ctx, store.ListOptions{Limit: limit})
}

func (b *StoreBackend) Close() error { return b.Store.Close() }

// APISymbolicator returns the api.Symbolicator over the same resolver.
func (b *StoreBackend) APISymbolicator() api.Symbolicator { return b.svc.API() }

// Indexer returns the symbolizer's indexer as a store.Indexer.
func Indexer() store.Indexer { return service.Indexer() }

// retryable reports whether a failure may go away on its own (the server or
// the store was unreachable, slow or overloaded), so that the invocation is
// worth retrying.
func retryable(err error) bool {
	switch aotsym.ErrorCode(err) {
	case client.CodeUnavailable, client.CodeTimeout, aotsym.EINTERNAL:
		return true
	case aotsym.ECONFLICT:
		return true
	}
	return strings.Contains(err.Error(), "context deadline exceeded")
}
