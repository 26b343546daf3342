package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// Containers the corpus has no sample of, built from its real traces: the aws
// CLI's log documents, the subscription payload, console rows, several events
// pasted together, JSON arrays and lines of events, JSON inside JSON.

// pick returns a few cases of one variant with varied shapes.
func pick(t *testing.T, variant string, scenarios ...string) (*corpus.Manifest, []*corpus.Case) {
	t.Helper()
	m, err := corpus.Load(variant)
	if err != nil {
		t.Fatal(err)
	}
	var out []*corpus.Case
	for _, s := range scenarios {
		for i := range m.Cases {
			if m.Cases[i].Scenario == s {
				out = append(out, &m.Cases[i])
			}
		}
	}
	if len(out) != len(scenarios) {
		t.Fatalf("%s: found %d of the cases %v", variant, len(out), scenarios)
	}
	return m, out
}

func readSample(t *testing.T, m *corpus.Manifest, c *corpus.Case, ext string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.Dir, "cloudwatch-constructed", c.Scenario+ext))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkRoots checks a document holding the traces of cases, in order, one
// root exception each: root k is case k, with its paths under "k".
func checkRoots(t *testing.T, name string, d *Document, cases []*corpus.Case) {
	t.Helper()
	_, listed := framesByPath(d)
	n := 0
	for k, c := range cases {
		for path, want := range printedByPath(c) {
			p := fmt.Sprint(k) + path[1:]
			if !slices.Equal(listed[p], want) {
				t.Errorf("%s: exception %s: frames\n got %q\nwant %q", name, p, listed[p], want)
			}
			n += len(want)
		}
		for _, e := range c.Exceptions {
			p := fmt.Sprint(k) + e.Path[1:]
			i := slices.IndexFunc(d.Exceptions, func(x aotsym.Exception) bool { return x.Path == p })
			if i < 0 || d.Exceptions[i].Type != e.Type || d.Exceptions[i].Message != e.Message {
				t.Errorf("%s: exception %s missing or wrong", name, p)
			}
		}
	}
	if len(d.Frames) != n {
		t.Errorf("%s: %d frames, want %d", name, len(d.Frames), n)
	}
	if len(d.Exceptions) != countExceptions(cases) {
		t.Errorf("%s: %d exceptions, want %d", name, len(d.Exceptions), countExceptions(cases))
	}
}

func countExceptions(cases []*corpus.Case) int {
	n := 0
	for _, c := range cases {
		n += len(c.Exceptions)
	}
	return n
}

func marshal(t *testing.T, v any, escapeHTML bool) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parseChecked(t *testing.T, name string, in []byte, format string) *Document {
	t.Helper()
	d, err := Parse(in, DefaultLimits)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if d.Format != format {
		t.Errorf("%s: format %q, want %q", name, d.Format, format)
	}
	checkRender(t, name, in, d)
	return d
}

