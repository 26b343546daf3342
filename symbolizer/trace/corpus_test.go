package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// The answer key: every variant's cases.json names, per exception, the frames
// the runtime printed. For every committed trace (the Exception.ToString()
// section of stdout, stderr of `unhandled`, and the three CloudWatch-shaped
// samples) the frames Parse finds must be exactly those: none missed, none
// invented, each in the right exception.

func loadManifests(t *testing.T) []*corpus.Manifest {
	t.Helper()
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 7 {
		t.Fatalf("found %d variants under %s, want the six scenario variants and webapi", len(ms), corpus.Dir())
	}
	return ms
}

// printedByPath returns each exception's printed frames, trimmed, in order.
func printedByPath(c *corpus.Case) map[string][]string {
	out := make(map[string][]string)
	for _, e := range c.Exceptions {
		out[e.Path] = []string{}
		for i := range e.Frames {
			if s := e.Frames[i].PrintedText(); s != "" {
				out[e.Path] = append(out[e.Path], s)
			}
		}
	}
	return out
}

// framesByPath groups a document's frames by exception path, by
// FrameException (every copy) and by Exception.Frames (listed copies).
func framesByPath(d *Document) (all, listed map[string][]string) {
	all = make(map[string][]string)
	for i, p := range d.FrameException {
		all[p] = append(all[p], d.Input(i))
	}
	listed = make(map[string][]string)
	for _, e := range d.Exceptions {
		listed[e.Path] = []string{}
		for _, i := range e.Frames {
			listed[e.Path] = append(listed[e.Path], d.Input(i))
		}
	}
	return all, listed
}

func section(t *testing.T, text, from, to string) string {
	t.Helper()
	i := strings.Index(text, from)
	j := strings.Index(text, to)
	if i < 0 || j < i {
		t.Fatalf("no %q … %q section", from, to)
	}
	return text[i+len(from) : j]
}

