package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/gin-gonic/gin"
)

// debuginfod serves GET/HEAD /buildid/{id}/debuginfo and /executable the way
// a debuginfod server does (elfutils' debuginfod-client, gdb, lldb,
// llvm-debuginfod-find): the raw ELF file, byte for byte as uploaded, with
// Range requests, X-Debuginfod-Size, and a 404 when the build or the file is
// not stored. A build uploaded as one unstripped executable also answers
// /debuginfo with that file, as debuginfod does, when its index found line
// information in it.
func (s *Server) debuginfod(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	id, err := buildID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	build, err := b.Store.Get(ctx, id)
	if err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	kind := aotsym.FileDebug
	if c.FullPath() == "/buildid/:id/executable" {
		kind = aotsym.FileExecutable
	}
	sf, ok := build.File(kind)
	if !ok && kind == aotsym.FileDebug && build.LineRows > 0 {
		kind = aotsym.FileExecutable
		sf, ok = build.File(kind)
	}
	if !ok {
		s.fail(c, aotsym.Errorf(aotsym.ENOTFOUND, "build %s has no %s file stored: upload it with `aotsym upload` (it has %s)", id.Short(), kind, filesOf(build)))
		return
	}
	f, err := b.Store.OpenFile(ctx, id, kind)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Debuginfod-Size", strconv.FormatInt(f.Size(), 10))
	if sf.Name != "" {
		h.Set("X-Debuginfod-File", sf.Name)
	}
	if sf.SHA256 != "" {
		h.Set("ETag", `"`+sf.SHA256+`"`)
	}
	b.Store.Touch(id, time.Now())
	http.ServeContent(c.Writer, c.Request, "", build.Created, f)
}

func filesOf(b aotsym.Build) string {
	if len(b.Files) == 0 {
		return "no files"
	}
	out := ""
	for i, f := range b.Files {
		if i > 0 {
			out += " and "
		}
		out += "its " + string(f.Kind)
	}
	return out
}

// debuginfodSource answers the debuginfod source route: aotsym keeps no
// sources, and a 404 makes debuggers fall back to local files.
func (s *Server) debuginfodSource(c *gin.Context) {
	s.fail(c, aotsym.Errorf(aotsym.ENOTFOUND, "aotsym stores no source files: point the debugger at a checkout of the sources (gdb: set substitute-path)"))
}

// debuginfodSection answers the debuginfod section route with a 404, after
// which clients download /debuginfo and read the section from it.
func (s *Server) debuginfodSection(c *gin.Context) {
	s.fail(c, aotsym.Errorf(aotsym.ENOTFOUND, "aotsym does not serve single sections: fetch the whole file from /buildid/{id}/debuginfo"))
}
