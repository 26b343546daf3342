package elfindex

import (
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
)

// TestNativeAOTMetadata checks what the Native AOT name matcher reads from
// the function table: the short method name, the declaring class and the
// parameter types of the DWARF declaration, for the overloads and shapes the
// corpus README documents.
func TestNativeAOTMetadata(t *testing.T) {
	type want struct {
		short, class string
		params       []string
		this         bool
	}
	cases := map[string]want{
		// Four overloads told apart only by their parameter types.
		"app_MyService_Formatting_ReceiptFormatter__Format":   {"Format", "app_MyService_Formatting_ReceiptFormatter", []string{"app_MyService_Orders_Order &"}, false},
		"app_MyService_Formatting_ReceiptFormatter__Format_0": {"Format", "app_MyService_Formatting_ReceiptFormatter", []string{"String &"}, false},
		"app_MyService_Formatting_ReceiptFormatter__Format_1": {"Format", "app_MyService_Formatting_ReceiptFormatter", []string{"int"}, false},
		"app_MyService_Formatting_ReceiptFormatter__Format_2": {"Format", "app_MyService_Formatting_ReceiptFormatter", []string{"S_P_CoreLib_System_Decimal", "String &"}, false},
		// Generic code shared over reference types, an instance method.
		"app_MyService_Storage_Repository_1<System___Canon>__Get": {"Get", "app_MyService_Storage_Repository_1<System___Canon>", []string{"int"}, true},
		// A state machine's MoveNext: the class is the state machine.
		"app_MyService_Orders_OrderRepository__SaveAsync_d__0__MoveNext": {"MoveNext", "app_MyService_Orders_OrderRepository__SaveAsync_d__0", nil, true},
		"S_P_CoreLib_System_Threading_Tasks_Task__Wait_4":                {"Wait", "S_P_CoreLib_System_Threading_Tasks_Task", []string{"int", "S_P_CoreLib_System_Threading_CancellationToken"}, true},
	}
	for _, variant := range []string{"net10.0-linux-x64", "net10.0-linux-x64-dwarf5-pathmap", "net10.0-linux-arm64"} {
		t.Run(variant, func(t *testing.T) {
			m, err := corpus.Load(variant)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := corpusIndex(t, m, true)
			found := map[string]bool{}
			withClass := 0
			for i := 0; i < x.NumFunctions(); i++ {
				f := x.Function(i)
				if f.Index != i || f.End <= f.Start {
					t.Fatalf("function %d: %+v", i, f)
				}
				if i > 0 && x.Function(i-1).Start >= f.Start {
					t.Fatalf("functions %d and %d are not sorted", i-1, i)
				}
				if got, ok := x.FunctionAt(f.Start); !ok || got != i {
					t.Errorf("FunctionAt(%#x) = %d, %v; want %d", f.Start, got, ok, i)
				}
				if s, e, p := x.Range(i); s != f.Start || e != f.End || p != f.Parent {
					t.Errorf("Range(%d) = %#x, %#x, %d; Function says %#x, %#x, %d", i, s, e, p, f.Start, f.End, f.Parent)
				}
				// Managed methods: linkage = class "__" method, and
				// the symbol is the linkage name.
				if f.Class != "" && strings.HasPrefix(f.LinkageName, f.Class+"__") {
					withClass++
					if f.LinkageName != f.Name && !slices.Contains(f.Aliases, f.LinkageName) {
						t.Errorf("%s: linkage name %q is not a symbol", f.Name, f.LinkageName)
					}
				}
				w, ok := cases[f.Name]
				if !ok {
					continue
				}
				found[f.Name] = true
				if f.ShortName != w.short || f.Class != w.class || !slices.Equal(f.Params, w.params) || f.HasThis != w.this || !f.HasDWARF || !f.HasLines {
					t.Errorf("%s:\n got short %q class %q params %q this %v dwarf %v lines %v\nwant short %q class %q params %q this %v",
						f.Name, f.ShortName, f.Class, f.Params, f.HasThis, f.HasDWARF, f.HasLines, w.short, w.class, w.params, w.this)
				}
				if len(f.ParamNames) != len(f.Params) {
					t.Errorf("%s: %d parameter names for %d parameters", f.Name, len(f.ParamNames), len(f.Params))
				}
			}
			for name := range cases {
				if !found[name] {
					t.Errorf("%s not in the function table", name)
				}
			}
			if withClass < 1000 {
				t.Errorf("only %d managed methods carry their class", withClass)
			}
		})
	}
}

// TestSizeZeroAndAliases: net8.0's startup code is a pair of size-0 NOTYPE
// symbols; the function must still be found, named by both, and end before
// the next function.
func TestSizeZeroAndAliases(t *testing.T) {
	m, err := corpus.Load("net8.0-linux-x64")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := corpusIndex(t, m, true)
	var checked int
	for _, c := range m.Cases {
		for _, e := range c.Exceptions {
			for _, f := range e.Frames {
				if f.Symbol == nil || f.Symbol.Size != 0 {
					continue
				}
				i, ok := x.FunctionAt(corpus.Hex(f.LookupAddress))
				if !ok {
					t.Fatalf("no function at %s", f.LookupAddress)
				}
				fn := x.Function(i)
				if fn.Start != corpus.Hex(f.Symbol.Start) || fn.Name != f.Symbol.Name || !slices.Equal(fn.Aliases, f.Symbol.Aliases) {
					t.Errorf("%+v, want symbol %+v", fn, f.Symbol)
				}
				if i+1 < x.NumFunctions() && fn.End != x.Function(i+1).Start {
					t.Errorf("size-0 function ends at %#x, the next starts at %#x", fn.End, x.Function(i+1).Start)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no size-0 frame in net8.0")
	}
}
