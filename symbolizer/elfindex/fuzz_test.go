package elfindex

import (
	"bytes"
	"testing"
)

// fuzzLimits keep one fuzz input cheap.
var fuzzLimits = Limits{
	MaxInputSize: 1 << 20, MaxSectionSize: 16 << 20, MaxDebugSize: 64 << 20,
	MaxSymbols: 1 << 16, MaxFunctions: 1 << 16, MaxLineRows: 1 << 20, MaxInlineNodes: 1 << 16,
}

// FuzzBuild feeds mutated ELF files (seeded with the tiny real ones) to the
// reader and builder: an input gives an error or an index that opens and
// answers lookups, and never a panic, not even one Build recovers from.
func FuzzBuild(f *testing.F) {
	for _, name := range tinyFiles {
		f.Add(readTiny(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := recoveredPanics.Load()
		out, _, err := Build(bytes.NewReader(data), nil, Options{Limits: fuzzLimits})
		if n := recoveredPanics.Load() - before; n > 0 {
			t.Fatalf("Build recovered from %d panic(s): %v", n, err)
		}
		if err != nil {
			return
		}
		x, err := Open(out)
		if err != nil {
			t.Fatalf("Build succeeded but Open failed: %v", err)
		}
		exercise(x, data)
	})
}

// FuzzOpen feeds mutated indexes to the decoder: Open refuses them or every
// lookup on them works without panicking.
func FuzzOpen(f *testing.F) {
	for _, name := range tinyFiles {
		out, _, err := buildData(readTiny(f, name), Limits{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Open(data)
		if err != nil {
			return
		}
		exercise(x, data)
	})
}
