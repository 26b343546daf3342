package main

// The real bootstrap under the Lambda runtime interface emulator
// (aws-lambda-rie) on loopback: subscription payloads built from the
// committed samples, resolved through a real `aotsym serve` and against a
// real S3 server (versitygw); and the HTTP API with API Gateway v2 events.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/cloudwatch/cloudwatchtest"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/lambda"
	lt "github.com/aotsym/aotsym/internal/lambda/lambdatest"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/s3"
	"github.com/aotsym/aotsym/store/s3/s3test"
	"github.com/aws/aws-lambda-go/events"
)

const rieInstall = "go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// The binaries under test, built once with deploy/build.sh (what ships).
var bins struct {
	once              sync.Once
	dir               string
	bootstrap, aotsym string
	err               error
}

func build(t testing.TB) (bootstrap, aotsymBin string) {
	t.Helper()
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "aotsym-lambda-test"); bins.err != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "build.sh")
		for _, target := range []string{"bootstrap", "aotsym"} {
			out := filepath.Join(bins.dir, target)
			cmd := exec.Command(script, target, out, "linux", runtime.GOARCH)
			if b, err := cmd.CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("deploy/build.sh %s: %v\n%s", target, err, b)
				return
			}
		}
		bins.bootstrap, bins.aotsym = filepath.Join(bins.dir, "bootstrap"), filepath.Join(bins.dir, "aotsym")
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.bootstrap, bins.aotsym
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// baseEnv is this process's environment without AOTSYM_* and AWS_*
// variables, so that nothing of the developer's leaks into a child.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AOTSYM_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitDial(t testing.TB, addr string, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers on %s after 30 s:\n%s", addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rie is a running aws-lambda-rie with the bootstrap.
type rie struct {
	url string
	out *testenv.SyncBuffer // the emulator's and the function's output
}

