package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/cloudwatch/cloudwatchtest"
	"github.com/aotsym/aotsym/internal/corpus"
)

// awsEnv points the AWS SDK of this process at the fake and nowhere else.
func awsEnv(t *testing.T, srv *cloudwatchtest.Server) {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(client.EnvServer, "")
}

func runLogsCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestSymbolicateRequestID: a Native AOT Lambda printed its trace to
// standard output, one event per line, with only START, the first line and
// REPORT naming the request; other requests ran before and after on the same
// stream, over several pages of results. `aotsym symbolicate --log-group
// --request-id` reassembles the trace and resolves every frame.
func TestSymbolicateRequestID(t *testing.T) {
	m, err := corpus.Load("net9.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	srv := cloudwatchtest.New(t)
	srv.PageSize, srv.EmptyPages = 3, 2
	awsEnv(t, srv)
	group, stream := "/aws/lambda/orders-api", "2026/11/25/[42]8f3b2c"
	t0 := time.Date(2026, 11, 25, 10, 15, 30, 0, time.UTC)
	var want *corpus.Case
	for i, scenario := range []string{"recursion", "async-chain", "overloads"} {
		var c *corpus.Case
		for j := range m.Cases {
			if m.Cases[j].Scenario == scenario {
				c = &m.Cases[j]
			}
		}
		if c == nil {
			t.Fatalf("no case %s", scenario)
		}
		b, err := os.ReadFile(m.Path("cloudwatch-constructed/" + scenario + ".log"))
		if err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Duration(i) * time.Second)
		evs := []cloudwatchtest.Event{{Timestamp: at.UnixMilli(), Message: "START RequestId: " + c.RequestID + " Version: 42\n"}}
		for k, line := range strings.SplitAfter(string(b), "\n") {
			if line != "" {
				evs = append(evs, cloudwatchtest.Event{Timestamp: at.Add(time.Duration(k+1) * time.Millisecond).UnixMilli(), Message: line})
			}
		}
		evs = append(evs, cloudwatchtest.Event{Timestamp: at.Add(500 * time.Millisecond).UnixMilli(), Message: "REPORT RequestId: " + c.RequestID + "\tDuration: 3.1 ms\n"})
		srv.Add(group, stream, evs...)
		if i == 1 {
			want = c
		}
	}
	code, out, errOut := runLogsCLI("symbolicate", "--log-group", group, "--request-id", want.RequestID,
		"--start", "2026-11-25T10:00:00Z", "--end", "2026-11-25T11:00:00Z", "--dbg", m.DebugFile(), "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "request "+want.RequestID+" in "+group) || !strings.Contains(errOut, "FilterLogEvents calls") {
		t.Errorf("-v does not say what was fetched:\n%s", errOut)
	}
	checked := 0
	for _, f := range want.PrintedFrames() {
		if f.Expected == nil || f.Expected.File == "" || f.LineRowBeforeSymbol {
			continue
		}
		method := strings.TrimPrefix(f.PrintedText(), "at ")
		if i := strings.LastIndex(method, " + 0x"); i >= 0 {
			method = method[:i]
		}
		line := "at " + method + " in " + f.Expected.File + ":line " + strconv.Itoa(f.Expected.Line)
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("the case has no frame with a line to check")
	}
	if strings.Contains(out, "CategoryTree.Walk") || strings.Contains(out, "Overloads") {
		t.Errorf("lines of other requests were symbolicated too:\n%s", out)
	}
	if !strings.HasPrefix(out, "START RequestId: "+want.RequestID) {
		t.Errorf("the request's log lines are not printed as they were:\n%s", out)
	}
}

