package dotnet

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want, utf16 string }{
		{"MyService.Orders.OrderRepository.<SaveAsync>d__0", "MyService_Orders_OrderRepository__SaveAsync_d__0", ""},
		{"Repository`1", "Repository_1", ""},
		{"<<ImportAsync>g__ImportOneAsync|3_0>d", "__ImportAsync_g__ImportOneAsync_3_0_d", ""},
		{".ctor", "_ctor", ""},
		{"Café", "Caf_", ""},
		{"Überprüfung", "_berpr_fung", ""},
		{"名前", "__", ""},       // two BMP characters: one '_' each in both forms
		{"x😀y", "x_y", "x__y"}, // outside the BMP: .NET 8 wrote a surrogate pair
		{"1Type", "_1Type", ""},
		{"plain_Name9", "plain_Name9", ""},
		{"", "", ""},
		{"a b\tc", "a_b_c", ""},
	} {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		want16 := tc.utf16
		if want16 == "" {
			want16 = tc.want
		}
		if got := SanitizeUTF16(tc.in); got != want16 {
			t.Errorf("SanitizeUTF16(%q) = %q, want %q", tc.in, got, want16)
		}
	}
}

func TestCutGenericParams(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		generic  []string
	}{
		{"Ns.Repository`1.Map[TResult]", "Ns.Repository`1.Map", []string{"TResult"}},
		{"System.Linq.Enumerable.ToDictionary[TSource,TKey,TElement]", "System.Linq.Enumerable.ToDictionary", []string{"TSource", "TKey", "TElement"}},
		{"Ns.T.M", "Ns.T.M", nil},
		{"Ns.T.M[]", "Ns.T.M[]", nil},
		{"[T]", "[T]", nil},
	} {
		name, generic := CutGenericParams(tc.in)
		if name != tc.name || !reflect.DeepEqual(generic, tc.generic) {
			t.Errorf("CutGenericParams(%q) = %q, %q; want %q, %q", tc.in, name, generic, tc.name, tc.generic)
		}
	}
}

func TestSplits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Split
	}{
		{"Ns.Shipment..ctor", []Split{{"Ns.Shipment", ".ctor"}, {"Ns", "Shipment..ctor"}}},
		{"Ns.C.<>c.<.cctor>b__9_0", []Split{{"Ns.C.<>c", "<.cctor>b__9_0"}, {"Ns.C", "<>c.<.cctor>b__9_0"}, {"Ns", "C.<>c.<.cctor>b__9_0"}}},
		{"A.Bag.System.Collections.Generic.IEnumerable<A.Item>.GetEnumerator", []Split{
			{"A.Bag.System.Collections.Generic.IEnumerable<A.Item>", "GetEnumerator"},
			{"A.Bag.System.Collections.Generic", "IEnumerable<A.Item>.GetEnumerator"},
			{"A.Bag.System.Collections", "Generic.IEnumerable<A.Item>.GetEnumerator"},
			{"A.Bag.System", "Collections.Generic.IEnumerable<A.Item>.GetEnumerator"},
			{"A.Bag", "System.Collections.Generic.IEnumerable<A.Item>.GetEnumerator"},
			{"A", "Bag.System.Collections.Generic.IEnumerable<A.Item>.GetEnumerator"},
		}},
		{"NoDot", nil},
		{"Trailing.", nil},
	} {
		if got := Splits(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Splits(%q) =\n %q\nwant\n %q", tc.in, got, tc.want)
		}
	}
}

