package api

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// page serves GET /: index.html of Config.Page (package api/web), or a short
// pointer to the API while there is no page.
func (s *Server) page(c *gin.Context) {
	pageHeaders(c)
	if s.cfg.Page != nil {
		if _, err := fs.Stat(s.cfg.Page, "index.html"); err == nil {
			http.ServeFileFS(c.Writer, c.Request, s.cfg.Page, "index.html")
			return
		}
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(placeholderPage))
}

// pageAsset serves another file of the page (a script, a stylesheet) when one
// exists at the request's path, and reports whether it did.
func (s *Server) pageAsset(c *gin.Context) bool {
	if s.cfg.Page == nil {
		return false
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	if name == "" || !fs.ValidPath(name) {
		return false
	}
	fi, err := fs.Stat(s.cfg.Page, name)
	if err != nil || fi.IsDir() {
		return false
	}
	pageHeaders(c)
	c.Set(routeKey, "/{page asset}")
	http.ServeFileFS(c.Writer, c.Request, s.cfg.Page, name)
	return true
}

func pageHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// The page loads nothing from elsewhere and talks only to this server.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}

const placeholderPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aotsym</title></head>
<body>
<h1>aotsym</h1>
<p>Paste a .NET Native AOT stack trace to <code>POST /v1/symbolicate</code>, for example:</p>
<pre>curl --data-binary @trace.txt http://HOST:PORT/v1/symbolicate</pre>
<p>The routes are described in <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`

func (s *Server) metricsHandler() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{ErrorLog: nil})
	return gin.WrapH(h)
}
