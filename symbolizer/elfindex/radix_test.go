package elfindex

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestRadixOrder: radixOrder sorts like a stable comparison sort, for keys
// spread over every byte, clustered like code addresses, and repeated.
func TestRadixOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, gen := range []func() uint64{
		r.Uint64,
		func() uint64 { return 0x400000 + r.Uint64N(1<<22) },
		func() uint64 { return r.Uint64N(8) << 40 },
	} {
		for _, n := range []int{0, 1, 2, 3, 100, 5000} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = gen()
			}
			want := make([]int32, n)
			for i := range want {
				want[i] = int32(i)
			}
			sort.SliceStable(want, func(i, j int) bool { return keys[want[i]] < keys[want[j]] })
			if got := radixOrder(keys); !slices.Equal(got, want) {
				t.Fatalf("%d keys: order differs from a stable sort", n)
			}
		}
	}
}
