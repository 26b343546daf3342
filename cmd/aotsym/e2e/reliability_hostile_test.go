package e2e

import (
	"bytes"
	"compress/zlib"
	"context"
	"debug/elf"
	bin "encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/elftest"
	"github.com/klauspost/compress/gzip"
)

// hostile is one upload that is wrong, truncated, huge or crafted.
type hostile struct {
	name string
	body func() io.Reader
	// size is the Content-Length to send; -1 sends the body chunked.
	size     int64
	encoding string
	// anyAnswer marks a file that is valid enough to be stored (a real
	// symbol table of millions of entries, a section that inflates exactly
	// to what it claims): it may get 2xx or 4xx, never 5xx.
	anyAnswer bool
}

func fixed(b []byte) (func() io.Reader, int64) {
	return func() io.Reader { return bytes.NewReader(b) }, int64(len(b))
}

// zeros is an endless reader of zero bytes after a prefix.
type zeros struct {
	prefix []byte
	left   int64
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.left)]
	n := copy(p, z.prefix)
	z.prefix = z.prefix[n:]
	clear(p[n:])
	z.left -= int64(len(p))
	return len(p), nil
}

// elfEdit finds a section's header and edits fields of an ELF64 file.
type elfEdit struct {
	t     testing.TB
	data  []byte
	shoff int
	f     *elf.File
}

func newELFEdit(t testing.TB, data []byte) *elfEdit {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return &elfEdit{t: t, data: data, shoff: int(bin.LittleEndian.Uint64(data[40:])), f: f}
}

// header returns the offset of the section header of name.
func (e *elfEdit) header(name string) int {
	for i, s := range e.f.Sections {
		if s.Name == name {
			return e.shoff + i*64
		}
	}
	e.t.Fatalf("no section %s", name)
	return 0
}

func (e *elfEdit) section(name string) *elf.Section { return e.f.Section(name) }

// put64 returns a copy of data with the 8 bytes at off set to v.
func put64(data []byte, off int, v uint64) []byte {
	out := bytes.Clone(data)
	bin.LittleEndian.PutUint64(out[off:], v)
	return out
}

func put32(data []byte, off int, v uint32) []byte {
	out := bytes.Clone(data)
	bin.LittleEndian.PutUint32(out[off:], v)
	return out
}

func put16(data []byte, off int, v uint16) []byte {
	out := bytes.Clone(data)
	bin.LittleEndian.PutUint16(out[off:], v)
	return out
}

// zlibZeros is a zlib stream that inflates to n zero bytes.
func zlibZeros(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(chunk)) {
		if _, err := w.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return buf.Bytes()
}

// withCompressedSection appends an Elf64_Chdr claiming claim bytes and then
// stream to the file, and points section name at them as SHF_COMPRESSED.
func withCompressedSection(e *elfEdit, name string, claim uint64, stream []byte) []byte {
	chdr := make([]byte, 24)
	bin.LittleEndian.PutUint32(chdr, uint32(elf.COMPRESS_ZLIB))
	bin.LittleEndian.PutUint64(chdr[8:], claim)
	bin.LittleEndian.PutUint64(chdr[16:], 1)
	out := bytes.Clone(e.data)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	at := len(out)
	out = append(append(out, chdr...), stream...)
	h := e.header(name)
	bin.LittleEndian.PutUint64(out[h+8:], bin.LittleEndian.Uint64(out[h+8:])|uint64(elf.SHF_COMPRESSED))
	bin.LittleEndian.PutUint64(out[h+24:], uint64(at))
	bin.LittleEndian.PutUint64(out[h+32:], uint64(len(chdr)+len(stream)))
	return out
}

