package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/gin-gonic/gin"
)

// operation documents one route in the OpenAPI document.
type operation struct {
	id, summary, description string
	group                    string
	query                    []queryParam
	// body is the request body: a Go value whose type gives the JSON schema,
	// or bodyRaw for a byte stream of the given media types.
	body     any
	bodyRaw  []string
	bodyDesc string
	// ok is the success answer: status, media type and a Go value whose
	// type gives the schema (nil: a byte stream or text).
	ok []answer
	// errors lists the error statuses the route can answer with besides the
	// ones every route has.
	errors []int
}

type queryParam struct {
	name, description string
	array             bool
}

type answer struct {
	status      int
	media       string
	value       any
	description string
}

var tagQuery = queryParam{name: "tag", array: true, description: "key=value; repeat for several tags. Selects the newest build carrying all of them."}

var (
	docPage = operation{id: "page", group: "page", summary: "The web page for pasting a trace",
		ok: []answer{{200, "text/html", nil, "the page"}}}
	docOpenAPI = operation{id: "openapi", group: "meta", summary: "This OpenAPI document",
		ok: []answer{{200, "application/json", nil, "the document"}}}
	docHealthz = operation{id: "healthz", group: "meta", summary: "Liveness: the process answers",
		ok: []answer{{200, "application/json", client.Health{}, "alive"}}}
	docReadyz = operation{id: "readyz", group: "meta", summary: "Readiness: the store is open and the server is not shutting down",
		ok: []answer{{200, "application/json", client.Health{}, "ready"}}, errors: []int{503}}
	docMetrics = operation{id: "metrics", group: "meta", summary: "Prometheus metrics",
		description: "Requests by route template and status, latency, frames by status, uploads, build count, index cache.",
		ok:          []answer{{200, "text/plain", nil, "Prometheus text exposition format"}}}

	docUpload = operation{id: "uploadBuild", group: "builds", summary: "Upload one ELF file: an executable or its debug file",
		description: "The body is the raw file; Content-Encoding gzip or zstd is accepted and the size limit applies after decompression too. " +
			"The build ID is read from the file. 201 when the file was stored (a new build, or a new file of a known build), 200 when the server already had it.",
		query: []queryParam{{name: "name", description: "the file's name, for people (app.dbg)"},
			{name: "tag", array: true, description: "key=value tag to add to the build; repeat for several"}},
		bodyRaw: []string{"application/octet-stream"}, bodyDesc: "the ELF file",
		ok:     []answer{{201, "application/json", client.UploadResult{}, "stored"}, {200, "application/json", client.UploadResult{}, "already stored"}},
		errors: []int{400, 408, 413, 415}}
	docListBuilds = operation{id: "listBuilds", group: "builds", summary: "List builds, newest first",
		query: []queryParam{{name: "tag", array: true, description: "key=value; only builds carrying all of them"},
			{name: "limit", description: "at most this many (1 to 10000, default 1000)"}},
		ok: []answer{{200, "application/json", client.BuildList{}, "the builds"}}, errors: []int{400}}
	docGetBuild = operation{id: "getBuild", group: "builds", summary: "One build's metadata",
		ok: []answer{{200, "application/json", aotsym.Build{}, "the build"}}, errors: []int{400, 404}}
	docDeleteBuild = operation{id: "deleteBuild", group: "builds", summary: "Delete a build and its files (admin scope)",
		ok: []answer{{200, "application/json", client.DeleteResult{}, "deleted"}}, errors: []int{400, 404}}
	docPatchTags = operation{id: "patchTags", group: "builds", summary: "Set and remove some tags of a build",
		body: client.TagsPatch{}, ok: []answer{{200, "application/json", aotsym.Build{}, "the build with its new tags"}}, errors: []int{400, 404, 413}}
	docPutTags = operation{id: "putTags", group: "builds", summary: "Replace all tags of a build",
		body: client.TagsPut{}, ok: []answer{{200, "application/json", aotsym.Build{}, "the build with its new tags"}}, errors: []int{400, 404, 413}}

	docSymbolicate = operation{id: "symbolicate", group: "symbolicate", summary: "Symbolicate a trace",
		description: "The body is any text holding a trace: plain Exception.ToString(), CloudWatch log lines, a Lambda error document, JSON log events. " +
			"The build is build_id, else the newest build carrying the tags, else detected from the frames. " +
			"Accept: application/json (or ?format=json) gives the trace as JSON; otherwise the answer is the text with every resolved frame written as the JIT writes it, and the X-Aotsym-Build-Id header names the build.",
		query: []queryParam{{name: "build_id", description: "the build to resolve against (hex GNU build ID)"}, tagQuery,
			{name: "format", description: "json or text; overrides Accept"}},
		bodyRaw: []string{"text/plain", "application/json"}, bodyDesc: "the trace, or log lines or a JSON document holding it (gzip or zstd Content-Encoding accepted)",
		ok: []answer{{200, "application/json", aotsym.Trace{}, "the symbolicated trace (Accept: application/json)"},
			{200, "text/plain", nil, "the trace as the JIT would print it"}},
		errors: []int{400, 404, 408, 413, 415}}
	docBatch = operation{id: "symbolicateBatch", group: "symbolicate", summary: "Symbolicate many traces in one request",
		description: "One result per trace, in order; a trace that fails has an error and the others are still answered. The number of traces and the body size are bounded.",
		body:        client.BatchRequest{}, ok: []answer{{200, "application/json", client.BatchResponse{}, "one result per trace"}},
		errors: []int{400, 413}}
	docResolveFrame = operation{id: "resolveFrame", group: "symbolicate", summary: "Resolve one frame (for IDE plugins)",
		description: "The build is given by build_id or by tags (the newest build carrying all of them).",
		body:        client.FrameRequest{}, ok: []answer{{200, "application/json", client.FrameResponse{}, "the frame's answer and its locations"}},
		errors: []int{400, 404, 413}}

	docDebuginfo = operation{id: "debuginfo", group: "debuginfod", summary: "debuginfod: the debug file of a build",
		description: "The file byte for byte as uploaded. Range requests are supported. For gdb, lldb and llvm tools set DEBUGINFOD_URLS to this server.",
		ok:          []answer{{200, "application/octet-stream", nil, "the file"}, {206, "application/octet-stream", nil, "the requested range"}},
		errors:      []int{400, 404}}
	docExecutable = operation{id: "executable", group: "debuginfod", summary: "debuginfod: the executable of a build",
		ok:     []answer{{200, "application/octet-stream", nil, "the file"}, {206, "application/octet-stream", nil, "the requested range"}},
		errors: []int{400, 404}}
	docSource = operation{id: "source", group: "debuginfod", summary: "debuginfod: source files (not stored: always 404)",
		errors: []int{404}}
	docSection = operation{id: "section", group: "debuginfod", summary: "debuginfod: one section (not served: always 404; clients then fetch /debuginfo)",
		errors: []int{404}}
)

