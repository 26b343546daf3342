package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/store"
	"github.com/gin-gonic/gin"
)

// Limits of the build routes.
const (
	// MaxTags is the most tags one request may name.
	MaxTags = store.MaxTags
	// MaxListLimit bounds GET /v1/builds?limit=; DefaultListLimit applies
	// without one.
	MaxListLimit     = 10000
	DefaultListLimit = 1000
)

// putOptions reads what an upload request says of its file: its tags
// (?tag=) and name (?name=), with the server's size limit.
func (s *Server) putOptions(c *gin.Context) (store.PutOptions, error) {
	tags, err := tagsFromQuery(c, "tag")
	if err != nil {
		return store.PutOptions{}, err
	}
	name, err := fileName(c.Query("name"))
	if err != nil {
		return store.PutOptions{}, err
	}
	return store.PutOptions{Name: name, Tags: tags, MaxSize: s.cfg.MaxUploadBytes}, nil
}

func (s *Server) upload(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	opts, err := s.putOptions(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := s.body(c)
	if err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	defer body.Close()
	res, err := b.Store.Put(c.Request.Context(), body, opts)
	if err == nil && bodyStateOf(c).exceeded.Load() {
		err = errTooLarge // a store that stopped reading early must not hide it
	}
	if err != nil {
		s.metrics.uploads.WithLabelValues("rejected").Inc()
		s.fail(c, err)
		return
	}
	s.answerUpload(c, b, res, opts.Name, "body")
}

// answerUpload answers a stored upload: 201 when the file was new (a new
// build, or a new file of a known build), 200 when it was already there.
func (s *Server) answerUpload(c *gin.Context, b *Backend, res store.PutResult, name, via string) {
	status, result := http.StatusOK, "exists"
	switch {
	case res.Created:
		status, result = http.StatusCreated, "created"
	case res.Added:
		status, result = http.StatusCreated, "added"
	}
	s.metrics.uploads.WithLabelValues(result).Inc()
	if status == http.StatusCreated {
		b.forget(res.Build.ID)
		if f, ok := res.Build.File(res.Kind); ok {
			s.metrics.upBytes.Add(float64(f.Size))
		}
		s.metrics.refreshBuildCount(c.Request.Context())
	}
	s.log.Info("upload", "build_id", string(res.Build.ID), "kind", string(res.Kind), "result", result, "name", name, "via", via)
	c.PureJSON(status, client.UploadResult{BuildID: res.Build.ID, Kind: res.Kind, Created: res.Created, Added: res.Added, Build: res.Build})
}

func (s *Server) listBuilds(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	tags, err := tagsFromQuery(c, "tag")
	if err != nil {
		s.fail(c, err)
		return
	}
	limit := DefaultListLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			s.fail(c, aotsym.Errorf(aotsym.EINVALID, "limit=%q is not a number from 1 to %d: give how many builds to list, or leave it out for the newest %d", aotsym.Clip(v, 20), MaxListLimit, DefaultListLimit))
			return
		}
		limit = n
	}
	list, err := b.Store.List(c.Request.Context(), store.ListOptions{Tags: tags, Limit: limit})
	if err != nil {
		s.fail(c, err)
		return
	}
	if list == nil {
		list = []aotsym.Build{}
	}
	c.PureJSON(http.StatusOK, client.BuildList{Builds: list})
}

// buildID reads the :id parameter. A build ID in a path is taken as sent:
// ParseBuildID trims what a person pastes, but around an ID in a URL an
// encoded space or line break is no typo, so it is refused.
func buildID(c *gin.Context) (aotsym.BuildID, error) {
	p := c.Param("id")
	if strings.TrimSpace(p) != p {
		return "", aotsym.Errorf(aotsym.EINVALID, "build ID %q has spaces or line breaks around it: give only its hex digits", aotsym.Clip(p, 40))
	}
	return aotsym.ParseBuildID(p)
}

func (s *Server) getBuild(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	id, err := buildID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	build, err := b.Store.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	c.PureJSON(http.StatusOK, build)
}

func (s *Server) deleteBuild(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	id, err := buildID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := b.Store.Delete(c.Request.Context(), id); err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	b.forget(id)
	s.metrics.refreshBuildCount(c.Request.Context())
	s.log.Info("delete", "build_id", string(id))
	c.PureJSON(http.StatusOK, client.DeleteResult{BuildID: id, Deleted: true})
}

