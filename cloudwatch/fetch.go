package cloudwatch

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// FilterAPI is the CloudWatch Logs call Fetch makes (*cloudwatchlogs.Client
// has it).
type FilterAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Event is one log event.
type Event struct {
	ID            string
	Stream        string
	Timestamp     int64 // milliseconds since the epoch
	IngestionTime int64
	Message       string
}

// Query names one request's events.
type Query struct {
	// LogGroup is the log group's name (/aws/lambda/orders-api) or ARN.
	LogGroup  string
	RequestID string
	// Start and End bound the events' timestamps; zero values mean the
	// DefaultWindow before End, and now.
	Start, End time.Time
	// MaxPages, MaxEvents and MaxBytes bound the work; zero values take the
	// defaults below. Going over one is an ETOOLARGE error saying which.
	MaxPages  int
	MaxEvents int
	MaxBytes  int
	// Region is named in error messages only.
	Region string
}

// Defaults of Query.
const (
	DefaultWindow    = 24 * time.Hour
	DefaultMaxPages  = 500
	DefaultMaxEvents = 10000
	DefaultMaxBytes  = 16 << 20
)

// Result is what Fetch found.
type Result struct {
	// Events are the request's events in the order they were written.
	Events []Event
	// Matched counts the events naming the request ID; Added the events
	// without any request ID taken from the request's span of its log
	// stream (lines a runtime wrote as events of their own).
	Matched, Added int
	// Pages is the number of FilterLogEvents calls.
	Pages int
	// Streams are the log streams the events came from.
	Streams []string
	// Text is the events' messages joined (Join): the input to symbolicate.
	Text []byte
}

// Fetch returns every event of one Lambda request in a log group.
//
// First it calls FilterLogEvents with the quoted request ID as the filter
// pattern over [Start, End], following nextToken until it is absent. The
// events found bound the request's span in each log stream (a Lambda
// execution environment, whose stream handles one request at a time): from
// the request's first event (START) to its last (END, REPORT). Then it reads
// that span of each stream without a pattern, so that lines a runtime wrote
// as events of their own, without the request ID (the frames of a trace
// printed to standard output), are found too; events naming another request
// are left out. Events are ordered by timestamp, then ingestion time, then
// event ID, and their messages joined.
func Fetch(ctx context.Context, api FilterAPI, q Query) (*Result, error) {
	if err := q.setDefaults(); err != nil {
		return nil, err
	}
	f := &fetcher{api: api, q: q, seen: map[string]int{}}
	in := f.input()
	in.FilterPattern = aws.String(`"` + q.RequestID + `"`)
	in.StartTime, in.EndTime = aws.Int64(q.Start.UnixMilli()), aws.Int64(q.End.UnixMilli())
	if err := f.pages(ctx, in, true); err != nil {
		return nil, err
	}
	if len(f.events) == 0 {
		return nil, aotsym.Errorf(aotsym.ENOTFOUND,
			"no log events of request %s in log group %s between %s and %s: check the request ID and the log group, or widen the window with --start and --end (the default is the last %d hours)",
			q.RequestID, q.LogGroup, q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339), int(DefaultWindow.Hours()))
	}
	// The span of the request in each stream.
	type span struct{ lo, hi int64 }
	spans := map[string]*span{}
	var streams []string
	for _, e := range f.events {
		s := spans[e.Stream]
		if s == nil {
			spans[e.Stream] = &span{e.Timestamp, e.Timestamp}
			streams = append(streams, e.Stream)
			continue
		}
		s.lo, s.hi = min(s.lo, e.Timestamp), max(s.hi, e.Timestamp)
	}
	sort.Strings(streams)
	for _, st := range streams {
		if st == "" {
			continue
		}
		s := spans[st]
		in := f.input()
		in.LogStreamNames = []string{st}
		in.StartTime, in.EndTime = aws.Int64(s.lo), aws.Int64(s.hi)
		if err := f.pages(ctx, in, false); err != nil {
			return nil, err
		}
	}
	events := f.order()
	var text int
	for _, e := range events {
		text += len(e.Message) + 1
	}
	if text > q.MaxBytes {
		return nil, aotsym.Errorf(aotsym.ETOOLARGE,
			"the %d log events of request %s hold %d bytes, over the limit of %d: narrow the window with --start and --end", len(events), q.RequestID, text, q.MaxBytes)
	}
	res := &Result{Events: events, Pages: f.calls, Streams: streams}
	msgs := make([]string, len(events))
	for i, e := range events {
		msgs[i] = e.Message
		if f.matched[e.ID] {
			res.Matched++
		} else {
			res.Added++
		}
	}
	res.Text = Join(msgs)
	return res, nil
}