func TestSymbolicateRequestIDErrors(t *testing.T) {
	m, err := corpus.Load("net9.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	srv := cloudwatchtest.New(t)
	srv.AddGroup("/aws/lambda/orders-api")
	srv.Deny("/aws/lambda/secret", "")
	srv.AddGroup("/aws/lambda/secret")
	awsEnv(t, srv)
	id := "4100dac2-f757-5e17-943b-ba7c12772da0"
	dbg := m.DebugFile()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no such group", []string{"--log-group", "/aws/lambda/nope", "--request-id", id, "--dbg", dbg}, nil, 1,
			"log group /aws/lambda/nope does not exist in region us-east-1"},
		{"access denied", []string{"--log-group", "/aws/lambda/secret", "--request-id", id, "--dbg", dbg}, nil, 1,
			"access denied: your AWS identity may not call logs:FilterLogEvents on log group /aws/lambda/secret"},
		{"no events", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", id, "--dbg", dbg}, nil, 1,
			"no log events of request " + id},
		{"no credentials", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", id, "--dbg", dbg},
			map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true"}, 1, "aws: no credentials:"},
		{"no region", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", id, "--dbg", dbg},
			map[string]string{"AWS_REGION": ""}, 1, "no AWS region: pass --region"},
		{"request ID alone", []string{"--request-id", id, "--dbg", dbg}, nil, 2, "--request-id needs --log-group"},
		{"group alone", []string{"--log-group", "/aws/lambda/orders-api", "--dbg", dbg}, nil, 2, "--log-group needs --request-id"},
		{"and a file", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", id, "--dbg", dbg, "trace.txt"}, nil, 2, "not both"},
		{"bad start", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", id, "--dbg", dbg, "--start", "yesterday"}, nil, 2, "--start \"yesterday\""},
		{"bad ID", []string{"--log-group", "/aws/lambda/orders-api", "--request-id", `a" OR "b`, "--dbg", dbg}, nil, 1, "is not one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k)
				}
			}
			code, _, errOut := runLogsCLI(append([]string{"symbolicate"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errOut, tc.code, tc.want)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
				t.Errorf("more than one line: %q", errOut)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	def := now.Add(-time.Hour)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", def},
		{"2026-11-25T10:00:00Z", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		{"2026-11-25T10:00:00+02:00", time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)},
		{"2026-11-24", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		{"2026-11-24 09:30:00", time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)},
		{"2h", now.Add(-2 * time.Hour)},
		{"-90m", now.Add(-90 * time.Minute)},
		{"3d", now.Add(-72 * time.Hour)},
	} {
		got, err := parseWhen(tc.in, now, def)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "3x", "-", "1.5d"} {
		if _, err := parseWhen(bad, now, def); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
			w.Write([]byte(`{"status":"ok"}`))
		case r.URL.Path == "/readyz" && ready:
			w.Write([]byte(`{"status":"ready"}`))
		default:
			w.WriteHeader(503)
			w.Write([]byte(`{"error":"the server is starting"}`))
		}
	}))
	defer srv.Close()
	if code, out, errOut := runLogsCLI("healthcheck", "--url", srv.URL); code != 0 || !strings.Contains(out, "healthy: "+srv.URL+"/healthz") {
		t.Fatalf("healthy server: exit %d %q %q", code, out, errOut)
	}
	ready = false
	if code, _, errOut := runLogsCLI("healthcheck", "--ready", "--url", srv.URL); code != 1 || !strings.Contains(errOut, "HTTP 503") {
		t.Fatalf("unready server: exit %d %q", code, errOut)
	}
	t.Setenv("AOTSYM_LISTEN", srv.Listener.Addr().String())
	if code, _, errOut := runLogsCLI("healthcheck"); code != 0 {
		t.Fatalf("URL from AOTSYM_LISTEN: exit %d %q", code, errOut)
	}
	srv.Close()
	if code, _, errOut := runLogsCLI("healthcheck", "--url", srv.URL); code != 1 || !strings.Contains(errOut, "unhealthy") {
		t.Fatalf("no server: exit %d %q", code, errOut)
	}
	for in, want := range map[string]string{"0.0.0.0:8080": "http://127.0.0.1:8080", ":9000": "http://127.0.0.1:9000",
		"[::]:8080": "http://[::1]:8080", "10.0.0.5:8080": "http://10.0.0.5:8080", "": "http://127.0.0.1:8080"} {
		if got := localURL(in); got != want {
			t.Errorf("localURL(%q) = %q, want %q", in, got, want)
		}
	}
}
