package cloudwatch_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestContractRealAWS checks the same calls against CloudWatch Logs itself:
// it creates a log group, writes a committed sample as Lambda would (through
// Writer), finds it again with Fetch, and deletes the group. It runs only
// with AOTSYM_AWS_CONTRACT=1 and credentials in the environment (it needs
// logs:CreateLogGroup, CreateLogStream, PutLogEvents, FilterLogEvents and
// DeleteLogGroup), so never in CI here, which has no AWS access.
func TestContractRealAWS(t *testing.T) {
	if os.Getenv("AOTSYM_AWS_CONTRACT") != "1" {
		t.Skip("set AOTSYM_AWS_CONTRACT=1 (and AWS credentials and AWS_REGION) to run against real CloudWatch Logs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cloudwatch.NewClient(ctx, cloudwatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	text, _ := sample(t, "recursion")
	b := make([]byte, 16)
	rand.Read(b)
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	text = strings.Replace(text, text[strings.IndexByte(text, '\t')+1:strings.IndexByte(text, '\t')+37], id, 1)
	grp := "/aotsym/contract-test-" + id[:8]
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(grp)}); err != nil {
		t.Fatal(cloudwatch.Explain(err, "logs:CreateLogGroup", grp, c.Region))
	}
	t.Cleanup(func() {
		c.DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(grp)})
	})
	now := time.Now()
	w := &cloudwatch.Writer{API: c, Group: grp, Region: c.Region}
	var recs []cloudwatch.Record
	lines := strings.SplitAfter(text, "\n")
	recs = append(recs, cloudwatch.Record{Timestamp: now.UnixMilli(), Message: "START RequestId: " + id + " Version: 42\n"})
	for i, l := range lines {
		if l != "" {
			recs = append(recs, cloudwatch.Record{Timestamp: now.Add(time.Duration(i+1) * time.Millisecond).UnixMilli(), Message: l})
		}
	}
	recs = append(recs, cloudwatch.Record{Timestamp: now.Add(time.Second).UnixMilli(), Message: "REPORT RequestId: " + id + "\tDuration: 1 ms\n"})
	if _, err := w.Write(ctx, "2026/11/25/[42]contract", recs); err != nil {
		t.Fatal(err)
	}
	// Events become searchable a few seconds after they are written.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := cloudwatch.Fetch(ctx, c, cloudwatch.Query{LogGroup: grp, RequestID: id, Start: now.Add(-time.Minute), End: now.Add(time.Minute), Region: c.Region})
		if err == nil && strings.Contains(string(res.Text), text) {
			t.Logf("%s", res)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the written trace was not found within 2 minutes: %v", err)
		}
		time.Sleep(5 * time.Second)
	}
}