func (q *Query) setDefaults() error {
	q.LogGroup = strings.TrimSpace(q.LogGroup)
	if q.LogGroup == "" {
		return aotsym.Errorf(aotsym.EINVALID, "no log group: give --log-group, e.g. /aws/lambda/orders-api")
	}
	if !ValidRequestID(q.RequestID) {
		return aotsym.Errorf(aotsym.EINVALID, "request ID %q is not one: give the ID Lambda printed (a UUID such as 4100dac2-f757-5e17-943b-ba7c12772da0)", aotsym.Clip(q.RequestID, 80))
	}
	if q.End.IsZero() {
		q.End = time.Now()
	}
	if q.Start.IsZero() {
		q.Start = q.End.Add(-DefaultWindow)
	}
	if !q.Start.Before(q.End) {
		return aotsym.Errorf(aotsym.EINVALID, "the window is empty: --start %s is not before --end %s", q.Start.UTC().Format(time.RFC3339), q.End.UTC().Format(time.RFC3339))
	}
	if q.MaxPages <= 0 {
		q.MaxPages = DefaultMaxPages
	}
	if q.MaxEvents <= 0 {
		q.MaxEvents = DefaultMaxEvents
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = DefaultMaxBytes
	}
	return nil
}

type fetcher struct {
	api     FilterAPI
	q       Query
	calls   int
	events  []Event
	seq     []int          // arrival order of events
	seen    map[string]int // event ID -> index in events
	matched map[string]bool
}

func (f *fetcher) input() *cloudwatchlogs.FilterLogEventsInput {
	in := &cloudwatchlogs.FilterLogEventsInput{}
	if strings.HasPrefix(f.q.LogGroup, "arn:") {
		in.LogGroupIdentifier = aws.String(strings.TrimSuffix(f.q.LogGroup, ":*"))
	} else {
		in.LogGroupName = aws.String(f.q.LogGroup)
	}
	return in
}

// pages calls FilterLogEvents until nextToken is absent. match says whether
// this is the pass with the request ID as pattern; the other pass keeps only
// events naming no other request.
func (f *fetcher) pages(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, match bool) error {
	if f.matched == nil {
		f.matched = map[string]bool{}
	}
	tokens := map[string]bool{}
	for {
		if f.calls >= f.q.MaxPages {
			return aotsym.Errorf(aotsym.ETOOLARGE,
				"read %d pages of log group %s without reaching the end: narrow the window with --start and --end (or raise --max-pages)", f.calls, f.q.LogGroup)
		}
		f.calls++
		out, err := f.api.FilterLogEvents(ctx, in)
		if err != nil {
			return Explain(err, "logs:FilterLogEvents", f.q.LogGroup, f.q.Region)
		}
		for _, e := range out.Events {
			ev := Event{ID: aws.ToString(e.EventId), Stream: aws.ToString(e.LogStreamName),
				Timestamp: aws.ToInt64(e.Timestamp), IngestionTime: aws.ToInt64(e.IngestionTime), Message: aws.ToString(e.Message)}
			if _, dup := f.seen[ev.ID]; dup && ev.ID != "" {
				continue
			}
			id, _ := RequestIDOf(ev.Message)
			if match {
				// The pattern matches the ID anywhere; a line of another
				// request that merely mentions it is not ours.
				if id != "" && id != f.q.RequestID {
					continue
				}
				f.matched[ev.ID] = true
			} else if id != "" && id != f.q.RequestID {
				continue
			}
			if len(f.events) >= f.q.MaxEvents {
				return aotsym.Errorf(aotsym.ETOOLARGE,
					"more than %d log events belong to request %s: narrow the window with --start and --end (or raise --max-events)", f.q.MaxEvents, f.q.RequestID)
			}
			f.seen[ev.ID] = len(f.events)
			f.seq = append(f.seq, len(f.events))
			f.events = append(f.events, ev)
		}
		next := aws.ToString(out.NextToken)
		if next == "" {
			return nil
		}
		if tokens[next] {
			return aotsym.Errorf(aotsym.EINTERNAL, "CloudWatch Logs returned the same nextToken twice for log group %s: stopped reading; try again", f.q.LogGroup)
		}
		tokens[next] = true
		in.NextToken = aws.String(next)
	}
}

// order sorts the events as they were written and trims each stream's events
// to the request's span: from its first event naming the request to its
// last.
func (f *fetcher) order() []Event {
	ev := append([]Event(nil), f.events...)
	sort.SliceStable(ev, func(i, j int) bool {
		a, b := &ev[i], &ev[j]
		if a.Timestamp != b.Timestamp {
			return a.Timestamp < b.Timestamp
		}
		if a.IngestionTime != b.IngestionTime {
			return a.IngestionTime < b.IngestionTime
		}
		if len(a.ID) == len(b.ID) && a.ID != b.ID {
			return a.ID < b.ID // CloudWatch event IDs grow within a stream
		}
		return false
	})
	first, last := map[string]int{}, map[string]int{}
	for i, e := range ev {
		if f.matched[e.ID] {
			if _, ok := first[e.Stream]; !ok {
				first[e.Stream] = i
			}
			last[e.Stream] = i
		}
	}
	out := ev[:0]
	for i, e := range ev {
		lo, ok := first[e.Stream]
		if !ok || i < lo || i > last[e.Stream] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// String describes a result for -v output.
func (r *Result) String() string {
	return fmt.Sprintf("%d events (%d naming the request, %d lines without an ID from its span) in %s, %d FilterLogEvents calls",
		len(r.Events), r.Matched, r.Added, strings.Join(r.Streams, ", "), r.Pages)
}
