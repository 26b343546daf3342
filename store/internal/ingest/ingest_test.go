package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
)

func TestSniff(t *testing.T) {
	tar := make([]byte, 512)
	copy(tar[257:], "ustar")
	for _, c := range []struct {
		head []byte
		elf  bool
		want string
	}{
		{[]byte("\x7fELF\x02\x01\x01"), true, "ELF"},
		{[]byte("\x1f\x8b\x08\x00"), false, "gzip"},
		{[]byte("\x28\xb5\x2f\xfd\x00"), false, "zstd"},
		{[]byte("PK\x03\x04rest"), false, "zip archive"},
		{[]byte("\xfd7zXZ\x00\x00"), false, "xz"},
		{[]byte("BZh91AY"), false, "bzip2"},
		{tar, false, "tar archive"},
		{[]byte("MZ\x90\x00"), false, "Windows PE"},
		{[]byte("\xcf\xfa\xed\xfe\x07\x00"), false, "Mach-O"},
		{[]byte("\xca\xfe\xba\xbe"), false, "Mach-O"},
		{[]byte("Microsoft C/C++ MSF 7.00\r\n"), false, "PDB"},
		{[]byte("{\"error\":\"forbidden\"}"), false, `text starting "{\"error\"`},
		{[]byte("héllo wörld\n"), false, "text"},
		{[]byte("caf\xc3"), false, "text"}, // cut inside a character
		{[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false, "bytes 00 01 02 03 04 05 06 07"},
		{[]byte{0x7f, 'E', 'L'}, false, "only 3 bytes, too short"},
		{[]byte("\x7fELX\x00\x01"), false, "bytes 7f 45 4c 58"},
	} {
		what, elf := Sniff(c.head)
		if elf != c.elf || !strings.Contains(what, c.want) {
			t.Errorf("Sniff(% x) = %q, %v; want %v mentioning %q", c.head[:min(len(c.head), 8)], what, elf, c.elf, c.want)
		}
	}
}

func TestReceive(t *testing.T) {
	dir := t.TempDir()
	ix := fakeIndexer{id: "0123456789ABCDEF"}
	body := append([]byte("\x7fELF"), bytes.Repeat([]byte("x"), 100_000)...)

	u, err := Receive(context.Background(), iotest.OneByteReader(bytes.NewReader(body[:2000])), dir, 0, ix, "a.dbg")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "0123456789abcdef" || u.Size != 2000 || u.Kind != aotsym.FileDebug || len(u.SHA256) != 64 {
		t.Errorf("Receive: %+v", u)
	}
	u.Discard()

	_, err = Receive(context.Background(), bytes.NewReader(body), dir, 50_000, ix, "")
	if aotsym.ErrorCode(err) != aotsym.ETOOLARGE || !strings.Contains(err.Error(), "48.8 KiB") {
		t.Errorf("over the limit: %v", err)
	}
	_, err = Receive(context.Background(), iotest.TimeoutReader(bytes.NewReader(body)), dir, 0, ix, "")
	if aotsym.ErrorCode(err) != aotsym.EINVALID || !strings.Contains(err.Error(), "cut off") {
		t.Errorf("a reader failing midway: %v", err)
	}
	_, err = Receive(context.Background(), bytes.NewReader(body), dir, 0, fakeIndexer{id: "xyz"}, "")
	if aotsym.ErrorCode(err) != aotsym.EINVALID || !strings.Contains(err.Error(), "build ID") {
		t.Errorf("a bad build ID from the indexer: %v", err)
	}
	_, err = Receive(context.Background(), bytes.NewReader(body), dir, 0, fakeIndexer{panic: true}, "")
	if aotsym.ErrorCode(err) != aotsym.EINVALID || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("an indexer panic: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = Receive(ctx, bytes.NewReader(body), dir, 0, ix, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("a canceled context: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("failed uploads left %d temporary files", len(left))
	}
}

type fakeIndexer struct {
	id    aotsym.BuildID
	panic bool
}

func (f fakeIndexer) Inspect(r io.ReaderAt, size int64) (store.ELFInfo, error) {
	if f.panic {
		panic("boom")
	}
	return store.ELFInfo{BuildID: f.id, Arch: "x86_64", HasDebug: true}, nil
}

func (f fakeIndexer) Build(ctx context.Context, d, e store.SizedReaderAt) (store.IndexResult, error) {
	return store.IndexResult{Data: []byte("i")}, nil
}

func (f fakeIndexer) Version() int { return 1 }

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 2 << 30: "2 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
