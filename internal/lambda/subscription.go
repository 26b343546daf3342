package lambda

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/aws/aws-lambda-go/events"
)

// Limits of one invocation. CloudWatch Logs sends at most 1 MB (compressed)
// per subscription payload; a payload that inflates past MaxPayloadBytes is
// refused rather than read into memory.
const (
	MaxPayloadBytes = 64 << 20
	// seenKeys bounds the keys a warm container remembers (a few MB).
	seenKeys = 20000
	// candidateTTL is how long the newest build of a function is remembered.
	candidateTTL = time.Minute
	// maxErrorMessages bounds the error sentences kept in a Summary.
	maxErrorMessages = 10
)

// Handler handles CloudWatch Logs subscription events. Its zero value is not
// usable: set Backend and Out. It is safe for concurrent use, though Lambda
// gives a container one invocation at a time.
type Handler struct {
	Backend Backend
	// Out receives each readable trace (the function's standard output, so
	// its own log group).
	Out io.Writer
	// Dest, when set, also receives each trace as one log event, in the
	// stream DestStream names.
	Dest *cloudwatch.Writer
	// Log receives one line per invocation and per failure.
	Log *slog.Logger
	// Limits bound each trace (trace.DefaultLimits when zero).
	Limits trace.Limits
	// Ignore lists log groups whose events are never symbolicated: the
	// function's own log group and the destination group, whose traces
	// would otherwise come back to it, forever, if it were subscribed to
	// them.
	Ignore []string

	once    sync.Once
	seen    *seenSet
	lastIDs *streamIDs
	mu      sync.Mutex
	newest  map[string]candidate // function -> newest build tagged for it
	outMu   sync.Mutex
}

type candidate struct {
	id aotsym.BuildID
	at time.Time
}

// Summary is what one invocation did; the handler returns it as JSON.
type Summary struct {
	MessageType string `json:"message_type"`
	LogGroup    string `json:"log_group,omitempty"`
	LogStream   string `json:"log_stream,omitempty"`
	// Events counts the log events of the payload.
	Events int `json:"events"`
	// Traces counts the traces found (events holding frames to resolve);
	// Written those written out; Duplicates those skipped because this
	// container already wrote them (a retried invocation, or the same trace
	// logged twice by one request).
	Traces     int `json:"traces"`
	Written    int `json:"written"`
	Duplicates int `json:"duplicates"`
	// Frames counts the frames of the written traces by status.
	Frames map[aotsym.Status]int `json:"frames"`
	// Builds counts how the builds were chosen: "tags lambda=orders-api:42",
	// "newest lambda=orders-api:*", "named", "detected", "none".
	Builds map[string]int `json:"builds,omitempty"`
	// DestEvents counts the events written to AOTSYM_DEST_LOG_GROUP.
	DestEvents int `json:"dest_events,omitempty"`
	// Errors counts traces that failed, and payloads that could not be read;
	// ErrorMessages holds the first few sentences.
	Errors        int      `json:"errors"`
	ErrorMessages []string `json:"error_messages,omitempty"`
	// Retry is true when a failure may go away on its own: the handler then
	// also returns an error, so that Lambda retries the invocation.
	Retry bool `json:"retry,omitempty"`
}

func (s *Summary) fail(err error) {
	s.Errors++
	if len(s.ErrorMessages) < maxErrorMessages {
		msg := err.Error()
		if aotsym.ErrorCode(err) != aotsym.EINTERNAL {
			msg = aotsym.ErrorMessage(err)
		}
		s.ErrorMessages = append(s.ErrorMessages, msg)
	}
}

