package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aotsym/aotsym/internal/testenv"
)

// vegetaInstall is how to get the load generator.
const vegetaInstall = "go install github.com/tsenart/vegeta/v12@v12.13.0"

// vegetaReport is the part of `vegeta report -type=json` the soak reads.
type vegetaReport struct {
	Latencies struct {
		P50  int64 `json:"50th"`
		P90  int64 `json:"90th"`
		P99  int64 `json:"99th"`
		Max  int64 `json:"max"`
		Mean int64 `json:"mean"`
	} `json:"latencies"`
	Requests    int64            `json:"requests"`
	Rate        float64          `json:"rate"`
	Throughput  float64          `json:"throughput"`
	Success     float64          `json:"success"`
	StatusCodes map[string]int64 `json:"status_codes"`
	Errors      []string         `json:"errors"`
}

func ms(ns int64) string { return fmt.Sprintf("%.2f ms", float64(ns)/1e6) }

// envDuration reads a duration from the environment, or def.
func envDuration(t testing.TB, env string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: give a duration such as 10m", env, v)
	}
	return d
}

// TestReliabilitySoak runs vegeta at a fixed rate against the real `aotsym
// serve` on loopback, with three corpus builds stored, mixing what clients
// do: symbolicate a CloudWatch sample with its build named and detected (text
// and JSON), resolve single frames, read a build and the health route. It
// samples the server's RSS all along and requires zero errors (every answer
// 200) and flat memory: no sample of the second half above the first half's
// largest by more than half again (plus 32 MiB). AOTSYM_SOAK_DURATION (20s in
// CI, 10m by hand with scripts/soak.sh), AOTSYM_SOAK_RATE (requests per
// second, default 100) and AOTSYM_SOAK_SAMPLE (default 2s) tune it; the
// figures are logged ("soak …") for RELIABILITY.md.
func TestReliabilitySoak(t *testing.T) {
	vegeta := testenv.Tool(t, "vegeta", vegetaInstall)
	duration := envDuration(t, "AOTSYM_SOAK_DURATION", 20*time.Second)
	every := envDuration(t, "AOTSYM_SOAK_SAMPLE", 2*time.Second)
	rate := iterations(t, "AOTSYM_SOAK_RATE", 100)

	ms3 := loadVariants(t)
	srv := startServer(t, t.TempDir(), nil)
	for _, m := range ms3 {
		if r := cli(t, nil, nil, "upload", "--server", srv.url, "--tag", "tfm="+m.Build.TargetFramework, "--publish-dir", m.Dir); r.code != 0 {
			t.Fatalf("upload: %d %s %s", r.code, r.stdout, r.stderr)
		}
	}
	dir := t.TempDir()
	var targets bytes.Buffer
	for i, m := range ms3 {
		c, in := sample(t, m, "async-chain")
		body := filepath.Join(dir, fmt.Sprintf("trace%d.log", i))
		os.WriteFile(body, in, 0o644)
		frame, _ := json.Marshal(map[string]string{"build_id": m.Build.BuildID, "frame": c.PrintedFrames()[0].PrintedText()})
		fbody := filepath.Join(dir, fmt.Sprintf("frame%d.json", i))
		os.WriteFile(fbody, frame, 0o644)
		fmt.Fprintf(&targets, "POST %s/v1/symbolicate?build_id=%s\n@%s\n\n", srv.url, m.Build.BuildID, body)
		fmt.Fprintf(&targets, "POST %s/v1/symbolicate\nAccept: application/json\n@%s\n\n", srv.url, body)
		fmt.Fprintf(&targets, "POST %s/v1/frames/resolve\nContent-Type: application/json\n@%s\n\n", srv.url, fbody)
		fmt.Fprintf(&targets, "GET %s/v1/builds/%s\n\n", srv.url, m.Build.BuildID)
	}
	fmt.Fprintf(&targets, "GET %s/healthz\n\n", srv.url)
	tf := filepath.Join(dir, "targets.txt")
	os.WriteFile(tf, targets.Bytes(), 0o644)

	pid := srv.cmd.Process.Pid
	type sample struct {
		at  time.Duration
		mem memory
	}
	var mu sync.Mutex
	var series []sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			m := procMemory(t, pid)
			mu.Lock()
			series = append(series, sample{time.Since(start), m})
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	logsBefore := len(srv.logs.String()) // startup may log /readyz 503s
	results := filepath.Join(dir, "results.bin")
	attack := exec.Command(vegeta, "attack", "-targets", tf, "-rate", strconv.Itoa(rate)+"/s",
		"-duration", duration.String(), "-timeout", "30s", "-output", results)
	if out, err := attack.CombinedOutput(); err != nil {
		t.Fatalf("vegeta attack: %v\n%s", err, out)
	}
	close(stop)
	wg.Wait()
	out, err := exec.Command(vegeta, "report", "-type", "json", results).Output()
	if err != nil {
		t.Fatalf("vegeta report: %v", err)
	}
	var rep vegetaReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("vegeta report: %v\n%s", err, out)
	}
	t.Logf("soak: %s at %d/s: %d requests, success %.4f, codes %v, p50 %s, p90 %s, p99 %s, max %s, throughput %.1f/s",
		duration, rate, rep.Requests, rep.Success, rep.StatusCodes, ms(rep.Latencies.P50), ms(rep.Latencies.P90), ms(rep.Latencies.P99), ms(rep.Latencies.Max), rep.Throughput)
	logPerTarget(t, vegeta, results)
	var rss []string
	for _, s := range series {
		rss = append(rss, fmt.Sprintf("%.0fs %.1f", s.at.Seconds(), float64(s.mem.rss)/(1<<20)))
	}
	t.Logf("soak RSS MiB: %s", strings.Join(rss, ", "))
	if len(rep.Errors) > 0 || rep.Success != 1 || rep.StatusCodes["200"] != rep.Requests {
		t.Errorf("errors during the soak: %v %v", rep.StatusCodes, rep.Errors)
	}
	if rep.Requests < int64(float64(rate)*duration.Seconds()*0.95) {
		t.Errorf("vegeta sent %d requests, not the %d/s asked for", rep.Requests, rate)
	}
	half := len(series) / 2
	if half < 2 {
		t.Fatalf("only %d memory samples", len(series))
	}
	var firstMax int64
	for _, s := range series[:half] {
		firstMax = max(firstMax, s.mem.rss)
	}
	for _, s := range series[half:] {
		if s.mem.rss > firstMax*3/2+32<<20 {
			t.Errorf("RSS grew from at most %s in the first half to %s at %s", mib(firstMax), mib(s.mem.rss), s.at.Round(time.Second))
		}
	}
	if during := srv.logs.String()[logsBefore:]; strings.Contains(during, `"level":"ERROR"`) {
		t.Errorf("the server logged errors during the soak:\n%s", clip([]byte(during)))
	}
}

// logPerTarget logs p50 and p99 of each kind of request of the run.
func logPerTarget(t *testing.T, vegeta, results string) {
	out, err := exec.Command(vegeta, "encode", "-to", "json", results).Output()
	if err != nil {
		t.Logf("vegeta encode: %v", err)
		return
	}
	lat := map[string][]int64{}
	for _, line := range bytes.Split(out, []byte("\n")) {
		var r struct {
			Method, URL string
			Latency     int64
		}
		if json.Unmarshal(line, &r) != nil {
			continue
		}
		path := r.URL[strings.Index(r.URL[len("http://"):], "/")+len("http://"):]
		if i := strings.Index(path, "?"); i >= 0 {
			path = path[:i] + "?build_id=…"
		}
		if strings.HasPrefix(path, "/v1/builds/") {
			path = "/v1/builds/{id}"
		}
		k := r.Method + " " + path
		lat[k] = append(lat[k], r.Latency)
	}
	keys := make([]string, 0, len(lat))
	for k := range lat {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		l := lat[k]
		slices.Sort(l)
		t.Logf("soak %s: %d requests, p50 %s, p99 %s, max %s", k, len(l), ms(l[len(l)/2]), ms(l[len(l)*99/100]), ms(l[len(l)-1]))
	}
}