func (s *Server) patchTags(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	id, err := buildID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req client.TagsPatch
	if err := s.decodeJSON(c, &req); err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	if len(req.Set) == 0 && len(req.Remove) == 0 {
		s.fail(c, aotsym.Errorf(aotsym.EINVALID, `nothing to change: send {"set":{"key":"value"}} and/or {"remove":["key"]}`))
		return
	}
	if err := checkTags(req.Set); err != nil {
		s.fail(c, err)
		return
	}
	for _, k := range req.Remove {
		if err := checkTagKey(k); err != nil {
			s.fail(c, err)
			return
		}
	}
	build, err := b.Store.SetTags(c.Request.Context(), id, req.Set, req.Remove)
	if err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	c.PureJSON(http.StatusOK, build)
}

func (s *Server) putTags(c *gin.Context) {
	b := s.backendOf(c)
	if b == nil {
		return
	}
	id, err := buildID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var req client.TagsPut
	if err := s.decodeJSON(c, &req); err != nil {
		if !errors.Is(err, errAnswered) {
			s.fail(c, err)
		}
		return
	}
	if err := checkTags(req.Tags); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	old, err := b.Store.Get(ctx, id)
	if err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	var remove []string
	for k := range old.Tags {
		if _, keep := req.Tags[k]; !keep {
			remove = append(remove, k)
		}
	}
	build, err := b.Store.SetTags(ctx, id, req.Tags, remove)
	if err != nil {
		s.fail(c, notFoundHint(err, id))
		return
	}
	c.PureJSON(http.StatusOK, build)
}

// notFoundHint gives a missing build's error a sentence that says what to do.
func notFoundHint(err error, id aotsym.BuildID) error {
	if aotsym.ErrorCode(err) == aotsym.ENOTFOUND {
		return &aotsym.Error{Code: aotsym.ENOTFOUND, Err: err,
			Message: fmt.Sprintf("no build %s on this server: upload its executable or .dbg first (aotsym upload FILE), or list the builds with GET /v1/builds", id)}
	}
	return err
}

// decodeJSON reads a JSON request body into v, rejecting unknown fields and
// trailing data so that a typo is an error and not silently ignored.
func (s *Server) decodeJSON(c *gin.Context, v any) error {
	body, err := s.body(c)
	if err != nil {
		return err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if st := bodyStateOf(c); st != nil && (st.exceeded.Load() || st.timedOut.Load() || st.decodeErr() != nil) {
			return err // classify says what happened to the body
		}
		if err == io.EOF {
			return aotsym.Errorf(aotsym.EINVALID, "empty body: send a JSON document (see /openapi.json for its fields)")
		}
		return aotsym.Errorf(aotsym.EINVALID, "the body is not the JSON this route takes: %s (see /openapi.json)", jsonProblem(err))
	}
	if dec.More() {
		return aotsym.Errorf(aotsym.EINVALID, "the body has data after its JSON document: send exactly one document")
	}
	return nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type, te.Value)
	}
	return aotsym.Clip(err.Error(), 200)
}

// tagsFromQuery reads repeated key=value query parameters.
func tagsFromQuery(c *gin.Context, param string) (map[string]string, error) {
	list := c.QueryArray(param)
	if len(list) > MaxTags {
		return nil, aotsym.Errorf(aotsym.EINVALID, "%d tags given; at most %d are allowed", len(list), MaxTags)
	}
	tags, err := client.ParseTags(list)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "%s: give tags as ?%s=key=value (for example ?%s=service=orders)", aotsym.ErrorMessage(err), param, param)
	}
	return tags, checkTags(tags)
}

// checkTags validates tags by the store's rules (store.ValidateTag), so that
// a bad tag is refused before a body is read.
func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return aotsym.Errorf(aotsym.EINVALID, "%d tags given; a build carries at most %d", len(tags), MaxTags)
	}
	for k, v := range tags {
		if err := store.ValidateTag(k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkTagKey validates a tag key named for removal.
func checkTagKey(k string) error { return store.ValidateTag(k, "x") }

// fileName checks the name an upload gives its file: a base name, shown to
// people, never used as a path.
func fileName(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 255 || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || strings.ContainsAny(s, `/\`) || s == "." || s == ".." {
		return "", aotsym.Errorf(aotsym.EINVALID, "name=%q is not a file name: give the file's base name (app.dbg), at most 255 bytes", aotsym.Clip(s, 80))
	}
	return path.Clean(s), nil
}