func startRIE(t testing.TB, env ...string) *rie {
	t.Helper()
	path := testenv.Tool(t, "aws-lambda-rie", rieInstall)
	bootstrap, _ := build(t)
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(path, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	// AOTSYM_DATA: Lambda gives each container its own /tmp; here the
	// default /tmp/aotsym would be shared with whatever else runs.
	cmd.Env = baseEnv(append([]string{"AWS_LAMBDA_FUNCTION_TIMEOUT=120", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512", "AOTSYM_DATA=" + t.TempDir()}, env...)...)
	r := &rie{url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: &testenv.SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", r.out)
		}
	})
	waitDial(t, addr, r.out)
	return r
}

// invoke sends one event and returns the function's answer.
func (r *rie) invoke(t testing.TB, event any) []byte {
	t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoking: %v\n%s", err, r.out)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body
}

func (r *rie) summary(t testing.TB, ev events.CloudwatchLogsEvent) lambda.Summary {
	t.Helper()
	body := r.invoke(t, ev)
	var s lambda.Summary
	if err := json.Unmarshal(body, &s); err != nil || s.MessageType == "" {
		t.Fatalf("the function did not answer a summary: %s (%v)", body, err)
	}
	return s
}

// serveAotsym runs `aotsym serve` on loopback with tokens and returns its URL.
func serveAotsym(t testing.TB, tokens string) string {
	t.Helper()
	_, bin := build(t)
	cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = baseEnv("AOTSYM_TOKENS=" + tokens)
	stderr, _ := cmd.StderrPipe()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	select {
	case a := <-addr:
		url := "http://" + a
		deadline := time.Now().Add(30 * time.Second)
		for {
			if resp, err := http.Get(url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return url
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("aotsym serve not ready:\n%s", logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("aotsym serve did not listen:\n%s", logs)
	}
	return ""
}

func uploadFiles(t testing.TB, c *client.Client, m *corpus.Manifest, tags map[string]string) {
	t.Helper()
	for _, p := range []string{m.DebugFile(), m.Executable()} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Upload(context.Background(), f, client.UploadOptions{Name: filepath.Base(p), Tags: tags})
		f.Close()
		if err != nil {
			t.Fatalf("uploading %s: %v", p, err)
		}
	}
}

func wantLines(t testing.TB, what, out string, c *corpus.Case) {
	t.Helper()
	lines := lt.ExpectedLines(c)
	if len(lines) == 0 {
		t.Fatalf("%s has no frame with a line", c.Scenario)
	}
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("%s lacks %q", what, l)
		}
	}
}

// TestSubscriptionUnderRIEThroughServer: the bootstrap resolves through a
// real aotsym server with tokens; the build comes from the stream's [42] and
// the tag lambda=orders-api:42 the CI gave it; each trace of the payload
// appears on the function's output once, with its request ID; the summary
// counts the server's answers; a retried payload writes nothing; a
// CONTROL_MESSAGE is skipped.
func TestSubscriptionUnderRIEThroughServer(t *testing.T) {
	url := serveAotsym(t, "read=rie-read-token-0123456789,upload=rie-upload-token-0123456789")
	up, err := client.New(url, "rie-upload-token-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	m9, m10 := lt.Load(t, "net9.0-linux-x64"), lt.Load(t, "net10.0-linux-x64")
	uploadFiles(t, up, m10, map[string]string{"lambda": "orders-api:41"})
	uploadFiles(t, up, m9, map[string]string{"lambda": "orders-api:42"})

	r := startRIE(t, "AOTSYM_SERVER="+url, "AOTSYM_TOKEN=rie-read-token-0123456789")
	group, stream := "/aws/lambda/orders-api", "2026/11/25/[42]5a1f0c3d9e8b47a6b2c4d6e8f0a1b3c5"
	cases := []*corpus.Case{lt.Case(t, m9, "async-chain"), lt.Case(t, m9, "inner-exceptions"), lt.Case(t, m9, "generic-valuetype")}
	var evs []events.CloudwatchLogsLogEvent
	want := map[aotsym.Status]int{}
	for i, c := range cases {
		text := lt.Sample(t, m9, c, []string{".log", ".error.json", ".event.json"}[i])
		evs = append(evs, lt.Invocation(c.RequestID, "42", lt.T0.Add(time.Duration(i)*time.Second), text)...)
		tr, err := up.Symbolicate(context.Background(), strings.NewReader(text), client.SymbolicateOptions{Tags: map[string]string{"lambda": "orders-api:42"}})
		if err != nil {
			t.Fatal(err)
		}
		for s, n := range tr.Summary {
			want[s] += n
		}
	}
	payload := lt.Payload(t, group, stream, "DATA_MESSAGE", evs)
	sum := r.summary(t, payload)
	if sum.Events != len(evs) || sum.Traces != 3 || sum.Written != 3 || sum.Errors != 0 || sum.Builds["tags lambda=orders-api:42"] != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if fmt.Sprint(sum.Frames) != fmt.Sprint(want) {
		t.Errorf("frames %v, the server answered %v", sum.Frames, want)
	}
	out := r.out.String()
	for _, c := range cases {
		wantLines(t, "the function's output", out, c)
		if !strings.Contains(out, "[aotsym] request "+c.RequestID+": symbolicated trace from "+group+" "+stream) {
			t.Errorf("no trace with request ID %s on the output", c.RequestID)
		}
	}
	// Asynchronous invocations are retried: the same payload again.
	n := strings.Count(r.out.String(), "[aotsym] request ")
	sum = r.summary(t, payload)
	if sum.Duplicates != 3 || sum.Written != 0 || strings.Count(r.out.String(), "[aotsym] request ") != n {
		t.Fatalf("retried payload: summary %+v; traces on the output went from %d to %d", sum, n, strings.Count(r.out.String(), "[aotsym] request "))
	}
	sum = r.summary(t, lt.Payload(t, "", "", "CONTROL_MESSAGE", []events.CloudwatchLogsLogEvent{
		lt.Event(lt.T0, "CWL CONTROL MESSAGE: Checking health of destination Lambda function.")}))
	if sum.MessageType != "CONTROL_MESSAGE" || sum.Traces != 0 || sum.Errors != 0 {
		t.Fatalf("control message: %+v", sum)
	}
}

// putS3 stores a variant's files in the S3 store with the real store code.
func putS3(t testing.TB, st store.Store, m *corpus.Manifest, tags map[string]string) {
	t.Helper()
	for _, p := range []string{m.DebugFile(), m.Executable()} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(p), Tags: tags})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSubscriptionUnderRIEAgainstS3: the bootstrap opens the S3 store itself
// (versitygw, builds put by the real store), resolves the web API's traces
// from a [$LATEST] stream by the tag lambda=orders-web:$LATEST, and also
// writes each trace to AOTSYM_DEST_LOG_GROUP (a CloudWatch Logs fake).
func TestSubscriptionUnderRIEAgainstS3(t *testing.T) {
	srv := s3test.Start(t)
	loc := srv.URL(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	st, err := s3.Open(context.Background(), loc, t.TempDir(), lambda.Indexer(), s3.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	web, m9 := lt.Load(t, "webapi"), lt.Load(t, "net9.0-linux-x64")
	putS3(t, st, m9, map[string]string{"lambda": "orders-web:3"})
	putS3(t, st, web, map[string]string{"lambda": "orders-web:$LATEST"})

	cw := cloudwatchtest.New(t)
	cw.AddGroup("/aotsym/traces")
	r := startRIE(t, append(srv.Env(), "AOTSYM_STORE="+loc, "AOTSYM_DEST_LOG_GROUP=/aotsym/traces",
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+cw.URL)...)
	group, stream := "/aws/lambda/orders-web", "2026/11/25/[$LATEST]0f9e8d7c6b5a49382716051423324150"
	var evs []events.CloudwatchLogsLogEvent
	for i, c := range web.Cases {
		evs = append(evs, lt.Invocation(c.RequestID, "$LATEST", lt.T0.Add(time.Duration(i)*time.Second), lt.Sample(t, web, &web.Cases[i], ".log"))...)
	}
	sum := r.summary(t, lt.Payload(t, group, stream, "DATA_MESSAGE", evs))
	if sum.Traces != len(web.Cases) || sum.Written != len(web.Cases) || sum.Errors != 0 || sum.Builds["tags lambda=orders-web:$LATEST"] != len(web.Cases) {
		t.Fatalf("summary %+v", sum)
	}
	if sum.DestEvents != len(web.Cases) {
		t.Errorf("%d events written to the destination group, want %d", sum.DestEvents, len(web.Cases))
	}
	dest := cw.Events("/aotsym/traces", "orders-web/"+stream)
	var all strings.Builder
	for _, e := range dest {
		all.WriteString(e.Message)
	}
	for i := range web.Cases {
		c := &web.Cases[i]
		wantLines(t, "the function's output", r.out.String(), c)
		wantLines(t, "the destination log group", all.String(), c)
	}
}

// apiEvent is an API Gateway v2 (function URL) request.
func apiEvent(method, path, query, body, token string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"content-type": "text/plain", "user-agent": "rie-test"}
	if token != "" {
		h["authorization"] = "Bearer " + token
	}
	return events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query, Headers: h, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rie", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "rie-test"}}}
}

func (r *rie) api(t testing.TB, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	body := r.invoke(t, ev)
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("not an API Gateway v2 response: %s", body)
	}
	return resp
}

// TestAPIUnderRIE: the API of `aotsym serve` on Lambda over S3: health, auth,
// a debug file too large for a Lambda request uploaded through a presigned
// PUT, and a symbolicated trace.
func TestAPIUnderRIE(t *testing.T) {
	srv := s3test.Start(t)
	loc := srv.URL(t)
	r := startRIE(t, append(srv.Env(), "AOTSYM_LAMBDA_MODE=api", "AOTSYM_STORE="+loc, "AOTSYM_TOKENS=read=api-read-token-0123456789,upload=api-upload-token-0123456789")...)

	resp := r.api(t, apiEvent("GET", "/healthz", "", "", ""))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"ok"`) {
		t.Fatalf("GET /healthz: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := r.api(t, apiEvent("GET", "/v1/builds", "", "", "")); resp.StatusCode != 401 {
		t.Fatalf("GET /v1/builds without a token: %d %s", resp.StatusCode, resp.Body)
	}
	// Upload through the presigned route: the 5 MB .dbg would not fit a
	// Lambda request once base64-encoded.
	m := lt.Load(t, "net9.0-linux-x64")
	dbg, err := os.ReadFile(m.DebugFile())
	if err != nil {
		t.Fatal(err)
	}
	resp = r.api(t, apiEvent("POST", "/v1/uploads", "", "", "api-upload-token-0123456789"))
	var p client.PresignedUpload
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &p) != nil || p.URL == "" || p.Method != "PUT" {
		t.Fatalf("POST /v1/uploads: %d %s", resp.StatusCode, resp.Body)
	}
	put, _ := http.NewRequest(http.MethodPut, p.URL, bytes.NewReader(dbg))
	if presp, err := http.DefaultClient.Do(put); err != nil || presp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL: %v %v", err, presp)
	}
	resp = r.api(t, apiEvent("POST", "/v1/uploads/"+p.Key+"/complete", "name=app.dbg&tag=lambda%3Dorders-api%3A42", "", "api-upload-token-0123456789"))
	var res client.UploadResult
	if resp.StatusCode != 201 || json.Unmarshal([]byte(resp.Body), &res) != nil || string(res.BuildID) != m.Build.BuildID || !res.Created {
		t.Fatalf("completing the upload: %d %s", resp.StatusCode, resp.Body)
	}
	c := lt.Case(t, m, "overloads")
	resp = r.api(t, apiEvent("POST", "/v1/symbolicate", "tag=lambda%3Dorders-api%3A42", lt.Sample(t, m, c, ".log"), "api-read-token-0123456789"))
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/symbolicate: %d %s", resp.StatusCode, resp.Body)
	}
	wantLines(t, "the symbolicate answer", resp.Body, c)
	if resp.Headers[client.HeaderBuildID] != m.Build.BuildID && resp.Headers[strings.ToLower(client.HeaderBuildID)] != m.Build.BuildID {
		t.Errorf("build header: %v", resp.Headers)
	}
}
