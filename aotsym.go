// Package aotsym holds the domain types every part of aotsym shares: build IDs,
// the stack frames found in what a user pastes, source locations, the status each
// frame ends with, stored builds, and the errors that cross package boundaries.
//
// It imports only the standard library. The packages below it do the work:
//
//	symbolizer/trace     find frames in text and write the trace back
//	symbolizer/elfindex  ELF + DWARF to a compact sorted index; address lookups
//	symbolizer/dotnet    Native AOT printed names to functions
//	symbolizer           resolve a parsed trace against one or more builds
//	store, store/bolt, store/s3   keep uploaded builds and their indexes
//	api                  the HTTP service
//	cmd/aotsym, cmd/aotsym-lambda  thin command wiring
package aotsym

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// BuildID identifies one build of a program: the GNU build ID note
// (NT_GNU_BUILD_ID) of its executable and debug file, as lowercase hex, the form
// `readelf -n`, `file` and debuginfod use.
type BuildID string

// Limits on the length of a build ID in hex digits. GNU build IDs are usually 20
// bytes (40 digits); 8 bytes (16 digits) is the shortest `ld --build-id` writes.
const (
	MinBuildIDHex = 8
	MaxBuildIDHex = 128
)

// ParseBuildID checks s and returns it in canonical form (lowercase hex). It is
// the only way user input becomes a BuildID, so a BuildID is always safe to use
// in a file name, an S3 key or a URL path.
func ParseBuildID(s string) (BuildID, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return "", Errorf(EINVALID, "empty build ID: give the hex build ID that `readelf -n FILE` prints")
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", Errorf(EINVALID, "build ID %q is not hexadecimal: use the hex string `readelf -n FILE` prints", clip(s, 40))
		}
	}
	switch {
	case len(t) < MinBuildIDHex || len(t) > MaxBuildIDHex:
		return "", Errorf(EINVALID, "build ID %q has %d hex digits; a build ID has %d to %d", clip(s, 40), len(t), MinBuildIDHex, MaxBuildIDHex)
	case len(t)%2 != 0:
		return "", Errorf(EINVALID, "build ID %q has an odd number of hex digits", clip(s, 40))
	}
	return BuildID(t), nil
}

// BuildIDFromBytes returns the build ID of a raw note descriptor.
func BuildIDFromBytes(b []byte) BuildID { return BuildID(hex.EncodeToString(b)) }

// String returns the build ID as hex.
func (id BuildID) String() string { return string(id) }

// Short returns the first 12 digits, enough to tell builds apart in messages.
func (id BuildID) Short() string {
	if len(id) > 12 {
		return string(id[:12])
	}
	return string(id)
}

// clip shortens user input quoted in messages so that an error never echoes a
// whole hostile payload back.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Clip is clip for other packages' error messages: at most n bytes of s, with an
// ellipsis when something was cut.
func Clip(s string, n int) string { return clip(s, n) }

// Error codes. They say what kind of failure an error is, so that the HTTP layer
// and the CLI can answer with the right status and exit code without knowing
// which package failed.
const (
	EINVALID  = "invalid"   // the input is malformed: 400
	ENOTFOUND = "not_found" // no such build, file or route: 404
	ETOOLARGE = "too_large" // over a size or count limit: 413
	ECONFLICT = "conflict"  // clashes with what is stored: 409
	EINTERNAL = "internal"  // a fault of ours or of a backend: 500
)

// Error is an error with a code and a message written for the user: what was
// wrong and what to do about it.
type Error struct {
	Code    string
	Message string
	Err     error // the underlying cause, if any; not shown to users
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain, or a generic sentence for internal errors, whose details belong in the
// server log and not in an answer.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return "internal error: the server log has the details; try again, and report it if it persists"
}
