package lambda_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/lambda"
	lt "github.com/aotsym/aotsym/internal/lambda/lambdatest"
	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkHandle: one subscription payload of 10 requests (each START, the
// .log sample, END, REPORT) against a warm store backend: decode, find the
// traces, choose the build by tag, resolve, render, write. A fresh Handler
// per payload, so nothing is skipped as a duplicate.
func BenchmarkHandle(b *testing.B) {
	st := openStore(b, upload{"net9.0-linux-x64", map[string]string{"lambda": "orders-api:42"}})
	backend := lambda.NewStoreBackend(st, 256<<20)
	m := lt.Load(b, "net9.0-linux-x64")
	var evs []events.CloudwatchLogsLogEvent
	for i, c := range m.Cases[:10] {
		evs = append(evs, lt.Invocation(c.RequestID, "42", lt.T0.Add(time.Duration(i)*time.Second), lt.Sample(b, m, &m.Cases[i], ".log"))...)
	}
	payload := lt.Payload(b, group, "2026/11/25/[42]0123456789abcdef", "DATA_MESSAGE", evs)
	frames := 0
	(&lambda.Handler{Backend: backend, Out: io.Discard}).Handle(context.Background(), payload) // warm the cache
	b.ResetTimer()
	for range b.N {
		h := &lambda.Handler{Backend: backend, Out: io.Discard}
		sum, err := h.Handle(context.Background(), payload)
		if err != nil || sum.Written != 10 {
			b.Fatalf("%v %+v", err, sum)
		}
		frames = 0
		for _, n := range sum.Frames {
			frames += n
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(frames), "µs/frame")
}