func TestCompareType(t *testing.T) {
	for _, tc := range []struct {
		printed, dwarf string
		generic        []string
		inst           string
		want           TypeMatch
	}{
		{"Int32", "int", nil, "", TypeEqual},
		{"Int32", "long", nil, "", TypeMismatch},
		{"Boolean", "bool", nil, "", TypeEqual},
		{"Char", "char16_t", nil, "", TypeEqual},
		{"IntPtr", "nint", nil, "", TypeEqual},
		{"IntPtr", "System.IntPtr", nil, "", TypeEqual}, // .NET 8
		{"String", "String &", nil, "", TypeEqual},
		{"Object", "Object &", nil, "", TypeEqual},
		{"Order", "app_MyService_Orders_Order &", nil, "", TypeEqual},
		{"Order", "app_MyService_Orders_BigOrder &", nil, "", TypeMismatch},
		{"Decimal", "S_P_CoreLib_System_Decimal", nil, "", TypeEqual},
		{"Func`2", "S_P_CoreLib_System_Func_2<System___Canon__System___Canon> &", nil, "", TypeEqual},
		{"Func`2", "S_P_CoreLib_System_Func_3<System___Canon__System___Canon__Int32> &", nil, "", TypeMismatch},
		{"Int32[]", "__Array<Int32> &", nil, "", TypeEqual},
		{"String[]", "__Array<String> &", nil, "", TypeEqual},
		{"Int32[]", "__Array<Int64> &", nil, "", TypeMismatch},
		{"Int32[,]", "__MDArray<Int32,2> &", nil, "", TypeEqual},
		{"Int32[,]", "__MDArray<Int32,3> &", nil, "", TypeMismatch},
		{"Int32[][]", "__Array<__Array<Int32>> &", nil, "", TypeEqual},
		{"Int32[]", "int", nil, "", TypeMismatch},
		{"Byte*", "byte *", nil, "", TypeEqual},
		{"Char**", "char16_t **", nil, "", TypeEqual},
		{"Byte*", "byte", nil, "", TypeMismatch},
		{"Byte*&", "byte *&", nil, "", TypeEqual},
		{"Byte*[]", "__Array<UInt8<Pointer>> &", nil, "", TypeEqual},
		{"MethodTable*", "S_P_CoreLib_Internal_Runtime_MethodTable *", nil, "", TypeEqual},
		{"Int32&", "int &", nil, "", TypeEqual},
		{"Int32&", "int", nil, "", TypeMismatch},
		{"ReadStack&", "System_Text_Json_System_Text_Json_ReadStack &", nil, "", TypeEqual},
		{"Exception", "S_P_CoreLib_System_Exception &", nil, "", TypeEqual},
		{"Dictionary`2.Enumerator", "S_P_CoreLib_System_Collections_Generic_Dictionary_2_Enumerator<Int32__Int32>", nil, "", TypeEqual},
		{"Nested.Type", "asm_Ns_Outer_Nested_Type &", nil, "", TypeEqual},
		// type variables: declared by the method, or of the owning type
		{"TResult", "System___Canon &", []string{"TResult"}, "System___Canon", TypeWildcard},
		{"T&", "System___Canon &&", nil, "System___Canon", TypeWildcard},
		{"T", "int", nil, "Int32", TypeWildcard},
		{"T", "int", nil, "System___Canon", TypeMismatch},
		{"TKey", "app_MyService_Storage_Sku", nil, "app_MyService_Storage_Sku__Int32", TypeWildcard},
		{"T", "app_Other", nil, "app_MyService_Storage_Sku", TypeMismatch},
		{"Int32", "System___Canon &", nil, "System___Canon", TypeMismatch},
		// function pointers print as IntPtr
		{"IntPtr", "__FnPtr_00<Void<Int32>> *", nil, "", TypeEqual},
		// non-ASCII type names
		{"Überprüfung", "app_Ns__berpr_fung &", nil, "", TypeEqual},
	} {
		if got := CompareType(tc.printed, tc.dwarf, tc.generic, tc.inst); got != tc.want {
			t.Errorf("CompareType(%q, %q, %q, %q) = %d, want %d", tc.printed, tc.dwarf, tc.generic, tc.inst, got, tc.want)
		}
	}
}

func params(types ...string) []aotsym.Param {
	var out []aotsym.Param
	for _, t := range types {
		typ, name, _ := strings.Cut(t, " ")
		out = append(out, aotsym.Param{Type: typ, Name: name})
	}
	return out
}

// printedFrame is a managed frame as trace.Parse gives it: the method and
// its parameters.
type printedFrame struct {
	method string
	params []aotsym.Param
}

func frame(method string, types ...string) printedFrame {
	return printedFrame{method, params(types...)}
}

