// Package client calls an aotsym server over HTTP: upload builds, list, tag
// and delete them, symbolicate traces one at a time or in batches, and resolve
// single frames. It imports no HTTP framework, so small programs (the CLI, the
// CloudWatch Logs Lambda) can use it without pulling in the server.
//
// Every failure is an *aotsym.Error whose Code is the server's (invalid,
// not_found, too_large, unauthorized, forbidden, …) and whose Message is the
// server's sentence, so callers can show it as it is.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aotsym/aotsym"
)

// Environment variables the client reads in FromEnv.
const (
	EnvServer = "AOTSYM_SERVER"
	EnvToken  = "AOTSYM_TOKEN"
)

// maxAnswer bounds how much of an answer the client reads into memory.
const maxAnswer = 256 << 20

// Client talks to one aotsym server. Its zero value is not usable; use New.
type Client struct {
	base  *url.URL
	token string
	// HTTP is the client requests go through. New sets one without an overall
	// timeout (uploads can take minutes); use contexts to bound calls.
	HTTP *http.Client
	// UserAgent is sent with every request.
	UserAgent string
}

// New returns a client for the server at baseURL ("http://127.0.0.1:8080"),
// sending token as a bearer token when it is not empty.
func New(baseURL, token string) (*Client, error) {
	s := strings.TrimSpace(baseURL)
	if s == "" {
		return nil, aotsym.Errorf(aotsym.EINVALID, "no server given: pass --server URL or set %s (for example http://127.0.0.1:8080)", EnvServer)
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, aotsym.Errorf(aotsym.EINVALID, "server %q is not an http:// or https:// URL: give it as http://HOST:PORT", aotsym.Clip(baseURL, 80))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &Client{base: u, token: strings.TrimSpace(token), HTTP: &http.Client{}, UserAgent: "aotsym-client"}, nil
}

// FromEnv returns a client for $AOTSYM_SERVER with $AOTSYM_TOKEN, or for server
// and token when they are not empty.
func FromEnv(server, token string) (*Client, error) {
	if server == "" {
		server = os.Getenv(EnvServer)
	}
	if token == "" {
		token = os.Getenv(EnvToken)
	}
	return New(server, token)
}

// BaseURL returns the server's URL as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), body)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "cannot build the request %s %s: %v", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	return req, nil
}

// do sends req and returns the response when its status is 2xx; otherwise it
// reads the server's error document into an *aotsym.Error.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, &aotsym.Error{Code: CodeTimeout, Message: fmt.Sprintf("%s %s: gave up waiting for the server (%v)", req.Method, req.URL.Path, ctxErr), Err: err}
		}
		return nil, &aotsym.Error{Code: CodeUnavailable, Message: fmt.Sprintf("cannot reach the aotsym server at %s: %v; check --server or %s, and that `aotsym serve` runs there", c.base, unwrapURLError(err), EnvServer), Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, errorFromResponse(resp)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// StatusError carries the HTTP status of a failed request; it is the Err of
// the *aotsym.Error the client returns.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Status) }

// Status returns the HTTP status of a failed request's error, or 0.
func Status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func errorFromResponse(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		if eb.Code == "" {
			eb.Code = codeForStatus(resp.StatusCode)
		}
		return &aotsym.Error{Code: eb.Code, Message: eb.Error, Err: &StatusError{resp.StatusCode}}
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	return &aotsym.Error{Code: codeForStatus(resp.StatusCode),
		Message: fmt.Sprintf("%s %s: HTTP %d from %s: %s (is this an aotsym server?)", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, resp.Request.URL.Host, aotsym.Clip(text, 200)),
		Err:     &StatusError{resp.StatusCode}}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return aotsym.EINVALID
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return aotsym.ENOTFOUND
	case http.StatusConflict:
		return aotsym.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return aotsym.ETOOLARGE
	case http.StatusRequestTimeout:
		return CodeTimeout
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return CodeUnavailable
	}
	return aotsym.EINTERNAL
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return c.doJSON(req, out)
}

func (c *Client) sendJSON(ctx context.Context, method, path string, q url.Values, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return aotsym.Errorf(aotsym.EINVALID, "cannot encode the request: %v", err)
	}
	req, err := c.newRequest(ctx, method, path, q, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return c.doJSON(req, out)
}

