package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/internal/testenv"
	"github.com/aotsym/aotsym/store"
	"github.com/aotsym/aotsym/store/bolt"
	"github.com/aotsym/aotsym/symbolizer"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// realIndexer is the symbolizer's Indexer as store.Indexer, wired as `aotsym
// serve` wires it (cmd/aotsym/serve.go), so the upload fuzz target reaches
// the real ELF/DWARF reader and index builder.
type realIndexer struct{ ix symbolizer.Indexer }

func (r realIndexer) Inspect(ra io.ReaderAt, size int64) (store.ELFInfo, error) {
	in, err := r.ix.Inspect(ra, size)
	if err != nil {
		return store.ELFInfo{}, err
	}
	return store.ELFInfo{BuildID: in.BuildID, Arch: in.Arch, HasDebug: in.HasDebug, HasCode: in.HasCode}, nil
}

func (r realIndexer) Build(ctx context.Context, debug, exe store.SizedReaderAt) (store.IndexResult, error) {
	var d, e elfindex.SizedReaderAt
	if debug != nil {
		d = debug
	}
	if exe != nil {
		e = exe
	}
	res, err := r.ix.Build(ctx, d, e)
	if err != nil {
		return store.IndexResult{}, err
	}
	return store.IndexResult{Data: res.Data, Functions: res.Functions, LineRows: res.LineRows, HasCode: res.HasCode}, nil
}

func (r realIndexer) Version() int { return r.ix.Version() }

// fuzzUploadLimits keep one input cheap: the real indexer with its caps
// lowered (a 1 MiB upload may still claim gigabyte sections; those claims are
// what the hostile tests of cmd/aotsym/e2e check with the default caps).
var fuzzUploadLimits = elfindex.Limits{
	MaxInputSize: 1 << 20, MaxSectionSize: 16 << 20, MaxDebugSize: 64 << 20,
	MaxSymbols: 1 << 16, MaxFunctions: 1 << 16, MaxLineRows: 1 << 20, MaxInlineNodes: 1 << 16,
}

// uploadRig is one server over one bbolt store, shared by every input of a
// fuzz worker process.
type uploadRig struct {
	dir  string
	st   *bolt.Store
	srv  *Server
	logs *testenv.SyncBuffer
}

var (
	rigOnce sync.Once
	rig     *uploadRig
	rigErr  error
)

func fuzzRig(tb testing.TB) *uploadRig {
	rigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aotsym-fuzz-upload-")
		if err != nil {
			rigErr = err
			return
		}
		st, err := bolt.Open(dir, realIndexer{symbolizer.Indexer{Limits: fuzzUploadLimits}}, bolt.Options{})
		if err != nil {
			rigErr = err
			return
		}
		logs := &testenv.SyncBuffer{}
		srv := New(Config{MaxUploadBytes: 1 << 20, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		srv.Attach(Backend{Store: st, Symbolicator: &recSym{}})
		rig = &uploadRig{dir: dir, st: st, srv: srv, logs: logs}
	})
	if rigErr != nil {
		tb.Fatal(rigErr)
	}
	return rig
}

// uploadSeeds are small real ELF files: the elfindex tiny programs (DWARF 4
// and 5, -O0 and -O2, zlib, zstd and .zdebug sections, a split .debug and its
// stripped executable), one cut short, and two that are not ELF.
func uploadSeeds(tb testing.TB) [][]byte {
	dir := filepath.Join("..", "symbolizer", "elfindex", "testdata", "tiny")
	var seeds [][]byte
	for _, name := range []string{"tiny-O0", "tiny-dwarf4", "tiny-dwarf5", "tiny-zlib", "tiny-zstd", "tiny-zdebug", "tiny.debug", "tiny-stripped"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds, seeds[0][:len(seeds[0])/2], []byte("PK\x03\x04 not an ELF file"), nil)
	return seeds
}

// encodings of the fuzzed body, chosen by the first argument.
var fuzzEncodings = []string{"", "gzip", "zstd", "gzip-raw", "zstd-raw"}

func encodeBody(mode byte, data []byte) (body []byte, encoding string) {
	enc := fuzzEncodings[int(mode)%len(fuzzEncodings)]
	switch enc {
	case "gzip":
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(data)
		w.Close()
		return buf.Bytes(), enc
	case "zstd":
		w, _ := zstd.NewWriter(nil)
		defer w.Close()
		return w.EncodeAll(data, nil), enc
	case "gzip-raw", "zstd-raw": // declared compressed, sent as is
		return data, strings.TrimSuffix(enc, "-raw")
	}
	return data, ""
}

