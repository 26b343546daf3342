package cloudwatch_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aotsym/aotsym/cloudwatch/cloudwatchtest"
	"github.com/aotsym/aotsym/internal/corpus"
)

const group = "/aws/lambda/orders-api"

// sample returns a committed CloudWatch sample (NAME.log) of the net9.0
// variant and its request ID from cases.json.
func sample(t testing.TB, scenario string) (text, requestID string) {
	t.Helper()
	m, err := corpus.Load("net9.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Cases {
		c := &m.Cases[i]
		if c.Scenario != scenario {
			continue
		}
		b, err := os.ReadFile(m.Path("cloudwatch-constructed/" + scenario + ".log"))
		if err != nil {
			t.Fatal(err)
		}
		if c.RequestID == "" || !strings.Contains(string(b), c.RequestID) {
			t.Fatalf("%s.log does not carry the request ID %q of cases.json", scenario, c.RequestID)
		}
		return string(b), c.RequestID
	}
	t.Fatalf("no case %s", scenario)
	return "", ""
}

func client(t testing.TB, srv *cloudwatchtest.Server) *cloudwatch.Client {
	t.Helper()
	cfg := srv.AWSConfig()
	c, err := cloudwatch.NewClient(context.Background(), cloudwatch.Config{AWS: &cfg, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var t0 = time.Date(2026, 11, 25, 10, 15, 30, 0, time.UTC)

func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

// invocation returns the events Lambda writes for one request whose
// function logged body (one event), bracketed by the platform lines.
func invocation(id string, at time.Duration, body ...string) []cloudwatchtest.Event {
	evs := []cloudwatchtest.Event{{Timestamp: ms(at), Message: "START RequestId: " + id + " Version: 42\n"}}
	for i, b := range body {
		evs = append(evs, cloudwatchtest.Event{Timestamp: ms(at + time.Duration(i+1)*time.Millisecond), Message: b})
	}
	end := at + time.Duration(len(body)+1)*time.Millisecond
	return append(evs,
		cloudwatchtest.Event{Timestamp: ms(end), Message: "END RequestId: " + id + "\n"},
		cloudwatchtest.Event{Timestamp: ms(end), Message: "REPORT RequestId: " + id + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\n"})
}

func TestFetchPagesThroughTokenChains(t *testing.T) {
	text, id := sample(t, "recursion")
	other, otherID := sample(t, "async-lambda")
	srv := cloudwatchtest.New(t)
	srv.PageSize, srv.EmptyPages = 2, 3
	stream := "2026/11/25/[42]0123456789abcdef0123456789abcdef"
	srv.Add(group, stream, invocation(otherID, 0, other)...)
	srv.Add(group, stream, invocation(id, time.Second, text)...)
	// A later request that quotes our ID in its message is not ours.
	srv.Add(group, stream, invocation("11111111-2222-3333-4444-555555555555", 2*time.Second,
		t0.Format(time.RFC3339)+"\t11111111-2222-3333-4444-555555555555\tinfo\tretrying after "+id+"\n")...)
	srv.Add(group, "2026/11/25/[42]ffff", invocation(otherID, 3*time.Second, other)...)

	res, err := cloudwatch.Fetch(context.Background(), client(t, srv), cloudwatch.Query{LogGroup: group, RequestID: id, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := "START RequestId: " + id + " Version: 42\n" + text + "END RequestId: " + id + "\n" + "REPORT RequestId: " + id + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\n"
	if string(res.Text) != want {
		t.Fatalf("reassembled text:\n%s\nwant:\n%s", res.Text, want)
	}
	if res.Matched != 4 || res.Added != 0 || len(res.Streams) != 1 || res.Streams[0] != stream {
		t.Errorf("result %s: want 4 matched events in %s", res, stream)
	}
	// 4 matching events in pages of 2 after 3 empty pages: 3+2 calls, then
	// the span of the stream (6 events: START..REPORT plus nothing else) in 3+3.
	if res.Pages != 5+6 || srv.Calls("FilterLogEvents") != res.Pages {
		t.Errorf("%d FilterLogEvents calls (server saw %d), want 11", res.Pages, srv.Calls("FilterLogEvents"))
	}
}

// A runtime writing a trace to standard output leaves one event per line,
// with no request ID but the first: the lines between the request's START and
// REPORT belong to it.
func TestFetchTakesLinesWithoutIDFromTheRequestSpan(t *testing.T) {
	text, id := sample(t, "async-lambda")
	prev, prevID := sample(t, "recursion")
	srv := cloudwatchtest.New(t)
	srv.PageSize = 3
	stream := "2026/11/25/[$LATEST]abcdef"
	var lines []string
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	var prevLines []string
	for _, l := range strings.SplitAfter(prev, "\n") {
		if l != "" {
			prevLines = append(prevLines, l)
		}
	}
	srv.Add(group, stream, invocation(prevID, 0, prevLines...)...)
	srv.Add(group, stream, invocation(id, time.Second, lines...)...)
	res, err := cloudwatch.Fetch(context.Background(), client(t, srv), cloudwatch.Query{LogGroup: group, RequestID: id, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Text), text) {
		t.Fatalf("the trace's lines were not reassembled:\n%s", res.Text)
	}
	if strings.Contains(string(res.Text), prevLines[1]) {
		t.Fatalf("lines of the previous request leaked in:\n%s", res.Text)
	}
	if res.Added != len(lines)-1 {
		t.Errorf("%d lines added from the span, want %d", res.Added, len(lines)-1)
	}
}

func TestFetchJoinsSplitLines(t *testing.T) {
	_, id := sample(t, "recursion")
	srv := cloudwatchtest.New(t)
	long := t0.Format(time.RFC3339Nano) + "\t" + id + "\tinfo\t" + strings.Repeat("x", cloudwatch.SplitThreshold+100) + "\n"
	a, b := long[:cloudwatch.SplitThreshold+10], long[cloudwatch.SplitThreshold+10:]
	srv.Add(group, "s", invocation(id, 0, a, b)...)
	res, err := cloudwatch.Fetch(context.Background(), client(t, srv), cloudwatch.Query{LogGroup: group, RequestID: id, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Text), "\n"+long) {
		t.Fatalf("the split line was not joined back")
	}
}

func TestFetchRetriesThrottling(t *testing.T) {
	text, id := sample(t, "recursion")
	srv := cloudwatchtest.New(t)
	srv.Add(group, "s", invocation(id, 0, text)...)
	srv.Throttle(2)
	res, err := cloudwatch.Fetch(context.Background(), client(t, srv), cloudwatch.Query{LogGroup: group, RequestID: id, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	if err != nil {
		t.Fatalf("two throttled calls were not retried: %v", err)
	}
	if !strings.Contains(string(res.Text), text) || srv.Calls("FilterLogEvents") != res.Pages+2 {
		t.Errorf("%d calls for %d pages", srv.Calls("FilterLogEvents"), res.Pages)
	}
	srv.Throttle(100)
	_, err = cloudwatch.Fetch(context.Background(), client(t, srv), cloudwatch.Query{LogGroup: group, RequestID: id, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("endless throttling: %v", err)
	}
}

func TestFetchErrorsSayWhatToDo(t *testing.T) {
	text, id := sample(t, "recursion")
	srv := cloudwatchtest.New(t)
	srv.Add(group, "s", invocation(id, 0, text)...)
	srv.Add("/aws/lambda/secret", "s", invocation(id, 0, text)...)
	srv.Deny("/aws/lambda/secret", "FilterLogEvents")
	c := client(t, srv)
	window := func(q cloudwatch.Query) cloudwatch.Query {
		q.Start, q.End, q.Region = t0.Add(-time.Hour), t0.Add(time.Hour), "us-east-1"
		return q
	}
	for _, tc := range []struct {
		name string
		q    cloudwatch.Query
		code string
		want []string
	}{
		{"no such group", window(cloudwatch.Query{LogGroup: "/aws/lambda/nope", RequestID: id}), aotsym.ENOTFOUND,
			[]string{"log group /aws/lambda/nope does not exist in region us-east-1", "--region"}},
		{"access denied", window(cloudwatch.Query{LogGroup: "/aws/lambda/secret", RequestID: id}), aotsym.EINVALID,
			[]string{"access denied", "logs:FilterLogEvents", "log-group:/aws/lambda/secret"}},
		{"unknown request", window(cloudwatch.Query{LogGroup: group, RequestID: "00000000-0000-0000-0000-000000000000"}), aotsym.ENOTFOUND,
			[]string{"no log events of request 00000000-0000-0000-0000-000000000000", "--start"}},
		{"bad request ID", window(cloudwatch.Query{LogGroup: group, RequestID: `x" OR "y`}), aotsym.EINVALID,
			[]string{"is not one"}},
		{"page cap", window(cloudwatch.Query{LogGroup: group, RequestID: id, MaxPages: 1}), aotsym.ETOOLARGE,
			[]string{"read 1 pages", "--max-pages"}},
		{"event cap", window(cloudwatch.Query{LogGroup: group, RequestID: id, MaxEvents: 3}), aotsym.ETOOLARGE,
			[]string{"more than 3 log events", "--max-events"}},
		{"byte cap", window(cloudwatch.Query{LogGroup: group, RequestID: id, MaxBytes: 100}), aotsym.ETOOLARGE,
			[]string{"over the limit of 100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cloudwatch.Fetch(context.Background(), c, tc.q)
			if err == nil {
				t.Fatal("no error")
			}
			if aotsym.ErrorCode(err) != tc.code {
				t.Errorf("code %s, want %s (%v)", aotsym.ErrorCode(err), tc.code, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(aotsym.ErrorMessage(err), w) {
					t.Errorf("message %q lacks %q", aotsym.ErrorMessage(err), w)
				}
			}
		})
	}
}

func TestMissingCredentials(t *testing.T) {
	for _, kv := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(kv, "")
		os.Unsetenv(kv)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "eu-west-1")
	c, err := cloudwatch.NewClient(context.Background(), cloudwatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckCredentials(context.Background())
	if err == nil || !strings.HasPrefix(aotsym.ErrorMessage(err), "aws: no credentials:") {
		t.Fatalf("want the no-credentials sentence, got %v", err)
	}
	t.Setenv("AWS_REGION", "")
	os.Unsetenv("AWS_REGION")
	os.Unsetenv("AWS_DEFAULT_REGION")
	if _, err := cloudwatch.NewClient(context.Background(), cloudwatch.Config{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("no region: %v", err)
	}
}

func TestRequestIDOf(t *testing.T) {
	id := "4100dac2-f757-5e17-943b-ba7c12772da0"
	for _, tc := range []struct {
		msg    string
		id     string
		marker cloudwatch.Marker
	}{
		{"START RequestId: " + id + " Version: $LATEST\n", id, cloudwatch.Start},
		{"END RequestId: " + id + "\n", id, cloudwatch.End},
		{"REPORT RequestId: " + id + "\tDuration: 1 ms\n", id, cloudwatch.End},
		{"2026-11-25T10:15:30.123Z\t" + id + "\tfail\tSystem.Exception: boom\n", id, cloudwatch.NoMarker},
		{`{"timestamp":"2026-11-25T10:15:30.123Z","level":"Error","requestId":"` + id + `","message":"x"}`, id, cloudwatch.NoMarker},
		{`{"time":"2026-11-25T10:15:30.123Z","type":"platform.start","record":{"requestId": "` + id + `","version":"42"}}`, id, cloudwatch.Start},
		{`{"time":"2026-11-25T10:15:30.123Z","type":"platform.report","record":{"requestId":"` + id + `"}}`, id, cloudwatch.End},
		{"   at MyService.Program.Main(String[] args) + 0xca\n", "", cloudwatch.NoMarker},
		{"System.Exception: request " + id + " failed\n", "", cloudwatch.NoMarker},
		{"2026-11-25T10:15:30.123Z\tnot an id!\tfail\tx", "", cloudwatch.NoMarker},
	} {
		got, m := cloudwatch.RequestIDOf(tc.msg)
		if got != tc.id || m != tc.marker {
			t.Errorf("RequestIDOf(%q) = %q, %v; want %q, %v", tc.msg, got, m, tc.id, tc.marker)
		}
	}
}

func TestLambdaNames(t *testing.T) {
	for _, tc := range []struct{ group, stream, fn, version string }{
		{"/aws/lambda/orders-api", "2026/11/25/[42]0123456789abcdef", "orders-api", "42"},
		{"/aws/lambda/orders-api", "2026/11/25/[$LATEST]0123456789abcdef", "orders-api", "$LATEST"},
		{"/ecs/orders", "orders/web/0123", "", ""},
		{"/aws/lambda/a/b", "2026/11/25/[x]1", "", ""},
	} {
		if fn, v := cloudwatch.LambdaFunction(tc.group), cloudwatch.LambdaVersion(tc.stream); fn != tc.fn || v != tc.version {
			t.Errorf("%s %s: %q %q, want %q %q", tc.group, tc.stream, fn, v, tc.fn, tc.version)
		}
	}
}

func TestWriterCreatesStreamsAndKeepsLimits(t *testing.T) {
	srv := cloudwatchtest.New(t)
	srv.AddGroup("/aotsym/traces")
	w := &cloudwatch.Writer{API: client(t, srv), Group: "/aotsym/traces", Region: "us-east-1"}
	stream := cloudwatch.StreamName("orders-api", "2026/11/25/[42]abc")
	big := strings.Repeat("   at MyService.Catalogs.CategoryTree.Walk(Category, Int32) in /src/Catalogs.cs:line 12\n", 4000) // ~350 KB
	var recs []cloudwatch.Record
	for i := 0; i < 6; i++ {
		recs = append(recs, cloudwatch.Record{Timestamp: ms(time.Duration(5-i) * time.Second), Message: fmt.Sprintf("trace %d\n%s", 5-i, big)})
	}
	res, err := w.Write(context.Background(), stream, recs)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Events("/aotsym/traces", stream)
	if len(got) != res.Events || res.Events != 12 || res.Calls < 3 {
		t.Fatalf("wrote %d events in %d calls, the server has %d; want 12 pieces in at least 3 calls", res.Events, res.Calls, len(got))
	}
	var joined strings.Builder
	for _, e := range got {
		if len(e.Message) > cloudwatch.MaxMessageBytes {
			t.Errorf("event of %d bytes", len(e.Message))
		}
		joined.WriteString(e.Message)
	}
	for i := 0; i < 6; i++ {
		if !strings.Contains(joined.String(), fmt.Sprintf("trace %d\n%s", i, big)) {
			t.Errorf("trace %d was not written whole, in order", i)
		}
	}
	// A second writer (another container) finds the stream there.
	w2 := &cloudwatch.Writer{API: client(t, srv), Group: "/aotsym/traces"}
	if _, err := w2.Write(context.Background(), stream, recs[:1]); err != nil {
		t.Fatal(err)
	}
	w3 := &cloudwatch.Writer{API: client(t, srv), Group: "/aotsym/missing", Region: "us-east-1"}
	if _, err := w3.Write(context.Background(), stream, recs[:1]); aotsym.ErrorCode(err) != aotsym.ENOTFOUND || !strings.Contains(err.Error(), "/aotsym/missing does not exist") {
		t.Fatalf("missing group: %v", err)
	}
}

func TestStreamName(t *testing.T) {
	if got := cloudwatch.StreamName("/aws/lambda/x:y", "2026/11/25/[$LATEST]ab*c"); got != "aws/lambda/x_y/2026/11/25/[$LATEST]ab_c" {
		t.Errorf("StreamName = %q", got)
	}
	if got := cloudwatch.StreamName(strings.Repeat("é", 400)); len(got) > 512 || !strings.HasPrefix(got, "é") {
		t.Errorf("long name: %d bytes", len(got))
	}
}
