package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api"
	"github.com/aotsym/aotsym/api/web"
	"github.com/aotsym/aotsym/internal/service"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/bolt"
	"github.com/aotsym/aotsym/store/s3"
	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { register(newServeCmd) }

// serveConfig holds the flags of `aotsym serve`.
type serveConfig struct {
	data, listen, storeURL  string
	insecureOpen            bool
	maxUpload, maxBody      byteSize
	maxBatchBody, cache     byteSize
	maxBatch, maxFrames     int
	maxInFlight, maxUploads int
	timeout, uploadTimeout  time.Duration
	shutdownTimeout         time.Duration
	drainDelay              time.Duration
	expireUnused            time.Duration
	expireEvery             time.Duration
	logFormat, logLevel     string
}

// serveEnv names the environment variable of each flag.
var serveEnv = map[string]string{
	"data":             "AOTSYM_DATA",
	"listen":           "AOTSYM_LISTEN",
	"store":            "AOTSYM_STORE",
	"insecure-open":    "AOTSYM_INSECURE_OPEN",
	"max-upload":       "AOTSYM_MAX_UPLOAD",
	"max-body":         "AOTSYM_MAX_BODY",
	"max-batch":        "AOTSYM_MAX_BATCH",
	"max-batch-body":   "AOTSYM_MAX_BATCH_BODY",
	"max-frames":       "AOTSYM_MAX_FRAMES",
	"max-inflight":     "AOTSYM_MAX_INFLIGHT",
	"max-uploads":      "AOTSYM_MAX_UPLOADS",
	"cache":            "AOTSYM_CACHE",
	"timeout":          "AOTSYM_TIMEOUT",
	"upload-timeout":   "AOTSYM_UPLOAD_TIMEOUT",
	"shutdown-timeout": "AOTSYM_SHUTDOWN_TIMEOUT",
	"drain-delay":      "AOTSYM_DRAIN_DELAY",
	"expire-unused":    "AOTSYM_EXPIRE_UNUSED",
	"expire-every":     "AOTSYM_EXPIRE_EVERY",
	"log-format":       "AOTSYM_LOG_FORMAT",
	"log-level":        "AOTSYM_LOG_LEVEL",
}

