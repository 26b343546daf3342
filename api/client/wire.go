package client

import "github.com/aotsym/aotsym"

// The JSON documents of the HTTP API. The server (package api) writes and reads
// exactly these types, so a client built on this package and the server cannot
// drift apart. Their field names are public names.

// ErrorBody is the answer to every failed request (4xx and 5xx).
type ErrorBody struct {
	// Error is a sentence saying what was wrong and what to do about it.
	Error string `json:"error"`
	// Code is the kind of failure: invalid, not_found, too_large, conflict,
	// internal, unauthorized, forbidden, timeout, unavailable, unsupported,
	// method_not_allowed.
	Code string `json:"code"`
}

// Error codes the HTTP layer adds to aotsym's own (aotsym.EINVALID, …).
const (
	CodeUnauthorized     = "unauthorized"       // 401: no token, or a token the server does not know
	CodeForbidden        = "forbidden"          // 403: a token whose scope does not allow the route
	CodeTimeout          = "timeout"            // 408 (body too slow) or 503 (work too slow)
	CodeUnavailable      = "unavailable"        // 503: starting, shutting down, or the store failed
	CodeUnsupported      = "unsupported"        // 415: a Content-Encoding the server does not read
	CodeMethodNotAllowed = "method_not_allowed" // 405
)

// UploadResult answers POST /v1/builds: 201 when the file was stored (a new
// build, or a new file of a known build), 200 when the server already had it.
type UploadResult struct {
	BuildID aotsym.BuildID  `json:"build_id"`
	Kind    aotsym.FileKind `json:"kind"`
	// Created: the upload created the build. Added: it added this file to a
	// build that existed. Both false: the file was already stored.
	Created bool         `json:"created"`
	Added   bool         `json:"added"`
	Build   aotsym.Build `json:"build"`
}

// BuildList answers GET /v1/builds.
type BuildList struct {
	Builds []aotsym.Build `json:"builds"`
}

// DeleteResult answers DELETE /v1/builds/{id}.
type DeleteResult struct {
	BuildID aotsym.BuildID `json:"build_id"`
	Deleted bool           `json:"deleted"`
}

// TagsPatch is the body of PATCH /v1/builds/{id}/tags: tags to set (added or
// overwritten) and tag keys to remove. Other tags are kept.
type TagsPatch struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// TagsPut is the body of PUT /v1/builds/{id}/tags: the build's new tags, all of
// them (keys not listed are removed).
type TagsPut struct {
	Tags map[string]string `json:"tags"`
}

// BatchRequest is the body of POST /v1/symbolicate/batch.
type BatchRequest struct {
	Traces []BatchTrace `json:"traces"`
	// Format chooses what each answer carries: "json" (the default: the
	// symbolicated trace as JSON), "text" (the trace as the JIT would print
	// it), or "both".
	Format string `json:"format,omitempty"`
}

// BatchTrace is one trace of a batch. BuildID or Tags name its build; with
// neither, the build is detected from the frames.
type BatchTrace struct {
	ID      string            `json:"id"`
	Text    string            `json:"text"`
	BuildID aotsym.BuildID    `json:"build_id,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// BatchResponse answers a batch: one result per trace, in the request's order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is the answer for one trace of a batch: Trace and/or Text, or
// Error when this trace failed (the others are still answered).
type BatchResult struct {
	ID    string        `json:"id"`
	Trace *aotsym.Trace `json:"trace,omitempty"`
	Text  *string       `json:"text,omitempty"`
	Error *ErrorBody    `json:"error,omitempty"`
}

// FrameRequest is the body of POST /v1/frames/resolve: one frame, and the build
// it belongs to, by ID or by tags (the newest build carrying all of them).
type FrameRequest struct {
	BuildID aotsym.BuildID    `json:"build_id,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Frame   string            `json:"frame"`
}

// FrameResponse answers POST /v1/frames/resolve.
type FrameResponse struct {
	BuildID aotsym.BuildID `json:"build_id"`
	// Frame is the full answer for the frame, as in a symbolicated trace.
	Frame aotsym.FrameResult `json:"frame"`
	// Locations lists the places the frame may stand for: one for a resolved
	// frame, every candidate for an ambiguous one, none when not found.
	Locations []aotsym.Location `json:"locations"`
}

// Health answers GET /healthz and GET /readyz.
type Health struct {
	Status string `json:"status"`
}
