package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
)

// BenchmarkSymbolicateLoopback measures the symbolicate routes of the real
// server over loopback, with the net8, net9 and net10 builds stored: a
// CloudWatch sample with the build detected (JSON), the same with the build
// given (text), a batch of 30 traces, one frame, and detected requests from
// parallel clients. Client and server share the machine's cores.
//
//	go test ./cmd/aotsym/e2e -run '^$' -bench Loopback -benchtime 200x
func BenchmarkSymbolicateLoopback(b *testing.B) {
	ms := loadVariants(b)
	srv := startServer(b, b.TempDir(), nil)
	for _, m := range ms {
		if r := cli(b, nil, nil, "upload", "--server", srv.url, "--publish-dir", m.Dir); r.code != 0 {
			b.Fatalf("upload: %s %s", r.stdout, r.stderr)
		}
	}
	m10 := ms[2]
	_, in := sample(b, m10, "async-chain")
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(b *testing.B, url, accept string, body []byte) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Accept", accept)
		resp, err := httpc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	b.Run("detected-json", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			post(b, srv.url+"/v1/symbolicate", "application/json", in)
		}
	})
	b.Run("given-text", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			post(b, srv.url+"/v1/symbolicate?build_id="+m10.Build.BuildID, "text/plain", in)
		}
	})
	var batch client.BatchRequest
	for i := 0; i < 10; i++ {
		for _, m := range ms {
			_, t := sample(b, m, "async-chain")
			batch.Traces = append(batch.Traces, client.BatchTrace{ID: m.Variant, Text: string(t)})
		}
	}
	bj, _ := json.Marshal(batch)
	b.Run("batch-30-detected", func(b *testing.B) {
		b.SetBytes(int64(len(bj)))
		for b.Loop() {
			post(b, srv.url+"/v1/symbolicate/batch", "application/json", bj)
		}
	})
	c, _ := sample(b, m10, "async-chain")
	fj, _ := json.Marshal(client.FrameRequest{BuildID: aotsym.BuildID(m10.Build.BuildID), Frame: c.PrintedFrames()[0].PrintedText()})
	b.Run("frame", func(b *testing.B) {
		for b.Loop() {
			post(b, srv.url+"/v1/frames/resolve", "application/json", fj)
		}
	})
	b.Run("detected-json-parallel", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, srv.url+"/v1/symbolicate", "application/json", in)
			}
		})
	})
}