// TestMatch runs constructed printed frames against constructed functions in
// the shapes ILCompiler gives them; none of these names are in the corpus.
func TestMatch(t *testing.T) {
	type want struct {
		ok     bool
		split  Split
		loose  bool
		params ParamMatch
	}
	long := strings.Repeat("VeryLongNamespaceComponent.", 12) + "Handler"
	longSan := strings.Repeat("VeryLongNamespaceComponent_", 12) + "Handler"
	for _, tc := range []struct {
		name  string
		frame printedFrame
		m     Method
		want  want
	}{
		{"non-ASCII identifiers",
			frame("Café.Überprüfung.Prüfen", "String"),
			Method{Symbol: "app_Caf___berpr_fung__Pr_fen", Class: "app_Caf___berpr_fung", Name: "Prüfen", Params: []string{"String &"}, HasParams: true},
			want{true, Split{"Café.Überprüfung", "Prüfen"}, false, ParamsMatch}},
		{"non-ASCII outside the BMP, .NET 8 symbol without DWARF",
			frame("Ns.Emoji😀.Run"),
			Method{Symbol: "app_Ns_Emoji____Run"},
			want{true, Split{"Ns.Emoji😀", "Run"}, false, ParamsUnknown}},
		{"non-ASCII outside the BMP, .NET 10 symbol",
			frame("Ns.Emoji😀.Run"),
			Method{Symbol: "app_Ns_Emoji___Run"},
			want{true, Split{"Ns.Emoji😀", "Run"}, false, ParamsUnknown}},
		{"deep nesting",
			frame("Co.Product.Outer.Middle.Inner.Innermost.Act", "Int32"),
			Method{Symbol: "Co_Product_Co_Product_Outer_Middle_Inner_Innermost__Act", Class: "Co_Product_Co_Product_Outer_Middle_Inner_Innermost", Name: "Act", Params: []string{"int"}, HasParams: true},
			want{true, Split{"Co.Product.Outer.Middle.Inner.Innermost", "Act"}, false, ParamsMatch}},
		{"generic method on a generic nested type, shared code",
			frame("Ns.Outer`1.Inner`2.Convert[TOut]", "TIn", "Dictionary`2"),
			Method{Symbol: "app_Ns_Outer_1_Inner_2<System___Canon__Int32__Double>__Convert<System___Canon>", Class: "app_Ns_Outer_1_Inner_2<System___Canon__Int32__Double>", Name: "Convert",
				Params: []string{"System___Canon &", "S_P_CoreLib_System_Collections_Generic_Dictionary_2<System___Canon__Int32> &"}, HasParams: true},
			want{true, Split{"Ns.Outer`1.Inner`2", "Convert"}, false, ParamsMatch}},
		{"generic method printed, symbol not generic",
			frame("Ns.Outer`1.Convert[TOut]", "Int32"),
			Method{Symbol: "app_Ns_Outer_1<System___Canon>__Convert", Class: "app_Ns_Outer_1<System___Canon>", Name: "Convert", Params: []string{"int"}, HasParams: true},
			want{ok: false}},
		{"non-generic method printed, symbol generic",
			frame("Ns.Util.Convert", "Int32"),
			Method{Symbol: "app_Ns_Util__Convert<Int32>", Class: "app_Ns_Util", Name: "Convert", Params: []string{"int"}, HasParams: true},
			want{ok: false}},
		{"ref, out, pointer and array parameters",
			frame("Ns.Codec.Decode", "Int32&", "Byte*", "String[]", "Int32[,]", "Char**", "Span`1&"),
			Method{Symbol: "app_Ns_Codec__Decode_3", Class: "app_Ns_Codec", Name: "Decode",
				Params: []string{"int &", "byte *", "__Array<String> &", "__MDArray<Int32,2> &", "char16_t **", "S_P_CoreLib_System_Span_1<UInt8> &"}, HasParams: true},
			want{true, Split{"Ns.Codec", "Decode"}, false, ParamsMatch}},
		{"overload with other parameter types",
			frame("Ns.Codec.Decode", "Int32&", "Byte*"),
			Method{Symbol: "app_Ns_Codec__Decode", Class: "app_Ns_Codec", Name: "Decode", Params: []string{"int &", "char16_t *"}, HasParams: true},
			want{true, Split{"Ns.Codec", "Decode"}, false, ParamsDiffer}},
		{"overload with another parameter count",
			frame("Ns.Codec.Decode", "Int32"),
			Method{Symbol: "app_Ns_Codec__Decode_0", Class: "app_Ns_Codec", Name: "Decode", Params: []string{"int", "int"}, HasParams: true},
			want{true, Split{"Ns.Codec", "Decode"}, false, ParamsDiffer}},
		{"operator",
			frame("Ns.Money.op_Implicit", "Decimal"),
			Method{Symbol: "app_Ns_Money__op_Implicit_1", Class: "app_Ns_Money", Name: "op_Implicit", Params: []string{"S_P_CoreLib_System_Decimal"}, HasParams: true},
			want{true, Split{"Ns.Money", "op_Implicit"}, false, ParamsMatch}},
		{"explicit implementation of a generic interface",
			frame("Ns.Bag.System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator"),
			Method{Symbol: "app_Ns_Bag__System_Collections_Generic_IEnumerable_Ns_Item__GetEnumerator", Class: "app_Ns_Bag",
				Name: "System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator", HasParams: true},
			want{true, Split{"Ns.Bag", "System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator"}, false, ParamsMatch}},
		{"explicit implementation, symbol only",
			frame("Ns.Bag.System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator"),
			Method{Symbol: "app_Ns_Bag__System_Collections_Generic_IEnumerable_Ns_Item__GetEnumerator"},
			want{true, Split{"Ns.Bag", "System.Collections.Generic.IEnumerable<Ns.Item>.GetEnumerator"}, false, ParamsUnknown}},
		{"constructor", frame("Ns.Shipment..ctor", "Int32"),
			Method{Symbol: "app_Ns_Shipment___ctor", Class: "app_Ns_Shipment", Name: ".ctor", Params: []string{"int"}, HasParams: true},
			want{true, Split{"Ns.Shipment", ".ctor"}, false, ParamsMatch}},
		{"static constructor, symbol only", frame("Ns.Table..cctor"),
			Method{Symbol: "app_Ns_Table___cctor"},
			want{true, Split{"Ns.Table", ".cctor"}, false, ParamsUnknown}},
		{"property getter of a struct", frame("Ns.Point.get_X"),
			Method{Symbol: "app_Ns_Point__get_X", Class: "app_Ns_Point", Name: "get_X", HasParams: true},
			want{true, Split{"Ns.Point", "get_X"}, false, ParamsMatch}},
		{"lambda in a static constructor", frame("Ns.C.<>c.<.cctor>b__9_0", "Decimal"),
			Method{Symbol: "app_Ns_C___c____cctor_b__9_0", Class: "app_Ns_C___c", Name: "<.cctor>b__9_0", Params: []string{"S_P_CoreLib_System_Decimal"}, HasParams: true},
			want{true, Split{"Ns.C.<>c", "<.cctor>b__9_0"}, false, ParamsMatch}},
		{"core library type without prefix", frame("System.String.Concat", "String", "String"),
			Method{Symbol: "String__Concat_5", Class: "String", Name: "Concat", Params: []string{"String &", "String &"}, HasParams: true},
			want{true, Split{"System.String", "Concat"}, false, ParamsMatch}},
		{"core primitive", frame("System.Int32.Parse", "String"),
			Method{Symbol: "Int32__Parse", Class: "Int32", Name: "Parse", Params: []string{"String &"}, HasParams: true},
			want{true, Split{"System.Int32", "Parse"}, false, ParamsMatch}},
		{"a namespace suffix is not a type", frame("Orders.OrderService.Run"),
			Method{Symbol: "app_Ns_XOrders_OrderService__Run", Class: "app_Ns_XOrders_OrderService", Name: "Run"},
			want{ok: false}},
		{"the assembly prefix is required", frame("Ns.Type.Run"),
			Method{Symbol: "Ns_Type__Run", Class: "Ns_Type", Name: "Run"},
			want{ok: false}},
		{"another method of the type", frame("Ns.Type.Run"),
			Method{Symbol: "app_Ns_Type__Runner", Class: "app_Ns_Type", Name: "Runner"},
			want{ok: false}},
		{"a method literally named with a digit suffix", frame("Ns.Type.Run_1"),
			Method{Symbol: "app_Ns_Type__Run_1", Class: "app_Ns_Type", Name: "Run_1"},
			want{true, Split{"Ns.Type", "Run_1"}, false, ParamsUnknown}},
		{"an overload suffix is not a method name", frame("Ns.Type.Run_1"),
			Method{Symbol: "app_Ns_Type__Run_1", Class: "app_Ns_Type", Name: "Run"},
			want{ok: false}},
		{"type deduplicated by the compiler", frame("Ns.A.B.Go"),
			Method{Symbol: "app_Ns_A_B_0__Go", Class: "app_Ns_A_B_0", Name: "Go"},
			want{true, Split{"Ns.A.B", "Go"}, true, ParamsUnknown}},
		{"unboxing stub", frame("Ns.Point.ToString"),
			Method{Symbol: "<Boxed>app_Ns_Point__ToString"},
			want{true, Split{"Ns.Point", "ToString"}, true, ParamsUnknown}},
		{"very long names", frame(long+".Handle[T]", "T"),
			Method{Symbol: "asm_" + longSan + "__Handle<System___Canon>", Class: "asm_" + longSan, Name: "Handle", Params: []string{"System___Canon &"}, HasParams: true},
			want{true, Split{long, "Handle"}, false, ParamsMatch}},
		{"net8.0 parameter names", frame("Ns.C.<>c__DisplayClass1_0.<Total>b__0", "Decimal p"),
			Method{Symbol: "app_Ns_C___c__DisplayClass1_0___Total_b__0", Class: "app_Ns_C___c__DisplayClass1_0", Name: "<Total>b__0", Params: []string{"S_P_CoreLib_System_Decimal"}, HasParams: true},
			want{true, Split{"Ns.C.<>c__DisplayClass1_0", "<Total>b__0"}, false, ParamsMatch}},
		{"local function in an async state machine", frame("Ns.Svc.<<Import>g__One|3_0>d.MoveNext"),
			Method{Symbol: "app_Ns_Svc___Import_g__One_3_0_d__MoveNext", Class: "app_Ns_Svc___Import_g__One_3_0_d", Name: "MoveNext", HasParams: true},
			want{true, Split{"Ns.Svc.<<Import>g__One|3_0>d", "MoveNext"}, false, ParamsMatch}},
		{"generic type's state machine: instantiation after the nested name", frame("Ns.Seq`1.<Run>d__4.MoveNext"),
			Method{Symbol: "app_Ns_Seq_1__Run_d__4<System___Canon>__MoveNext", Class: "app_Ns_Seq_1__Run_d__4<System___Canon>", Name: "MoveNext"},
			want{true, Split{"Ns.Seq`1.<Run>d__4", "MoveNext"}, false, ParamsUnknown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQuery(tc.frame.method, tc.frame.params, true)
			got, ok := q.Match(&tc.m)
			if ok != tc.want.ok {
				t.Fatalf("Match = %v, want %v (%+v)", ok, tc.want.ok, got)
			}
			if !ok {
				return
			}
			if got.Split != tc.want.split || got.Loose != tc.want.loose || got.Params != tc.want.params {
				t.Errorf("Match = %+v (params %s), want split %q loose %v params %s", got, got.Params, tc.want.split, tc.want.loose, tc.want.params)
			}
			// The name table must find the function under one of the query's keys.
			table, err := OpenTable(BuildTable(1, func(int) Method { return tc.m }), 1)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			q.Keys(func(k string) {
				table.Lookup(k, func(int) bool { found = true; return false })
			})
			if !found {
				t.Errorf("no key of the query finds the function in the name table")
			}
		})
	}
}

