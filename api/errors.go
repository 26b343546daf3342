package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
)

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case aotsym.EINVALID:
		return http.StatusBadRequest
	case aotsym.ENOTFOUND:
		return http.StatusNotFound
	case aotsym.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case aotsym.ECONFLICT:
		return http.StatusConflict
	case client.CodeUnauthorized:
		return http.StatusUnauthorized
	case client.CodeForbidden:
		return http.StatusForbidden
	case client.CodeTimeout, client.CodeUnavailable:
		return http.StatusServiceUnavailable
	case client.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case client.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// abort answers with an error document and stops the handler chain.
func (s *Server) abort(c *gin.Context, status int, code, msg string) {
	c.Abort()
	c.PureJSON(status, client.ErrorBody{Error: msg, Code: code})
}

// fail answers a request whose handler failed with err. What went wrong with
// the request body (too large, too slow, badly compressed) takes precedence
// over how the consumer of the body reported it, since a store or parser
// wraps those errors in its own words.
func (s *Server) fail(c *gin.Context, err error) {
	status, code, msg := s.classify(c, err)
	if status >= 500 && code != client.CodeTimeout && code != client.CodeUnavailable {
		s.log.LogAttrs(c.Request.Context(), errorLevel, "request failed",
			stringAttr("route", routeOf(c)), stringAttr("error", err.Error()))
	}
	if status == statusClientClosed {
		c.Abort()
		c.Status(status)
		return
	}
	s.abort(c, status, code, msg)
}

// statusClientClosed is logged (never sent) when the client went away.
const statusClientClosed = 499

func (s *Server) classify(c *gin.Context, err error) (int, string, string) {
	if st := bodyStateOf(c); st != nil {
		switch {
		case st.exceeded.Load():
			return http.StatusRequestEntityTooLarge, aotsym.ETOOLARGE,
				fmt.Sprintf("the request body is larger than %s, the limit of %s %s%s: %s", humanBytes(st.limit), c.Request.Method, routeOf(c), st.afterDecoding(), st.hint)
		case st.timedOut.Load():
			return http.StatusRequestTimeout, client.CodeTimeout,
				fmt.Sprintf("the request body did not arrive within %s, the time limit of %s %s: send it faster or in smaller parts", st.timeout, c.Request.Method, routeOf(c))
		case st.decodeErr() != nil:
			return http.StatusBadRequest, aotsym.EINVALID,
				fmt.Sprintf("the request body is not valid %s (as its Content-Encoding says): %v; compress it with `%s`, or send it uncompressed without Content-Encoding", st.encoding, st.decodeErr(), st.encoding)
		}
	}
	ctx := c.Request.Context()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		d := timeoutOf(c)
		return http.StatusServiceUnavailable, client.CodeTimeout,
			fmt.Sprintf("%s %s took longer than %s, the time limit of this route, and was stopped: send a smaller input (or split a batch), or ask the operator to raise the limit", c.Request.Method, routeOf(c), d)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return statusClientClosed, "canceled", "the client closed the request"
	}
	code := aotsym.ErrorCode(err)
	return statusOf(code), code, aotsym.ErrorMessage(err)
}

// routeOf returns the route template of a request, or its path when no route
// matched.
func routeOf(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return c.Request.URL.Path
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