// FuzzUpload sends fuzzed bodies (raw, gzip, zstd, or wrongly declared
// compressed) with fuzzed query strings to POST /v1/builds of the real gin
// engine over the real bbolt store and the real symbolizer.Indexer. Every
// answer is a 2xx naming a build whose stored file is the body and whose
// index opens, or a 4xx with a JSON reason; never a 5xx, never a panic (the
// engine would turn one into a 500 and log it), and a refused upload leaves
// nothing behind: no new build, nothing in the store's tmp/ and files/.
func FuzzUpload(f *testing.F) {
	for i, s := range uploadSeeds(f) {
		f.Add(byte(i%3), "name=app.dbg&tag=service=fuzz", s)
	}
	f.Add(byte(0), "name=../../etc/passwd", []byte("\x7fELF"))
	f.Add(byte(0), "tag=a&tag=b=c&tag==", []byte("\x7fELF\x02\x01\x01"))
	r := fuzzRig(f)
	f.Cleanup(func() {
		r.st.Close()
		os.RemoveAll(r.dir)
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, mode byte, query string, data []byte) {
		body, enc := encodeBody(mode, data)
		req, err := http.NewRequest("POST", "/v1/builds?"+query, bytes.NewReader(body))
		if err != nil {
			return // not a URL a client can send
		}
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		before, err := r.st.List(ctx, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.srv.Handler().ServeHTTP(w, req)
		t.Logf("%d %q body, %d bytes: %d %s", mode, enc, len(body), w.Code, aotsym.Clip(w.Body.String(), 120))
		switch {
		case w.Code >= 500:
			t.Fatalf("%d for a %d-byte %q body: %s\nlog: %s", w.Code, len(body), enc, w.Body.Bytes(), aotsym.Clip(r.logs.String(), 2000))
		case w.Code >= 400:
			var eb client.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error == "" || eb.Code == "" {
				t.Fatalf("%d without a JSON reason: %q", w.Code, w.Body.Bytes())
			}
			after, err := r.st.List(ctx, store.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Fatalf("a refused upload (%d %s) changed the store: %d builds before, %d after", w.Code, eb.Error, len(before), len(after))
			}
		case w.Code == 200 || w.Code == 201:
			var res client.UploadResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("%d with a body that is not an upload result: %v: %q", w.Code, err, w.Body.Bytes())
			}
			checkStored(t, r.st, res, data)
			// Keep the store small: every accepted build is removed again.
			if err := r.st.Delete(ctx, res.BuildID); err != nil {
				t.Fatalf("deleting %s: %v", res.BuildID, err)
			}
		default:
			t.Fatalf("unexpected status %d: %q", w.Code, w.Body.Bytes())
		}
		if strings.Contains(r.logs.String(), "panic") {
			t.Fatalf("the server logged a panic: %s", aotsym.Clip(r.logs.String(), 4000))
		}
		leftovers(t, r.dir)
	})
}

// checkStored checks an accepted upload: the build is there, the stored file
// of its kind is the decoded body byte for byte, and the index opens.
func checkStored(t *testing.T, st store.Store, res client.UploadResult, data []byte) {
	t.Helper()
	ctx := context.Background()
	b, err := st.Get(ctx, res.BuildID)
	if err != nil {
		t.Fatalf("accepted build %s is not stored: %v", res.BuildID, err)
	}
	sf, ok := b.File(res.Kind)
	want := sha256.Sum256(data)
	if !ok || sf.SHA256 != hex.EncodeToString(want[:]) || sf.Size != int64(len(data)) {
		t.Fatalf("accepted build %s: stored %s file %+v is not the %d-byte body", res.BuildID, res.Kind, sf, len(data))
	}
	f, err := st.OpenFile(ctx, res.BuildID, res.Kind)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("accepted build %s: the stored file differs from the body (%v)", res.BuildID, err)
	}
	ix, err := st.Index(ctx, res.BuildID)
	if err != nil {
		t.Fatalf("accepted build %s: Index: %v", res.BuildID, err)
	}
	if _, err := elfindex.Open(ix); err != nil {
		t.Fatalf("accepted build %s: its index does not open: %v", res.BuildID, err)
	}
}

// leftovers fails when an upload left a temporary file, or a file no build
// names.
func leftovers(t *testing.T, dir string) {
	t.Helper()
	if es, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(es) > 0 {
		t.Fatalf("tmp/ holds %d entries after the request (%s)", len(es), es[0].Name())
	}
	es, _ := os.ReadDir(filepath.Join(dir, "files"))
	for _, e := range es {
		fs, _ := os.ReadDir(filepath.Join(dir, "files", e.Name()))
		if len(fs) > 0 {
			t.Fatalf("files/%s holds %d files after the request, and no build is stored", e.Name(), len(fs))
		}
	}
}