// hostileUploads builds the hostile inputs from a real Native AOT .dbg, each
// under a build ID of its own so that none is refused merely as a conflict
// with another.
func hostileUploads(t testing.TB, dbg []byte, maxUpload int64) []hostile {
	rng := rand.New(rand.NewPCG(15, 15))
	random := make([]byte, 1<<20)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	own := func(name string) (*elfEdit, []byte) {
		b, _ := withBuildID(t, dbg, name)
		return newELFEdit(t, b), b
	}
	var hs []hostile
	add := func(name string, b []byte) {
		body, size := fixed(b)
		hs = append(hs, hostile{name: name, body: body, size: size})
	}
	addAny := func(name string, b []byte) {
		body, size := fixed(b)
		hs = append(hs, hostile{name: name, body: body, size: size, anyAnswer: true})
	}

	add("random bytes (1 MiB)", random)
	add("ELF magic, then random bytes", append([]byte("\x7fELF\x02\x01\x01\x00"), random...))
	add("empty body", nil)

	_, whole := own("truncated")
	shoff := int(bin.LittleEndian.Uint64(whole[40:]))
	for _, cut := range []int{16, 64, 4096, len(whole) / 2, shoff + 100, len(whole) - 1} {
		add("real .dbg truncated to "+strconv.Itoa(cut)+" bytes", whole[:cut])
	}

	_, b := own("shoff")
	add("section header table past EOF (e_shoff = 1 TiB)", put64(b, 40, 1<<40))
	_, b = own("shnum")
	add("e_shnum = 65535", put16(b, 60, 0xffff))
	_, b = own("shstrndx")
	add("e_shstrndx out of range", put16(b, 62, 0xfffe))
	e, b := own("info-offset")
	add(".debug_info offset past EOF", put64(b, e.header(".debug_info")+24, uint64(len(b))+1<<30))
	e, b = own("info-size")
	add(".debug_info size past EOF (1 TiB)", put64(b, e.header(".debug_info")+32, 1<<40))
	e, b = own("info-claim")
	add("compressed .debug_info claims to inflate to 1 TiB", put64(b, int(e.section(".debug_info").Offset)+8, 1<<40))
	e, b = own("info-garbage")
	{
		g := bytes.Clone(b)
		s := e.section(".debug_info")
		copy(g[s.Offset+24:s.Offset+s.FileSize], random)
		add("compressed .debug_info holds random bytes", g)
	}
	e, b = own("line-understated")
	addAny("compressed .debug_info claims 100 bytes, inflates to 1 MiB", put64(b, int(e.section(".debug_info").Offset)+8, 100))

	bomb := zlibZeros(t, 512<<20)
	e, _ = own("line-bomb-tb")
	add("zlib bomb: .debug_line claims 1 TiB, stream inflates to 512 MiB", withCompressedSection(e, ".debug_line", 1<<40, bomb))
	e, _ = own("line-bomb-exact")
	addAny("zlib bomb: .debug_line claims and inflates to 512 MiB of zeros", withCompressedSection(e, ".debug_line", 512<<20, bomb))
	e, _ = own("line-bomb-1000")
	addAny("zlib bomb: .debug_line claims and inflates to 1000 MiB of zeros", withCompressedSection(e, ".debug_line", 1000<<20, zlibZeros(t, 1000<<20)))
	e, _ = own("line-bomb-low")
	addAny("zlib bomb: .debug_line claims 4 KiB, stream inflates to 512 MiB", withCompressedSection(e, ".debug_line", 4096, bomb))

	e, b = own("symtab-claim")
	add(".symtab claims 50 million symbols", put64(b, e.header(".symtab")+32, 24*50_000_000))
	e, _ = own("symtab-real")
	many, err := elftest.ManySymbols(e.data, 3_000_000)
	if err != nil {
		t.Fatal(err)
	}
	addAny(".symtab holding 3 million real symbols", many)

	_, b = own("note")
	off, _ := buildIDNote(t, b)
	add("build ID note with descsz 0xffffffff", put32(b, off-12, 0xffffffff))

	// Far above the upload limit: announced, streamed, and compressed.
	over := maxUpload * 32
	hs = append(hs,
		hostile{name: "Content-Length " + mib(over) + " (32x the limit)", size: over,
			body: func() io.Reader { return &zeros{prefix: whole[:4096], left: over} }},
		hostile{name: "chunked body of " + mib(over) + " (32x the limit)", size: -1,
			body: func() io.Reader { return &zeros{prefix: whole[:4096], left: over} }},
	)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	io.Copy(zw, &zeros{prefix: whole[:4096], left: 4 * maxUpload})
	zw.Close()
	body, size := fixed(gz.Bytes())
	hs = append(hs, hostile{name: "gzip body of " + mib(int64(gz.Len())) + " inflating to " + mib(4*maxUpload), body: body, size: size, encoding: "gzip"})
	return hs
}

// knownHeavy names the inputs whose peak RSS is over the 1 GiB bound for a
// reason reported in RELIABILITY.md ("Findings") and not yet fixed by the
// package's owner; their subtest is skipped with that finding after being
// measured. None today: findings 3 (a compression ratio limit) and 4 (the
// symbol table held once, 40 bytes a symbol) were fixed in elfindex.
var knownHeavy = map[string]string{}

