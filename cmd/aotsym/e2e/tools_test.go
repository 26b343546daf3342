package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store/s3/s3test"
)

// TestDebuginfodClient fetches a build's files with LLVM's debuginfod client
// (the library gdb, lldb and llvm-symbolizer use): the server speaks the
// protocol those tools expect.
func TestDebuginfodClient(t *testing.T) {
	var tool string
	for _, name := range []string{"llvm-debuginfod-find", "llvm-debuginfod-find-14", "llvm-debuginfod-find-15", "llvm-debuginfod-find-16", "llvm-debuginfod-find-19"} {
		if p, err := exec.LookPath(name); err == nil {
			tool = p
			break
		}
	}
	if tool == "" {
		testenv.Missing(t, "llvm-debuginfod-find not found; install it with: apt-get install llvm")
	}
	m := loadVariants(t)[0]
	srv := startServer(t, t.TempDir(), nil)
	if r := cli(t, nil, nil, "upload", "--server", srv.url, "--publish-dir", m.Dir); r.code != 0 {
		t.Fatalf("upload: %d %s %s", r.code, r.stdout, r.stderr)
	}
	cache := t.TempDir()
	for flag, path := range map[string]string{"--debuginfo": m.DebugFile(), "--executable": m.Executable()} {
		cmd := exec.Command(tool, flag, m.Build.BuildID)
		cmd.Env = cleanEnv("DEBUGINFOD_URLS="+srv.url, "DEBUGINFOD_CACHE_PATH="+cache, "DEBUGINFOD_TIMEOUT=30")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v", filepath.Base(tool), flag, err)
		}
		got, err := os.ReadFile(strings.TrimSpace(string(out)))
		want, _ := os.ReadFile(path)
		if err != nil || sha(got) != sha(want) {
			t.Fatalf("%s %s gave %q (%v): not the uploaded file", filepath.Base(tool), flag, out, err)
		}
	}
	cmd := exec.Command(tool, "--debuginfo", "00112233445566778899aabbccddeeff00112233")
	cmd.Env = cleanEnv("DEBUGINFOD_URLS="+srv.url, "DEBUGINFOD_CACHE_PATH="+cache)
	if err := cmd.Run(); err == nil {
		t.Fatal("a missing build was found")
	}
}

// TestUploadOutput checks what upload prints: a progress bar when asked
// (on a terminal by default), one line per file, a failure line and exit
// code 1 when a file is not an ELF file, and that the other files still go.
func TestUploadOutput(t *testing.T) {
	m := loadVariants(t)[1]
	srv := startServer(t, t.TempDir(), nil)
	notELF := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notELF, []byte("hello"), 0o644)
	r := cli(t, nil, nil, "upload", "--server", srv.url, "--progress", "always", "--compress", "zstd", notELF, m.DebugFile(), "/no/such/file")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "failed    "+notELF) || !strings.HasPrefix(lines[1], "uploaded  "+m.DebugFile()) ||
		!strings.HasPrefix(lines[2], "failed    /no/such/file") || lines[3] != "1 uploaded, 0 already there, 2 failed" {
		t.Fatalf("output:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "\r") || !strings.Contains(r.stderr, "100%") {
		t.Fatalf("no progress bar on stderr: %q", r.stderr)
	}
	// Without a terminal (and without --progress), no bar at all.
	r = cli(t, nil, nil, "upload", "--server", srv.url, "--force", "--compress", "none", m.DebugFile())
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "already on the server") {
		t.Fatalf("forced re-upload: %d\n%s%q", r.code, r.stdout, r.stderr)
	}
	// A skipped file still gets the tags it was uploaded with.
	r = cli(t, nil, nil, "upload", "--server", srv.url, "--tag", "env=prod", m.DebugFile())
	if r.code != 0 || !strings.Contains(r.stdout, "skipped") {
		t.Fatalf("re-upload with a tag: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, nil, nil, "builds", "list", "--server", srv.url, "--tag", "env=prod")
	if r.code != 0 || !strings.Contains(r.stdout, m.Build.BuildID) {
		t.Fatalf("the skipped file's build did not get its tag:\n%s%s", r.stdout, r.stderr)
	}
	// Usage errors exit 2.
	if r := cli(t, nil, nil, "upload", m.DebugFile()); r.code != 2 || !strings.Contains(r.stderr, "AOTSYM_SERVER") {
		t.Fatalf("no server: %d %s", r.code, r.stderr)
	}
	if r := cli(t, nil, nil, "upload", "--server", srv.url); r.code != 2 {
		t.Fatalf("no files: %d %s", r.code, r.stderr)
	}
	if r := cli(t, nil, nil, "upload", "--server", "http://127.0.0.1:1", m.DebugFile()); r.code != 1 || !strings.Contains(r.stdout, "cannot reach") {
		t.Fatalf("server down: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestServeOnS3 runs two servers over one bucket of a real S3 server
// (versitygw), as a scaled-out deployment does: a build uploaded through one
// is symbolicated and downloaded through the other.
func TestServeOnS3(t *testing.T) {
	s3 := s3test.Start(t)
	awsEnv := s3.Env()
	loc := s3.URL(t)

	m := loadVariants(t)[2]
	a := startServer(t, t.TempDir(), awsEnv, "--store", loc)
	b := startServer(t, t.TempDir(), awsEnv, "--store", loc)
	if r := cli(t, nil, nil, "upload", "--server", a.url, "--tag", "service=orders", "--publish-dir", m.Dir); r.code != 0 {
		t.Fatalf("upload through A: %d %s %s", r.code, r.stdout, r.stderr)
	}
	c, in := sample(t, m, "async-chain")
	tr, _ := symbolicateJSON(t, b.url+"/v1/symbolicate", in)
	if string(tr.BuildID) != m.Build.BuildID || tr.Build.How != "detected" {
		t.Fatalf("through B: build %s %+v", tr.BuildID, tr.Build)
	}
	checkAgainstManifest(t, "s3", tr, c)
	want, _ := os.ReadFile(m.DebugFile())
	status, _, got := call(t, "GET", b.url+"/buildid/"+m.Build.BuildID+"/debuginfo", nil)
	if status != 200 || sha(got) != sha(want) {
		t.Fatalf("debuginfo through B: %d, %d bytes", status, len(got))
	}
	status, _, body := call(t, "GET", b.url+"/v1/builds?tag=service=orders", nil)
	var l2 struct{ Builds []aotsym.Build }
	if status != 200 || json.Unmarshal(body, &l2) != nil || len(l2.Builds) != 1 {
		t.Fatalf("list through B: %d %s", status, body)
	}
	// Delete through B; A no longer has it.
	if status, _, body := call(t, "DELETE", b.url+"/v1/builds/"+m.Build.BuildID, nil); status != 200 {
		t.Fatalf("delete through B: %d %s", status, body)
	}
	status, _, body = call(t, "GET", a.url+"/v1/builds/"+m.Build.BuildID, nil)
	errorBody(t, status, 404, body, "not_found")
	if !bytes.Contains([]byte(a.logs.String()), []byte(`"store":"`+loc)) {
		t.Fatalf("A's log does not name the S3 store:\n%s", a.logs.String())
	}
}
