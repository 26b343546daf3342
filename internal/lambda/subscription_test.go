package lambda_test

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aotsym/aotsym/cloudwatch/cloudwatchtest"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/lambda"
	lt "github.com/aotsym/aotsym/internal/lambda/lambdatest"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/bolt"
	"github.com/aws/aws-lambda-go/events"
)

const group = "/aws/lambda/orders-api"

// openStore returns a bbolt store holding the .dbg and executable of each
// variant, uploaded in order (so the last is the newest), with tags.
func openStore(t testing.TB, uploads ...upload) store.Store {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), lambda.Indexer(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range uploads {
		m := lt.Load(t, u.variant)
		for _, p := range []string{m.DebugFile(), m.Executable()} {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = st.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(p), Tags: u.tags})
			f.Close()
			if err != nil {
				t.Fatalf("uploading %s: %v", p, err)
			}
		}
		time.Sleep(5 * time.Millisecond) // distinct creation times: "newest" is well defined
	}
	return st
}

type upload struct {
	variant string
	tags    map[string]string
}

func newHandler(t testing.TB, st store.Store) (*lambda.Handler, *testenv.SyncBuffer) {
	out := &testenv.SyncBuffer{}
	return &lambda.Handler{Backend: lambda.NewStoreBackend(st, 64<<20), Out: out}, out
}

func handle(t testing.TB, h *lambda.Handler, ev events.CloudwatchLogsEvent) lambda.Summary {
	t.Helper()
	sum, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle: %v (summary %+v)", err, sum)
	}
	return sum
}

func wantLines(t testing.TB, out string, c *corpus.Case) {
	t.Helper()
	lines := lt.ExpectedLines(c)
	if len(lines) == 0 {
		t.Fatalf("case %s has no frame with a line", c.Scenario)
	}
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s: output lacks %q", c.Scenario, l)
		}
	}
}

func frames(t *aotsym.Trace) int { return len(t.Frames) }

// TestHandlerTagsFromStream: the log group and stream name the function and
// its version; the build tagged lambda=orders-api:42 resolves every trace of
// the payload (text, JSON log event and Lambda error document), each is
// written once with its request ID, and the summary counts what the
// backend answered.
func TestHandlerTagsFromStream(t *testing.T) {
	st := openStore(t,
		upload{"net9.0-linux-x64", map[string]string{"lambda": "orders-api:42"}},
		upload{"net10.0-linux-x64", map[string]string{"lambda": "orders-api:43"}})
	h, out := newHandler(t, st)
	m := lt.Load(t, "net9.0-linux-x64")
	cases := []*corpus.Case{lt.Case(t, m, "recursion"), lt.Case(t, m, "async-lambda"), lt.Case(t, m, "nested-types")}
	var evs []events.CloudwatchLogsLogEvent
	want := map[aotsym.Status]int{}
	for i, c := range cases {
		ext := []string{".log", ".event.json", ".error.json"}[i]
		text := lt.Sample(t, m, c, ext)
		evs = append(evs, lt.Invocation(c.RequestID, "42", lt.T0.Add(time.Duration(i)*time.Second), text)...)
		res, err := lambda.NewStoreBackend(st, 0).Symbolicate(context.Background(), []byte(text), lambda.Choice{Tags: map[string]string{"lambda": "orders-api:42"}})
		if err != nil {
			t.Fatal(err)
		}
		for s, n := range res.Trace.Summary {
			want[s] += n
		}
	}
	sum := handle(t, h, lt.Payload(t, group, "2026/11/25/[42]0123456789abcdef", "DATA_MESSAGE", evs))
	if sum.Events != len(evs) || sum.Traces != 3 || sum.Written != 3 || sum.Duplicates != 0 || sum.Errors != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Builds["tags lambda=orders-api:42"] != 3 {
		t.Errorf("builds %v, want 3 chosen by the tag", sum.Builds)
	}
	for s, n := range want {
		if sum.Frames[s] != n {
			t.Errorf("frames %v, want %v", sum.Frames, want)
			break
		}
	}
	o := out.String()
	for _, c := range cases {
		wantLines(t, o, c)
		if !strings.Contains(o, "[aotsym] request "+c.RequestID+": symbolicated trace from "+group) {
			t.Errorf("no header line for request %s", c.RequestID)
		}
	}
	// The JSON inputs come out as text a person reads.
	if strings.Contains(o, `"stackTrace"`) || strings.Contains(o, `\n   at`) {
		t.Errorf("a JSON input was written as JSON:\n%s", o)
	}
	// The same payload again (an asynchronous retry): nothing written twice.
	before := out.String()
	sum = handle(t, h, lt.Payload(t, group, "2026/11/25/[42]0123456789abcdef", "DATA_MESSAGE", evs))
	if sum.Traces != 3 || sum.Duplicates != 3 || sum.Written != 0 || out.String() != before {
		t.Fatalf("retry: summary %+v, output grew by %d bytes", sum, len(out.String())-len(before))
	}
}

