// Package api is aotsym's HTTP service on gin: uploads of builds into a
// store.Store, symbolication of pasted traces (one, a batch, or a single frame)
// through a Symbolicator, the debuginfod routes, health, readiness and
// Prometheus metrics, and the OpenAPI document of all of it.
//
// Every route has a scope (auth.go), a body limit and a timeout (limits.go),
// and every failure is answered with ErrorBody: a sentence saying what was
// wrong and what to do, and a code. The route table (routes.go) is the single
// list the engine is built from and the OpenAPI document is written from.
package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Symbolicator resolves traces and frames against stored builds. The command
// wiring adapts the symbolizer package to it. When opts.BuildID names a
// build that is not stored, both methods fail with an aotsym.ENOTFOUND
// error: the HTTP layer does not look the build up before calling them.
type Symbolicator interface {
	// Symbolicate finds the frames in input, chooses the build (opts.BuildID,
	// or detected from the frames when empty), and resolves them. Text is the
	// input with every resolved frame written as the JIT writes it.
	Symbolicate(ctx context.Context, input []byte, opts SymbolicateOptions) (*Symbolicated, error)
	// ResolveFrame resolves one frame's text against opts.BuildID.
	ResolveFrame(ctx context.Context, frame string, opts SymbolicateOptions) (aotsym.FrameResult, error)
}

// SymbolicateOptions say which build to use. When BuildID is set, How says
// why: "given" (the caller named it) or "tags" (the newest build carrying
// Tags).
type SymbolicateOptions struct {
	BuildID aotsym.BuildID
	How     string
	Tags    map[string]string
}

// Symbolicated is the answer for one trace.
type Symbolicated struct {
	Trace *aotsym.Trace
	Text  []byte
}

// CacheStats describes the cache of opened build indexes above the store.
type CacheStats struct {
	Hits, Misses uint64
	Bytes        int64
	Entries      int
}

// CacheReporter is implemented by a Symbolicator that keeps a cache of opened
// builds; /metrics then reports it.
type CacheReporter interface {
	CacheStats() CacheStats
}

// Forgetter is implemented by a Symbolicator that keeps opened builds: the
// server calls Forget after a build was deleted or got a new file, so a stale
// index is not used.
type Forgetter interface {
	Forget(id aotsym.BuildID)
}

// Backend is what the routes work on: the store of builds and the symbolicator
// over it. The server answers 503 on routes that need it until it is attached.
type Backend struct {
	Store        store.Store
	Symbolicator Symbolicator
}

// Config configures a Server. Zero values take the defaults below.
type Config struct {
	// Tokens are the accepted bearer tokens; none means an open server.
	Tokens *Tokens
	// MaxUploadBytes bounds one uploaded file, after decompression.
	MaxUploadBytes int64
	// MaxTraceBytes bounds the body of /v1/symbolicate, after decompression,
	// and each trace of a batch.
	MaxTraceBytes int64
	// MaxBatchBytes bounds the body of /v1/symbolicate/batch; MaxBatchTraces
	// the number of traces in it.
	MaxBatchBytes  int64
	MaxBatchTraces int
	// BatchWorkers is how many traces of a batch are resolved at once.
	BatchWorkers int
	// MaxInFlight bounds the symbolicate, batch and frame requests being
	// worked on at once, and MaxUploads the uploads; a request over the
	// bound waits for a slot until its timeout, then gets 503. They bound
	// the memory a burst of large requests can take.
	MaxInFlight int
	MaxUploads  int
	// RequestTimeout bounds every request; UploadTimeout replaces it for
	// uploads and debuginfod downloads, which move whole files.
	RequestTimeout time.Duration
	UploadTimeout  time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	ReadHeaderTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits for requests in flight.
	ShutdownTimeout time.Duration
	// DrainDelay is how long Run keeps serving after it was told to stop,
	// with /readyz failing, so that a load balancer stops sending requests
	// before new connections are refused.
	DrainDelay time.Duration
	// Logger receives one line per request and the server's events.
	Logger *slog.Logger
	// Registry receives the metrics; nil creates one.
	Registry *prometheus.Registry
	// Page is the web page served at GET / (index.html and its assets): the
	// embed.FS of package api/web. Nil serves a short pointer to the API.
	Page fs.FS
	// Version is reported by /healthz.
	Version string
}

// Defaults.
const (
	DefaultMaxUploadBytes    = 2 << 30
	DefaultMaxTraceBytes     = 16 << 20
	DefaultMaxBatchBytes     = 64 << 20
	DefaultMaxBatchTraces    = 1000
	DefaultRequestTimeout    = 60 * time.Second
	DefaultUploadTimeout     = 30 * time.Minute
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultMaxInFlight       = 64
	DefaultMaxUploads        = 4
	// MaxFrameBytes bounds the body of /v1/frames/resolve.
	MaxFrameBytes = 64 << 10
)

