// Package lambdatest builds CloudWatch Logs subscription events from the
// committed corpus samples (testdata/nativeaot/*/cloudwatch-constructed) for
// the tests of internal/lambda and cmd/aotsym-lambda, and says which lines a
// correctly symbolicated sample must contain (from cases.json).
package lambdatest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/lambda"
	"github.com/aws/aws-lambda-go/events"
)

// T0 is the time of the samples' log lines.
var T0 = time.Date(2026, 11, 25, 10, 15, 30, 123e6, time.UTC)

var nextID atomic.Int64

// Event returns a log event with a new 56-digit ID, as CloudWatch numbers them.
func Event(at time.Time, msg string) events.CloudwatchLogsLogEvent {
	return events.CloudwatchLogsLogEvent{ID: fmt.Sprintf("%056d", 38000000+nextID.Add(1)), Timestamp: at.UnixMilli(), Message: msg}
}

// Invocation returns the events Lambda writes for one request whose
// function logged bodies, each as one event, between START and REPORT.
func Invocation(requestID, version string, at time.Time, bodies ...string) []events.CloudwatchLogsLogEvent {
	evs := []events.CloudwatchLogsLogEvent{Event(at, "START RequestId: "+requestID+" Version: "+version+"\n")}
	for i, b := range bodies {
		evs = append(evs, Event(at.Add(time.Duration(i+1)*time.Millisecond), b))
	}
	end := at.Add(time.Duration(len(bodies)+1) * time.Millisecond)
	return append(evs,
		Event(end, "END RequestId: "+requestID+"\n"),
		Event(end, "REPORT RequestId: "+requestID+"\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 40 MB\n"))
}

// Payload encodes events as the subscription event CloudWatch Logs sends.
func Payload(t testing.TB, group, stream, messageType string, evs []events.CloudwatchLogsLogEvent) events.CloudwatchLogsEvent {
	t.Helper()
	ev, err := lambda.Encode(events.CloudwatchLogsData{Owner: "123456789012", LogGroup: group, LogStream: stream,
		SubscriptionFilters: []string{"aotsym"}, MessageType: messageType, LogEvents: evs})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// Load returns a variant's manifest.
func Load(t testing.TB, variant string) *corpus.Manifest {
	t.Helper()
	m, err := corpus.Load(variant)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Case returns a scenario of a variant.
func Case(t testing.TB, m *corpus.Manifest, scenario string) *corpus.Case {
	t.Helper()
	for i := range m.Cases {
		if m.Cases[i].Scenario == scenario {
			return &m.Cases[i]
		}
	}
	t.Fatalf("%s has no scenario %s", m.Variant, scenario)
	return nil
}

// Sample returns a committed sample of a case: ext is ".log", ".error.json"
// or ".event.json". The .log sample carries the case's request ID.
func Sample(t testing.TB, m *corpus.Manifest, c *corpus.Case, ext string) string {
	t.Helper()
	b, err := os.ReadFile(m.Path("cloudwatch-constructed/" + c.Scenario + ext))
	if err != nil {
		t.Fatal(err)
	}
	if ext == ".log" && !strings.Contains(string(b), c.RequestID) {
		t.Fatalf("%s%s does not carry the request ID %s of cases.json", c.Scenario, ext, c.RequestID)
	}
	return string(b)
}

// ExpectedLines returns, for every printed managed frame of a case that
// llvm-symbolizer resolved to a line (and whose line row is the frame's
// own), the line a symbolicated trace must hold:
// `at METHOD(PARAMS) in FILE:line N`.
func ExpectedLines(c *corpus.Case) []string {
	var out []string
	for _, f := range c.PrintedFrames() {
		if f.Expected == nil || f.Expected.File == "" || f.Expected.Line == 0 || f.LineRowBeforeSymbol {
			continue
		}
		method := strings.TrimPrefix(f.PrintedText(), "at ")
		i := strings.LastIndex(method, " + 0x")
		if i < 0 || strings.Contains(method, "<BaseAddress>") {
			continue
		}
		out = append(out, "at "+method[:i]+" in "+f.Expected.File+":line "+strconv.Itoa(f.Expected.Line))
	}
	return out
}
