package lambda

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/aws/aws-lambda-go/events"
)

// segment is a run of consecutive log events that may hold one trace: an
// event with its own request ID (or a JSON event) starts one, and events
// without one (the lines of a trace a runtime wrote as separate events)
// continue it.
type segment struct {
	events    []events.CloudwatchLogsLogEvent
	requestID string
	text      []byte
	doc       *trace.Document
}

// segments splits a payload's events. lastID is the request the stream was
// in at the end of the previous payload ("" after its END or REPORT line);
// segments returns the request it is in at the end of this one. An event
// without a request ID belongs to the request its stream is in: a Lambda
// execution environment, whose stream this is, runs one request at a time.
func segments(evs []events.CloudwatchLogsLogEvent, lastID string) ([]*segment, string) {
	var out []*segment
	var cur *segment
	for _, e := range evs {
		id, marker := cloudwatch.RequestIDOf(e.Message)
		if cur == nil || id != "" || strings.HasPrefix(e.Message, "{") {
			cur = &segment{requestID: id}
			if id == "" {
				cur.requestID = lastID
			}
			out = append(out, cur)
		}
		cur.events = append(cur.events, e)
		if id != "" {
			lastID = id
		}
		if marker == cloudwatch.End {
			lastID = ""
		}
	}
	for _, s := range out {
		msgs := make([]string, len(s.events))
		for i, e := range s.events {
			msgs[i] = e.Message
		}
		s.text = cloudwatch.Join(msgs)
	}
	return out, lastID
}

// resolvable reports whether a parsed segment has a frame to resolve
// (managed, rva or native; lined frames already say where they are).
func resolvable(doc *trace.Document) int {
	n := 0
	for _, f := range doc.Frames {
		switch f.Kind {
		case aotsym.FrameManaged, aotsym.FrameRVA, aotsym.FrameNative:
			n++
		}
	}
	return n
}

// requestOf returns the segment's request ID: its own, else one the parser
// found (a `requestId` field inside a message), else "".
func (s *segment) requestOf() string {
	if s.requestID != "" {
		return s.requestID
	}
	if s.doc != nil && len(s.doc.RequestIDs) > 0 {
		return s.doc.RequestIDs[0]
	}
	return ""
}

// eventKey identifies the segment by its first event: the same log event
// delivered again (a retried invocation) has the same key.
func eventKey(group, stream string, s *segment) string {
	return "e\x00" + group + "\x00" + stream + "\x00" + s.events[0].ID
}

// contentKey identifies the trace by its request and its frames, so that a
// request that logged the same exception twice (as a log line and as the
// runtime's error document) is written once. "" when the request is unknown.
func contentKey(requestID string, doc *trace.Document) string {
	if requestID == "" {
		return ""
	}
	h := sha256.New()
	for i := range doc.Frames {
		h.Write([]byte(doc.Input(i)))
		h.Write([]byte{0})
	}
	return "c\x00" + requestID + "\x00" + hex.EncodeToString(h.Sum(nil))
}

// readable returns a trace as text a person reads: the symbolicated text as
// it is for text inputs; for JSON inputs (Lambda error documents, JSON log
// events), whose symbolicated text is still JSON, the exceptions and frames
// written out as Exception.ToString() writes them, resolved frames in the
// JIT's form.
func readable(format string, r *Resolved, lim trace.Limits) []byte {
	switch format {
	case trace.FormatText, trace.FormatCloudWatch:
		return r.Text
	}
	var b bytes.Buffer
	var frames []aotsym.FrameResult
	emit := func(i int) {
		if i < 0 || i >= len(r.Trace.Frames) {
			return
		}
		fr := r.Trace.Frames[i]
		in := fr.Input
		if fr.Kind == aotsym.FrameManaged && !strings.HasPrefix(in, "at ") {
			in = "at " + in
		}
		b.WriteString("   ")
		b.WriteString(oneLine(in))
		b.WriteByte('\n')
		fr.Index = len(frames)
		frames = append(frames, fr)
	}
	listed := map[int]bool{}
	for _, e := range r.Trace.Exceptions {
		for _, i := range e.Frames {
			listed[i] = true
		}
	}
	for i, fr := range r.Trace.Frames {
		if fr.Exception == "" && !listed[i] {
			emit(i)
		}
	}
	for _, e := range r.Trace.Exceptions {
		depth := strings.Count(e.Path, ".")
		if depth > 0 {
			b.WriteString(strings.Repeat(" ", depth) + "---> ")
		}
		b.WriteString(oneLine(e.Type))
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(oneLine(e.Message))
		}
		b.WriteByte('\n')
		for _, i := range e.Frames {
			emit(i)
		}
	}
	text := b.Bytes()
	// Render through the parser, so that frames are written exactly as for
	// text inputs; if it does not find the same frames, say so and keep the
	// unresolved lines rather than guess.
	doc, err := trace.Parse(text, lim)
	if err != nil || len(doc.Frames) != len(frames) {
		return append(text, []byte("(aotsym: the resolved positions are in the JSON answer; this trace could not be rewritten as text)\n")...)
	}
	return doc.RenderText(frames)
}

// oneLine keeps a message on one line, so that it cannot pass for frames.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
