// Package cloudwatchtest is a CloudWatch Logs server for tests: an httptest
// server on 127.0.0.1 that speaks the AWS JSON 1.1 protocol the SDK uses
// (POST /, X-Amz-Target: Logs_20140328.<Operation>, SigV4-signed) for
// FilterLogEvents, PutLogEvents, CreateLogStream and CreateLogGroup.
//
// It does what the tests need to trust the callers, which in-process
// emulators here do not (kumo v0.33.1 ignores nextToken): FilterLogEvents
// pages through multi-page nextToken chains (PageSize events a page, with
// EmptyPages empty pages first, as CloudWatch returns while it scans), honours
// the time window, stream names and quoted filter terms; PutLogEvents checks
// the batch limits and the chronological order; errors come as CloudWatch
// sends them (400 with {"__type": …}): ResourceNotFoundException,
// AccessDeniedException, ThrottlingException (Throttle), and an unsigned
// request is refused.
package cloudwatchtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Event is a stored log event.
type Event struct {
	ID            string `json:"eventId"`
	Stream        string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	IngestionTime int64  `json:"ingestionTime"`
	Message       string `json:"message"`
}

// Server is a running fake. Its fields may be changed between calls.
type Server struct {
	*httptest.Server
	// PageSize is how many events one FilterLogEvents page holds at most
	// (the request's limit may lower it); 0 means 2.
	PageSize int
	// EmptyPages is how many empty pages (with a nextToken) each
	// FilterLogEvents query returns before its first events.
	EmptyPages int

	mu       sync.Mutex
	groups   map[string]map[string][]Event
	next     int64
	throttle int
	denied   map[string]string // group -> operation denied ("" = all)
	calls    map[string]int
	tokens   int // nextTokens handed out
}

// New starts a server for one test.
func New(t testing.TB) *Server {
	s := &Server{groups: map[string]map[string][]Event{}, denied: map[string]string{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AWSConfig returns an SDK configuration pointed at the server, with static
// credentials so that requests are signed.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "fakesecret", ""),
	}
}

// Env returns the standard AWS environment pointing the SDK at the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + s.URL,
		"AWS_ACCESS_KEY_ID=AKIDFAKE",
		"AWS_SECRET_ACCESS_KEY=fakesecret",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// AddGroup creates a log group.
func (s *Server) AddGroup(group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[group] == nil {
		s.groups[group] = map[string][]Event{}
	}
}

// Add stores events in a stream (creating group and stream), giving each an
// ID in order and, when it has none, an ingestion time a second after its
// timestamp.
func (s *Server) Add(group, stream string, evs ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(group, stream, evs)
}

func (s *Server) addLocked(group, stream string, evs []Event) {
	g := s.groups[group]
	if g == nil {
		g = map[string][]Event{}
		s.groups[group] = g
	}
	for _, e := range evs {
		s.next++
		e.ID = fmt.Sprintf("%056d", s.next)
		e.Stream = stream
		if e.IngestionTime == 0 {
			e.IngestionTime = e.Timestamp + 1000
		}
		g[stream] = append(g[stream], e)
	}
	if g[stream] == nil {
		g[stream] = []Event{}
	}
}

// Events returns the events of a stream in the order they were stored.
func (s *Server) Events(group, stream string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.groups[group][stream]...)
}

// Streams returns the stream names of a group, sorted.
func (s *Server) Streams(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.groups[group] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Throttle makes the next n calls fail with ThrottlingException.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = n
	s.mu.Unlock()
}

// Deny makes calls of op ("FilterLogEvents"; "" for every operation) on
// group fail with AccessDeniedException.
func (s *Server) Deny(group, op string) {
	s.mu.Lock()
	s.denied[group] = op
	s.mu.Unlock()
}