func (s *Server) openAPI(c *gin.Context) {
	s.openAPIOnce.Do(func() {
		b, err := json.MarshalIndent(s.OpenAPI(), "", "  ")
		if err != nil {
			panic(err) // the document is built from static Go values
		}
		s.openAPIDoc = b
	})
	c.Data(http.StatusOK, "application/json", s.openAPIDoc)
}

// OpenAPI returns the OpenAPI 3.1 document of every route in the table.
func (s *Server) OpenAPI() map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	g.defs["Error"] = g.schema(reflect.TypeOf(client.ErrorBody{}), true)
	paths := map[string]any{}
	for _, r := range s.routes {
		p := openAPIPath(r.path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(r.method)] = s.operationDoc(r, g)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "aotsym",
			"version":     "1",
			"description": "Symbolication of .NET Native AOT and native stack traces, a store of debug files keyed by GNU build ID, and debuginfod.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "A token from the server's AOTSYM_TOKENS. Scopes: read (symbolicate, list, debuginfod, metrics), upload (also uploads and tags), admin (also delete). With no tokens configured the server is open and listens on loopback only."},
			},
		},
	}
}

func (s *Server) operationDoc(r route, g *schemaGen) map[string]any {
	d := r.doc
	op := map[string]any{
		"operationId": d.id + methodSuffix(r.method),
		"summary":     d.summary,
		"tags":        []string{d.group},
	}
	if d.description != "" {
		op["description"] = d.description
	}
	if r.scope != ScopeNone {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		op["x-aotsym-scope"] = r.scope.String()
	} else {
		op["security"] = []any{}
	}
	var params []any
	for _, seg := range strings.Split(r.path, "/") {
		if len(seg) > 1 && (seg[0] == ':' || seg[0] == '*') {
			name := seg[1:]
			schema := map[string]any{"type": "string"}
			desc := ""
			if name == "id" {
				schema["pattern"] = "^[0-9a-fA-F]{8,128}$"
				desc = "GNU build ID in hex, as `readelf -n` prints it"
			}
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": schema, "description": desc})
		}
	}
	for _, q := range d.query {
		schema := map[string]any{"type": "string"}
		if q.array {
			schema = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		}
		params = append(params, map[string]any{"name": q.name, "in": "query", "required": false, "schema": schema, "description": q.description})
	}
	if params != nil {
		op["parameters"] = params
	}
	if d.body != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(d.body), false)}}}
	} else if len(d.bodyRaw) > 0 {
		content := map[string]any{}
		for _, m := range d.bodyRaw {
			content[m] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
		}
		op["requestBody"] = map[string]any{"required": true, "description": d.bodyDesc, "content": content}
	}
	responses := map[string]any{}
	for _, a := range d.ok {
		key := itoa(a.status)
		resp, _ := responses[key].(map[string]any)
		if resp == nil {
			resp = map[string]any{"description": a.description, "content": map[string]any{}}
			responses[key] = resp
		}
		var schema map[string]any
		if a.value != nil {
			schema = g.schema(reflect.TypeOf(a.value), false)
		} else if strings.HasPrefix(a.media, "text/") || a.media == "application/json" {
			schema = map[string]any{"type": "string"}
			if a.media == "application/json" {
				schema = map[string]any{"type": "object"}
			}
		} else {
			schema = map[string]any{"type": "string", "format": "binary"}
		}
		resp["content"].(map[string]any)[a.media] = map[string]any{"schema": schema}
	}
	errs := append([]int{}, d.errors...)
	if r.scope != ScopeNone {
		errs = append(errs, 401, 403)
	}
	if r.path != "/" && r.path != "/openapi.json" && r.path != "/healthz" && r.path != "/metrics" {
		errs = append(errs, 503)
	}
	sort.Ints(errs)
	for _, st := range errs {
		key := itoa(st)
		if _, dup := responses[key]; dup {
			continue
		}
		responses[key] = map[string]any{"description": http.StatusText(st),
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	responses["default"] = map[string]any{"description": "any other failure",
		"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	op["responses"] = responses
	return op
}

func methodSuffix(m string) string {
	if m == http.MethodHead {
		return "Head"
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// schemaGen writes JSON Schemas of Go types from their json tags, so the
// document describes exactly what the server encodes.
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})

func (g *schemaGen) schema(t reflect.Type, inline bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(aotsym.Status("")):
		enum := make([]string, len(aotsym.Statuses))
		for i, s := range aotsym.Statuses {
			enum[i] = string(s)
		}
		return map[string]any{"type": "string", "enum": enum}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem(), false)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), false)}
	case reflect.Struct:
		name := t.Name()
		if !inline {
			if _, ok := g.defs[name]; !ok {
				g.defs[name] = nil // mark before recursing
				g.defs[name] = g.schema(t, true)
			}
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			jname, opts, _ := strings.Cut(tag, ",")
			if jname == "" {
				jname = f.Name
			}
			props[jname] = g.schema(f.Type, false)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, jname)
			}
		}
		out := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
