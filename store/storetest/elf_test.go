package storetest

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// TestIndexerOnCorpus checks the test indexer's identity reading against the
// build IDs and roles the corpus manifests record.
func TestIndexerOnCorpus(t *testing.T) {
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndexer()
	for _, m := range ms {
		for _, c := range []struct {
			path string
			kind aotsym.FileKind
		}{{m.DebugFile(), aotsym.FileDebug}, {m.Executable(), aotsym.FileExecutable}} {
			f, err := os.Open(c.path)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			info, err := ix.Inspect(f, fi.Size())
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", c.path, err)
			}
			if string(info.BuildID) != m.Build.BuildID || info.Kind() != c.kind {
				t.Errorf("%s: build ID %s kind %s; manifest says %s, want kind %s", c.path, info.BuildID, info.Kind(), m.Build.BuildID, c.kind)
			}
			if info.Arch != m.Build.Machine {
				t.Errorf("%s: arch %s, manifest says %s", c.path, info.Arch, m.Build.Machine)
			}
		}
	}
}

// TestSyntheticELF checks that the synthetic files are ELF that the standard
// tools read, with the build ID and role asked for.
func TestSyntheticELF(t *testing.T) {
	ix := NewIndexer()
	for _, code := range []bool{false, true} {
		for _, m := range []elf.Machine{elf.EM_X86_64, elf.EM_AARCH64} {
			id := SyntheticBuildID(7)
			b := SyntheticELF(ELFSpec{BuildID: id, Machine: m, Code: code, Comment: []byte("x")})
			info, err := ix.Inspect(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if info.BuildID != aotsym.BuildIDFromBytes(id) || info.HasCode != code || info.Arch != Arch(m) {
				t.Errorf("code=%v %v: got %+v", code, m, info)
			}
			if p, err := exec.LookPath("readelf"); err == nil {
				path := filepath.Join(t.TempDir(), "f")
				os.WriteFile(path, b, 0o644)
				out, err := exec.Command(p, "-n", "-S", "-W", path).CombinedOutput()
				if err != nil || !strings.Contains(string(out), string(aotsym.BuildIDFromBytes(id))) || strings.Contains(string(out), "Warning") {
					t.Errorf("readelf on a synthetic file: %v\n%s", err, out)
				}
			}
		}
	}
	b := SyntheticELF(ELFSpec{})
	if _, err := ix.Inspect(bytes.NewReader(b), int64(len(b))); aotsym.ErrorCode(err) != aotsym.EINVALID {
		t.Errorf("no build ID: got %v, want EINVALID", err)
	}
}
