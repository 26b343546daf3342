package aotsym_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

func TestParseBuildID(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "50eb9c11d7b522c303cb4f776b496a670a98a5c4", want: "50eb9c11d7b522c303cb4f776b496a670a98a5c4"},
		{in: "  50EB9C11D7B522C303CB4F776B496A670A98A5C4\n", want: "50eb9c11d7b522c303cb4f776b496a670a98a5c4"},
		{in: "0123456789abcdef", want: "0123456789abcdef"},
		{in: "", err: "empty build ID"},
		{in: "abc", err: "has 3 hex digits"},
		{in: strings.Repeat("ab", 65), err: "has 130 hex digits"},
		{in: "0123456789abcde", err: "odd number"},
		{in: "0123456789abcdef0", err: "odd number"},
		{in: "../../../etc/passwd", err: "not hexadecimal"},
		{in: "0123456789abcdeg", err: "not hexadecimal"},
		{in: "01234567%2f9abcdef", err: "not hexadecimal"},
		{in: "0123456789abcdéf", err: "not hexadecimal"},
	} {
		got, err := aotsym.ParseBuildID(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBuildID(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
			} else if aotsym.ErrorCode(err) != aotsym.EINVALID {
				t.Errorf("ParseBuildID(%q): code %q, want %q", tc.in, aotsym.ErrorCode(err), aotsym.EINVALID)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("ParseBuildID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseBuildIDEchoIsClipped(t *testing.T) {
	_, err := aotsym.ParseBuildID(strings.Repeat("z", 1<<20))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("a hostile build ID must give a short error, got %d bytes", len(err.Error()))
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	nf := aotsym.Errorf(aotsym.ENOTFOUND, "no build 1234abcd; upload it with aotsym upload")
	wrapped := fmt.Errorf("resolving: %w", nf)
	plain := errors.New("disk on fire at /var/lib/x")
	for _, tc := range []struct {
		err       error
		code, msg string
	}{
		{nil, "", ""},
		{nf, aotsym.ENOTFOUND, nf.Message},
		{wrapped, aotsym.ENOTFOUND, nf.Message},
		{errors.Join(plain, wrapped), aotsym.ENOTFOUND, nf.Message},
		{plain, aotsym.EINTERNAL, "internal error: the server log has the details; try again, and report it if it persists"},
	} {
		if got := aotsym.ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if got := aotsym.ErrorMessage(tc.err); got != tc.msg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, tc.msg)
		}
	}
}

func TestBuildFile(t *testing.T) {
	b := aotsym.Build{Files: []aotsym.StoredFile{{Kind: aotsym.FileDebug, Size: 3}}}
	if f, ok := b.File(aotsym.FileDebug); !ok || f.Size != 3 {
		t.Errorf("File(debuginfo) = %v, %v", f, ok)
	}
	if _, ok := b.File(aotsym.FileExecutable); ok {
		t.Error("File(executable) found a file the build does not have")
	}
}