func TestContainers(t *testing.T) {
	m, cases := pick(t, "net10.0-linux-x64", "aggregate", "inner-exceptions", "async-chain", "generic-shared")
	logs := make([]string, len(cases))
	events := make([]string, len(cases))
	reqs := make([]string, len(cases))
	for i, c := range cases {
		logs[i] = readSample(t, m, c, ".log")
		events[i] = strings.TrimSpace(readSample(t, m, c, ".event.json"))
		reqs[i] = c.RequestID
	}

	t.Run("several Lambda events pasted", func(t *testing.T) {
		var b strings.Builder
		for i, l := range logs {
			fmt.Fprintf(&b, "START RequestId: %s Version: $LATEST\n", reqs[i])
			b.WriteString(l)
			fmt.Fprintf(&b, "2026-11-25T10:15:30.200Z\t%s\tinfo\tRetrying order 7 at 10:42 + 0x1 more\n", reqs[i])
			fmt.Fprintf(&b, "END RequestId: %s\nREPORT RequestId: %s\tDuration: 12.34 ms\n", reqs[i], reqs[i])
		}
		d := parseChecked(t, "pasted", []byte(b.String()), FormatCloudWatch)
		checkRoots(t, "pasted", d, cases)
		if !slices.Equal(d.RequestIDs, reqs) {
			t.Errorf("request IDs %v, want %v", d.RequestIDs, reqs)
		}
	})

	t.Run("console table rows", func(t *testing.T) {
		// the console's copy: a timestamp column, then the message column,
		// which is the Lambda line; CRLF line ends from a Windows clipboard
		var b strings.Builder
		for _, l := range logs {
			b.WriteString("2026-11-25T11:15:30.123+01:00\t")
			b.WriteString(strings.ReplaceAll(l, "\n", "\r\n"))
		}
		d := parseChecked(t, "console", []byte(b.String()), FormatCloudWatch)
		checkRoots(t, "console", d, cases)
		if !slices.Equal(d.RequestIDs, reqs) {
			t.Errorf("request IDs %v, want %v", d.RequestIDs, reqs)
		}
		// the message column alone, as the console also copies it
		var c strings.Builder
		for _, l := range logs {
			_, msg, _ := strings.Cut(l, "\tfail\t")
			c.WriteString("2026-11-25T10:15:30.123Z\t" + msg)
		}
		d = parseChecked(t, "console message column", []byte(c.String()), FormatCloudWatch)
		checkRoots(t, "console message column", d, cases)
	})

	t.Run("JSON array of events", func(t *testing.T) {
		in := "[\n  " + strings.Join(events, ",\n  ") + "\n]\n"
		d := parseChecked(t, "array", []byte(in), FormatJSONEvents)
		checkRoots(t, "array", d, cases)
		if !slices.Equal(d.RequestIDs, reqs) {
			t.Errorf("request IDs %v, want %v", d.RequestIDs, reqs)
		}
	})

	t.Run("one JSON event per line", func(t *testing.T) {
		in := strings.Join(events, "\n") + "\n"
		d := parseChecked(t, "ndjson", []byte(in), FormatJSONEvents)
		checkRoots(t, "ndjson", d, cases)
	})

	type filtered struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		IngestionTime int64  `json:"ingestionTime"`
		EventID       string `json:"eventId"`
	}
	stream := "2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef"
	filterDoc := func(msgs []string) map[string]any {
		var evs []filtered
		for i, msg := range msgs {
			evs = append(evs, filtered{stream, 1795601730123 + int64(i), msg, 1795601730200 + int64(i), fmt.Sprintf("3912345678901234567890123456789012345678901234567%d", i)})
		}
		return map[string]any{
			"events":             evs,
			"searchedLogStreams": []map[string]any{{"logStreamName": stream, "searchedCompletely": true}},
			"nextToken":          "Bxkq6kVGFtq2y_MoigeqscPOdhXVbhiVtLoAmXb5jCqsZ4OH0eCE",
		}
	}

	t.Run("one event per line", func(t *testing.T) {
		// ECS and EC2 agents send every line as an event of its own, so the
		// console and the aws CLI show a timestamp on each line
		var b strings.Builder
		var msgs []string
		for _, l := range logs {
			_, msg, _ := strings.Cut(l, "\tfail\t")
			for line := range strings.Lines(msg) {
				b.WriteString("2026-11-25T10:15:30.123Z\t" + line)
				msgs = append(msgs, line)
			}
		}
		d := parseChecked(t, "line events", []byte(b.String()), FormatCloudWatch)
		checkRoots(t, "line events", d, cases)
		in := marshal(t, filterDoc(msgs), false)
		d = parseChecked(t, "line events, filter-log-events", in, FormatAWSLogs)
		checkRoots(t, "line events, filter-log-events", d, cases)
	})

	for _, esc := range []bool{false, true} {
		t.Run(fmt.Sprintf("aws logs filter-log-events (escapeHTML=%v)", esc), func(t *testing.T) {
			in := marshal(t, filterDoc(logs), esc)
			d := parseChecked(t, "filter-log-events", in, FormatAWSLogs)
			checkRoots(t, "filter-log-events", d, cases)
			if !slices.Equal(d.RequestIDs, reqs) || !slices.Equal(d.LogStreams, []string{stream}) {
				t.Errorf("request IDs %v, streams %v", d.RequestIDs, d.LogStreams)
			}
		})
	}

	t.Run("aws logs get-log-events", func(t *testing.T) {
		type ev struct {
			Timestamp     int64  `json:"timestamp"`
			Message       string `json:"message"`
			IngestionTime int64  `json:"ingestionTime"`
		}
		var evs []ev
		for i, l := range logs {
			evs = append(evs, ev{1795601730123 + int64(i), l, 1795601730200})
		}
		in := marshal(t, map[string]any{"events": evs, "nextForwardToken": "f/39123456789012345678901234567890123456789012345678/s", "nextBackwardToken": "b/39123456789012345678901234567890123456789012345678/s"}, false)
		d := parseChecked(t, "get-log-events", in, FormatAWSLogs)
		checkRoots(t, "get-log-events", d, cases)
	})

	t.Run("subscription payload", func(t *testing.T) {
		var evs []map[string]any
		for i, l := range logs {
			evs = append(evs, map[string]any{"id": fmt.Sprint(i), "timestamp": 1795601730123, "message": l})
		}
		in := marshal(t, map[string]any{"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/orders", "logStream": stream, "subscriptionFilters": []string{"aotsym"}, "logEvents": evs}, true)
		d := parseChecked(t, "subscription", in, FormatAWSLogs)
		checkRoots(t, "subscription", d, cases)
		if d.LogGroup != "/aws/lambda/orders" || !slices.Equal(d.LogStreams, []string{stream}) {
			t.Errorf("log group %q, streams %v", d.LogGroup, d.LogStreams)
		}
	})

	t.Run("JSON log events fetched with aws logs", func(t *testing.T) {
		// Lambda's JSON log format: every message is itself a JSON event whose
		// message holds the trace, so frames sit two string levels deep
		in := marshal(t, filterDoc(events), true)
		d := parseChecked(t, "json in json", in, FormatAWSLogs)
		checkRoots(t, "json in json", d, cases)
		if !slices.Equal(d.RequestIDs, reqs) {
			t.Errorf("request IDs %v, want %v", d.RequestIDs, reqs)
		}
		// decode the rendered document twice: the inner messages hold the
		// rewritten frames
		out := d.RenderText(fakeResults(d))
		var doc struct{ Events []filtered }
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		var inner struct{ Message string }
		if err := json.Unmarshal([]byte(doc.Events[0].Message), &inner); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(inner.Message, "   at MyService.Orders.OrderRepository.<SaveAsync>d__0.MoveNext() in /src/Fake0.cs:line 1\n") {
			t.Errorf("inner message not rewritten: %q", inner.Message)
		}
	})

	t.Run("console row holding a JSON event", func(t *testing.T) {
		var b strings.Builder
		for _, e := range events {
			b.WriteString("2026-11-25T11:15:30.123+01:00\t" + e + "\n")
		}
		d := parseChecked(t, "console json", []byte(b.String()), FormatCloudWatch)
		checkRoots(t, "console json", d, cases)
	})

	t.Run("Lambda error document inside a log event", func(t *testing.T) {
		errDoc := readSample(t, m, cases[1], ".error.json")
		in := marshal(t, filterDoc([]string{errDoc}), false)
		d := parseChecked(t, "error in event", in, FormatAWSLogs)
		checkTree(t, "error in event", d, cases[1], true)
		if len(d.Frames) != len(cases[1].PrintedFrames()) {
			t.Errorf("error in event: %d frames, want %d", len(d.Frames), len(cases[1].PrintedFrames()))
		}
	})
}