// TestHandlerLatestAndDetection: [$LATEST] has no exact tag; the newest build
// tagged for the function is used when the trace fits it, and detection
// decides when it does not.
func TestHandlerLatestAndDetection(t *testing.T) {
	st := openStore(t,
		upload{"net8.0-linux-x64", nil},
		upload{"net10.0-linux-x64", map[string]string{"lambda": "orders-api:7"}},
		upload{"net9.0-linux-x64", map[string]string{"lambda": "orders-api:8"}})
	h, out := newHandler(t, st)
	m9, m10 := lt.Load(t, "net9.0-linux-x64"), lt.Load(t, "net10.0-linux-x64")
	c9, c10 := lt.Case(t, m9, "async-chain"), lt.Case(t, m10, "overloads")
	evs := append(lt.Invocation(c9.RequestID, "$LATEST", lt.T0, lt.Sample(t, m9, c9, ".log")),
		lt.Invocation(c10.RequestID, "$LATEST", lt.T0.Add(time.Second), lt.Sample(t, m10, c10, ".log"))...)
	sum := handle(t, h, lt.Payload(t, group, "2026/11/25/[$LATEST]0123456789abcdef", "DATA_MESSAGE", evs))
	if sum.Written != 2 || sum.Builds["newest lambda=orders-api:*"] != 1 || sum.Builds["detected"] != 1 {
		t.Fatalf("summary %+v: want one trace on the newest orders-api build, one detected", sum)
	}
	wantLines(t, out.String(), c9)
	wantLines(t, out.String(), c10)
}

// TestHandlerLinesWithoutRequestID: a runtime printing to standard output
// leaves one event per line; the lines of a trace join up, take the request
// ID of their request, and continue into the next payload.
func TestHandlerLinesWithoutRequestID(t *testing.T) {
	st := openStore(t, upload{"net9.0-linux-x64", map[string]string{"lambda": "orders-api:42"}})
	h, out := newHandler(t, st)
	m := lt.Load(t, "net9.0-linux-x64")
	c := lt.Case(t, m, "recursion")
	text := "Unhandled exception. " + c.ExceptionToString
	var lines []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	evs := lt.Invocation(c.RequestID, "42", lt.T0, lines...)
	evs = evs[:len(evs)-2] // END and REPORT come in the next payload
	half := len(evs) / 2
	stream := "2026/11/25/[42]0123456789abcdef"
	s1 := handle(t, h, lt.Payload(t, group, stream, "DATA_MESSAGE", evs[:half]))
	s2 := handle(t, h, lt.Payload(t, group, stream, "DATA_MESSAGE", append(evs[half:], lt.Invocation(c.RequestID, "42", lt.T0, "")[2:]...)))
	if s1.Written != 1 || s2.Written != 1 {
		t.Fatalf("summaries %+v %+v", s1, s2)
	}
	o := out.String()
	if strings.Count(o, "[aotsym] request "+c.RequestID) != 2 {
		t.Errorf("both halves should carry the request ID:\n%s", o)
	}
	wantLines(t, o, c)
}

