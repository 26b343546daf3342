package dotnet

import (
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

// FuzzMatch: any printed name, parameter list and function names give an
// answer, never a panic, and a function the query matches is found under
// one of its keys.
func FuzzMatch(f *testing.F) {
	f.Add("MyService.Storage.Repository`1.Map[TResult]", "Int32, Func`2", "app_MyService_Storage_Repository_1<System___Canon>__Map<System___Canon>", "app_MyService_Storage_Repository_1<System___Canon>", "Map", "int|S_P_CoreLib_System_Func_2<System___Canon__System___Canon> &")
	f.Add("Ns.Bag.System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator", "", "app_Ns_Bag__System_Collections_Generic_IEnumerable_Ns_Item__GetEnumerator", "", "", "")
	f.Add("Café.<<M>g__L|0_0>d.MoveNext", "Byte*[]&, Int32[,]", "a_Caf____M_g__L_0_0_d__MoveNext", "a_Caf____M_g__L_0_0_d", "MoveNext", "__Array<UInt8<Pointer>> &&|__MDArray<Int32,2> &")
	f.Add("..<<>>..[]", "T&&**[", "<<<", ">>>", ".", "&*& <")
	f.Fuzz(func(t *testing.T, method, params, symbol, class, name, dwarfParams string) {
		var ps []aotsym.Param
		if params != "" {
			for _, p := range strings.Split(params, ", ") {
				ps = append(ps, aotsym.Param{Type: p})
			}
		}
		m := Method{Symbol: symbol, Class: class, Name: name, HasParams: dwarfParams != ""}
		if dwarfParams != "" {
			m.Params = strings.Split(dwarfParams, "|")
		}
		q := NewQuery(method, ps, params != "")
		// The keys hashed in parts are the keys as strings.
		checkQueryKeys(t, method)
		if got, want := SymbolMethodKeys(symbol), refSymbolMethodKeys(symbol); !slices.Equal(got, want) {
			t.Fatalf("SymbolMethodKeys(%q) = %q, want %q", symbol, got, want)
		}
		for _, mm := range []Method{m, {Symbol: symbol, Aliases: []string{class, name}}} {
			if got, want := tableWords(t, BuildTable(1, func(int) Method { return mm })), refWords([]Method{mm}); !slices.Equal(got, want) {
				t.Fatalf("table of %+v: %x, want %x", mm, got, want)
			}
		}
		mt, ok := q.Match(&m)
		if !ok {
			return
		}
		if mt.Split.Type == "" || mt.Split.Method == "" {
			t.Fatalf("match with an empty split: %+v", mt)
		}
		tab, err := OpenTable(BuildTable(1, func(int) Method { return m }), 1)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		q.Keys(func(k string) { tab.Lookup(k, func(int) bool { found = true; return false }) })
		if !found {
			t.Fatalf("%q matches %+v but no key finds it", method, m)
		}
		found = false
		q.Lookup(tab, func(int) bool { found = true; return false })
		if !found {
			t.Fatalf("%q matches %+v but the query's hashed keys do not find it", method, m)
		}
		if nm, ok := q.MatchName(&m); !ok || nm.Split != mt.Split || nm.Loose != mt.Loose {
			t.Fatalf("MatchName = %+v, %v; Match = %+v", nm, ok, mt)
		}
	})
}

// FuzzOpenTable: damaged name tables are errors, never panics, and an
// opened table answers lookups within its functions.
func FuzzOpenTable(f *testing.F) {
	f.Add(BuildTable(2, func(i int) Method { return Method{Symbol: "app_A__B", Class: "app_A", Name: "B"} }), 2)
	f.Add([]byte("DNT5\x01\x00\x00\x00"), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		tab, err := OpenTable(data, n)
		if err != nil {
			return
		}
		tab.Lookup("m:B\x00app_A", func(fn int) bool {
			if fn < 0 || fn >= n {
				t.Fatalf("function %d of %d", fn, n)
			}
			return true
		})
	})
}
