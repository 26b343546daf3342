package dotnet

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/aotsym/aotsym/symbolizer/trace"
)

// The table builder and the query hash keys in parts, without building
// them. These tests hold them to the keys as strings, built the plain way
// (what TableName "dotnet.names/3" filed, before keys were hashed in
// parts): every key of every function of real builds, and every key of
// every printed frame of the corpus.

// refTableKeys returns the keys a function is filed under, as strings.
func refTableKeys(m Method) []string {
	var out []string
	if m.Name != "" && m.Class != "" {
		for _, t := range refClassTails(m.Class) {
			out = append(out, keyName+m.Name+keyTail+t)
		}
	}
	for _, sym := range append([]string{m.Symbol}, m.Aliases...) {
		if sym == "" {
			continue
		}
		out = append(out, keySymbol+sym)
		if m.Name == "" || m.Class == "" {
			for _, k := range refSymbolMethodKeys(sym) {
				out = append(out, keySanitized+k)
			}
		}
	}
	return out
}

func refSymbolMethodKeys(sym string) []string {
	name, _, _ := cutTrailingInst(sym)
	var out []string
	depth := 0
	for i := 0; i+2 < len(name) && len(out) < maxKeysPerSymbol; i++ {
		switch name[i] {
		case '<':
			depth++
			continue
		case '>':
			depth--
			continue
		}
		if depth != 0 || name[i] != '_' || name[i+1] != '_' || i == 0 {
			continue
		}
		rest := name[i+2:]
		if strings.ContainsAny(rest, "<>") {
			continue
		}
		for _, t := range refClassTails(name[:i]) {
			out = append(out, rest+keyTail+t)
			if r, ok := cutDedup(rest); ok && r != "" {
				out = append(out, r+keyTail+t)
			}
		}
	}
	return out
}

func refClassTails(class string) []string {
	base, _, _ := cutTrailingInst(class)
	out := refSuffixTails(base, nil)
	if b, ok := cutDedup(base); ok {
		out = refSuffixTails(b, out)
	}
	return out
}

func refSuffixTails(name string, out []string) []string {
	add := func(t string) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for j := len(name) - 1; j >= 0; j-- {
		if name[j] != '_' {
			continue
		}
		t := name[j+1:]
		if t == "" {
			continue
		}
		add(t)
		if len(t) >= tailLen {
			return out
		}
	}
	add(name)
	return out
}

// refQueryKeys returns a printed method's keys, each part sanitized on its
// own.
func refQueryKeys(method string) []string {
	name, _ := CutGenericParams(method)
	var out []string
	for _, s := range Splits(name) {
		var typeSan, methodSan []string
		for _, f := range []func(string) string{Sanitize, SanitizeUTF16} {
			if t := f(s.Type); !slices.Contains(typeSan, t) {
				typeSan = append(typeSan, t)
			}
			if m := f(s.Method); !slices.Contains(methodSan, m) {
				methodSan = append(methodSan, m)
			}
		}
		var tails []string
		for _, t := range typeSan {
			if tt := TypeTail(t); !slices.Contains(tails, tt) {
				tails = append(tails, tt)
			}
		}
		if w := wellKnown[s.Type]; w != "" && !slices.Contains(tails, w) {
			tails = append(tails, w)
		}
		for _, t := range tails {
			out = append(out, keyName+s.Method+keyTail+t)
			for _, m := range methodSan {
				out = append(out, keySanitized+m+keyTail+t)
			}
		}
	}
	return out
}

// tableWords returns the entries of an encoded table.
func tableWords(t *testing.T, data []byte) []uint64 {
	tab, err := OpenTable(data, 1<<31-1)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint64, tab.Len())
	for i := range out {
		out[i] = tab.word(i)
	}
	return out
}

