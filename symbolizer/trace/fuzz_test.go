package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

// fuzzSeeds are small real inputs of every container: one variant's samples of
// a few scenarios, the other variants' forms, and the table of frame forms.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, l := range formCases {
		seeds = append(seeds, []byte(l.line))
	}
	for _, v := range []struct{ variant, scenario string }{
		{"net10.0-linux-x64", "aggregate"},
		{"net10.0-linux-x64", "inner-exceptions"},
		{"net10.0-linux-x64-nostacktrace", "aggregate"},
		{"net8.0-linux-x64", "unhandled"},
		{"webapi", "inner-exception"},
	} {
		dir := filepath.Join(corpus.Dir(), v.variant)
		for _, name := range []string{
			"cloudwatch-constructed/" + v.scenario + ".log",
			"cloudwatch-constructed/" + v.scenario + ".error.json",
			"cloudwatch-constructed/" + v.scenario + ".event.json",
			"out/" + v.scenario + ".stdout",
			"out/" + v.scenario + ".stderr",
			"jit/" + v.scenario + ".stdout",
		} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	seeds = append(seeds,
		[]byte("START RequestId: 0fe9faaa-7689-52d8-8d3c-c35339bd9e73 Version: $LATEST\n2026-11-25T11:15:30.123+01:00\t2026-11-25T10:15:30.123Z\t0fe9faaa-7689-52d8-8d3c-c35339bd9e73\tfail\tSystem.Exception: x\r\n   at A.B() + 0x1\r\n"),
		[]byte(`{"events":[{"logStreamName":"s","timestamp":1,"message":"{\"message\":\"System.Exception: x\\n   at A.B() + 0x1\\n   at app!<BaseAddress>+0x1a\"}"}]}`),
		[]byte(`{"logGroup":"/aws/lambda/x","logEvents":[{"id":"1","message":"2026-11-25T10:15:30.123Z\tx\tfail\t   at A.\u00e9() + 0x1\n"}]}`),
		[]byte("2026-11-25T10:15:30.123Z\t{\"message\":\"   at A.B() + 0x1\\n#1 0x7f (/lib/x.so+0x1)\"}\n"),
		[]byte("#3  0x00007f in ?? () from /lib/libc.so.6\n#0  f (a=1) at x.c:3\n./app(+0x1) [0x5]\n"),
	)
	return seeds
}

// FuzzParse: Parse never panics; rendering with nothing resolved gives the
// input byte for byte; rendering with every frame resolved keeps JSON valid
// and parses again to the same frames, each now lined at its given position.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	lim := Limits{MaxBytes: 1 << 20, MaxFrames: 2000}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Parse(in, lim)
		if err != nil {
			if aotsym.ErrorCode(err) != aotsym.ETOOLARGE {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(d.FrameException) != len(d.Frames) {
			t.Fatalf("%d frames, %d exception paths", len(d.Frames), len(d.FrameException))
		}
		for i, fr := range d.Frames {
			if fr.Start < 0 || fr.Start > fr.End || fr.End > len(in) {
				t.Fatalf("frame %d at [%d,%d) of %d bytes", i, fr.Start, fr.End, len(in))
			}
		}
		if out := d.RenderText(nil); !bytes.Equal(out, in) {
			t.Fatalf("rendering with nothing resolved changed the input:\n%q\n%q", in, out)
		}
		rs := fakeResults(d)
		out := d.RenderText(rs)
		isJSON := d.Format == FormatLambdaError || d.Format == FormatJSONEvents || d.Format == FormatAWSLogs
		if isJSON && !jsonValues(out) {
			t.Fatalf("rendered JSON is not valid:\n%q\n%q", in, out)
		}
		d2, err := Parse(out, Limits{MaxBytes: 64 << 20, MaxFrames: 2000})
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(d2.Frames) != len(d.Frames) {
			t.Fatalf("rendered text has %d frames, want %d:\n%q\n%q", len(d2.Frames), len(d.Frames), in, out)
		}
		for i, fr := range d2.Frames {
			k := d.Frames[i].Kind
			if k == aotsym.FrameLined || k == aotsym.FrameUnknown {
				continue
			}
			if fr.Kind != aotsym.FrameLined || fr.File != rs[i].File || fr.Line != rs[i].Line {
				t.Fatalf("rendered frame %d = %s %q %s:%d, want lined at %s:%d\n%q\n%q", i, fr.Kind, fr.Text, fr.File, fr.Line, rs[i].File, rs[i].Line, in, out)
			}
		}
	})
}
