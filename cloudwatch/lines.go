package cloudwatch

import (
	"strings"
)

// What Lambda writes to CloudWatch Logs, as far as aotsym needs to know it.
//
// Text format (the default):
//
//	START RequestId: 4100dac2-… Version: 42
//	2026-11-25T10:15:30.123Z<TAB>4100dac2-…<TAB>fail<TAB>System.InvalidOperationException: …
//	   at …                                   (continuation lines, when a runtime writes them as events of their own)
//	END RequestId: 4100dac2-…
//	REPORT RequestId: 4100dac2-…<TAB>Duration: …
//
// JSON format: every event is a JSON object with "requestId" (application
// logs) or {"type":"platform.start","record":{"requestId":…}} (platform).

// MaxRequestIDLen bounds a request ID. Lambda's are UUIDs (36 characters).
const MaxRequestIDLen = 64

// ValidRequestID reports whether s can be a request ID: 1 to MaxRequestIDLen
// letters, digits and '-'. Only such IDs are put in filter patterns.
func ValidRequestID(s string) bool {
	if s == "" || len(s) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// Marker says what a platform line marks in a request's life.
type Marker int

const (
	NoMarker Marker = iota
	Start           // START RequestId: / platform.start
	End             // END RequestId: / REPORT RequestId: / platform.runtimeDone / platform.report
)

// RequestIDOf returns the request ID a log event names and, for platform
// lines, whether it starts or ends the request. It looks at the line's
// prefix only (the tab-separated Lambda prefix, START/END/REPORT, or a
// JSON object's "requestId"), never at IDs quoted inside a message.
func RequestIDOf(msg string) (string, Marker) {
	for _, p := range [...]struct {
		prefix string
		m      Marker
	}{{"START RequestId: ", Start}, {"END RequestId: ", End}, {"REPORT RequestId: ", End}} {
		if rest, ok := strings.CutPrefix(msg, p.prefix); ok {
			return idAt(rest), p.m
		}
	}
	if strings.HasPrefix(msg, "{") {
		return jsonRequestID(msg)
	}
	// TIMESTAMP \t ID \t LEVEL \t message
	ts, rest, ok := strings.Cut(msg, "\t")
	if !ok || !looksLikeTimestamp(ts) {
		return "", NoMarker
	}
	id, _, ok := strings.Cut(rest, "\t")
	if !ok || !ValidRequestID(id) {
		return "", NoMarker
	}
	return id, NoMarker
}

// idAt returns the request ID at the start of s (up to a space, tab or end of line).
func idAt(s string) string {
	end := strings.IndexAny(s, " \t\r\n")
	if end < 0 {
		end = len(s)
	}
	if id := s[:end]; ValidRequestID(id) {
		return id
	}
	return ""
}

func looksLikeTimestamp(s string) bool {
	return len(s) >= 10 && len(s) <= 40 && s[0] >= '0' && s[0] <= '9' && s[4] == '-' && strings.ContainsAny(s, "T ")
}

// jsonRequestID finds "requestId" (or "AWSRequestId") in a one-line JSON
// object without decoding it, and the platform event type.
func jsonRequestID(msg string) (string, Marker) {
	m := NoMarker
	switch {
	case strings.Contains(msg, `"platform.start"`):
		m = Start
	case strings.Contains(msg, `"platform.runtimeDone"`), strings.Contains(msg, `"platform.report"`):
		m = End
	}
	for _, key := range [...]string{`"requestId"`, `"AWSRequestId"`, `"awsRequestId"`} {
		i := strings.Index(msg, key)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(msg[i+len(key):], " \t")
		rest, ok := strings.CutPrefix(rest, ":")
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		rest, ok = strings.CutPrefix(rest, `"`)
		if !ok {
			continue
		}
		id, _, ok := strings.Cut(rest, `"`)
		if ok && ValidRequestID(id) {
			return id, m
		}
	}
	return "", m
}

// SplitThreshold: a message at least this long that does not end with a
// newline is taken as a piece of a longer line that Lambda split over
// several events (CloudWatch events are at most 256 KiB), and is joined to
// the next message without a line break.
const SplitThreshold = 200 << 10

// Join concatenates the messages of consecutive log events into the text
// they were written as: a newline after every message that lacks one, except
// after a piece of a split line.
func Join(messages []string) []byte {
	n := 0
	for _, m := range messages {
		n += len(m) + 1
	}
	out := make([]byte, 0, n)
	for _, m := range messages {
		out = append(out, m...)
		if !strings.HasSuffix(m, "\n") && len(m) < SplitThreshold {
			out = append(out, '\n')
		}
	}
	return out
}

// LambdaFunction returns the function name of a Lambda log group
// (/aws/lambda/orders-api → orders-api), or "".
func LambdaFunction(group string) string {
	fn, ok := strings.CutPrefix(group, "/aws/lambda/")
	if !ok || fn == "" || strings.Contains(fn, "/") {
		return ""
	}
	return fn
}

// LambdaVersion returns the function version a Lambda log stream names
// (2026/11/25/[42]0123abcd… → 42, 2026/11/25/[$LATEST]… → $LATEST), or "".
func LambdaVersion(stream string) string {
	i := strings.IndexByte(stream, '[')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(stream[i:], ']')
	if j < 0 {
		return ""
	}
	v := stream[i+1 : i+j]
	if v == "$LATEST" {
		return v
	}
	if v == "" || len(v) > 16 {
		return ""
	}
	for k := 0; k < len(v); k++ {
		if v[k] < '0' || v[k] > '9' {
			return ""
		}
	}
	return v
}