func (c *Config) setDefaults() {
	if c.Tokens == nil {
		c.Tokens = &Tokens{}
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if c.MaxTraceBytes <= 0 {
		c.MaxTraceBytes = DefaultMaxTraceBytes
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.MaxBatchTraces <= 0 {
		c.MaxBatchTraces = DefaultMaxBatchTraces
	}
	if c.BatchWorkers <= 0 {
		c.BatchWorkers = 4
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxUploads <= 0 {
		c.MaxUploads = DefaultMaxUploads
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.UploadTimeout <= 0 {
		c.UploadTimeout = DefaultUploadTimeout
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// Server is the HTTP service. Create it with New, attach a Backend when the
// store is open, and serve Handler (or call Run).
type Server struct {
	cfg      Config
	log      *slog.Logger
	engine   *gin.Engine
	backend  atomic.Pointer[Backend]
	draining atomic.Bool
	metrics  *metrics
	routes   []route

	openAPIOnce sync.Once
	openAPIDoc  []byte

	work, uploads chan struct{} // semaphores of MaxInFlight and MaxUploads
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New builds the server and its routes. Routes that need the store answer 503
// until Attach is called.
func New(cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger,
		work: make(chan struct{}, cfg.MaxInFlight), uploads: make(chan struct{}, cfg.MaxUploads)}
	s.metrics = newMetrics(cfg.Registry, s)
	s.engine = s.buildEngine()
	return s
}

// Attach gives the server its store and symbolicator and makes it ready.
func (s *Server) Attach(b Backend) {
	s.backend.Store(&b)
	s.metrics.refreshBuildCount(context.Background())
}

// forget tells the symbolicator to drop what it holds of a build.
func (b *Backend) forget(id aotsym.BuildID) {
	if f, ok := b.Symbolicator.(Forgetter); ok {
		f.Forget(id)
	}
}

// Drain marks the server as shutting down: /readyz fails from now on, so a
// load balancer stops sending requests while those in flight finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Ready reports whether the server has a store and is not shutting down.
func (s *Server) Ready() bool { return s.backend.Load() != nil && !s.draining.Load() }

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.engine }

// Engine returns the gin engine, for tests that walk its routes.
func (s *Server) Engine() *gin.Engine { return s.engine }

// HTTPServer returns an http.Server for the handler with the configured header
// timeout. Request bodies and handlers are bounded per route, so it sets no
// overall read or write timeout (that would cut off long uploads).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Run serves on ln until ctx is done, then shuts down gracefully: /readyz
// fails at once, the server goes on serving for DrainDelay, then new
// connections are refused and requests in flight get up to ShutdownTimeout to
// finish. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.Drain()
	if s.cfg.DrainDelay > 0 {
		s.log.Info("draining: /readyz fails, still serving", "delay", s.cfg.DrainDelay.String())
		select {
		case <-time.After(s.cfg.DrainDelay):
		case err := <-errc:
			return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
		}
	}
	s.log.Info("shutting down: finishing requests in flight", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("requests still running after %s were cut off: %w", s.cfg.ShutdownTimeout, err)
	}
	s.log.Info("stopped cleanly")
	return nil
}

// CheckOpenAddress refuses, before anything is bound, to run an open server
// (no tokens) on an address that is not loopback, unless insecureOpen. A host
// name counts as loopback when every address it resolves to is.
func CheckOpenAddress(ctx context.Context, hostport string, tokens *Tokens, insecureOpen bool) error {
	if tokens != nil && !tokens.Empty() || insecureOpen {
		return nil
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return aotsym.Errorf(aotsym.EINVALID, "listen address %q is not HOST:PORT (for example 127.0.0.1:8080)", aotsym.Clip(hostport, 80))
	}
	loopback := host != ""
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	} else if host != "" {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		loopback = err == nil && len(addrs) > 0
		for _, a := range addrs {
			loopback = loopback && a.IP.IsLoopback()
		}
	}
	if loopback {
		return nil
	}
	return openRefusal(hostport)
}

func openRefusal(addr any) error {
	return aotsym.Errorf(aotsym.EINVALID, "refusing to serve on %s without tokens: anyone who can reach it could upload and delete builds. Set AOTSYM_TOKENS=\"read=…,upload=…,admin=…\", listen on 127.0.0.1, or pass --insecure-open if the network is trusted", addr)
}

// CheckOpenListener refuses an open server (no tokens) on a listener that is
// not loopback, unless insecureOpen.
func CheckOpenListener(addr net.Addr, tokens *Tokens, insecureOpen bool) error {
	if tokens != nil && !tokens.Empty() || insecureOpen {
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return nil
	}
	return openRefusal(addr)
}