func (c *Client) doJSON(req *http.Request, out any) error {
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

func decode(resp *http.Response, out any) error {
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer))
	if err := dec.Decode(out); err != nil {
		return aotsym.Errorf(aotsym.EINTERNAL, "%s %s: the server's answer is not the JSON expected (%v); are client and server the same version?", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// Health asks GET /readyz whether the server is ready to serve.
func (c *Client) Health(ctx context.Context) error {
	var h Health
	return c.getJSON(ctx, "/readyz", nil, &h)
}

// UploadOptions go with one uploaded file.
type UploadOptions struct {
	// Name is the file's name, stored for people ("app.dbg").
	Name string
	// Tags are added to the build.
	Tags map[string]string
	// Encoding compresses the body on the way: "gzip", "zstd" or "" (none).
	// The body given to Upload is then the already compressed stream; see
	// Compress.
	Encoding string
	// Size is the body's length when known (uncompressed bodies only), or 0.
	Size int64
}

// Upload sends one ELF file (executable or debug file) to POST /v1/builds.
func (c *Client) Upload(ctx context.Context, body io.Reader, opts UploadOptions) (*UploadResult, error) {
	q := url.Values{}
	if opts.Name != "" {
		q.Set("name", opts.Name)
	}
	for _, t := range FormatTags(opts.Tags) {
		q.Add("tag", t)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/builds", q, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	if opts.Encoding != "" {
		req.Header.Set("Content-Encoding", opts.Encoding)
	} else if opts.Size > 0 {
		req.ContentLength = opts.Size
	}
	var res UploadResult
	if err := c.doJSON(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Build returns one build's metadata (GET /v1/builds/{id}); a missing build is
// an error with code not_found.
func (c *Client) Build(ctx context.Context, id aotsym.BuildID) (aotsym.Build, error) {
	var b aotsym.Build
	err := c.getJSON(ctx, "/v1/builds/"+url.PathEscape(string(id)), nil, &b)
	return b, err
}

// Builds lists builds, newest first, carrying all of tags (none: every build).
func (c *Client) Builds(ctx context.Context, tags map[string]string, limit int) ([]aotsym.Build, error) {
	q := url.Values{}
	for _, t := range FormatTags(tags) {
		q.Add("tag", t)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l BuildList
	if err := c.getJSON(ctx, "/v1/builds", q, &l); err != nil {
		return nil, err
	}
	return l.Builds, nil
}

// SetTags sets and removes tags of a build (PATCH /v1/builds/{id}/tags).
func (c *Client) SetTags(ctx context.Context, id aotsym.BuildID, set map[string]string, remove []string) (aotsym.Build, error) {
	var b aotsym.Build
	err := c.sendJSON(ctx, http.MethodPatch, "/v1/builds/"+url.PathEscape(string(id))+"/tags", nil, TagsPatch{Set: set, Remove: remove}, &b)
	return b, err
}

// ReplaceTags replaces all tags of a build (PUT /v1/builds/{id}/tags).
func (c *Client) ReplaceTags(ctx context.Context, id aotsym.BuildID, tags map[string]string) (aotsym.Build, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	var b aotsym.Build
	err := c.sendJSON(ctx, http.MethodPut, "/v1/builds/"+url.PathEscape(string(id))+"/tags", nil, TagsPut{Tags: tags}, &b)
	return b, err
}

// Delete deletes a build and its files (DELETE /v1/builds/{id}).
func (c *Client) Delete(ctx context.Context, id aotsym.BuildID) error {
	req, err := c.newRequest(ctx, http.MethodDelete, "/v1/builds/"+url.PathEscape(string(id)), nil, nil)
	if err != nil {
		return err
	}
	var d DeleteResult
	return c.doJSON(req, &d)
}

// SymbolicateOptions choose the build of a trace: by ID, by tags (the newest
// build carrying all of them), or neither (detected from the frames).
type SymbolicateOptions struct {
	BuildID aotsym.BuildID
	Tags    map[string]string
}

func (o SymbolicateOptions) query() url.Values {
	q := url.Values{}
	if o.BuildID != "" {
		q.Set("build_id", string(o.BuildID))
	}
	for _, t := range FormatTags(o.Tags) {
		q.Add("tag", t)
	}
	return q
}

// Symbolicate sends a trace to POST /v1/symbolicate and returns the JSON answer.
func (c *Client) Symbolicate(ctx context.Context, input io.Reader, opts SymbolicateOptions) (*aotsym.Trace, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/symbolicate", opts.query(), input)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	var t aotsym.Trace
	if err := c.doJSON(req, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// SymbolicateText sends a trace to POST /v1/symbolicate and returns the trace as
// text, every resolved frame written as the JIT writes it, and the build used.
func (c *Client) SymbolicateText(ctx context.Context, input io.Reader, opts SymbolicateOptions) ([]byte, aotsym.BuildID, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/symbolicate", opts.query(), input)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Accept", "text/plain")
	resp, err := c.do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, "", &aotsym.Error{Code: CodeUnavailable, Message: fmt.Sprintf("reading the answer of %s: %v", c.base, err), Err: err}
	}
	return b, aotsym.BuildID(resp.Header.Get(HeaderBuildID)), nil
}

// HeaderBuildID names the build a text answer of /v1/symbolicate was resolved
// against (empty when none could be chosen).
const HeaderBuildID = "X-Aotsym-Build-Id"

// SymbolicateBatch sends many traces in one request (POST /v1/symbolicate/batch).
func (c *Client) SymbolicateBatch(ctx context.Context, req BatchRequest) (*BatchResponse, error) {
	var res BatchResponse
	if err := c.sendJSON(ctx, http.MethodPost, "/v1/symbolicate/batch", nil, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ResolveFrame resolves one frame (POST /v1/frames/resolve).
func (c *Client) ResolveFrame(ctx context.Context, req FrameRequest) (*FrameResponse, error) {
	var res FrameResponse
	if err := c.sendJSON(ctx, http.MethodPost, "/v1/frames/resolve", nil, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Download fetches a build's file through the debuginfod route
// (GET /buildid/{id}/debuginfo or /executable) into w.
func (c *Client) Download(ctx context.Context, id aotsym.BuildID, kind aotsym.FileKind, w io.Writer) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/buildid/"+url.PathEscape(string(id))+"/"+string(kind), nil, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, &aotsym.Error{Code: CodeUnavailable, Message: fmt.Sprintf("downloading %s of build %s: %v", kind, id.Short(), err), Err: err}
	}
	return n, nil
}

// FormatTags returns tags as sorted "key=value" strings.
func FormatTags(tags map[string]string) []string {
	out := make([]string, 0, len(tags))
	for k, v := range tags {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ParseTags reads "key=value" strings into a map. A string without "=" or with
// an empty key is an EINVALID error.
func ParseTags(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(list))
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, aotsym.Errorf(aotsym.EINVALID, "tag %q is not key=value: write tags as service=orders", aotsym.Clip(s, 60))
		}
		out[k] = v
	}
	return out, nil
}

// DefaultTimeout is a reasonable bound for one non-upload call.
const DefaultTimeout = 2 * time.Minute
