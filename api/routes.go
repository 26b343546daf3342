package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
)

// route is one entry of the route table: everything the engine and the OpenAPI
// document need to know about it.
type route struct {
	method, path string
	scope        Scope
	// bodyLimit > 0 bounds the request body; bodyHint says what to do when it
	// is exceeded.
	bodyLimit int64
	bodyHint  string
	// long routes move whole files and get UploadTimeout.
	long bool
	// sem, when set, is the semaphore the route takes a slot of.
	sem     chan struct{}
	semWhat string
	handler gin.HandlerFunc
	doc     operation
}

// table returns every route the server has.
func (s *Server) table() []route {
	cfg := s.cfg
	return []route{
		{method: "GET", path: "/", handler: s.page, doc: docPage},
		{method: "GET", path: "/openapi.json", handler: s.openAPI, doc: docOpenAPI},
		{method: "GET", path: "/healthz", handler: s.healthz, doc: docHealthz},
		{method: "GET", path: "/readyz", handler: s.readyz, doc: docReadyz},
		{method: "GET", path: "/metrics", scope: ScopeRead, handler: s.metricsHandler(), doc: docMetrics},

		{method: "POST", path: "/v1/builds", scope: ScopeUpload, long: true, handler: s.upload, doc: docUpload, sem: s.uploads, semWhat: "uploads",
			bodyLimit: cfg.MaxUploadBytes, bodyHint: "upload a smaller file, or start the server with a larger --max-upload"},
		{method: "POST", path: "/v1/uploads", scope: ScopeUpload, handler: s.presignUpload, doc: docPresignUpload},
		{method: "POST", path: "/v1/uploads/:key/complete", scope: ScopeUpload, long: true, handler: s.completeUpload, doc: docCompleteUpload, sem: s.uploads, semWhat: "uploads"},
		{method: "GET", path: "/v1/builds", scope: ScopeRead, handler: s.listBuilds, doc: docListBuilds},
		{method: "GET", path: "/v1/builds/:id", scope: ScopeRead, handler: s.getBuild, doc: docGetBuild},
		{method: "DELETE", path: "/v1/builds/:id", scope: ScopeAdmin, handler: s.deleteBuild, doc: docDeleteBuild},
		{method: "PATCH", path: "/v1/builds/:id/tags", scope: ScopeUpload, handler: s.patchTags, doc: docPatchTags,
			bodyLimit: 64 << 10, bodyHint: "send fewer tags"},
		{method: "PUT", path: "/v1/builds/:id/tags", scope: ScopeUpload, handler: s.putTags, doc: docPutTags,
			bodyLimit: 64 << 10, bodyHint: "send fewer tags"},

		{method: "POST", path: "/v1/symbolicate", scope: ScopeRead, handler: s.symbolicate, sem: s.work, semWhat: "symbolications", doc: docSymbolicate,
			bodyLimit: cfg.MaxTraceBytes, bodyHint: "send only the lines of the trace, or split the input into several traces with POST /v1/symbolicate/batch"},
		{method: "POST", path: "/v1/symbolicate/batch", scope: ScopeRead, handler: s.symbolicateBatch, sem: s.work, semWhat: "symbolications", doc: docBatch,
			bodyLimit: cfg.MaxBatchBytes, bodyHint: "split the batch into several requests"},
		{method: "POST", path: "/v1/frames/resolve", scope: ScopeRead, handler: s.resolveFrame, sem: s.work, semWhat: "symbolications", doc: docResolveFrame,
			bodyLimit: MaxFrameBytes, bodyHint: "send one frame (one line) per request"},

		{method: "GET", path: "/buildid/:id/debuginfo", scope: ScopeRead, long: true, handler: s.debuginfod, doc: docDebuginfo},
		{method: "HEAD", path: "/buildid/:id/debuginfo", scope: ScopeRead, handler: s.debuginfod, doc: docDebuginfo},
		{method: "GET", path: "/buildid/:id/executable", scope: ScopeRead, long: true, handler: s.debuginfod, doc: docExecutable},
		{method: "HEAD", path: "/buildid/:id/executable", scope: ScopeRead, handler: s.debuginfod, doc: docExecutable},
		{method: "GET", path: "/buildid/:id/source/*path", scope: ScopeRead, handler: s.debuginfodSource, doc: docSource},
		{method: "GET", path: "/buildid/:id/section/:name", scope: ScopeRead, handler: s.debuginfodSection, doc: docSection},
	}
}

func (s *Server) buildEngine() *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(nil) // log the peer's address, not a header anyone can set
	e.Use(s.requestID(), s.observe(), s.recover())
	s.routes = s.table()
	for _, r := range s.routes {
		timeout := s.cfg.RequestTimeout
		if r.long {
			timeout = s.cfg.UploadTimeout
		}
		chain := []gin.HandlerFunc{s.deadline(timeout), s.authorize(r.scope)}
		if r.sem != nil {
			chain = append(chain, s.slot(r.sem, r.semWhat))
		}
		if r.bodyLimit > 0 {
			chain = append(chain, s.limitBody(r.bodyLimit, r.bodyHint))
		}
		chain = append(chain, r.handler)
		e.Handle(r.method, r.path, chain...)
	}
	e.NoRoute(s.noRoute)
	e.NoMethod(func(c *gin.Context) {
		s.abort(c, http.StatusMethodNotAllowed, client.CodeMethodNotAllowed,
			fmt.Sprintf("%s is not allowed on %s: the methods it takes are in the Allow header and in /openapi.json", c.Request.Method, c.Request.URL.Path))
	})
	return e
}

// noRoute serves the web page's other files (GET), and a JSON 404 otherwise.
func (s *Server) noRoute(c *gin.Context) {
	if (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) && s.pageAsset(c) {
		return
	}
	s.abort(c, http.StatusNotFound, "not_found",
		fmt.Sprintf("no route %s %s: the routes are listed in GET /openapi.json", c.Request.Method, clipHeader(c.Request.URL.Path)))
}

// requestID gives every answer an X-Request-Id (the client's, when it sent a
// sane one) so a log line can be found from an answer.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !saneID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-Id", id)
		c.Header("X-Content-Type-Options", "nosniff")
		c.Next()
	}
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// recover turns a panic in a handler into a 500 with the usual JSON, and logs
// it; the server keeps running.
func (s *Server) recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "route", routeOf(c), "panic", fmt.Sprint(v))
				if !c.Writer.Written() {
					s.abort(c, http.StatusInternalServerError, "internal",
						"internal error: the server log has the details; try again, and report it if it persists")
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

func (s *Server) healthz(c *gin.Context) {
	c.PureJSON(http.StatusOK, gin.H{"status": "ok", "version": s.cfg.Version})
}

func (s *Server) readyz(c *gin.Context) {
	switch {
	case s.draining.Load():
		s.abort(c, http.StatusServiceUnavailable, client.CodeUnavailable, "the server is shutting down: send requests to another instance")
	case s.backend.Load() == nil:
		s.abort(c, http.StatusServiceUnavailable, client.CodeUnavailable, "the server is starting: its store is not open yet; retry in a few seconds")
	default:
		c.PureJSON(http.StatusOK, client.Health{Status: "ready"})
	}
}

// backendOf returns the backend, or answers 503 and returns nil.
func (s *Server) backendOf(c *gin.Context) *Backend {
	b := s.backend.Load()
	if b == nil {
		c.Header("Retry-After", "5")
		s.abort(c, http.StatusServiceUnavailable, client.CodeUnavailable, "the server is starting: its store is not open yet; retry in a few seconds")
	}
	return b
}

// openAPIPath turns a gin route template into an OpenAPI path template.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
