package ingest

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Sniff looks at the first bytes of an upload. It reports whether they start
// an ELF file and, when they do not, what they look like, for the error
// message: people upload archives, compressed files, Windows or macOS
// binaries, and text (an HTML error page, a JSON document) by mistake.
func Sniff(head []byte) (what string, isELF bool) {
	has := func(magic string) bool { return bytes.HasPrefix(head, []byte(magic)) }
	switch {
	case has("\x7fELF"):
		return "an ELF file", true
	case len(head) < 4 && bytes.HasPrefix([]byte("\x7fELF"), head):
		return fmt.Sprintf("only %d bytes, too short for an ELF file", len(head)), false
	case has("\x1f\x8b"):
		return "a gzip stream (send the file uncompressed, or say Content-Encoding: gzip)", false
	case has("\x28\xb5\x2f\xfd"):
		return "a zstd stream (send the file uncompressed, or say Content-Encoding: zstd)", false
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return "a zip archive (a NuGet package or a zipped publish folder?); extract the .dbg and upload that", false
	case has("\xfd7zXZ\x00"):
		return "an xz stream; decompress it first", false
	case has("BZh"):
		return "a bzip2 stream; decompress it first", false
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "a tar archive; extract the .dbg and upload that", false
	case has("MZ"):
		return "a Windows PE file (.exe/.dll); a linux-x64 or linux-arm64 publish produces the ELF file and .dbg aotsym needs", false
	case has("\xfe\xed\xfa\xce"), has("\xfe\xed\xfa\xcf"), has("\xce\xfa\xed\xfe"), has("\xcf\xfa\xed\xfe"), has("\xca\xfe\xba\xbe"):
		return "a Mach-O file (macOS); publish for linux-x64 or linux-arm64 to get an ELF file", false
	case has("Microsoft C/C++ MSF 7.00"), has("BSJB"):
		return "a Windows PDB file; aotsym reads the Linux .dbg (ELF with DWARF)", false
	}
	if isText(head) {
		return fmt.Sprintf("text starting %q", clipText(head, 40)), false
	}
	n := len(head)
	if n > 8 {
		n = 8
	}
	return fmt.Sprintf("unknown binary data starting with bytes % x", head[:n]), false
}

func isText(b []byte) bool {
	// A cut in the middle of a multi-byte character at the end is still text.
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
		b = b[size:]
	}
	return true
}

func clipText(b []byte, n int) string {
	s := string(b)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