func parseOK(t *testing.T, name string, b []byte) *Document {
	t.Helper()
	d, err := Parse(b, DefaultLimits)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// checkText compares a text or single-trace document with the case: the same
// frames per exception path in order, and the same exceptions.
func checkTree(t *testing.T, name string, d *Document, c *corpus.Case, shortTypes bool) {
	t.Helper()
	want := printedByPath(c)
	all, listed := framesByPath(d)
	for path, w := range want {
		if !slices.Equal(listed[path], w) {
			t.Errorf("%s: exception %s: frames\n got %q\nwant %q", name, path, listed[path], w)
		}
	}
	if len(d.Exceptions) != len(c.Exceptions) {
		t.Errorf("%s: %d exceptions, want %d", name, len(d.Exceptions), len(c.Exceptions))
	}
	for i := range d.Exceptions {
		if i >= len(c.Exceptions) {
			break
		}
		g, w := d.Exceptions[i], c.Exceptions[i]
		typ := w.Type
		if shortTypes {
			typ = typ[strings.LastIndexAny(typ, ".+")+1:]
		}
		if g.Path != w.Path || g.Type != typ || g.Message != w.Message {
			t.Errorf("%s: exception %d = %s %q %q, want %s %q %q", name, i, g.Path, g.Type, g.Message, w.Path, typ, w.Message)
		}
	}
	if _, ok := all[""]; ok {
		t.Errorf("%s: frames outside any exception: %q", name, all[""])
	}
	// as sets, every copy included
	wantSet := make(map[string]bool)
	n := 0
	for _, w := range want {
		for _, s := range w {
			wantSet[s] = true
			n++
		}
	}
	for i := range d.Frames {
		if !wantSet[d.Input(i)] {
			t.Errorf("%s: invented frame %q", name, d.Input(i))
		}
	}
	if !shortTypes && len(d.Frames) != n {
		t.Errorf("%s: %d frames, want %d", name, len(d.Frames), n)
	}
}

func TestCorpusTraces(t *testing.T) {
	total := 0
	for _, m := range loadManifests(t) {
		for ci := range m.Cases {
			c := &m.Cases[ci]
			name := m.Variant + "/" + c.Scenario
			stdout, err := os.ReadFile(m.Path(c.Stdout))
			if err != nil {
				t.Fatal(err)
			}
			ts := section(t, string(stdout), "=== Exception.ToString() ===\n", "=== frames ===")
			if strings.TrimRight(ts, "\n") != strings.TrimRight(c.ExceptionToString, "\n") {
				t.Fatalf("%s: stdout and cases.json disagree on Exception.ToString()", name)
			}
			d := parseOK(t, name, []byte(ts))
			checkTree(t, name+" ToString", d, c, false)
			total += len(d.Frames)
			checkRender(t, name+" ToString", []byte(ts), d)

			// the whole stdout, with its `frame 0 … text="   at …"` debugging
			// lines: the same frames and the build ID it names, nothing more
			whole := parseOK(t, name, stdout)
			checkTree(t, name+" stdout", whole, c, false)
			if len(whole.BuildIDs) != 1 || string(whole.BuildIDs[0]) != m.Build.BuildID {
				t.Errorf("%s stdout: build IDs %v, want [%s]", name, whole.BuildIDs, m.Build.BuildID)
			}
			if whole.Format != FormatText {
				t.Errorf("%s stdout: format %q", name, whole.Format)
			}

			if c.Stderr != nil {
				stderr, err := os.ReadFile(m.Path(*c.Stderr))
				if err != nil {
					t.Fatal(err)
				}
				d := parseOK(t, name, stderr)
				checkTree(t, name+" stderr", d, c, false)
				checkRender(t, name+" stderr", stderr, d)
			}

			for _, path := range m.Samples(c) {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				sname := name + " " + filepath.Base(path)
				d := parseOK(t, sname, b)
				switch {
				case strings.HasSuffix(path, ".log"):
					checkFormat(t, sname, d, FormatCloudWatch)
					checkTree(t, sname, d, c, false)
				case strings.HasSuffix(path, ".event.json"):
					checkFormat(t, sname, d, FormatJSONEvents)
					checkTree(t, sname, d, c, false)
				case strings.HasSuffix(path, ".error.json"):
					checkFormat(t, sname, d, FormatLambdaError)
					checkTree(t, sname, d, c, true)
					if !bytes.Contains(b, []byte(`"causes"`)) && len(d.Frames) != len(c.PrintedFrames()) {
						t.Errorf("%s: %d frames, want %d", sname, len(d.Frames), len(c.PrintedFrames()))
					}
				}
				if !strings.HasSuffix(path, ".error.json") && !slices.Equal(d.RequestIDs, []string{c.RequestID}) {
					t.Errorf("%s: request IDs %v, want [%s]", sname, d.RequestIDs, c.RequestID)
				}
				checkRender(t, sname, b, d)
				total += len(d.Frames)
			}
		}
	}
	t.Logf("%d frames checked", total)
}

func checkFormat(t *testing.T, name string, d *Document, want string) {
	t.Helper()
	if d.Format != want {
		t.Errorf("%s: format %q, want %q", name, d.Format, want)
	}
}

// fakeResults answers every frame "resolved" at a position made up from its
// index.
func fakeResults(d *Document) []aotsym.FrameResult {
	rs := make([]aotsym.FrameResult, len(d.Frames))
	for i := range rs {
		rs[i] = aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "Fake.Function", File: fmt.Sprintf("/src/Fake%d.cs", i), Line: i + 1}
	}
	return rs
}

