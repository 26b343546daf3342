package cloudwatch

import (
	"context"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aotsym/aotsym"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// PutAPI is what a Writer calls (*cloudwatchlogs.Client has it).
type PutAPI interface {
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
}

// PutLogEvents limits (the API reference): a batch holds at most 10,000
// events and 1,048,576 bytes, counting 26 bytes per event on top of its
// message, and spans at most 24 hours. Events are cut at 256 KiB, the limit
// CloudWatch had for years, so that every region and every reader takes them.
const (
	MaxBatchEvents  = 10000
	MaxBatchBytes   = 1048576
	EventOverhead   = 26
	MaxMessageBytes = 256<<10 - EventOverhead
	maxBatchSpanMS  = 24 * 3600 * 1000
	maxStreamName   = 512
)

// Record is one event to write.
type Record struct {
	Timestamp int64 // milliseconds since the epoch
	Message   string
}

// Writer writes events to the log streams of one log group, creating a
// stream the first time it is missing. It is safe for concurrent use.
type Writer struct {
	API    PutAPI
	Group  string
	Region string // for messages

	mu    sync.Mutex
	known map[string]bool // streams known to exist
}

// WriteResult counts what a Write did.
type WriteResult struct {
	Events   int // events sent (a long message counts once per piece)
	Calls    int // PutLogEvents calls
	Rejected int // events CloudWatch refused as too old, too new or expired
}

// Write sends recs to stream, sorted by timestamp, in as few PutLogEvents
// calls as the limits allow. A message over MaxMessageBytes is sent as
// several events with the same timestamp, cut at line ends where possible.
func (w *Writer) Write(ctx context.Context, stream string, recs []Record) (WriteResult, error) {
	var res WriteResult
	if len(recs) == 0 {
		return res, nil
	}
	var evs []types.InputLogEvent
	for _, r := range recs {
		for _, piece := range splitMessage(r.Message, MaxMessageBytes) {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(r.Timestamp), Message: aws.String(piece)})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return *evs[i].Timestamp < *evs[j].Timestamp })
	for len(evs) > 0 {
		n, size := 0, 0
		for n < len(evs) && n < MaxBatchEvents {
			sz := len(*evs[n].Message) + EventOverhead
			if size+sz > MaxBatchBytes || *evs[n].Timestamp-*evs[0].Timestamp > maxBatchSpanMS {
				break
			}
			size += sz
			n++
		}
		batch := evs[:n]
		evs = evs[n:]
		rej, err := w.put(ctx, stream, batch)
		res.Calls++
		if err != nil {
			return res, err
		}
		res.Events += len(batch)
		res.Rejected += rej
	}
	return res, nil
}

func (w *Writer) put(ctx context.Context, stream string, batch []types.InputLogEvent) (int, error) {
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(w.Group), LogStreamName: aws.String(stream), LogEvents: batch}
	w.mu.Lock()
	known := w.known[stream]
	w.mu.Unlock()
	if !known {
		if err := w.createStream(ctx, stream); err != nil {
			return 0, err
		}
	}
	out, err := w.API.PutLogEvents(ctx, in)
	if err != nil && errorCode(err) == "ResourceNotFoundException" {
		// Deleted since we last looked: create it again, once.
		w.forget(stream)
		if err := w.createStream(ctx, stream); err != nil {
			return 0, err
		}
		out, err = w.API.PutLogEvents(ctx, in)
	}
	if err != nil {
		return 0, Explain(err, "logs:PutLogEvents", w.Group, w.Region)
	}
	return rejected(out.RejectedLogEventsInfo, len(batch)), nil
}

func (w *Writer) createStream(ctx context.Context, stream string) error {
	_, err := w.API.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(w.Group), LogStreamName: aws.String(stream)})
	if err != nil && errorCode(err) != "ResourceAlreadyExistsException" {
		return Explain(err, "logs:CreateLogStream", w.Group, w.Region)
	}
	w.mu.Lock()
	if w.known == nil {
		w.known = map[string]bool{}
	}
	if len(w.known) > 10000 {
		clear(w.known)
	}
	w.known[stream] = true
	w.mu.Unlock()
	return nil
}

func (w *Writer) forget(stream string) {
	w.mu.Lock()
	delete(w.known, stream)
	w.mu.Unlock()
}

func rejected(info *types.RejectedLogEventsInfo, n int) int {
	if info == nil {
		return 0
	}
	bad := make([]bool, n)
	mark := func(from, to int) {
		for i := max(from, 0); i < min(to, n); i++ {
			bad[i] = true
		}
	}
	if info.TooOldLogEventEndIndex != nil {
		mark(0, int(*info.TooOldLogEventEndIndex))
	}
	if info.ExpiredLogEventEndIndex != nil {
		mark(0, int(*info.ExpiredLogEventEndIndex))
	}
	if info.TooNewLogEventStartIndex != nil {
		mark(int(*info.TooNewLogEventStartIndex), n)
	}
	c := 0
	for _, b := range bad {
		if b {
			c++
		}
	}
	return c
}

// splitMessage cuts s into pieces of at most limit bytes, after a newline
// where one falls in the second half of a piece, and never inside a UTF-8
// sequence.
func splitMessage(s string, limit int) []string {
	if len(s) <= limit {
		return []string{s}
	}
	var out []string
	for len(s) > limit {
		cut := limit
		if nl := strings.LastIndexByte(s[:limit], '\n'); nl >= limit/2 {
			cut = nl + 1
		} else {
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if cut == 0 {
				cut = limit
			}
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// StreamName returns a valid log stream name made of parts joined by '/':
// ':' and '*' (not allowed in stream names) become '_', and the name is cut
// to 512 bytes.
func StreamName(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			keep = append(keep, p)
		}
	}
	s := strings.NewReplacer(":", "_", "*", "_").Replace(strings.Join(keep, "/"))
	if s == "" {
		s = "aotsym"
	}
	if len(s) > maxStreamName {
		s = s[:maxStreamName]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// CheckGroup returns an error when group is not a valid log group name.
func CheckGroup(group string) error {
	if group == "" || len(group) > 512 {
		return aotsym.Errorf(aotsym.EINVALID, "log group name %q must be 1 to 512 characters", aotsym.Clip(group, 80))
	}
	for _, r := range group {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-/.#", r)
		if !ok {
			return aotsym.Errorf(aotsym.EINVALID, "log group name %q has %q: use letters, digits and _ - / . #", aotsym.Clip(group, 80), r)
		}
	}
	return nil
}