// TestReliabilityHostileUploads sends every hostile input to the real `aotsym
// serve` (default limits but --max-upload 256MiB), each to a fresh server
// process over the same data directory so that its peak RSS (VmHWM) is its
// own. Each must get a 4xx with a JSON reason (a 2xx only for the inputs
// marked anyAnswer), within a 2-minute hang guard, with the server's peak
// RSS below 1 GiB; a refused input stores nothing and leaves nothing in
// tmp/ or files/. The status, time and peak RSS of each input are logged
// ("hostile | …") for RELIABILITY.md.
func TestReliabilityHostileUploads(t *testing.T) {
	const maxUpload = 256 << 20
	dbg, err := os.ReadFile(loadVariants(t)[2].DebugFile())
	if err != nil {
		t.Fatal(err)
	}
	inputs := hostileUploads(t, dbg, maxUpload)
	data := t.TempDir()
	hc := &http.Client{Timeout: 2 * time.Minute} // a hang guard, not a speed goal
	accepted := map[string]bool{}
	for _, h := range inputs {
		t.Run(h.name, func(t *testing.T) {
			srv := startServer(t, data, nil, "--max-upload", "256MiB")
			defer srv.stop(syscall.SIGTERM)
			pid := srv.cmd.Process.Pid
			rest := procMemory(t, pid)
			req, err := http.NewRequestWithContext(context.Background(), "POST", srv.url+"/v1/builds?name=hostile.dbg", h.body())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case h.size == 0:
				req.Body, req.ContentLength = http.NoBody, 0
			case h.size > 0:
				req.ContentLength = h.size
			default:
				req.Body, req.ContentLength = io.NopCloser(chunked{req.Body}), -1
			}
			if h.encoding != "" {
				req.Header.Set("Content-Encoding", h.encoding)
			}
			start := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%v\n%s", err, srv.logs.String())
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(start)
			mem := procMemory(t, pid)
			var eb struct{ Error, Code string }
			json.Unmarshal(b, &eb)
			var ub struct {
				BuildID string `json:"build_id"`
			}
			json.Unmarshal(b, &ub)
			reason := eb.Error
			if resp.StatusCode < 300 {
				reason = "stored as " + ub.BuildID
				accepted[ub.BuildID] = true
			}
			t.Logf("hostile | %s | %d %s | %.2f s | at rest %s, peak %s | %s", h.name, resp.StatusCode, eb.Code, d.Seconds(), mib(rest.rss), mib(mem.peak), aotsym.Clip(reason, 200))
			switch {
			case resp.StatusCode >= 500:
				t.Errorf("%d %s", resp.StatusCode, clip(b))
			case resp.StatusCode >= 400:
				if eb.Error == "" || eb.Code == "" {
					t.Errorf("%d without a JSON reason: %s", resp.StatusCode, clip(b))
				}
			case !h.anyAnswer:
				t.Errorf("accepted (%d %s); want a 4xx", resp.StatusCode, clip(b))
			}
			if status, _, b := call(t, "GET", srv.url+"/readyz", nil); status != 200 {
				t.Errorf("readyz after the upload: %d %s", status, b)
			}
			if strings.Contains(srv.logs.String(), "panic") {
				t.Errorf("the server logged a panic:\n%s", srv.logs.String())
			}
			if mem.peak > 1<<30 {
				if why, ok := knownHeavy[h.name]; ok {
					t.Skip(why)
				}
				t.Errorf("the server's peak RSS reached %s", mib(mem.peak))
			}
		})
	}

	// Only accepted inputs are stored, and nothing is left behind.
	srv := startServer(t, data, nil)
	status, _, b := call(t, "GET", srv.url+"/v1/builds", nil)
	var list struct {
		Builds []struct {
			BuildID string `json:"build_id"`
		}
	}
	if status != 200 || json.Unmarshal(b, &list) != nil {
		t.Fatalf("list: %d %s", status, clip(b))
	}
	for _, bl := range list.Builds {
		if !accepted[bl.BuildID] {
			t.Errorf("build %s is stored though its upload was refused", bl.BuildID)
		}
	}
	if len(list.Builds) != len(accepted) {
		t.Errorf("%d builds stored, %d uploads accepted", len(list.Builds), len(accepted))
	}
	if es, _ := os.ReadDir(filepath.Join(data, "tmp")); len(es) > 0 {
		t.Errorf("tmp/ holds %d files after the hostile uploads", len(es))
	}
	es, _ := os.ReadDir(filepath.Join(data, "files"))
	for _, e := range es {
		if !accepted[e.Name()] {
			t.Errorf("files/%s exists for a refused upload", e.Name())
		}
	}
}