func (h *Handler) init() {
	h.once.Do(func() {
		h.seen = newSeenSet(seenKeys)
		h.lastIDs = newStreamIDs(seenKeys)
		h.newest = map[string]candidate{}
		if h.Log == nil {
			h.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Decode reads a subscription payload: base64, then gzip, then JSON, with
// the inflated size bounded by MaxPayloadBytes.
func Decode(ev events.CloudwatchLogsEvent) (events.CloudwatchLogsData, error) {
	var d events.CloudwatchLogsData
	raw, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		return d, aotsym.Errorf(aotsym.EINVALID, "the event's awslogs.data is not base64: is this function subscribed to a log group? (%v)", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return d, aotsym.Errorf(aotsym.EINVALID, "the event's awslogs.data is not gzip: %v", err)
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, MaxPayloadBytes+1))
	if err != nil {
		return d, aotsym.Errorf(aotsym.EINVALID, "the event's awslogs.data is damaged gzip: %v", err)
	}
	if len(b) > MaxPayloadBytes {
		return d, aotsym.Errorf(aotsym.ETOOLARGE, "the subscription payload inflates to more than %d bytes; CloudWatch Logs sends far less: refused", MaxPayloadBytes)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, aotsym.Errorf(aotsym.EINVALID, "the subscription payload is not the JSON CloudWatch Logs sends: %v", err)
	}
	return d, nil
}

// Handle is the Lambda handler: it decodes the payload, skips the
// CONTROL_MESSAGE CloudWatch sends when the subscription is created, finds
// the traces in the events, resolves each, writes each readable trace once,
// and returns the summary. It returns an error (so that Lambda retries the
// asynchronous invocation) only when a trace failed for a reason that may go
// away on its own; traces already written are then skipped on the retry by
// this container.
func (h *Handler) Handle(ctx context.Context, ev events.CloudwatchLogsEvent) (Summary, error) {
	h.init()
	sum := Summary{Frames: map[aotsym.Status]int{}}
	d, err := Decode(ev)
	if err != nil {
		sum.fail(err)
		h.Log.Error("unreadable subscription payload", "error", err.Error())
		return sum, nil // retrying cannot help
	}
	sum.MessageType, sum.LogGroup, sum.LogStream, sum.Events = d.MessageType, d.LogGroup, d.LogStream, len(d.LogEvents)
	if d.MessageType == "CONTROL_MESSAGE" {
		h.Log.Info("control message skipped", "log_group", d.LogGroup)
		return sum, nil
	}
	for _, g := range h.Ignore {
		if g != "" && d.LogGroup == g {
			sum.fail(aotsym.Errorf(aotsym.EINVALID, "log group %s holds this function's own output: remove its subscription filter, or every trace would come back here forever", g))
			h.Log.Error("subscribed to its own output", "log_group", g)
			return sum, nil
		}
	}
	streamKey := d.LogGroup + "\x00" + d.LogStream
	segs, last := segments(d.LogEvents, h.lastIDs.get(streamKey))
	h.lastIDs.set(streamKey, last)
	var recs []cloudwatch.Record
	var retry []string
	for _, s := range segs {
		doc, err := trace.Parse(s.text, h.Limits)
		if err != nil {
			sum.fail(fmt.Errorf("event %s: %w", s.events[0].ID, err))
			continue
		}
		if resolvable(doc) == 0 {
			continue
		}
		s.doc = doc
		sum.Traces++
		reqID := s.requestOf()
		ekey, ckey := eventKey(d.LogGroup, d.LogStream, s), contentKey(reqID, doc)
		if h.seen.has(ekey) || ckey != "" && h.seen.has(ckey) {
			sum.Duplicates++
			continue
		}
		res, how, err := h.resolve(ctx, d.LogGroup, d.LogStream, doc, s.text)
		if err != nil {
			sum.fail(fmt.Errorf("request %s, event %s: %w", orUnknown(reqID), s.events[0].ID, err))
			if retryable(err) {
				retry = append(retry, s.events[0].ID)
			}
			h.Log.Error("trace not resolved", "request_id", reqID, "event_id", s.events[0].ID, "error", err.Error())
			continue
		}
		msg := h.format(d.LogGroup, d.LogStream, s, reqID, how, doc.Format, res)
		h.outMu.Lock()
		_, werr := io.WriteString(h.Out, msg)
		h.outMu.Unlock()
		if werr != nil {
			sum.fail(werr)
			continue
		}
		for st, n := range res.Trace.Summary {
			sum.Frames[st] += n
		}
		if sum.Builds == nil {
			sum.Builds = map[string]int{}
		}
		sum.Builds[how]++
		sum.Written++
		recs = append(recs, cloudwatch.Record{Timestamp: s.events[0].Timestamp, Message: msg})
		h.seen.add(ekey)
		if ckey != "" {
			h.seen.add(ckey)
		}
	}
	if h.Dest != nil && len(recs) > 0 {
		stream := DestStream(d.LogGroup, d.LogStream)
		wr, err := h.Dest.Write(ctx, stream, recs)
		sum.DestEvents = wr.Events - wr.Rejected
		if err != nil {
			sum.fail(err)
			retry = append(retry, "dest")
		}
	}
	h.Log.Info("subscription payload", "log_group", d.LogGroup, "log_stream", d.LogStream, "events", sum.Events,
		"traces", sum.Traces, "written", sum.Written, "duplicates", sum.Duplicates, "errors", sum.Errors)
	if len(retry) > 0 {
		sum.Retry = true
		return sum, fmt.Errorf("aotsym: %d traces failed for reasons that may pass (%s): returning an error so that Lambda retries; traces already written are skipped by this container", len(retry), strings.Join(sum.ErrorMessages, "; "))
	}
	return sum, nil
}

// DestStream is the stream of AOTSYM_DEST_LOG_GROUP that traces from a
// source stream go to: the function (or log group) and the source stream,
// so that the same source always gives the same stream.
func DestStream(group, stream string) string {
	if fn := cloudwatch.LambdaFunction(group); fn != "" {
		return cloudwatch.StreamName(fn, stream)
	}
	return cloudwatch.StreamName(group, stream)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// format writes the header line and the readable trace.
func (h *Handler) format(group, stream string, s *segment, reqID, how, format string, res *Resolved) string {
	var b strings.Builder
	build := "none"
	if res.Trace.BuildID != "" {
		build = res.Trace.BuildID.Short()
	}
	fmt.Fprintf(&b, "[aotsym] request %s: symbolicated trace from %s %s (event %s), build %s (%s): %s\n",
		orUnknown(reqID), group, stream, s.events[0].ID, build, how, statusText(res.Trace))
	text := readable(format, res, h.Limits)
	b.Write(text)
	if len(text) > 0 && text[len(text)-1] != '\n' {
		b.WriteByte('\n')
	}
	return b.String()
}

func statusText(t *aotsym.Trace) string {
	if s := t.SummaryText(); s != "" {
		return s
	}
	return "no frames"
}

// resolve chooses the build and symbolicates: a `build-id:` line of the
// trace; else the build tagged lambda=FUNCTION:VERSION, from the log group
// (/aws/lambda/FUNCTION) and the stream ([VERSION] or [$LATEST]); else the
// newest build tagged lambda=FUNCTION:* when every frame of the trace fits
// it; else detection among the newest builds; and when detection chooses
// nothing, or cannot decide between builds the newest one is among, the
// newest build of the function after all (its note says how well the trace
// fits). It returns how the build was chosen.
func (h *Handler) resolve(ctx context.Context, group, stream string, doc *trace.Document, text []byte) (*Resolved, string, error) {
	if len(doc.BuildIDs) > 0 {
		r, err := h.Backend.Symbolicate(ctx, text, Choice{})
		return r, "named", err
	}
	fn, ver := cloudwatch.LambdaFunction(group), cloudwatch.LambdaVersion(stream)
	if fn != "" && ver != "" {
		tag := fn + ":" + ver
		r, err := h.Backend.Symbolicate(ctx, text, Choice{Tags: map[string]string{TagKey: tag}})
		if err == nil {
			return r, "tags " + TagKey + "=" + tag, nil
		}
		if aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
			return nil, "", err
		}
	}
	var alt *Resolved
	if fn != "" {
		id, err := h.newestFor(ctx, fn)
		if err != nil {
			return nil, "", err
		}
		if id != "" {
			r, err := h.Backend.Symbolicate(ctx, text, Choice{BuildID: id})
			if err != nil && aotsym.ErrorCode(err) != aotsym.ENOTFOUND {
				return nil, "", err
			}
			if err == nil {
				how := "newest " + TagKey + "=" + fn + ":*"
				if r.Trace.Build != nil {
					why := "the stream names no version"
					if ver != "" {
						why = fmt.Sprintf("no build is tagged %s=%s:%s", TagKey, fn, ver)
					}
					r.Trace.Build.How = "tags"
					r.Trace.Build.Note = fmt.Sprintf("the newest build tagged %s=%s:* (%s); %s", TagKey, fn, why, r.Trace.Build.Note)
				}
				if fits(r.Trace) {
					return r, how, nil
				}
				alt = r
			}
		}
	}
	r, err := h.Backend.Symbolicate(ctx, text, Choice{})
	if err != nil {
		if alt != nil {
			return alt, "newest " + TagKey + "=" + fn + ":*", nil
		}
		return nil, "", err
	}
	newest := "newest " + TagKey + "=" + fn + ":*"
	if b := r.Trace.Build; b != nil && b.How == "undecided" {
		// Several builds fit equally well: the function's newest build,
		// if it is one of them, is the one its tags say runs.
		if alt != nil && slices.Contains(b.Candidates, alt.Trace.BuildID) {
			return alt, newest, nil
		}
		return r, "undecided", nil
	}
	if r.Trace.BuildID == "" || r.Trace.Build == nil || r.Trace.Build.How == "none" {
		if alt != nil && good(alt.Trace) > 0 {
			// Detection chose nothing: the newest build of the function,
			// with its note saying how well the trace fits it, is the
			// best answer there is.
			return alt, newest, nil
		}
		return r, "none", nil
	}
	return r, r.Trace.Build.How, nil
}

// TagKey is the tag that ties builds to Lambda functions:
// lambda=FUNCTION:VERSION (lambda=orders-api:42, lambda=orders-api:$LATEST).
const TagKey = "lambda"

// newestFor returns the newest build whose lambda tag names fn (any
// version), remembered for candidateTTL.
func (h *Handler) newestFor(ctx context.Context, fn string) (aotsym.BuildID, error) {
	h.mu.Lock()
	c, ok := h.newest[fn]
	h.mu.Unlock()
	if ok && timeNow().Sub(c.at) < candidateTTL {
		return c.id, nil
	}
	builds, err := h.Backend.Builds(ctx, 1000)
	if err != nil {
		return "", err
	}
	var id aotsym.BuildID
	for _, b := range builds { // newest first
		if v, ok := b.Tags[TagKey]; ok && strings.HasPrefix(v, fn+":") {
			id = b.ID
			break
		}
	}
	h.mu.Lock()
	if len(h.newest) > 1000 {
		clear(h.newest)
	}
	h.newest[fn] = candidate{id: id, at: timeNow()}
	h.mu.Unlock()
	return id, nil
}

// good counts the frames a build explained.
func good(t *aotsym.Trace) int {
	return t.Summary[aotsym.StatusResolved] + t.Summary[aotsym.StatusNoLine] + t.Summary[aotsym.StatusAmbiguous]
}

// fits reports whether every frame of a trace fits the build it was
// resolved against (BuildChoice.Score of Frames: the method's code is there
// and the offset inside it, return addresses follow calls). A frame being
// "resolved" is not enough: another build of the same program resolves it
// too, to another line.
func fits(t *aotsym.Trace) bool {
	if b := t.Build; b != nil && b.Frames > 0 {
		return b.Score == b.Frames
	}
	return false
}

// Encode builds a subscription event from a payload, as CloudWatch Logs
// sends it (JSON, gzip, base64): for tests and for replaying payloads.
func Encode(d events.CloudwatchLogsData) (events.CloudwatchLogsEvent, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return events.CloudwatchLogsEvent{}, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return events.CloudwatchLogsEvent{}, err
	}
	return events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: base64.StdEncoding.EncodeToString(buf.Bytes())}}, nil
}