// newServeCmd is `aotsym serve [--data DIR] [--listen HOST:PORT] [--store s3://BUCKET/PREFIX]`.
func newServeCmd() *cobra.Command {
	cfg := serveConfig{
		maxUpload: api.DefaultMaxUploadBytes, maxBody: api.DefaultMaxTraceBytes,
		maxBatchBody: api.DefaultMaxBatchBytes, cache: 1 << 30,
	}
	cmd := &cobra.Command{
		Use:   "serve [--data DIR] [--listen HOST:PORT] [--store s3://BUCKET/PREFIX]",
		Short: "Run the HTTP service: store builds, symbolicate traces, serve debuginfod",
		Long: `serve runs the aotsym HTTP service (routes: GET /openapi.json).

Builds live in an embedded bbolt store under --data, or with --store in S3
(credentials and endpoint from the standard AWS environment, such as
AWS_ENDPOINT_URL_S3), where --data is only a local cache and any number of
servers can share the bucket.

Tokens come from AOTSYM_TOKENS="read=TOKEN,upload=TOKEN,admin=TOKEN" (any
number of each; admin implies upload, upload implies read) or from the file
AOTSYM_TOKENS_FILE names. Without tokens the server is open to anyone who can
reach it, so it then listens only on loopback unless --insecure-open.

Every flag can also be set by the environment variable in its description.
SIGTERM or SIGINT stops the server gracefully.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd, serveEnv)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.data, "data", "./aotsym-data", "directory of the embedded store, or of the local cache with --store (AOTSYM_DATA)")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "HOST:PORT to listen on; port 0 picks a free one (AOTSYM_LISTEN)")
	fs.StringVar(&cfg.storeURL, "store", "", "keep builds in S3 at s3://BUCKET/PREFIX instead of the embedded store (AOTSYM_STORE)")
	fs.BoolVar(&cfg.insecureOpen, "insecure-open", false, "serve without tokens on a non-loopback address (AOTSYM_INSECURE_OPEN)")
	fs.Var(&cfg.maxUpload, "max-upload", "largest uploaded file, after decompression (AOTSYM_MAX_UPLOAD)")
	fs.Var(&cfg.maxBody, "max-body", "largest trace sent to /v1/symbolicate, and per trace of a batch (AOTSYM_MAX_BODY)")
	fs.IntVar(&cfg.maxBatch, "max-batch", api.DefaultMaxBatchTraces, "most traces in one batch request (AOTSYM_MAX_BATCH)")
	fs.Var(&cfg.maxBatchBody, "max-batch-body", "largest batch request body (AOTSYM_MAX_BATCH_BODY)")
	fs.IntVar(&cfg.maxFrames, "max-frames", trace.DefaultLimits.MaxFrames, "most frames (and exceptions) in one trace (AOTSYM_MAX_FRAMES)")
	fs.IntVar(&cfg.maxInFlight, "max-inflight", api.DefaultMaxInFlight, "symbolicate, batch and frame requests worked on at once; more wait, then get 503 (AOTSYM_MAX_INFLIGHT)")
	fs.IntVar(&cfg.maxUploads, "max-uploads", api.DefaultMaxUploads, "uploads received and indexed at once (AOTSYM_MAX_UPLOADS)")
	fs.Var(&cfg.cache, "cache", "memory for open build indexes, shared by all builds (AOTSYM_CACHE)")
	fs.DurationVar(&cfg.timeout, "timeout", api.DefaultRequestTimeout, "time limit of a request (AOTSYM_TIMEOUT)")
	fs.DurationVar(&cfg.uploadTimeout, "upload-timeout", api.DefaultUploadTimeout, "time limit of an upload or a debuginfod download (AOTSYM_UPLOAD_TIMEOUT)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", api.DefaultShutdownTimeout, "on SIGTERM, how long requests in flight may take to finish (AOTSYM_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&cfg.drainDelay, "drain-delay", 0, "on SIGTERM, how long to go on serving with /readyz failing before refusing connections, so a load balancer can react (AOTSYM_DRAIN_DELAY)")
	fs.DurationVar(&cfg.expireUnused, "expire-unused", 0, "delete builds neither uploaded nor used for this long, e.g. 2160h for 90 days; 0 keeps them forever (AOTSYM_EXPIRE_UNUSED)")
	fs.DurationVar(&cfg.expireEvery, "expire-every", time.Hour, "how often to look for builds to expire (AOTSYM_EXPIRE_EVERY)")
	fs.StringVar(&cfg.logFormat, "log-format", "auto", "json, text, or auto: text on a terminal, JSON otherwise (AOTSYM_LOG_FORMAT)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error (AOTSYM_LOG_LEVEL)")
	return cmd
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: use json, text or auto", format)
}

func runServe(ctx context.Context, cfg serveConfig, logw io.Writer) error {
	log, err := newLogger(logw, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	if cfg.maxBatch < 1 || cfg.maxFrames < 1 || cfg.maxInFlight < 1 || cfg.maxUploads < 1 {
		return usagef("--max-batch, --max-frames, --max-inflight and --max-uploads must be at least 1")
	}
	if cfg.drainDelay < 0 || cfg.expireUnused < 0 || cfg.expireEvery <= 0 {
		return usagef("--drain-delay and --expire-unused cannot be negative, and --expire-every must be positive")
	}
	for name, d := range map[string]time.Duration{"--timeout": cfg.timeout, "--upload-timeout": cfg.uploadTimeout, "--shutdown-timeout": cfg.shutdownTimeout} {
		if d <= 0 {
			return usagef("%s must be positive, e.g. 30s or 5m", name)
		}
	}
	if cfg.storeURL != "" && !strings.HasPrefix(cfg.storeURL, "s3://") {
		return usagef("--store %q: give s3://BUCKET/PREFIX (or leave it out for the embedded store in --data)", aotsym.Clip(cfg.storeURL, 80))
	}
	tokens, err := api.LoadTokens()
	if err != nil {
		return err
	}
	if err := api.CheckOpenAddress(ctx, cfg.listen, tokens, cfg.insecureOpen); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := api.New(api.Config{
		Tokens:          tokens,
		MaxUploadBytes:  int64(cfg.maxUpload),
		MaxTraceBytes:   int64(cfg.maxBody),
		MaxBatchBytes:   int64(cfg.maxBatchBody),
		MaxBatchTraces:  cfg.maxBatch,
		MaxInFlight:     cfg.maxInFlight,
		MaxUploads:      cfg.maxUploads,
		RequestTimeout:  cfg.timeout,
		UploadTimeout:   cfg.uploadTimeout,
		ShutdownTimeout: cfg.shutdownTimeout,
		DrainDelay:      cfg.drainDelay,
		Logger:          log,
		Page:            webPage(),
		Version:         version,
	})
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return aotsym.Errorf(aotsym.EINVALID, "cannot listen on %s: %v; choose another --listen address", cfg.listen, err)
	}
	if err := api.CheckOpenListener(ln.Addr(), tokens, cfg.insecureOpen); err != nil {
		ln.Close()
		return err
	}
	auth := "open (no AOTSYM_TOKENS)"
	if !tokens.Empty() {
		n := tokens.Len()
		auth = fmt.Sprintf("tokens: %d read, %d upload, %d admin", n["read"], n["upload"], n["admin"])
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String(), "auth", auth, "version", version)

	// Serve at once (health and readiness answer while the store opens),
	// then attach the store.
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx, ln) }()
	st, sym, err := openBackend(ctx, cfg, log)
	if err != nil {
		stop()
		<-errc
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "error", err.Error())
		}
	}()
	srv.Attach(api.Backend{Store: st, Symbolicator: sym})
	if cfg.expireUnused > 0 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			expireLoop(ctx, st, sym, cfg.expireUnused, cfg.expireEvery, log)
		}()
		defer func() { <-done }() // before the store closes
	}
	where := "bbolt in " + cfg.data
	if cfg.storeURL != "" {
		where = cfg.storeURL + " (cache in " + cfg.data + ")"
	}
	log.Info("ready", "store", where)
	return <-errc
}

// expireLoop deletes builds unused for longer than unused, every interval,
// until ctx ends.
func expireLoop(ctx context.Context, st store.Store, sym api.Symbolicator, unused, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids, err := st.Expire(ctx, unused)
		if f, ok := sym.(api.Forgetter); ok {
			for _, id := range ids {
				f.Forget(id)
			}
		}
		for _, id := range ids {
			log.Info("expired", "build_id", string(id), "unused_for", unused.String())
		}
		if err != nil && ctx.Err() == nil {
			log.Error("expiring builds failed; will retry", "error", err.Error(), "retry_in", every.String())
		}
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// webPage returns the web page served at GET / (package api/web's embedded
// files).
func webPage() fs.FS { return web.FS() }

// openBackend opens the store named by the flags, with the symbolizer's
// indexer, and the resolver over it with its cache of opened indexes.
func openBackend(ctx context.Context, cfg serveConfig, log *slog.Logger) (store.Store, api.Symbolicator, error) {
	ix := service.Indexer()
	var st store.Store
	if cfg.storeURL != "" {
		s, err := s3.Open(ctx, cfg.storeURL, cfg.data, ix, s3.Options{MaxSize: int64(cfg.maxUpload), Logger: log})
		if err != nil {
			return nil, nil, err
		}
		st = s
	} else {
		s, err := bolt.Open(cfg.data, ix, bolt.Options{MaxSize: int64(cfg.maxUpload), Logger: log})
		if err != nil {
			return nil, nil, err
		}
		st = s
	}
	limits := trace.Limits{MaxBytes: int(cfg.maxBody), MaxFrames: cfg.maxFrames}
	return st, service.New(st, int64(cfg.cache), limits).API(), nil
}