// Structure lines the corpus does not show: the .NET Framework's unhandled
// header, messages over several lines, a header whose type does not end in
// Exception, a trace pasted without its outer header, ASP.NET's indented log
// block, and a build ID.
func TestStructure(t *testing.T) {
	in := `build-id: 50EB9C11D7B522C303CB4F776B496A670A98A5C4
build-id: 50eb9c11d7b522c303cb4f776b496a670a98a5c4
Unhandled Exception: System.AggregateException: One or more errors occurred.
Second line of the message.
 ---> (Inner Exception #0) MyApp.OrderRejected: rejected
   at MyApp.Orders.Submit(Order order) + 0x10
   --- End of inner exception stack trace ---<---

 ---> (Inner Exception #1) System.TimeoutException: slow<---

fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]
      An unhandled exception has occurred while executing the request.
      MyApp.PaymentDeclined: card declined
         at MyApp.Payments.Charge(Decimal amount) + 0x2a
 ---> System.IO.IOException: disk
   at MyApp.Disk.Write() + 0x1
   --- End of inner exception stack trace ---
   at MyApp.Disk.Flush() + 0x2
Unhandled exception. Boom: no namespace
   at MyApp.Program.Main(String[] args) + 0x3
`
	d, err := Parse([]byte(in), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	type ex struct{ path, typ, msg string }
	var got []ex
	for _, e := range d.Exceptions {
		got = append(got, ex{e.Path, e.Type, e.Message})
	}
	want := []ex{
		{"0", "System.AggregateException", "One or more errors occurred.\nSecond line of the message."},
		{"0.0", "MyApp.OrderRejected", "rejected"},
		{"0.1", "System.TimeoutException", "slow"},
		{"1", "MyApp.PaymentDeclined", "card declined"},
		{"1.0", "System.IO.IOException", "disk"},
		{"2", "Boom", "no namespace"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("exceptions\n got %q\nwant %q", got, want)
	}
	wantFrames := []string{"0.0", "1", "1.0", "1", "2"}
	if !slices.Equal(d.FrameException, wantFrames) {
		t.Errorf("frame exceptions %q, want %q", d.FrameException, wantFrames)
	}
	if !slices.Equal(d.BuildIDs, []aotsym.BuildID{"50eb9c11d7b522c303cb4f776b496a670a98a5c4"}) {
		t.Errorf("build IDs %v", d.BuildIDs)
	}

	// a byte order mark is not part of the first line
	d, _ = Parse([]byte("\ufeffSystem.Exception: x\r\n   at A.B() + 0x1\r\n"), DefaultLimits)
	if len(d.Frames) != 1 || d.FrameException[0] != "0" || d.Frames[0].Start != 30 {
		t.Errorf("BOM: %+v", d.Frames)
	}

	// frames with no header: no exception
	d, _ = Parse([]byte("   at A.B() + 0x1\n   at A.C() + 0x2\n"), DefaultLimits)
	if !slices.Equal(d.FrameException, []string{"", ""}) || len(d.Exceptions) != 0 {
		t.Errorf("headerless frames: %q %v", d.FrameException, d.Exceptions)
	}
	// an inner exception whose outer header was not pasted
	d, _ = Parse([]byte(" ---> System.Exception: inner\n   at A.B() + 0x1\n   --- End of inner exception stack trace ---\n   at A.C() + 0x2\n"), DefaultLimits)
	if !slices.Equal(d.FrameException, []string{"0.0", "0"}) || len(d.Exceptions) != 2 || d.Exceptions[0].Type != "" {
		t.Errorf("headless inner: %q %v", d.FrameException, d.Exceptions)
	}
}

func TestLimits(t *testing.T) {
	in := []byte(strings.Repeat("   at A.B() + 0x1\n", 100))
	if _, err := Parse(in, Limits{MaxBytes: len(in) - 1}); aotsym.ErrorCode(err) != aotsym.ETOOLARGE || !strings.Contains(err.Error(), fmt.Sprint(len(in)-1)) {
		t.Errorf("over MaxBytes: %v", err)
	}
	if _, err := Parse(in, Limits{MaxFrames: 99}); aotsym.ErrorCode(err) != aotsym.ETOOLARGE || !strings.Contains(err.Error(), "99") {
		t.Errorf("over MaxFrames: %v", err)
	}
	if d, err := Parse(in, Limits{MaxFrames: 100, MaxBytes: len(in)}); err != nil || len(d.Frames) != 100 {
		t.Errorf("at the limits: %v", err)
	}
	ex := []byte(strings.Repeat("System.Exception: x\n", 11))
	if _, err := Parse(ex, Limits{MaxFrames: 10}); aotsym.ErrorCode(err) != aotsym.ETOOLARGE {
		t.Errorf("over the exception limit: %v", err)
	}
	// deep nesting is bounded, not an error
	deep := []byte(strings.Repeat(" ---> System.Exception: x\n", 5000) + "   at A.B() + 0x1\n")
	d, err := Parse(deep, DefaultLimits)
	if err != nil || len(d.Frames) != 1 || strings.Count(d.FrameException[0], ".") != maxNesting-1 {
		t.Errorf("deep nesting: %v %q", err, d.FrameException)
	}
	// repeated keys must not multiply the walk: 2^60 visits would never end
	nested := `{"errorType":"E","stackTrace":["at A.B() + 0x1"]}`
	for i := 0; i < 60; i++ {
		nested = `{"errorType":"E","stackTrace":[],"causes":[` + nested + `],"causes":[],"cause":{"errorType":"F"},"cause":{}}`
	}
	if d, err := Parse([]byte(nested), DefaultLimits); err != nil || d.Format != FormatLambdaError || len(d.Frames) != 1 {
		t.Errorf("repeated keys: %v", err)
	}
	arr := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	if d, err := Parse(arr, DefaultLimits); err != nil || d.Format != FormatText {
		t.Errorf("deep JSON: %v", err)
	}
}

func TestTraceDocument(t *testing.T) {
	in := "System.Exception: boom\n   at A.B(Int32 x) + 0x1c\n   at A.C() in /src/C.cs:line 9\n   at <unknown>\n"
	d, err := Parse([]byte(in), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Trace([]aotsym.FrameResult{{Status: aotsym.StatusResolved, Function: "A.B(Int32)", File: "/src/B.cs", Line: 3}})
	b, _ := json.Marshal(tr)
	want := `{"format":"text","exceptions":[{"path":"0","type":"System.Exception","message":"boom","frames":[0,1,2]}],` +
		`"frames":[{"index":0,"exception":"0","input":"at A.B(Int32 x) + 0x1c","kind":"managed","status":"resolved","function":"A.B(Int32)","file":"/src/B.cs","line":3},` +
		`{"index":1,"exception":"0","input":"at A.C() in /src/C.cs:line 9","kind":"lined","status":"resolved","function":"A.C","file":"/src/C.cs","line":9,"reason":"the frame already names its source position"},` +
		`{"index":2,"exception":"0","input":"at \u003cunknown\u003e","kind":"unknown","status":"not_found","reason":"the frame was not looked up"}],` +
		`"summary":{"not_found":1,"resolved":2}}`
	if string(b) != want {
		t.Errorf("trace\n got %s\nwant %s", b, want)
	}
}

// Lambda error documents of other shapes: no stack trace (the runtime's own
// errors), a stack trace as one string, a cause that is not causes[0].
func TestLambdaErrorShapes(t *testing.T) {
	cases := []struct {
		in      string
		paths   []string // exceptions
		frames  []string // FrameException
		formats string
	}{
		{`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 0fe9faaa-7689-52d8-8d3c-c35339bd9e73 Error: Runtime exited with error: signal: aborted"}`,
			[]string{"0"}, []string{}, FormatLambdaError},
		{`{"errorType":"InvalidOperationException","errorMessage":"x","stackTrace":"at A.B() + 0x1\n--- End of stack trace from previous location ---\nat A.C() + 0x2"}`,
			[]string{"0"}, []string{"0", "0"}, FormatLambdaError},
		{`{"errorType":"AggregateException","errorMessage":"x","stackTrace":["at A.B() + 0x1"],"cause":{"errorType":"E","errorMessage":"c","stackTrace":["at A.C() + 0x2"]},"causes":[{"errorType":"F","errorMessage":"d","stackTrace":["at A.D() + 0x3"]}]}`,
			[]string{"0", "0.0", "0.1"}, []string{"0", "0.1", "0.0"}, FormatLambdaError},
		{`{"errorMessage":"no type"}`, nil, []string{}, FormatJSONEvents},
	}
	for _, c := range cases {
		d := parseChecked(t, c.in, []byte(c.in), c.formats)
		var paths []string
		for _, e := range d.Exceptions {
			paths = append(paths, e.Path)
		}
		if !slices.Equal(paths, c.paths) || !slices.Equal(d.FrameException, c.frames) {
			t.Errorf("%s: exceptions %q, frames %q; want %q, %q", c.in, paths, d.FrameException, c.paths, c.frames)
		}
	}
	// a console row of the platform's START line names the request
	d, _ := Parse([]byte("2026-11-25T10:15:30.123Z\tSTART RequestId: 0fe9faaa-7689-52d8-8d3c-c35339bd9e73 Version: $LATEST\n"), DefaultLimits)
	if !slices.Equal(d.RequestIDs, []string{"0fe9faaa-7689-52d8-8d3c-c35339bd9e73"}) {
		t.Errorf("START row: %v", d.RequestIDs)
	}
}
