package main

// The CloudWatch Logs input of `aotsym symbolicate`: --log-group and
// --request-id fetch one Lambda request's log events (package cloudwatch) and
// hand their text to the same resolving as a file would (seam 1 of
// symbolicate.go).

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/spf13/cobra"
)

// logsFlags are the CloudWatch flags of `aotsym symbolicate`.
type logsFlags struct {
	group, requestID string
	start, end       string
	region           string
	maxPages         int
	maxEvents        int
}

func (l *logsFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&l.group, "log-group", "", "fetch the trace from this CloudWatch Logs group (a Lambda function's is /aws/lambda/FUNCTION); with --request-id")
	fs.StringVar(&l.requestID, "request-id", "", "the Lambda request ID whose log events hold the trace; with --log-group")
	fs.StringVar(&l.start, "start", "", "with --request-id: search from this time: RFC 3339 (2026-11-25T10:00:00Z), a date, or a duration ago (2h); default 24h")
	fs.StringVar(&l.end, "end", "", "with --request-id: search up to this time, same forms; default now")
	fs.StringVar(&l.region, "region", "", "with --request-id: the AWS region of the log group (default: AWS_REGION or the profile's)")
	fs.IntVar(&l.maxPages, "max-pages", cloudwatch.DefaultMaxPages, "with --request-id: read at most this many pages of FilterLogEvents results")
	fs.IntVar(&l.maxEvents, "max-events", cloudwatch.DefaultMaxEvents, "with --request-id: take at most this many log events")
	cmd.Example += `
  aotsym symbolicate --log-group /aws/lambda/orders-api --request-id 4100dac2-f757-5e17-943b-ba7c12772da0
  aotsym symbolicate --log-group /aws/lambda/orders-api --request-id 4100dac2-… --start 2026-11-25T10:00:00Z --end 2026-11-25T11:00:00Z --dbg publish/bootstrap.dbg`
}

func (l *logsFlags) active() bool { return l.group != "" || l.requestID != "" }

// fetch returns the text of the request's log events.
func (l *logsFlags) fetch(ctx context.Context, input string, stderr io.Writer, verbose bool) ([]byte, error) {
	switch {
	case l.group == "":
		return nil, usagef("--request-id needs --log-group: the log group the request logged to (/aws/lambda/FUNCTION)")
	case l.requestID == "":
		return nil, usagef("--log-group needs --request-id: the Lambda request ID of the failed invocation")
	case input != "-":
		return nil, usagef("give a FILE or --log-group with --request-id, not both")
	case l.maxPages < 1 || l.maxEvents < 1:
		return nil, usagef("--max-pages and --max-events must be at least 1")
	}
	now := time.Now()
	end, err := parseWhen(l.end, now, now)
	if err != nil {
		return nil, usagef("--end %q: %v", l.end, err)
	}
	start, err := parseWhen(l.start, now, end.Add(-cloudwatch.DefaultWindow))
	if err != nil {
		return nil, usagef("--start %q: %v", l.start, err)
	}
	c, err := cloudwatch.NewClient(ctx, cloudwatch.Config{Region: l.region})
	if err != nil {
		return nil, err
	}
	if err := c.CheckCredentials(ctx); err != nil {
		return nil, err
	}
	res, err := cloudwatch.Fetch(ctx, c, cloudwatch.Query{LogGroup: l.group, RequestID: l.requestID, Start: start, End: end,
		MaxPages: l.maxPages, MaxEvents: l.maxEvents, Region: c.Region})
	if err != nil {
		return nil, err
	}
	if verbose {
		fmt.Fprintf(stderr, "aotsym: request %s in %s (%s): %s\n", l.requestID, l.group, c.Region, res)
	}
	return res.Text, nil
}

// parseWhen reads a time: RFC 3339, a date (2026-11-25, UTC), a date and time
// without zone (UTC), or a duration before now (90m, 2h, 3d). "" gives def.
func parseWhen(s string, now, def time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	ago := strings.TrimPrefix(s, "-")
	if days, ok := strings.CutSuffix(ago, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n >= 0 && fmt.Sprint(n) == days {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(ago); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("give an RFC 3339 time (2026-11-25T10:00:00Z), a date (2026-11-25), or how long ago (2h, 3d)")
}
