package lambda

import (
	"testing"

	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/aws/aws-lambda-go/events"
)

// FuzzSegments: any sequence of log events splits into segments that hold
// every event once, in order, and parsing and rendering them never fails
// beyond the parser's own limits.
func FuzzSegments(f *testing.F) {
	f.Add("START RequestId: 4100dac2-f757-5e17-943b-ba7c12772da0 Version: 42\n",
		"2026-11-25T10:15:30.123Z\t4100dac2-f757-5e17-943b-ba7c12772da0\tfail\tSystem.Exception: boom\n",
		"   at A.B.C() + 0x1c\n", "")
	f.Add(`{"errorType":"X","errorMessage":"m","stackTrace":["at A.B.C() + 0x1c"]}`, "   at D.E() + 0x2\n", "END RequestId: 1\n", "prev")
	f.Fuzz(func(t *testing.T, a, b, c, last string) {
		evs := []events.CloudwatchLogsLogEvent{{ID: "1", Message: a}, {ID: "2", Message: b}, {ID: "3", Message: c}}
		segs, _ := segments(evs, last)
		n := 0
		for _, s := range segs {
			for _, e := range s.events {
				if e.ID != evs[n].ID {
					t.Fatalf("event %s out of order", e.ID)
				}
				n++
			}
			doc, err := trace.Parse(s.text, trace.Limits{MaxBytes: 1 << 20, MaxFrames: 1000})
			if err != nil {
				continue
			}
			_ = resolvable(doc)
			_ = contentKey(s.requestOf(), doc)
		}
		if n != len(evs) {
			t.Fatalf("%d of %d events in segments", n, len(evs))
		}
	})
}
