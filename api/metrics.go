package api

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series of /metrics, on the server's own registry.
// Route labels are templates (c.FullPath()), never raw paths, so the number of
// series stays bounded whatever clients send.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	frames   *prometheus.CounterVec
	uploads  *prometheus.CounterVec
	upBytes  prometheus.Counter
	batch    prometheus.Histogram

	mu         sync.Mutex
	builds     int
	buildsAt   time.Time
	buildsOK   bool
	buildsLive func(ctx context.Context) (int, bool)
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aotsym_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                        "aotsym_http_request_duration_seconds",
			Help:                        "Time from request to answer, by method and route template.",
			Buckets:                     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
			NativeHistogramBucketFactor: 1.1,
		}, []string{"method", "route"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aotsym_frames_total",
			Help: "Stack frames symbolicated, by the status they ended with.",
		}, []string{"status"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aotsym_uploads_total",
			Help: "Uploaded files by result: created (a new build), added (a new file of a known build), exists (already stored), rejected.",
		}, []string{"result"}),
		upBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aotsym_upload_bytes_total",
			Help: "Bytes of stored uploads (uncompressed file sizes).",
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aotsym_batch_traces",
			Help:    "Traces per batch request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}),
	}
	for _, st := range aotsym.Statuses {
		m.frames.WithLabelValues(string(st))
	}
	for _, r := range []string{"created", "added", "exists", "rejected"} {
		m.uploads.WithLabelValues(r)
	}
	m.buildsLive = func(ctx context.Context) (int, bool) {
		b := s.backend.Load()
		if b == nil {
			return 0, false
		}
		list, err := b.Store.List(ctx, store.ListOptions{})
		if err != nil {
			s.log.Warn("counting builds for /metrics failed", "error", err.Error())
			return 0, false
		}
		return len(list), true
	}
	reg.MustRegister(m.requests, m.latency, m.frames, m.uploads, m.upBytes, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aotsym_builds",
			Help: "Builds in the store (recounted at most once a minute, and after uploads and deletes).",
		}, func() float64 { return float64(m.buildCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aotsym_ready",
			Help: "1 when the server has its store and is not shutting down.",
		}, func() float64 {
			if s.Ready() {
				return 1
			}
			return 0
		}),
		&cacheCollector{s: s},
	)
	return m
}

func (m *metrics) buildCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.buildsOK || time.Since(m.buildsAt) > time.Minute {
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, ok := m.buildsLive(ctx)
		cancel()
		m.mu.Lock()
		if ok {
			m.builds, m.buildsAt, m.buildsOK = n, time.Now(), true
		}
	}
	return m.builds
}

// refreshBuildCount marks the build count stale, so the next scrape recounts.
func (m *metrics) refreshBuildCount(context.Context) {
	m.mu.Lock()
	m.buildsOK = false
	m.mu.Unlock()
}

func (m *metrics) countFrames(t *aotsym.Trace) {
	if t == nil {
		return
	}
	for _, f := range t.Frames {
		m.frames.WithLabelValues(string(f.Status)).Inc()
	}
}

// cacheCollector reports the symbolicator's cache of opened build indexes,
// when it has one.
type cacheCollector struct{ s *Server }

var (
	cacheHits    = prometheus.NewDesc("aotsym_index_cache_hits_total", "Lookups that found the build's index already open.", nil, nil)
	cacheMisses  = prometheus.NewDesc("aotsym_index_cache_misses_total", "Lookups that had to load the build's index from the store.", nil, nil)
	cacheBytes   = prometheus.NewDesc("aotsym_index_cache_bytes", "Bytes of open build indexes held in memory.", nil, nil)
	cacheEntries = prometheus.NewDesc("aotsym_index_cache_entries", "Build indexes held open in memory.", nil, nil)
)

func (cc *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheHits
	ch <- cacheMisses
	ch <- cacheBytes
	ch <- cacheEntries
}

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	b := cc.s.backend.Load()
	if b == nil {
		return
	}
	cr, ok := b.Symbolicator.(CacheReporter)
	if !ok {
		return
	}
	st := cr.CacheStats()
	ch <- prometheus.MustNewConstMetric(cacheHits, prometheus.CounterValue, float64(st.Hits))
	ch <- prometheus.MustNewConstMetric(cacheMisses, prometheus.CounterValue, float64(st.Misses))
	ch <- prometheus.MustNewConstMetric(cacheBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(st.Entries))
}

// observe is the outermost middleware: it counts and times every request, and
// writes its log line (method, route template, status, duration, bytes; never
// headers, so never a token).
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = c.GetString(routeKey)
		}
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(d.Seconds())
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case route == "/healthz" || route == "/readyz" || route == "/metrics":
			level = slog.LevelDebug
		}
		in := c.Request.ContentLength
		s.log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.Int64("bytes_in", in),
			slog.Int("bytes_out", max(c.Writer.Size(), 0)),
			slog.String("remote", c.ClientIP()),
			slog.String("request_id", c.Writer.Header().Get("X-Request-Id")),
		)
	}
}

const errorLevel = slog.LevelError

// routeKey labels requests no route template matched but that were answered
// on purpose (the page's assets).
const routeKey = "aotsym.route"

func stringAttr(k, v string) slog.Attr { return slog.String(k, v) }
