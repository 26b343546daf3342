package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// TestInspectELF reads the build ID and file kind of every committed fixture
// the way the server will, and compares with the manifest.
func TestInspectELF(t *testing.T) {
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for path, kind := range map[string]aotsym.FileKind{m.Executable(): aotsym.FileExecutable, m.DebugFile(): aotsym.FileDebug} {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			id, k, err := inspectELF(f, fi.Size())
			f.Close()
			if err != nil || string(id) != m.Build.BuildID || k != kind {
				t.Errorf("%s: %s %s %v; want %s %s", path, id, k, err, m.Build.BuildID, kind)
			}
		}
	}
	f, _ := os.Open(filepath.Join(corpus.Dir(), "README.md"))
	defer f.Close()
	fi, _ := f.Stat()
	if _, _, err := inspectELF(f, fi.Size()); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Fatalf("a text file: %v", err)
	}
}

func TestFindPublished(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"app", "app.dbg", "bootstrap.dbg", "libfoo.so", "appsettings.json", "lonely"} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub.dbg"), 0o755)
	got, err := findPublished(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "app.dbg"), filepath.Join(dir, "bootstrap.dbg"), filepath.Join(dir, "app")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := findPublished(t.TempDir()); err == nil {
		t.Fatal("an empty directory is not a publish output")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512KiB": 512 << 10, "16MiB": 16 << 20, "2GiB": 2 << 30, "3g": 3 << 30, "10 MB": 10 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "1PB", "MiB", "1.5GiB", "99999999999GiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if s := formatSize(2 << 30); s != "2GiB" {
		t.Errorf("formatSize = %s", s)
	}
}