// checkRender: nothing resolved gives the input; everything resolved gives
// valid JSON for JSON inputs, and the rewritten frames parse again, now lined,
// at the positions they were given.
func checkRender(t *testing.T, name string, input []byte, d *Document) {
	t.Helper()
	if got := d.RenderText(nil); !bytes.Equal(got, input) {
		t.Errorf("%s: rendering with nothing resolved changed the input", name)
	}
	rs := fakeResults(d)
	out := d.RenderText(rs)
	isJSON := d.Format == FormatLambdaError || d.Format == FormatJSONEvents || d.Format == FormatAWSLogs
	if isJSON && !jsonValues(out) {
		t.Errorf("%s: rendered JSON is not valid:\n%s", name, out)
	}
	d2, err := Parse(out, DefaultLimits)
	if err != nil {
		t.Fatalf("%s: re-parse: %v", name, err)
	}
	if len(d2.Frames) != len(d.Frames) {
		t.Fatalf("%s: rendered text has %d frames, want %d:\n%s", name, len(d2.Frames), len(d.Frames), out)
	}
	for i, f := range d2.Frames {
		orig := d.Frames[i].Kind
		if orig == aotsym.FrameLined || orig == aotsym.FrameUnknown {
			continue
		}
		if f.Kind != aotsym.FrameLined || f.File != rs[i].File || f.Line != rs[i].Line {
			t.Errorf("%s: rendered frame %d = %s %q %s:%d, want lined at %s:%d", name, i, f.Kind, f.Text, f.File, f.Line, rs[i].File, rs[i].Line)
		}
	}
	if !slices.Equal(d2.FrameException, d.FrameException) {
		t.Errorf("%s: rendering changed the exception tree", name)
	}
}

// jsonValues reports whether b is a sequence of valid JSON values.
func jsonValues(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		// RawMessage checks the syntax only: a number too large for a
		// float64 ([1e1000], found by FuzzParse) is still valid JSON.
		var v json.RawMessage
		err := dec.Decode(&v)
		if err != nil {
			return err.Error() == "EOF" && n > 0
		}
		n++
	}
}

// The JIT's traces of the same scenarios: frames with ` in FILE:line N` are
// lined at exactly the file and line cases.json recorded, framework frames
// without a file are managed frames without an offset.
func TestCorpusJITFrames(t *testing.T) {
	n := 0
	for _, m := range loadManifests(t) {
		for ci := range m.Cases {
			c := &m.Cases[ci]
			for _, e := range c.Exceptions {
				for _, f := range e.Frames {
					if f.JIT == nil {
						continue
					}
					d := parseOK(t, m.Variant, []byte(f.JIT.Printed))
					if len(d.Frames) != 1 {
						t.Errorf("%s/%s: %q: %d frames", m.Variant, c.Scenario, f.JIT.Printed, len(d.Frames))
						continue
					}
					g := d.Frames[0]
					switch {
					case f.JIT.File != nil:
						if g.Kind != aotsym.FrameLined || g.File != *f.JIT.File || g.Line != *f.JIT.Line {
							t.Errorf("%q: %s %s:%d, want lined %s:%d", f.JIT.Printed, g.Kind, g.File, g.Line, *f.JIT.File, *f.JIT.Line)
						}
					case g.Kind != aotsym.FrameManaged || g.HasOffset:
						t.Errorf("%q: %s, want managed without offset", f.JIT.Printed, g.Kind)
					}
					n++
				}
			}
			// the whole JIT trace: every line that starts with "at " is a frame
			b, err := os.ReadFile(filepath.Join(m.Dir, "jit", c.Scenario+".stdout"))
			if err != nil {
				continue // nostacktrace and arm64 take their JIT answers from another variant
			}
			ts := section(t, string(b), "=== Exception.ToString() ===\n", "=== frames ===")
			want := 0
			for l := range strings.Lines(ts) {
				if strings.HasPrefix(strings.TrimSpace(l), "at ") {
					want++
				}
			}
			d := parseOK(t, m.Variant, []byte(ts))
			if len(d.Frames) != want {
				t.Errorf("%s/jit/%s: %d frames, want %d", m.Variant, c.Scenario, len(d.Frames), want)
			}
			if len(d.Exceptions) != len(c.Exceptions) {
				t.Errorf("%s/jit/%s: %d exceptions, want %d", m.Variant, c.Scenario, len(d.Exceptions), len(c.Exceptions))
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d JIT frames checked", n)
	}
	t.Logf("%d JIT frames checked", n)
}
