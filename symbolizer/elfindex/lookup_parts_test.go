package elfindex

import "testing"

// BenchmarkLookupParts times the steps of Lookup separately, to see where a
// lookup's time goes.
func BenchmarkLookupParts(b *testing.B) {
	m := webAPI(b)
	x, _ := corpusIndex(b, m, false)
	addrs := lookupAddresses(x, 4096)
	type pre struct {
		i    int
		f    funcData
		addr uint64
	}
	var ps []pre
	for _, a := range addrs {
		i, _ := x.FunctionAt(a)
		ps = append(ps, pre{i, x.decodeFunc(i), a})
	}
	b.Run("decodeFunc", func(b *testing.B) {
		k := 0
		for b.Loop() {
			x.decodeFunc(ps[k%len(ps)].i)
			k++
		}
	})
	b.Run("frameName", func(b *testing.B) {
		k := 0
		for b.Loop() {
			p := &ps[k%len(ps)]
			x.frameName(&p.f)
			k++
		}
	})
	b.Run("rowAt", func(b *testing.B) {
		k := 0
		for b.Loop() {
			p := &ps[k%len(ps)]
			rowAt(p.f.rows, p.f.rowIndex, x.start(p.i), p.addr)
			k++
		}
	})
	b.Run("inlineChain", func(b *testing.B) {
		k := 0
		var buf [8]inlineNode
		for b.Loop() {
			p := &ps[k%len(ps)]
			if p.f.inline != nil {
				x.inlineChain(p.f.inline, x.start(p.i), p.addr, buf[:0])
			}
			k++
		}
	})
	b.Run("file", func(b *testing.B) {
		k := 0
		for b.Loop() {
			x.file(uint64(k%100 + 1))
			k++
		}
	})
}