func TestSymbolMethodKeys(t *testing.T) {
	for _, tc := range []struct {
		sym  string
		want []string
	}{
		{"app_Ns_Type__Format_2", []string{"Format_2\x00Type", "Format\x00Type", "Format_2\x00Ns_Type", "Format\x00Ns_Type", "Format_2\x00app_Ns_Type", "Format\x00app_Ns_Type"}},
		{"app_MyService_Orders_OrderRepository___ctor", []string{"_ctor\x00OrderRepository", "ctor\x00OrderRepository_"}},
		{"main", nil},
	} {
		if got := SymbolMethodKeys(tc.sym); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SymbolMethodKeys(%q) = %q, want %q", tc.sym, got, tc.want)
		}
	}
}

func TestTypeTail(t *testing.T) {
	for _, tc := range []struct {
		printed string // a printed type
		class   string // its class name in DWARF
		tail    string
	}{
		{"MyService.Inventory.Shipment", "app_MyService_Inventory_Shipment", "Inventory_Shipment"},
		{"System.Collections.Generic.Dictionary`2", "S_P_CoreLib_System_Collections_Generic_Dictionary_2<System___Canon__Int32>", "Dictionary_2"},
		{"Ns.C.<>c__DisplayClass1_0", "app_Ns_C___c__DisplayClass1_0", "DisplayClass1_0"},
		{"Ns.S.<<Import>g__ImportOne|3_0>d", "app_Ns_S___Import_g__ImportOne_3_0_d", "ImportOne_3_0_d"},
		{"Program", "app_Program", "Program"},
		{"Ns.<>c", "app_Ns___c", "Ns___c"},
		{"System.String", "String", "System_String"},
	} {
		tail := TypeTail(Sanitize(tc.printed))
		if tail != tc.tail {
			t.Errorf("TypeTail(Sanitize(%q)) = %q, want %q", tc.printed, tail, tc.tail)
		}
		found := false
		for _, c := range classTails(tc.class) {
			found = found || c == tail
		}
		if !found && wellKnown[tc.printed] == "" {
			t.Errorf("classTails(%q) = %q, lacks %q", tc.class, classTails(tc.class), tail)
		}
	}
	// A well-known type is looked up by its short name.
	if got := classTails("String"); !reflect.DeepEqual(got, []string{"String"}) {
		t.Errorf("classTails(String) = %q", got)
	}
}

