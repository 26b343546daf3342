package e2e

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	bin "encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The reliability tests (issue 15, RELIABILITY.md) share these helpers: the
// memory of the server process, copies of corpus files given new build IDs,
// and iteration counts that are small in CI and large by hand.

// memory is what /proc/PID/status says of a process, in bytes.
type memory struct{ rss, peak int64 }

func (m memory) String() string {
	return fmt.Sprintf("RSS %s, peak %s", mib(m.rss), mib(m.peak))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// procMemory reads VmRSS and VmHWM (the peak RSS since start, or since
// resetPeak) of pid.
func procMemory(t testing.TB, pid int) memory {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.peak = n << 10
		}
	}
	return m
}

// resetPeak sets pid's VmHWM back to its current RSS (Linux's clear_refs
// "5"), so that the next peak is that of what follows. It reports whether the
// kernel allowed it.
func resetPeak(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// buildIDNote returns the offset of the build ID bytes in an ELF file's
// NT_GNU_BUILD_ID note, and their length.
func buildIDNote(t testing.TB, data []byte) (off, n int) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		b, err := s.Data()
		if err != nil {
			continue
		}
		for p := 0; p+12 <= len(b); {
			namesz := int(bin.LittleEndian.Uint32(b[p:]))
			descsz := int(bin.LittleEndian.Uint32(b[p+4:]))
			typ := bin.LittleEndian.Uint32(b[p+8:])
			name := p + 12
			desc := name + (namesz+3)&^3
			if typ == 3 && namesz == 4 && string(b[name:name+3]) == "GNU" {
				return int(s.Offset) + desc, descsz
			}
			p = desc + (descsz+3)&^3
		}
	}
	t.Fatal("no build ID note")
	return 0, 0
}

// withBuildID returns a copy of an ELF file whose build ID is derived from
// seed: the same DWARF, symbols and code under a build ID of its own, so that
// one corpus file gives any number of distinct builds.
func withBuildID(t testing.TB, data []byte, seed string) ([]byte, string) {
	t.Helper()
	off, n := buildIDNote(t, data)
	id := sha256.Sum256([]byte("aotsym reliability " + seed))
	out := bytes.Clone(data)
	copy(out[off:off+n], id[:n])
	return out, fmt.Sprintf("%x", id[:n])
}

// iterations is the value of the environment variable env, or def: CI runs
// the short default, RELIABILITY.md's long runs set it.
func iterations(t testing.TB, env string, def int) int {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: give a positive number", env, v)
	}
	return n
}
