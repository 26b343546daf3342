package elfindex

import (
	"slices"
	"sync"
	"testing"
)

// TestConcurrentLookups: one Index answers many goroutines at once (a
// server shares it) with the same answers as one goroutine, names cache
// included. Run under -race in CI (.ci/test).
func TestConcurrentLookups(t *testing.T) {
	m := webAPI(t)
	x, _ := corpusIndex(t, m, true)
	addrs := lookupAddresses(x, 2000)
	want := make([]Answer, len(addrs))
	for i, a := range addrs {
		want[i] = x.Lookup(a)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []Frame
			for k := range addrs {
				i := (k*7 + g*131) % len(addrs)
				a := x.LookupAppend(addrs[i], buf)
				if a.Function != want[i].Function || a.NoLine != want[i].NoLine || !slices.Equal(a.Frames, want[i].Frames) {
					errs <- "different answer at " + itoa(int(addrs[i]))
					return
				}
				buf = a.Frames
				x.ReturnAddressAt(addrs[i])
				if k%97 == 0 {
					x.Function(a.Function)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