func TestTable(t *testing.T) {
	ms := []Method{
		{Symbol: "app_Ns_Fmt__Format", Class: "app_Ns_Fmt", Name: "Format"},
		{Symbol: "app_Ns_Fmt__Format_0", Class: "app_Ns_Fmt", Name: "Format"},
		{Symbol: "app_Ns_Fmt__Parse", Aliases: []string{"Parse"}},
		{Symbol: "_ZN3foo3barEv"},
	}
	data := BuildTable(len(ms), func(i int) Method { return ms[i] })
	tab, err := OpenTable(data, len(ms))
	if err != nil {
		t.Fatal(err)
	}
	collect := func(key string) []int {
		var out []int
		tab.Lookup(key, func(fn int) bool { out = append(out, fn); return true })
		return out
	}
	if got := collect("m:Format\x00Ns_Fmt"); !reflect.DeepEqual(got, []int{0, 1}) {
		t.Errorf("m:Format = %v", got)
	}
	if got := collect("s:Parse\x00app_Ns_Fmt"); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("s:Parse = %v", got)
	}
	var syms []int
	tab.LookupSymbol("Parse", func(fn int) bool { syms = append(syms, fn); return true })
	tab.LookupSymbol("_ZN3foo3barEv", func(fn int) bool { syms = append(syms, fn); return true })
	if !reflect.DeepEqual(syms, []int{2, 3}) {
		t.Errorf("symbols = %v", syms)
	}
	if got := collect("m:Nothing"); got != nil {
		t.Errorf("m:Nothing = %v", got)
	}

	// Damaged tables are errors that say what to do.
	for name, bad := range map[string][]byte{
		"short":         data[:5],
		"magic":         append([]byte("XXXX"), data[4:]...),
		"truncated":     data[:len(data)-1],
		"function":      data,
		"out of order ": swapEntries(data),
	} {
		fns := len(ms)
		if name == "function" {
			fns = 2
		}
		if _, err := OpenTable(bad, fns); err == nil || !strings.Contains(err.Error(), "rebuild") {
			t.Errorf("%s: OpenTable error = %v", name, err)
		}
	}
}

func swapEntries(data []byte) []byte {
	out := append([]byte(nil), data...)
	a := out[headerSize : headerSize+entrySize]
	b := out[headerSize+entrySize : headerSize+2*entrySize]
	tmp := append([]byte(nil), a...)
	copy(a, b)
	copy(b, tmp)
	return out
}