func TestHandlerSkipsControlAndRefusesGarbage(t *testing.T) {
	st := openStore(t)
	h, out := newHandler(t, st)
	sum := handle(t, h, lt.Payload(t, "", "", "CONTROL_MESSAGE", []events.CloudwatchLogsLogEvent{
		lt.Event(lt.T0, "CWL CONTROL MESSAGE: Checking health of destination Lambda function.")}))
	if sum.MessageType != "CONTROL_MESSAGE" || sum.Traces != 0 || sum.Errors != 0 || out.String() != "" {
		t.Fatalf("control message: %+v %q", sum, out.String())
	}
	for name, data := range map[string]string{
		"not base64": "%%%",
		"not gzip":   base64.StdEncoding.EncodeToString([]byte("plain")),
	} {
		sum, err := h.Handle(context.Background(), events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
		if err != nil || sum.Errors != 1 || !strings.Contains(sum.ErrorMessages[0], "awslogs.data") {
			t.Errorf("%s: %v %+v", name, err, sum)
		}
	}
	// Its own output never comes back to it.
	h.Ignore = []string{"/aws/lambda/aotsym-subscription"}
	sum = handle(t, h, lt.Payload(t, "/aws/lambda/aotsym-subscription", "2026/11/25/[$LATEST]ab", "DATA_MESSAGE",
		[]events.CloudwatchLogsLogEvent{lt.Event(lt.T0, "System.Exception: boom\n   at A.B.C() + 0x1c\n")}))
	if sum.Traces != 0 || sum.Errors != 1 || !strings.Contains(sum.ErrorMessages[0], "own output") {
		t.Errorf("own log group: %+v", sum)
	}
	// A gzip bomb is refused without inflating it whole.
	var d events.CloudwatchLogsData
	d.LogEvents = []events.CloudwatchLogsLogEvent{lt.Event(lt.T0, strings.Repeat("a", lambda.MaxPayloadBytes))}
	ev, err := lambda.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	if sum, _ := h.Handle(context.Background(), ev); sum.Errors != 1 || !strings.Contains(sum.ErrorMessages[0], "inflates to more than") {
		t.Errorf("bomb: %+v", sum)
	}
}

// TestHandlerDestLogGroup: with a destination log group each trace is one
// event there, in a stream named after the source, created on first use.
func TestHandlerDestLogGroup(t *testing.T) {
	st := openStore(t, upload{"net9.0-linux-x64", map[string]string{"lambda": "orders-api:42"}})
	h, _ := newHandler(t, st)
	cw := cloudwatchtest.New(t)
	cw.AddGroup("/aotsym/traces")
	cfg := cw.AWSConfig()
	c, err := cloudwatch.NewClient(context.Background(), cloudwatch.Config{AWS: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	h.Dest = &cloudwatch.Writer{API: c, Group: "/aotsym/traces"}
	m := lt.Load(t, "net9.0-linux-x64")
	c1, c2 := lt.Case(t, m, "recursion"), lt.Case(t, m, "overloads")
	stream := "2026/11/25/[42]0123456789abcdef"
	evs := append(lt.Invocation(c1.RequestID, "42", lt.T0, lt.Sample(t, m, c1, ".log")),
		lt.Invocation(c2.RequestID, "42", lt.T0.Add(time.Second), lt.Sample(t, m, c2, ".log"))...)
	sum := handle(t, h, lt.Payload(t, group, stream, "DATA_MESSAGE", evs))
	if sum.DestEvents != 2 {
		t.Fatalf("summary %+v", sum)
	}
	dest := lambda.DestStream(group, stream)
	if dest != "orders-api/2026/11/25/[42]0123456789abcdef" {
		t.Errorf("dest stream %q", dest)
	}
	got := cw.Events("/aotsym/traces", dest)
	if len(got) != 2 || got[0].Timestamp != lt.T0.Add(time.Millisecond).UnixMilli() {
		t.Fatalf("%d events in %s: %+v", len(got), dest, got)
	}
	for i, c := range []*corpus.Case{c1, c2} {
		if !strings.HasPrefix(got[i].Message, "[aotsym] request "+c.RequestID) {
			t.Errorf("event %d: %q", i, aotsym.Clip(got[i].Message, 200))
		}
		wantLines(t, got[i].Message, c)
	}
}

// TestHandlerRetriesWhenTheServerIsDown: an unreachable server is a failure
// that may pass: the handler returns an error so Lambda retries.
func TestHandlerRetriesWhenTheServerIsDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b, err := lambda.NewServerBackend("http://"+addr, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &lambda.Handler{Backend: b, Out: &testenv.SyncBuffer{}}
	m := lt.Load(t, "net9.0-linux-x64")
	c := lt.Case(t, m, "recursion")
	sum, err := h.Handle(context.Background(), lt.Payload(t, group, "2026/11/25/[42]ab", "DATA_MESSAGE", lt.Invocation(c.RequestID, "42", lt.T0, lt.Sample(t, m, c, ".log"))))
	if err == nil || !sum.Retry || sum.Errors != 1 || !strings.Contains(sum.ErrorMessages[0], "cannot reach the aotsym server") {
		t.Fatalf("err %v, summary %+v", err, sum)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name string
		env  func(string) string
		want string // "" = valid
	}{
		{"server", env("AOTSYM_SERVER", "https://aotsym.internal", "AOTSYM_TOKEN", "t"), ""},
		{"store", env("AOTSYM_STORE", "s3://bucket/prefix", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"), ""},
		{"api", env("AOTSYM_LAMBDA_MODE", "api", "AOTSYM_STORE", "s3://bucket/prefix"), ""},
		{"nothing", env(), "nothing to resolve against"},
		{"both", env("AOTSYM_SERVER", "http://x", "AOTSYM_STORE", "s3://b/p"), "not both"},
		{"api without store", env("AOTSYM_LAMBDA_MODE", "api"), "AOTSYM_STORE=s3://BUCKET/PREFIX"},
		{"bad mode", env("AOTSYM_LAMBDA_MODE", "cron", "AOTSYM_STORE", "s3://b/p"), "use subscription"},
		{"bad store", env("AOTSYM_STORE", "/data"), "give s3://BUCKET/PREFIX"},
		{"bad cache", env("AOTSYM_STORE", "s3://b/p", "AOTSYM_CACHE", "lots"), "AOTSYM_CACHE"},
	} {
		c, err := lambda.ConfigFromEnv(tc.env)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.name == "store" && (c.CacheBytes != 1024<<20/3 || c.DataDir != "/tmp/aotsym" || c.Mode != lambda.ModeSubscription) {
			t.Errorf("defaults: %+v", c)
		}
	}
}

// TestHandlerDebugFilesOnly: builds uploaded without their executables
// cannot be told apart by their code, and detection often stays undecided
// between versions of one program. On [$LATEST] the function's newest build
// is then the one used (its tags say it runs), with the right lines; for a
// function no build is tagged for, every line written is a right one (frames
// are answered only where the candidates agree).
func TestHandlerDebugFilesOnly(t *testing.T) {
	st, err := bolt.Open(t.TempDir(), lambda.Indexer(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []upload{{"net10.0-linux-x64", map[string]string{"lambda": "orders-api:7"}}, {"net9.0-linux-x64", map[string]string{"lambda": "orders-api:8"}}} {
		m := lt.Load(t, u.variant)
		f, err := os.Open(m.DebugFile())
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Put(context.Background(), f, store.PutOptions{Name: "app.dbg", Tags: u.tags})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	m9 := lt.Load(t, "net9.0-linux-x64")
	cases := []*corpus.Case{lt.Case(t, m9, "async-chain"), lt.Case(t, m9, "overloads"), lt.Case(t, m9, "local-function")}
	var evs []events.CloudwatchLogsLogEvent
	for i, c := range cases {
		evs = append(evs, lt.Invocation(c.RequestID, "$LATEST", lt.T0.Add(time.Duration(i)*time.Second), lt.Sample(t, m9, c, ".log"))...)
	}
	h, out := newHandler(t, st)
	sum := handle(t, h, lt.Payload(t, group, "2026/11/25/[$LATEST]ab", "DATA_MESSAGE", evs))
	if sum.Written != len(cases) || sum.Builds["newest lambda=orders-api:*"] != len(cases) {
		t.Fatalf("summary %+v", sum)
	}
	for _, c := range cases {
		wantLines(t, out.String(), c)
	}

	h, out = newHandler(t, st)
	sum = handle(t, h, lt.Payload(t, "/aws/lambda/untagged", "2026/11/25/[$LATEST]ab", "DATA_MESSAGE", evs))
	if sum.Written != len(cases) || sum.Builds["newest lambda=untagged:*"] != 0 {
		t.Fatalf("summary %+v", sum)
	}
	t.Logf("untagged function: builds %v, frames %v", sum.Builds, sum.Frames)
	right := map[string]bool{}
	for _, c := range cases {
		for _, l := range lt.ExpectedLines(c) {
			right[l] = true
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "at ") && strings.Contains(line, ":line ") && !right[line] {
			t.Errorf("a line no build of the trace gives: %q (builds %v)", line, sum.Builds)
		}
	}
}
