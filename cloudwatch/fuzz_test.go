package cloudwatch_test

import (
	"strings"
	"testing"

	"github.com/aotsym/aotsym/cloudwatch"
)

// FuzzLines: the line readers take any message: a request ID they return is
// always a valid one, and Join keeps every byte of every message.
func FuzzLines(f *testing.F) {
	f.Add("START RequestId: 4100dac2-f757-5e17-943b-ba7c12772da0 Version: 42\n", "2026/11/25/[42]abc")
	f.Add("2026-11-25T10:15:30.123Z\t4100dac2-f757-5e17-943b-ba7c12772da0\tfail\tSystem.Exception: boom\n", "x/[$LATEST]y")
	f.Add(`{"requestId" : "abc-1","type":"platform.report"}`, "[")
	f.Add(`{"requestId":`, "[]")
	f.Fuzz(func(t *testing.T, msg, stream string) {
		id, m := cloudwatch.RequestIDOf(msg)
		if id != "" && !cloudwatch.ValidRequestID(id) {
			t.Fatalf("RequestIDOf(%q) = invalid %q", msg, id)
		}
		if m < cloudwatch.NoMarker || m > cloudwatch.End {
			t.Fatalf("marker %v", m)
		}
		v := cloudwatch.LambdaVersion(stream)
		if v != "" && v != "$LATEST" && strings.Trim(v, "0123456789") != "" {
			t.Fatalf("LambdaVersion(%q) = %q", stream, v)
		}
		j := string(cloudwatch.Join([]string{msg, stream}))
		if !strings.HasPrefix(j, msg) || !strings.Contains(j, stream) {
			t.Fatalf("Join lost bytes")
		}
		if name := cloudwatch.StreamName(msg, stream); len(name) > 512 || strings.ContainsAny(name, ":*") {
			t.Fatalf("StreamName gave %q", name)
		}
	})
}