// refWords returns the entries the table of ms must hold.
func refWords(ms []Method) []uint64 {
	var out []uint64
	for i, m := range ms {
		for _, k := range refTableKeys(m) {
			out = append(out, uint64(hashKey(k))<<32|uint64(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// corpusMethods returns, for two real builds, what the name table is built
// from: every function's names.
func corpusMethods(t *testing.T) map[string][]Method {
	out := map[string][]Method{}
	for _, v := range []string{"net8.0-linux-x64", "net10.0-linux-x64-nostacktrace"} {
		m, err := corpus.Load(v)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(m.DebugFile())
		if err != nil {
			t.Fatal(err)
		}
		idx, _, err := elfindex.BuildContext(context.Background(), sizedReader{bytes.NewReader(data)}, nil, elfindex.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ix, err := elfindex.Open(idx)
		if err != nil {
			t.Fatal(err)
		}
		ms := make([]Method, ix.NumFunctions())
		for i := range ms {
			f := ix.Function(i)
			ms[i] = Method{Symbol: f.LinkageName, Class: f.Class, Name: f.ShortName}
			if ms[i].Symbol == "" {
				ms[i].Symbol = f.Name
			}
			for _, s := range append([]string{f.Name, f.Symbol}, f.Aliases...) {
				if s != "" && s != ms[i].Symbol && !slices.Contains(ms[i].Aliases, s) {
					ms[i].Aliases = append(ms[i].Aliases, s)
				}
			}
		}
		out[v] = ms
	}
	return out
}

type sizedReader struct{ *bytes.Reader }

func (r sizedReader) Size() int64 { return r.Reader.Size() }

func TestTableKeysAsStrings(t *testing.T) {
	for v, ms := range corpusMethods(t) {
		got := tableWords(t, BuildTable(len(ms), func(i int) Method { return ms[i] }))
		want := refWords(ms)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the table holds %d entries, the keys as strings give %d (or others)", v, len(got), len(want))
		}
		for _, m := range ms {
			for _, sym := range append([]string{m.Symbol}, m.Aliases...) {
				if got, want := SymbolMethodKeys(sym), refSymbolMethodKeys(sym); !slices.Equal(got, want) {
					t.Fatalf("SymbolMethodKeys(%q) = %q, want %q", sym, got, want)
				}
			}
		}
	}
	// Shapes the corpus may lack: angle brackets before boundaries, many
	// boundaries (the limit per symbol), digits, uniqueness suffixes.
	for _, sym := range []string{
		"<Boxed>app_Ns_T__M", "a__b__c__d__e__f__g__h__i__j__k__l__m_1", "app_A_B_0__C_1<X__Y>__D",
		"x__<y>__z", "__", "a__", "app_Ns_Type__Format_2", "A_1__B_2__C_3__D_4__E_5",
		"a<b__c", "a>b__c__d", "a<b>c__d<e", "___x____y_", "a__b<c>", "<<a>>__b__c_2",
	} {
		if got, want := SymbolMethodKeys(sym), refSymbolMethodKeys(sym); !slices.Equal(got, want) {
			t.Errorf("SymbolMethodKeys(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestQueryKeysAsStrings(t *testing.T) {
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{"1Ns.2Type.3M", "Ns.Emoji😀.Run", "Café.Überprüfung.Prüfen", "System.String.Concat", "Ns.T.9", "9.T"}
	for _, m := range ms {
		for i := range m.Cases {
			doc, err := trace.Parse([]byte(m.Cases[i].ExceptionToString), trace.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range doc.Frames {
				if f.Kind == aotsym.FrameManaged {
					methods = append(methods, f.Method)
				}
			}
		}
	}
	for _, method := range methods {
		checkQueryKeys(t, method)
	}
}

func checkQueryKeys(t *testing.T, method string) {
	q := NewQuery(method, nil, false)
	var got []string
	q.Keys(func(k string) { got = append(got, k) })
	if want := refQueryKeys(method); !slices.Equal(got, want) {
		t.Fatalf("%q: keys %q, want %q", method, got, want)
	}
	if len(q.keys) != len(got) {
		t.Fatalf("%q: %d hashes for %d keys", method, len(q.keys), len(got))
	}
	for i, k := range got {
		if q.keys[i] != hashKey(k) {
			t.Fatalf("%q: the hash of key %q is not the key's", method, k)
		}
	}
}

// TestKeyHashParts: a key hashed in parts, cut anywhere, hashes as the
// whole key; keys differing only in trailing zero bytes or length differ.
func TestKeyHashParts(t *testing.T) {
	keys := []string{"", "a", "a\x00", "a\x00\x00\x00\x00\x00\x00\x00", "m:MoveNext\x00OrderService_d__7",
		"y:S_P_CoreLib_System_Collections_Generic_Dictionary_2<System___Canon__Int32>__TryInsert", "12345678", "123456789"}
	seen := map[uint32]string{}
	for _, k := range keys {
		want := hashKey(k)
		if o, ok := seen[want]; ok {
			t.Errorf("%q and %q hash alike", k, o)
		}
		seen[want] = k
		for i := 0; i <= len(k); i++ {
			for j := i; j <= len(k); j++ {
				if got := newKey(k[:i]).add(k[i:j]).add("").add(k[j:]).sum(); got != want {
					t.Fatalf("%q cut at %d and %d hashes to %#x, whole %#x", k, i, j, got, want)
				}
			}
		}
	}
}
