package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
)

// chooseBuild turns a request's build_id or tags into SymbolicateOptions.
// Tags are looked up here, to name the build they choose. A build_id is
// not: the Symbolicator reads that build's metadata first thing and answers
// ENOTFOUND when it is missing, which symbolicateErr turns into the plain
// answer (reading it here too was a second store read on every request).
func (s *Server) chooseBuild(ctx context.Context, b *Backend, id aotsym.BuildID, tags map[string]string) (SymbolicateOptions, error) {
	switch {
	case id != "" && len(tags) > 0:
		return SymbolicateOptions{}, aotsym.Errorf(aotsym.EINVALID, "give build_id or tags, not both")
	case id != "":
		return SymbolicateOptions{BuildID: id, How: "given"}, nil
	case len(tags) > 0:
		build, err := b.Store.FindByTags(ctx, tags)
		if err != nil {
			if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
				return SymbolicateOptions{}, &aotsym.Error{Code: aotsym.ENOTFOUND, Err: err,
					Message: fmt.Sprintf("no build carries the tags %s: check them with GET /v1/builds, or tag a build with PATCH /v1/builds/{id}/tags", strings.Join(client.FormatTags(tags), " "))}
			}
			return SymbolicateOptions{}, err
		}
		return SymbolicateOptions{BuildID: build.ID, How: "tags", Tags: tags}, nil
	}
	return SymbolicateOptions{}, nil
}

// symbolicateErr is an error of the Symbolicator, saying plainly that the
// build the caller named is not stored when that is why it failed (the
// store is read again only on this error path).
func symbolicateErr(ctx context.Context, b *Backend, opts SymbolicateOptions, err error) error {
	if opts.How != "given" || aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
		return err
	}
	if _, gerr := b.Store.Get(ctx, opts.BuildID); aotsym.ErrorCode(gerr) == aotsym.ENOTFOUND {
		return notFoundHint(gerr, opts.BuildID)
	}
	return err
}

// wantsJSON reports whether the client asked for JSON: ?format=json, or an
// Accept header that prefers application/json to text.
func wantsJSON(c *gin.Context) bool {
	switch c.Query("format") {
	case "json":
		return true
	case "text":
		return false
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(c.GetHeader("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			fmt.Sscanf(v, "%g", &q)
		}
		if mt == "application/json" || mt == "text/plain" {
			if q > bestQ {
				best, bestQ = mt, q
			}
		}
	}
	return best == "application/json" && bestQ > 0
}

func (s *Server) symbolicate(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	if f := c.Query("format"); f != "" && f != "json" && f != "text" {
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, "format=%q: use format=json or format=text (or an Accept header)", aotsym.Clip(f, 20)))
		return
	}
	var id aotsym.BuildID
	if v := c.Query("build_id"); v != "" {
		var err error
		if id, err = aotsym.ParseBuildID(v); err != nil {
			s.fail(c, err)
			return
		}
	}
	tags, err := tagsFromQuery(c, "tag")
	if err != nil {
		s.fail(c, err)
		return
	}
	input, err := s.readAll(c)
	if err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	if len(strings.TrimSpace(string(input))) == 0 {
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, "empty body: send the stack trace (or log lines holding it) as the request body"))
		return
	}
	ctx := c.Request.Context()
	opts, err := s.chooseBuild(ctx, b, id, tags)
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := b.Symbolicator.Symbolicate(ctx, input, opts)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		s.fail(c, symbolicateErr(ctx, b, opts, err))
		return
	}
	s.metrics.countFrames(res.Trace)
	if res.Trace != nil && res.Trace.BuildID != "" {
		c.Header(client.HeaderBuildID, string(res.Trace.BuildID))
		b.Store.Touch(res.Trace.BuildID, time.Now())
	}
	if wantsJSON(c) {
		c.PureJSON(http.StatusOK, res.Trace)
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", res.Text)
}

func (s *Server) symbolicateBatch(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	var req client.BatchRequest
	if err := s.decodeJSON(c, &req); err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	switch req.Format {
	case "", "json", "text", "both":
	default:
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, `format %q: use "json", "text" or "both"`, aotsym.Clip(req.Format, 20)))
		return
	}
	if len(req.Traces) == 0 {
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, `no traces: send {"traces":[{"id":"1","text":"…"}]}`))
		return
	}
	if len(req.Traces) > s.cfg.MaxBatchTraces {
		s.fail(c, aotsym.Errorf(aotsym.ETOOLARGE, "%d traces in one batch; the limit is %d: split the batch into several requests", len(req.Traces), s.cfg.MaxBatchTraces))
		return
	}
	s.metrics.batch.Observe(float64(len(req.Traces)))
	ctx := c.Request.Context()
	results := make([]client.BatchResult, len(req.Traces))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(s.cfg.BatchWorkers, len(req.Traces)) {
		wg.Go(func() {
			for i := range jobs {
				results[i] = s.batchOne(ctx, b, req.Traces[i], req.Format)
			}
		})
	}
	for i := range req.Traces {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		s.fail(c, ctx.Err())
		return
	}
	c.PureJSON(http.StatusOK, client.BatchResponse{Results: results})
}

