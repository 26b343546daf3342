package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
)

var httpc = &http.Client{Timeout: 5 * time.Minute}

// symbolicate posts a trace to /v1/symbolicate for JSON and returns the
// decoded trace and how long the request took.
func symbolicate(url string, body []byte, buildID string) (*aotsym.Trace, time.Duration, error) {
	u := url + "/v1/symbolicate"
	if buildID != "" {
		u += "?build_id=" + buildID
	}
	req, err := http.NewRequest("POST", u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	t0 := time.Now()
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != 200 {
		return nil, 0, fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, clip(b))
	}
	var tr aotsym.Trace
	if err := json.Unmarshal(b, &tr); err != nil {
		return nil, 0, fmt.Errorf("POST %s: %v", u, err)
	}
	return &tr, d, nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// cmdProbe symbolicates a trace once and prints what the server made of it
// (frames, statuses, the build), so a load test's input is known to work.
func cmdProbe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	url := fs.String("url", "", "server URL")
	path := fs.String("trace", "", "trace file")
	id := fs.String("build-id", "", "build ID (default: detected)")
	fs.Parse(args)
	body, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	tr, d, err := symbolicate(*url, body, *id)
	if err != nil {
		return err
	}
	sum, _ := json.Marshal(tr.Summary)
	fmt.Printf(`{"frames":%d,"summary":%s,"build_id":%q,"ms":%.3f}`+"\n", len(tr.Frames), sum, tr.BuildID, ms(d))
	if len(tr.Frames) == 0 || tr.Summary[aotsym.StatusResolved] == 0 {
		return errors.New("the server resolved no frame of the trace")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// cmdBatch posts a batch body -reps times and prints, per request, its
// time, traces, frames and statuses.
func cmdBatch(args []string) error {
	fs := flag.NewFlagSet("batch", flag.ExitOnError)
	url := fs.String("url", "", "server URL")
	path := fs.String("body", "", "batch request body (aotsymbench batch-body)")
	reps := fs.Int("reps", 5, "requests")
	fs.Parse(args)
	body, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	for r := 1; r <= *reps; r++ {
		req, _ := http.NewRequest("POST", *url+"/v1/symbolicate/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		t0 := time.Now()
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("batch: %d %s", resp.StatusCode, clip(b))
		}
		var br client.BatchResponse
		if err := json.Unmarshal(b, &br); err != nil {
			return err
		}
		frames, failed := 0, 0
		sum := map[aotsym.Status]int{}
		for _, res := range br.Results {
			if res.Error != nil || res.Trace == nil {
				failed++
				continue
			}
			frames += len(res.Trace.Frames)
			for k, v := range res.Trace.Summary {
				sum[k] += v
			}
		}
		sj, _ := json.Marshal(sum)
		fmt.Printf(`{"rep":%d,"seconds":%.4f,"traces":%d,"failed":%d,"frames":%d,"summary":%s,"response_bytes":%d}`+"\n",
			r, d.Seconds(), len(br.Results), failed, frames, sj, len(b))
	}
	return nil
}

// cmdStartup runs `aotsym serve` on a data directory and measures the time
// from exec to /readyz answering 200, the memory after startup, then
// symbolicates a trace against one build (the first request reads and
// opens its index; the second is warm) and measures the memory again.
func cmdStartup(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ExitOnError)
	bin := fs.String("bin", "", "aotsym binary")
	data := fs.String("data", "", "data directory")
	path := fs.String("trace", "", "trace to resolve after startup")
	id := fs.String("build-id", "", "the trace's build")
	builds := fs.Int("builds", 0, "stored builds (recorded in the output)")
	rep := fs.Int("rep", 1, "repetition number (recorded in the output)")
	fs.Parse(args)
	body, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	cmd := exec.Command(*bin, "serve", "--data", *data, "--listen", "127.0.0.1:0", "--log-format", "json")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AOTSYM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-time.After(60 * time.Second):
		return errors.New("aotsym serve did not listen within 60s")
	}
	listening := time.Since(t0)
	quick := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := quick.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(t0) > 120*time.Second {
			return errors.New("aotsym serve not ready within 120s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	ready := time.Since(t0)
	pid := cmd.Process.Pid
	rss0, hwm0, err := procMem(pid)
	if err != nil {
		return err
	}
	tr, first, err := symbolicate(url, body, *id)
	if err != nil {
		return err
	}
	_, second, err := symbolicate(url, body, *id)
	if err != nil {
		return err
	}
	rss1, hwm1, err := procMem(pid)
	if err != nil {
		return err
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	fmt.Printf(`{"builds":%d,"rep":%d,"listening_ms":%.2f,"ready_ms":%.2f,"rss_kb_ready":%d,"hwm_kb_ready":%d,"first_trace_ms":%.2f,"second_trace_ms":%.2f,"frames":%d,"resolved":%d,"rss_kb_after":%d,"hwm_kb_after":%d}`+"\n",
		*builds, *rep, ms(listening), ms(ready), rss0, hwm0, ms(first), ms(second), len(tr.Frames), tr.Summary[aotsym.StatusResolved], rss1, hwm1)
	if tr.Summary[aotsym.StatusResolved] == 0 {
		return errors.New("the trace resolved no frame")
	}
	return nil
}

// procMem reads VmRSS and VmHWM (kB) of a process.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// cmdCPU prints the CPU time (user + system, seconds) a process has used,
// from /proc/PID/stat, so that run.sh can tell the server's CPU per
// request apart from the load generator's.
func cmdCPU(args []string) error {
	fs := flag.NewFlagSet("cpu", flag.ExitOnError)
	pid := fs.Int("pid", 0, "process ID")
	fs.Parse(args)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", *pid))
	if err != nil {
		return err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15 (clock ticks).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return fmt.Errorf("/proc/%d/stat: too few fields", *pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	fmt.Printf("%.2f\n", (ut+st)/100) // USER_HZ is 100 on Linux
	return nil
}
