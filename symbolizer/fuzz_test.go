package symbolizer

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
)

var (
	fuzzOnce sync.Once
	fuzzSrc  *Local
	fuzzErr  error
)

// FuzzSymbolicate: any input against a real build gives a result whose
// frames all have a status and whose text is the input when nothing was
// resolved; never a panic. One build keeps the setup short.
func FuzzSymbolicate(f *testing.F) {
	fuzzOnce.Do(func() {
		m, err := corpus.Load("net10.0-linux-x64")
		if err != nil {
			fuzzErr = err
			return
		}
		b, meta, err := indexFiles(m.DebugFile(), m.Executable())
		if err != nil {
			fuzzErr = err
			return
		}
		fuzzSrc = NewLocal()
		fuzzSrc.Add(b, meta)
		for _, c := range m.Cases[:6] {
			f.Add([]byte(c.ExceptionToString))
		}
		for _, p := range m.Samples(&m.Cases[0]) {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	})
	if fuzzErr != nil {
		f.Fatal(fuzzErr)
	}
	f.Add([]byte("   at A.B`1.C[T](T&, Int32[,]) + 0xffffffffffffffff\n   at app!<BaseAddress>+0x0\nlibc.so.6+0x1\nmain+0x12\n"))
	r := NewResolver(fuzzSrc)
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := r.Symbolicate(context.Background(), in, Options{})
		if err != nil {
			if aotsym.ErrorCode(err) == aotsym.EINTERNAL {
				t.Fatalf("internal error: %v", err)
			}
			return
		}
		for _, fr := range res.Trace.Frames {
			if fr.Status == "" {
				t.Fatalf("frame %q without a status", fr.Input)
			}
		}
		if res.Trace.Summary[aotsym.StatusResolved] == 0 && string(res.Text) != string(in) {
			t.Fatalf("nothing resolved but the text changed")
		}
	})
}