func (s *Server) batchOne(ctx context.Context, b *Backend, t client.BatchTrace, format string) client.BatchResult {
	out := client.BatchResult{ID: t.ID}
	fail := func(err error) client.BatchResult {
		code := aotsym.ErrorCode(err)
		if errors.Is(err, context.DeadlineExceeded) {
			code = client.CodeTimeout
		}
		out.Error = &client.ErrorBody{Code: code, Error: aotsym.ErrorMessage(err)}
		return out
	}
	if len(t.ID) > 256 {
		return fail(aotsym.Errorf(aotsym.EINVALID, "id is longer than 256 bytes"))
	}
	if int64(len(t.Text)) > s.cfg.MaxTraceBytes {
		return fail(aotsym.Errorf(aotsym.ETOOLARGE, "this trace is %d bytes; one trace may have at most %s: send only the lines of the trace", len(t.Text), humanBytes(s.cfg.MaxTraceBytes)))
	}
	if strings.TrimSpace(t.Text) == "" {
		return fail(aotsym.Errorf(aotsym.EINVALID, "empty text: put the stack trace in \"text\""))
	}
	var id aotsym.BuildID
	if t.BuildID != "" {
		var err error
		if id, err = aotsym.ParseBuildID(string(t.BuildID)); err != nil {
			return fail(err)
		}
	}
	if err := checkTags(t.Tags); err != nil {
		return fail(err)
	}
	opts, err := s.chooseBuild(ctx, b, id, t.Tags)
	if err != nil {
		return fail(err)
	}
	res, err := b.Symbolicator.Symbolicate(ctx, []byte(t.Text), opts)
	if err != nil {
		return fail(symbolicateErr(ctx, b, opts, err))
	}
	s.metrics.countFrames(res.Trace)
	if format != "text" {
		out.Trace = res.Trace
	}
	if format == "text" || format == "both" {
		text := string(res.Text)
		out.Text = &text
	}
	return out
}

func (s *Server) resolveFrame(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	var req client.FrameRequest
	if err := s.decodeJSON(c, &req); err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	frame := strings.TrimSpace(req.Frame)
	switch {
	case frame == "":
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, `no frame: send {"build_id":"…","frame":"at Ns.Type.Method() + 0x1c"}`))
		return
	case strings.ContainsAny(frame, "\n\r"):
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, "frame holds several lines: send one frame, or a whole trace to POST /v1/symbolicate"))
		return
	case req.BuildID == "" && len(req.Tags) == 0:
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, "name the build: give build_id, or tags (the newest build carrying them); one frame is too little to detect it"))
		return
	}
	var id aotsym.BuildID
	if req.BuildID != "" {
		var err error
		if id, err = aotsym.ParseBuildID(string(req.BuildID)); err != nil {
			s.fail(c, err)
			return
		}
	}
	if err := checkTags(req.Tags); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	opts, err := s.chooseBuild(ctx, b, id, req.Tags)
	if err != nil {
		s.fail(c, err)
		return
	}
	fr, err := b.Symbolicator.ResolveFrame(ctx, frame, opts)
	if err != nil {
		s.fail(c, symbolicateErr(ctx, b, opts, err))
		return
	}
	s.metrics.frames.WithLabelValues(string(fr.Status)).Inc()
	resp := client.FrameResponse{BuildID: opts.BuildID, Frame: fr, Locations: locationsOf(fr)}
	if fr.BuildID != "" {
		resp.BuildID = fr.BuildID
	}
	c.PureJSON(http.StatusOK, resp)
}

// locationsOf lists the places a frame result stands for.
func locationsOf(fr aotsym.FrameResult) []aotsym.Location {
	switch {
	case len(fr.Candidates) > 0:
		return fr.Candidates
	case fr.Function != "":
		return []aotsym.Location{{Function: fr.Function, Symbol: fr.Symbol, File: fr.File, Line: fr.Line, Column: fr.Column, Address: fr.Address, Inlined: fr.Inlined}}
	}
	return []aotsym.Location{}
}
