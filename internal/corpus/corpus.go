// Package corpus loads the Native AOT fixture corpus under testdata/nativeaot: the
// variants, their cases.json manifests and the files they name. Tests of every
// package use it, so that each reads the answer key the same way.
package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Dir returns the absolute path of testdata/nativeaot.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "nativeaot")
}

// Manifest is one variant's cases.json (schema 1; see testdata/nativeaot/README.md).
type Manifest struct {
	Schema        int       `json:"schema"`
	Variant       string    `json:"variant"`
	Build         BuildInfo `json:"build"`
	FramesTotal   int       `json:"frames_total"`
	FramesPrinted int       `json:"frames_printed"`
	Cases         []Case    `json:"cases"`
	Dir           string    `json:"-"` // absolute path of the variant directory
}

// BuildInfo is the manifest's "build" object.
type BuildInfo struct {
	Variant           string `json:"variant"`
	TargetFramework   string `json:"target_framework"`
	RuntimeIdentifier string `json:"runtime_identifier"`
	Executable        string `json:"executable"`
	DebugFile         string `json:"debug_file"`
	BuildID           string `json:"build_id"`
	Machine           string `json:"machine"`
	Runtime           string `json:"runtime"`
}

// Case is one scenario (or web API request) of a variant.
type Case struct {
	Scenario          string      `json:"scenario"`
	Covers            string      `json:"covers"`
	Stdout            string      `json:"stdout"`
	Stderr            *string     `json:"stderr"`
	RequestID         string      `json:"request_id"`
	ExceptionToString string      `json:"exception_tostring"`
	Exceptions        []Exception `json:"exceptions"`
}

// Exception is one exception of a case, by path ("0", "0.1").
type Exception struct {
	Path       string  `json:"path"`
	Type       string  `json:"type"`
	Message    string  `json:"message"`
	StackTrace string  `json:"stack_trace"`
	Frames     []Frame `json:"frames"`
}

// Frame is one frame of an exception with its oracle answers.
type Frame struct {
	Index               int       `json:"index"`
	Printed             *string   `json:"printed"`
	Hidden              bool      `json:"hidden"`
	PrintedMethod       string    `json:"printed_method"`
	PrintedOffset       string    `json:"printed_offset"`
	PrintedModule       string    `json:"printed_module"`
	PrintedRVA          string    `json:"printed_rva"`
	RVA                 string    `json:"rva"`
	Symbol              *Symbol   `json:"symbol"`
	OffsetInSymbol      string    `json:"offset_in_symbol"`
	ReturnAddress       bool      `json:"return_address"`
	FaultLeaf           bool      `json:"fault_leaf"`
	LookupAddress       string    `json:"lookup_address"`
	Expected            *Location `json:"expected"`
	ExpectedInlined     int       `json:"expected_inlined_frames"`
	LineRowAddress      string    `json:"line_row_address"`
	LineRowBeforeSymbol bool      `json:"line_row_before_symbol"`
	JIT                 *JIT      `json:"jit"`
}

// Symbol is the .symtab symbol around a frame's RVA.
type Symbol struct {
	Name    string   `json:"name"`
	Start   string   `json:"start"`
	Size    uint64   `json:"size"`
	Aliases []string `json:"aliases"`
}

// Location is llvm-symbolizer's answer.
type Location struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// JIT is the JIT run's frame paired with this one.
type JIT struct {
	Printed string  `json:"printed"`
	Match   string  `json:"match"`
	Suffix  *string `json:"suffix"`
	File    *string `json:"file"`
	Line    *int    `json:"line"`
}

// PrintedText returns the printed line trimmed of surrounding space, "" when hidden.
func (f *Frame) PrintedText() string {
	if f.Printed == nil {
		return ""
	}
	return strings.TrimSpace(*f.Printed)
}

// Hex parses a "0x…" field; it panics on a malformed manifest, which verify.sh
// rules out.
func Hex(s string) uint64 {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		panic(fmt.Sprintf("corpus: bad hex %q", s))
	}
	return v
}

// Variants returns the names of every variant directory (those with a
// cases.json), the web API included, sorted.
func Variants() ([]string, error) {
	entries, err := os.ReadDir(Dir())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(Dir(), e.Name(), "cases.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Load reads the manifest of one variant ("net10.0-linux-x64", "webapi").
func Load(variant string) (*Manifest, error) {
	dir := filepath.Join(Dir(), variant)
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s/cases.json: %w", variant, err)
	}
	m.Dir = dir
	return &m, nil
}

// LoadAll reads every variant's manifest.
func LoadAll() ([]*Manifest, error) {
	names, err := Variants()
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, n := range names {
		m, err := Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Path returns the absolute path of a file of the variant.
func (m *Manifest) Path(name string) string { return filepath.Join(m.Dir, name) }

// DebugFile returns the absolute path of the variant's .dbg.
func (m *Manifest) DebugFile() string { return m.Path(m.Build.DebugFile) }

// Executable returns the absolute path of the variant's executable.
func (m *Manifest) Executable() string { return m.Path(m.Build.Executable) }

// PrintedFrames returns every printed frame of a case in order.
func (c *Case) PrintedFrames() []*Frame {
	var out []*Frame
	for i := range c.Exceptions {
		for j := range c.Exceptions[i].Frames {
			if f := &c.Exceptions[i].Frames[j]; f.Printed != nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// Samples returns the CloudWatch-shaped inputs of a case: paths of NAME.log,
// NAME.error.json and NAME.event.json that exist.
func (m *Manifest) Samples(c *Case) []string {
	var out []string
	for _, ext := range []string{".log", ".error.json", ".event.json"} {
		p := filepath.Join(m.Dir, "cloudwatch-constructed", c.Scenario+ext)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