// Calls returns how many calls of op the server answered (errors included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		fail(w, 404, "UnknownOperationException", "POST / only")
		return
	case !ok:
		fail(w, 400, "UnknownOperationException", "missing or unknown X-Amz-Target "+target)
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		fail(w, 400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
		return
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="):
		fail(w, 400, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		fail(w, 400, "SerializationException", err.Error())
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, 400, "SerializationException", "body is not a JSON object")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if s.throttle > 0 {
		s.throttle--
		fail(w, 400, "ThrottlingException", "Rate exceeded")
		return
	}
	var group string
	json.Unmarshal(in["logGroupName"], &group)
	if group == "" {
		var ident string
		json.Unmarshal(in["logGroupIdentifier"], &ident)
		group = ident
		if i := strings.Index(ident, ":log-group:"); i >= 0 {
			group = strings.TrimSuffix(ident[i+len(":log-group:"):], ":*")
		}
	}
	if d, ok := s.denied[group]; ok && (d == "" || d == op) {
		fail(w, 400, "AccessDeniedException", fmt.Sprintf("User: arn:aws:iam::123456789012:user/test is not authorized to perform: logs:%s on resource: %s", op, group))
		return
	}
	var out any
	var e *apiErr
	switch op {
	case "FilterLogEvents":
		out, e = s.filter(group, in)
	case "PutLogEvents":
		out, e = s.put(group, in)
	case "CreateLogStream":
		out, e = s.createStream(group, in)
	case "CreateLogGroup":
		if s.groups[group] != nil {
			e = &apiErr{"ResourceAlreadyExistsException", "The specified log group already exists"}
		} else {
			s.groups[group] = map[string][]Event{}
			out = struct{}{}
		}
	default:
		fail(w, 400, "UnknownOperationException", op+" is not implemented by the fake")
		return
	}
	if e != nil {
		fail(w, 400, e.typ, e.msg)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

type apiErr struct{ typ, msg string }

var noGroup = &apiErr{"ResourceNotFoundException", "The specified log group does not exist."}

func (s *Server) filter(group string, in map[string]json.RawMessage) (any, *apiErr) {
	g := s.groups[group]
	if g == nil {
		return nil, noGroup
	}
	var q struct {
		StartTime, EndTime *int64
		FilterPattern      string
		LogStreamNames     []string
		NextToken          string
		Limit              int
	}
	json.Unmarshal(in["startTime"], &q.StartTime)
	json.Unmarshal(in["endTime"], &q.EndTime)
	json.Unmarshal(in["filterPattern"], &q.FilterPattern)
	json.Unmarshal(in["logStreamNames"], &q.LogStreamNames)
	json.Unmarshal(in["nextToken"], &q.NextToken)
	json.Unmarshal(in["limit"], &q.Limit)
	terms, err := parsePattern(q.FilterPattern)
	if err != nil {
		return nil, &apiErr{"InvalidParameterException", err.Error()}
	}
	var all []Event
	streams := q.LogStreamNames
	if len(streams) == 0 {
		for name := range g {
			streams = append(streams, name)
		}
	}
	for _, name := range streams {
		for _, e := range g[name] {
			if q.StartTime != nil && e.Timestamp < *q.StartTime || q.EndTime != nil && e.Timestamp > *q.EndTime {
				continue
			}
			if !matches(e.Message, terms) {
				continue
			}
			all = append(all, e)
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Timestamp != all[j].Timestamp {
			return all[i].Timestamp < all[j].Timestamp
		}
		return all[i].ID < all[j].ID
	})
	// The token is "page:<empty pages left>:<offset>".
	empty, offset := s.EmptyPages, 0
	if q.NextToken != "" {
		parts := strings.Split(q.NextToken, ":")
		if len(parts) != 3 || parts[0] != "page" {
			return nil, &apiErr{"InvalidParameterException", "The specified nextToken is not valid."}
		}
		empty, _ = strconv.Atoi(parts[1])
		offset, _ = strconv.Atoi(parts[2])
	}
	size := s.PageSize
	if size <= 0 {
		size = 2
	}
	if q.Limit > 0 && q.Limit < size {
		size = q.Limit
	}
	type page struct {
		Events    []Event `json:"events"`
		NextToken string  `json:"nextToken,omitempty"`
	}
	p := page{Events: []Event{}}
	if empty > 0 {
		p.NextToken = fmt.Sprintf("page:%d:%d", empty-1, offset)
		s.tokens++
		return p, nil
	}
	end := min(offset+size, len(all))
	if offset < end {
		p.Events = all[offset:end]
	}
	if end < len(all) {
		p.NextToken = fmt.Sprintf("page:0:%d", end)
		s.tokens++
	}
	return p, nil
}

// parsePattern reads the filter pattern forms the callers use: terms
// separated by spaces, each plain or in double quotes; an event matches
// when it contains every term (case-sensitive, as CloudWatch's terms).
func parsePattern(p string) ([]string, error) {
	var terms []string
	p = strings.TrimSpace(p)
	for p != "" {
		if p[0] == '"' {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("Invalid filter pattern: unterminated quote")
			}
			terms = append(terms, p[1:1+end])
			p = strings.TrimSpace(p[end+2:])
			continue
		}
		if strings.ContainsAny(p[:1], "{[?-") {
			return nil, fmt.Errorf("the fake supports only plain and quoted terms, not %q", p)
		}
		t, rest, _ := strings.Cut(p, " ")
		terms = append(terms, t)
		p = strings.TrimSpace(rest)
	}
	return terms, nil
}

func matches(msg string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

func (s *Server) createStream(group string, in map[string]json.RawMessage) (any, *apiErr) {
	g := s.groups[group]
	if g == nil {
		return nil, noGroup
	}
	var name string
	json.Unmarshal(in["logStreamName"], &name)
	if name == "" || len(name) > 512 || strings.ContainsAny(name, ":*") {
		return nil, &apiErr{"InvalidParameterException", "1 validation error detected: Value at 'logStreamName' failed to satisfy constraint"}
	}
	if _, ok := g[name]; ok {
		return nil, &apiErr{"ResourceAlreadyExistsException", "The specified log stream already exists"}
	}
	g[name] = []Event{}
	return struct{}{}, nil
}

func (s *Server) put(group string, in map[string]json.RawMessage) (any, *apiErr) {
	g := s.groups[group]
	if g == nil {
		return nil, noGroup
	}
	var stream string
	json.Unmarshal(in["logStreamName"], &stream)
	if _, ok := g[stream]; !ok {
		return nil, &apiErr{"ResourceNotFoundException", "The specified log stream does not exist."}
	}
	var evs []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(in["logEvents"], &evs); err != nil || len(evs) == 0 {
		return nil, &apiErr{"InvalidParameterException", "logEvents must hold at least one event"}
	}
	if len(evs) > 10000 {
		return nil, &apiErr{"InvalidParameterException", "too many log events in the batch"}
	}
	size := 0
	for i, e := range evs {
		size += len(e.Message) + 26
		if len(e.Message) > 1<<20 {
			return nil, &apiErr{"InvalidParameterException", "Log event too large"}
		}
		if i > 0 && e.Timestamp < evs[i-1].Timestamp {
			return nil, &apiErr{"InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order."}
		}
	}
	if size > 1048576 {
		return nil, &apiErr{"InvalidParameterException", "Upload too large: " + strconv.Itoa(size) + " bytes exceeds limit of 1048576"}
	}
	now := time.Now().UnixMilli()
	var add []Event
	for _, e := range evs {
		add = append(add, Event{Timestamp: e.Timestamp, IngestionTime: now, Message: e.Message})
	}
	s.addLocked(group, stream, add)
	return map[string]any{}, nil
}
