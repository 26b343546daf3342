package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// bodyState follows one request body through its limits, so that the answer
// can say what really went wrong whatever the reader of the body made of it.
type bodyState struct {
	limit    int64
	hint     string // what to do when the body is too large
	timeout  time.Duration
	encoding string // "gzip", "zstd" or "" once body() has run

	exceeded atomic.Bool // the body (raw or decoded) passed limit
	timedOut atomic.Bool // the client did not send it in time
	decoded  atomic.Bool // exceeded was found after decompression
	mu       sync.Mutex
	decErr   error // the decompressor's complaint, if any
}

func (st *bodyState) decodeErr() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.decErr
}

func (st *bodyState) afterDecoding() string {
	if st.decoded.Load() {
		return " after decompression"
	}
	return ""
}

const bodyKey = "aotsym.body"
const timeoutKey = "aotsym.timeout"

func bodyStateOf(c *gin.Context) *bodyState {
	if v, ok := c.Get(bodyKey); ok {
		return v.(*bodyState)
	}
	return nil
}

func timeoutOf(c *gin.Context) time.Duration {
	if v, ok := c.Get(timeoutKey); ok {
		return v.(time.Duration)
	}
	return 0
}

// limitBody bounds a route's request body to limit bytes, before and after
// decompression. A Content-Length over the limit is refused before anything
// is read; a body without one is cut off at the limit. Either way the answer
// is a 413 with hint.
func (s *Server) limitBody(limit int64, hint string) gin.HandlerFunc {
	return func(c *gin.Context) {
		st := &bodyState{limit: limit, hint: hint, timeout: timeoutOf(c)}
		c.Set(bodyKey, st)
		if c.Request.ContentLength > limit {
			st.exceeded.Store(true)
			s.fail(c, nil)
			return
		}
		c.Request.Body = &watchedBody{rc: http.MaxBytesReader(c.Writer, c.Request.Body, limit), st: st}
		c.Next()
	}
}

// watchedBody records why reading the raw body failed.
type watchedBody struct {
	rc io.ReadCloser
	st *bodyState
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			b.st.exceeded.Store(true)
		case errors.Is(err, os.ErrDeadlineExceeded):
			b.st.timedOut.Store(true)
		}
	}
	return n, err
}

func (b *watchedBody) Close() error { return b.rc.Close() }

// errTooLarge is returned by a decoded body past its limit.
var errTooLarge = errors.New("request body too large")

// body returns the request body decoded according to its Content-Encoding
// (none, gzip or zstd), bounded by the route's limit after decoding too, so a
// small compressed body cannot expand without end. The caller closes it.
func (s *Server) body(c *gin.Context) (io.ReadCloser, error) {
	st := bodyStateOf(c)
	raw := c.Request.Body
	enc := strings.ToLower(strings.TrimSpace(c.GetHeader("Content-Encoding")))
	switch enc {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		st.encoding = "gzip"
		zr, err := gzip.NewReader(raw)
		if err != nil {
			st.setDecodeErr(err)
			return nil, err
		}
		return &decodedBody{r: zr, closer: zr.Close, st: st}, nil
	case "zstd":
		st.encoding = "zstd"
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			st.setDecodeErr(err)
			return nil, err
		}
		return &decodedBody{r: zr, closer: func() error { zr.Close(); return nil }, st: st}, nil
	}
	s.abort(c, http.StatusUnsupportedMediaType, client.CodeUnsupported,
		fmt.Sprintf("Content-Encoding %q is not supported: send the body uncompressed, or compressed with gzip or zstd", clipHeader(enc)))
	return nil, errAnswered
}

// errAnswered tells a handler that the answer has already been written.
var errAnswered = errors.New("answered")

func (st *bodyState) setDecodeErr(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.decErr == nil {
		st.decErr = err
	}
}

// decodedBody counts decompressed bytes against the limit and records
// decompression errors (a corrupt stream, not a failure of the raw body).
type decodedBody struct {
	r      io.Reader
	closer func() error
	st     *bodyState
	n      int64
}

func (d *decodedBody) Read(p []byte) (int, error) {
	if d.n > d.st.limit {
		return 0, errTooLarge
	}
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.n > d.st.limit {
		d.st.exceeded.Store(true)
		d.st.decoded.Store(true)
		return n, errTooLarge
	}
	if err != nil && err != io.EOF && !d.st.exceeded.Load() && !d.st.timedOut.Load() {
		d.st.setDecodeErr(err)
	}
	return n, err
}

func (d *decodedBody) Close() error { return d.closer() }

// readAll reads the whole decoded body (bounded by the route's limit).
func (s *Server) readAll(c *gin.Context) ([]byte, error) {
	rc, err := s.body(c)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// deadline bounds a route: its handler's context ends after d, and the client
// must have sent the whole body by then.
func (s *Server) deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(timeoutKey, d)
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		rc := http.NewResponseController(c.Writer)
		// Not every ResponseWriter supports deadlines (test recorders do
		// not); the context still bounds the handler then.
		if rc.SetReadDeadline(time.Now().Add(d)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
		if rc.SetWriteDeadline(time.Now().Add(d+10*time.Second)) == nil {
			defer rc.SetWriteDeadline(time.Time{})
		}
		c.Next()
	}
}

func clipHeader(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// slot makes a route take a slot of sem for the duration of the request,
// waiting for one until the request's deadline; what is left waiting then
// gets 503 with Retry-After.
func (s *Server) slot(sem chan struct{}, what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		select {
		case sem <- struct{}{}:
		default:
			select {
			case sem <- struct{}{}:
			case <-c.Request.Context().Done():
				c.Header("Retry-After", "1")
				s.abort(c, http.StatusServiceUnavailable, client.CodeUnavailable,
					fmt.Sprintf("the server is busy: %d %s are running and this request waited %s for one of them to finish; retry in a moment", cap(sem), what, timeoutOf(c)))
				return
			}
		}
		defer func() { <-sem }()
		c.Next()
	}
}
