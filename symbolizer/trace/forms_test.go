package trace

import (
	"slices"
	"strings"
	"testing"

	"github.com/aotsym/aotsym"
)

// Frame forms the corpus does not hold, one line each, and text that only
// looks like a frame.

type formCase struct {
	line string
	want aotsym.Frame // Kind "" means: not a frame
	text string       // Frame.Text; "" means the line trimmed of "at "
}

func p(typ, name string) aotsym.Param { return aotsym.Param{Type: typ, Name: name} }

var formCases = []formCase{
	// Native AOT managed frames
	{line: "   at MyService.Orders.OrderService.<CreateOrderAsync>d__7.MoveNext() + 0x19c",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Orders.OrderService.<CreateOrderAsync>d__7.MoveNext", HasParams: true, Offset: 0x19c, HasOffset: true}},
	{line: "   at MyService.Storage.Repository`1.Map[TResult](Int32, Func`2) + 0x4d",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Storage.Repository`1.Map[TResult]", Params: []aotsym.Param{p("Int32", ""), p("Func`2", "")}, HasParams: true, Offset: 0x4d, HasOffset: true}},
	{line: "   at System.Linq.Enumerable.ToDictionary[TSource,TKey,TElement](IEnumerable`1 source, Func`2 keySelector, Func`2 elementSelector) + 0x1a",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "System.Linq.Enumerable.ToDictionary[TSource,TKey,TElement]", Params: []aotsym.Param{p("IEnumerable`1", "source"), p("Func`2", "keySelector"), p("Func`2", "elementSelector")}, HasParams: true, Offset: 0x1a, HasOffset: true}},
	{line: "   at OrdersApi.Tenancy.TenantMiddleware.<InvokeAsync>d__11`1.MoveNext() + 0x114",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "OrdersApi.Tenancy.TenantMiddleware.<InvokeAsync>d__11`1.MoveNext", HasParams: true, Offset: 0x114, HasOffset: true}},
	{line: "   at Warehouse.MyService.Inventory.IStockSource.Reserve(String sku, Int32 quantity) + 0x3f",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "Warehouse.MyService.Inventory.IStockSource.Reserve", Params: []aotsym.Param{p("String", "sku"), p("Int32", "quantity")}, HasParams: true, Offset: 0x3f, HasOffset: true}},
	{line: "   at MyService.Pricing.PriceCalculator.<>c__DisplayClass1_0.<Total>b__0(Decimal p) + 0x9",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Pricing.PriceCalculator.<>c__DisplayClass1_0.<Total>b__0", Params: []aotsym.Param{p("Decimal", "p")}, HasParams: true, Offset: 9, HasOffset: true}},
	{line: "   at MyService.Pricing.PriceCalculator.<CountValid>g__IsValid|4_1(Int32) + 0x22",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Pricing.PriceCalculator.<CountValid>g__IsValid|4_1", Params: []aotsym.Param{p("Int32", "")}, HasParams: true, Offset: 0x22, HasOffset: true}},
	{line: "   at MyService.Inventory.Shipment..ctor(Int32) + 0x6e",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Inventory.Shipment..ctor", Params: []aotsym.Param{p("Int32", "")}, HasParams: true, Offset: 0x6e, HasOffset: true}},
	{line: "   at MyService.Inventory.TaxTable..cctor()",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Inventory.TaxTable..cctor", HasParams: true}},
	{line: "   at System.Runtime.RuntimeExports.RhUnbox2(MethodTable*, Object) + 0x0",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "System.Runtime.RuntimeExports.RhUnbox2", Params: []aotsym.Param{p("MethodTable*", ""), p("Object", "")}, HasParams: true, HasOffset: true}},
	{line: "\tat Ünïcödé.Ταξινόμηση.Μέθοδος(Int32 αριθμός, String 名前) + 0x1c",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "Ünïcödé.Ταξινόμηση.Μέθοδος", Params: []aotsym.Param{p("Int32", "αριθμός"), p("String", "名前")}, HasParams: true, Offset: 0x1c, HasOffset: true}},
	{line: "   at MyService.Foo.Bar + 0x12", // no metadata for the signature
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Foo.Bar", Offset: 0x12, HasOffset: true}},
	{line: "   at MyService.Program.<Main>$(String[] args) + 0x5<---",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Program.<Main>$", Params: []aotsym.Param{p("String[]", "args")}, HasParams: true, Offset: 5, HasOffset: true},
		text: "MyService.Program.<Main>$(String[] args) + 0x5"},

	// lined: JIT traces and runtimes that print lines
	{line: "   at MyService.Orders.OrderService.CreateOrderAsync(Order order) in /src/aotsample/Services/Orders.cs:line 48",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Method: "MyService.Orders.OrderService.CreateOrderAsync", Params: []aotsym.Param{p("Order", "order")}, HasParams: true, File: "/src/aotsample/Services/Orders.cs", Line: 48}},
	{line: `   at Contoso.Web.Startup.Configure(IApplicationBuilder app) in C:\src\Contoso Web\Startup.cs:line 12`,
		want: aotsym.Frame{Kind: aotsym.FrameLined, Method: "Contoso.Web.Startup.Configure", Params: []aotsym.Param{p("IApplicationBuilder", "app")}, HasParams: true, File: `C:\src\Contoso Web\Startup.cs`, Line: 12}},
	{line: "   at MyService.Orders.OrderService.<CreateOrderAsync>d__7.MoveNext() + 0x19c in /_/src/Services/Orders.cs:line 42",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Method: "MyService.Orders.OrderService.<CreateOrderAsync>d__7.MoveNext", HasParams: true, Offset: 0x19c, HasOffset: true, File: "/_/src/Services/Orders.cs", Line: 42}},
	{line: "   at MyService.Catalogs.CatalogReader.GetItems(String catalog)+MoveNext() in /src/Catalogs.cs:line 22",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Method: "MyService.Catalogs.CatalogReader.GetItems+MoveNext", Params: []aotsym.Param{p("String", "catalog")}, HasParams: true, File: "/src/Catalogs.cs", Line: 22}},
	{line: "   at MyService.Orders.OrderRepository.OpenOrderIdsAsync()+System.Threading.Tasks.Sources.IValueTaskSource<System.Boolean>.GetResult()",
		want: aotsym.Frame{Kind: aotsym.FrameManaged, Method: "MyService.Orders.OrderRepository.OpenOrderIdsAsync+System.Threading.Tasks.Sources.IValueTaskSource<System.Boolean>.GetResult", HasParams: true}},

	// rva and unknown
	{line: "   at app!<BaseAddress>+0x1a2b",
		want: aotsym.Frame{Kind: aotsym.FrameRVA, Module: "app", Offset: 0x1a2b, HasOffset: true}},
	{line: "   at libSystem.Native!<BaseAddress>+0x9f10",
		want: aotsym.Frame{Kind: aotsym.FrameRVA, Module: "libSystem.Native", Offset: 0x9f10, HasOffset: true}},
	{line: "   at <unknown>", want: aotsym.Frame{Kind: aotsym.FrameUnknown}},

	// native
	{line: "libcoreclr.so+0x4a2b1", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "libcoreclr.so", Offset: 0x4a2b1, HasOffset: true}},
	{line: "   at /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30+0xae20c", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", Offset: 0xae20c, HasOffset: true}},
	{line: "    (/usr/lib/libfoo.so+0x1f50f)", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "/usr/lib/libfoo.so", Offset: 0x1f50f, HasOffset: true}},
	{line: "_ZN7mylib6parser5parseEPKc+0x12", want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "_ZN7mylib6parser5parseEPKc", Offset: 0x12, HasOffset: true}},
	{line: "  _RNvCs1234abcd_7mycrate4main+0x2a", want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "_RNvCs1234abcd_7mycrate4main", Offset: 0x2a, HasOffset: true}},
	{line: "  main.(*Server).handle+0x12", want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "main.(*Server).handle", Offset: 0x12, HasOffset: true}},
	{line: "app!ProcessOrder+0x3c", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "app", Symbol: "ProcessOrder", Offset: 0x3c, HasOffset: true}},
	{line: "./app(main+0x1f) [0x55d4a3c0b17f]", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "./app", Symbol: "main", Offset: 0x1f, HasOffset: true, Address: 0x55d4a3c0b17f, HasAddress: true}},
	{line: "/lib/x86_64-linux-gnu/libc.so.6(gsignal+0x10b)[0x7f2b8c6a2e87]", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "/lib/x86_64-linux-gnu/libc.so.6", Symbol: "gsignal", Offset: 0x10b, HasOffset: true, Address: 0x7f2b8c6a2e87, HasAddress: true}},
	{line: "./bootstrap(+0x1a2b) [0x55d4a3c0b17f]", want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "./bootstrap", Offset: 0x1a2b, HasOffset: true, Address: 0x55d4a3c0b17f, HasAddress: true}},

	// gdb
	{line: "#3  0x00007f3c2b229d8f in __libc_start_main () from /lib/x86_64-linux-gnu/libc.so.6",
		want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "__libc_start_main", Module: "/lib/x86_64-linux-gnu/libc.so.6", Address: 0x7f3c2b229d8f, HasAddress: true},
		text: "0x00007f3c2b229d8f in __libc_start_main () from /lib/x86_64-linux-gnu/libc.so.6"},
	{line: "#4  0x000055555555513d in ?? ()",
		want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "??", Address: 0x55555555513d, HasAddress: true},
		text: "0x000055555555513d in ?? ()"},
	{line: "#5  0x00007ffff7e4a2b1 in _ZN7mylib6parser5parseEPKc (s=0x0) from /usr/lib/libmylib.so",
		want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "_ZN7mylib6parser5parseEPKc", Module: "/usr/lib/libmylib.so", Address: 0x7ffff7e4a2b1, HasAddress: true},
		text: "0x00007ffff7e4a2b1 in _ZN7mylib6parser5parseEPKc (s=0x0) from /usr/lib/libmylib.so"},
	{line: "#0  __GI_raise (sig=sig@entry=6) at ../sysdeps/unix/sysv/linux/raise.c:50",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Symbol: "__GI_raise", File: "../sysdeps/unix/sysv/linux/raise.c", Line: 50},
		text: "__GI_raise (sig=sig@entry=6) at ../sysdeps/unix/sysv/linux/raise.c:50"},
	{line: "#1  0x00007ffff7a24859 in __GI_abort () at abort.c:79",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Symbol: "__GI_abort", File: "abort.c", Line: 79, Address: 0x7ffff7a24859, HasAddress: true},
		text: "0x00007ffff7a24859 in __GI_abort () at abort.c:79"},
	// sanitizers
	{line: "    #1 0x7f3c2b229d8f  (/lib/x86_64-linux-gnu/libc.so.6+0x29d8f) (BuildId: 4f7b0c955c3d81d7cac1501a2498b69d1d82bfe7)",
		want: aotsym.Frame{Kind: aotsym.FrameNative, Module: "/lib/x86_64-linux-gnu/libc.so.6", Offset: 0x29d8f, HasOffset: true, Address: 0x7f3c2b229d8f, HasAddress: true},
		text: "0x7f3c2b229d8f  (/lib/x86_64-linux-gnu/libc.so.6+0x29d8f) (BuildId: 4f7b0c955c3d81d7cac1501a2498b69d1d82bfe7)"},
	{line: "    #2 0x55d4a3c0b17f in parse_order (/app/bin/orders+0x1234)",
		want: aotsym.Frame{Kind: aotsym.FrameNative, Symbol: "parse_order", Module: "/app/bin/orders", Offset: 0x1234, HasOffset: true, Address: 0x55d4a3c0b17f, HasAddress: true},
		text: "0x55d4a3c0b17f in parse_order (/app/bin/orders+0x1234)"},
	{line: "    #0 0x4f5e2d in main /src/app.c:12:3",
		want: aotsym.Frame{Kind: aotsym.FrameLined, Symbol: "main", File: "/src/app.c", Line: 12, Address: 0x4f5e2d, HasAddress: true},
		text: "0x4f5e2d in main /src/app.c:12:3"},

	// only looks like a frame
	{line: "at 10:42 the job failed + 0x1 more"},
	{line: "   at the moment the value was x + 0x1"},
	{line: "   at Foo.Bar + 0x1 more"},
	{line: "   at Foo.Bar() + 0x1c then it crashed"},
	{line: "Meet me at Foo.Bar() + 0x1"},
	{line: "   at https://example.com/orders/a+0x1"},
	{line: "https://example.com/orders/path+0x10"},
	{line: "   at 2026-11-25T10:15:30Z"},
	{line: "   at 2026-11-25T10:15:30Z+0x10"},
	{line: "value = x+0x1"},
	{line: "10+0x1"},
	{line: "   at noon"},
	{line: "   at Foo.Bar"},
	{line: "   at Foo.Bar() + 0x"},
	{line: "   at Foo.Bar() + 0x12345678901234567"},
	{line: "   at Foo.Bar(Int32 + 0x12"},
	{line: "   at Foo.Bar() in /src/x.cs"},
	{line: "   at Foo.Bar() in /src/x.cs:line twelve"},
	{line: "#1 fix the bug in Foo.Bar (it crashes) at startup"},
	{line: "# 0x1234 in foo ()"},
	{line: "#12345678901 0x1234 in foo ()"},
	{line: "Error at line 42: unexpected token + 0x1"},
	{line: "   at System.Exception: boom"},
	{line: "System.InvalidOperationException: at Foo.Bar() + 0x1"},
	{line: "--- End of stack trace from previous location ---"},
	{line: "   at app!<BaseAddress>+0xZZ"},
	{line: "   at app!<BaseAddress>"},
	{line: "   at <unknown> and more"},
	{line: "./app(main+0x1f) [not an address]"},
	{line: "frame 0 rva=0x132c97 file=- text=\"   at X.Y() + 0x1\""},
}

func TestFrameForms(t *testing.T) {
	for _, c := range formCases {
		d, err := Parse([]byte(c.line), DefaultLimits)
		if err != nil {
			t.Fatalf("%q: %v", c.line, err)
		}
		if c.want.Kind == "" {
			if len(d.Frames) != 0 {
				t.Errorf("%q: not a frame, but found %+v", c.line, d.Frames[0])
			}
			continue
		}
		if len(d.Frames) != 1 {
			t.Errorf("%q: %d frames, want 1", c.line, len(d.Frames))
			continue
		}
		got := d.Frames[0]
		text := c.text
		if text == "" {
			text = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(c.line), "at "), "<---")
		}
		if got.Text != text || c.line[got.Start:got.End] != text {
			t.Errorf("%q: text %q at [%d,%d), want %q", c.line, got.Text, got.Start, got.End, text)
		}
		got.Text, got.Start, got.End = "", 0, 0
		if got.Params == nil {
			got.Params = nil
		}
		if !sameFrame(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.line, got, c.want)
		}
		// the rewrite of every resolvable form parses again as a lined frame
		checkRender(t, c.line, []byte(c.line), d)
	}
}

func sameFrame(a, b aotsym.Frame) bool {
	return a.Kind == b.Kind && a.Method == b.Method && slices.Equal(a.Params, b.Params) && a.HasParams == b.HasParams &&
		a.Offset == b.Offset && a.HasOffset == b.HasOffset && a.Module == b.Module && a.Symbol == b.Symbol &&
		a.Address == b.Address && a.HasAddress == b.HasAddress && a.File == b.File && a.Line == b.Line
}

// What a resolved frame of each form becomes.
func TestRenderForms(t *testing.T) {
	res := aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "OrderParser::parse(char const*)", File: "/src/parser.cc", Line: 42}
	managed := aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "MyService.Orders.OrderService.CreateOrderAsync(Order)", File: "/src/OrderService.cs", Line: 42}
	cases := []struct {
		in   string
		r    aotsym.FrameResult
		want string
	}{
		{"   at Ns.Type.<M>d__7.MoveNext() + 0x19c\n", managed, "   at Ns.Type.<M>d__7.MoveNext() in /src/OrderService.cs:line 42\n"},
		{"   at Ns.Type.M(Int32 x)\r\n", managed, "   at Ns.Type.M(Int32 x) in /src/OrderService.cs:line 42\r\n"},
		{"   at Ns.Type.M() + 0x5c<---\n", managed, "   at Ns.Type.M() in /src/OrderService.cs:line 42<---\n"},
		{"   at app!<BaseAddress>+0xa1d6c", aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "S_P_CoreLib_System_Threading_Tasks_Task__Wait_4", File: "/_/src/libraries/System.Private.CoreLib/src/System/Threading/Tasks/Task.cs", Line: 2784},
			"   at S_P_CoreLib_System_Threading_Tasks_Task__Wait_4 (app!<BaseAddress>+0xa1d6c) in /_/src/libraries/System.Private.CoreLib/src/System/Threading/Tasks/Task.cs:line 2784"},
		{"libfoo.so+0x1f50f", res, "OrderParser::parse(char const*) (libfoo.so+0x1f50f) in /src/parser.cc:line 42"},
		{"_ZN11OrderParser5parseEPKc+0x12", res, "OrderParser::parse(char const*) (_ZN11OrderParser5parseEPKc+0x12) in /src/parser.cc:line 42"},
		{"    #1 0x7f3c2b229d8f (/usr/lib/libfoo.so+0x1f50f) (BuildId: 4f7b0c95)", res, "    #1 0x7f3c2b229d8f in OrderParser::parse(char const*) (/usr/lib/libfoo.so+0x1f50f) in /src/parser.cc:line 42 (BuildId: 4f7b0c95)"},
		{"    #2 0x7f3c2b229d8f in parse (/usr/lib/libfoo.so+0x1f50f)", res, "    #2 0x7f3c2b229d8f in parse (/usr/lib/libfoo.so+0x1f50f) in /src/parser.cc:line 42"},
		{"#3  0x00007f3c2b229d8f in ?? () from /usr/lib/libfoo.so", res, "#3  0x00007f3c2b229d8f in OrderParser::parse(char const*) () from /usr/lib/libfoo.so in /src/parser.cc:line 42"},
		{"#3  0x00007f3c2b229d8f in parse () from /usr/lib/libfoo.so", res, "#3  0x00007f3c2b229d8f in parse () from /usr/lib/libfoo.so in /src/parser.cc:line 42"},
		// not resolved, or no file: untouched
		{"   at Ns.Type.M() + 0x5c", aotsym.FrameResult{Status: aotsym.StatusNoLine, Function: "Ns.Type.M()"}, "   at Ns.Type.M() + 0x5c"},
		{"   at Ns.Type.M() + 0x5c", aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "Ns.Type.M()"}, "   at Ns.Type.M() + 0x5c"},
		{"   at Ns.Type.M() in /a.cs:line 1", managed, "   at Ns.Type.M() in /a.cs:line 1"},
		{"   at Ns.Type.M() + 0x5c", aotsym.FrameResult{Status: aotsym.StatusResolved, File: "/a.cs"}, "   at Ns.Type.M() + 0x5c"},
		// names from a debug file cannot add lines
		{"   at app!<BaseAddress>+0x1a", aotsym.FrameResult{Status: aotsym.StatusResolved, Function: "F\n   at Evil.Frame() + 0x1", File: "/a\r\n.cs", Line: 3},
			"   at F?   at Evil.Frame() + 0x1 (app!<BaseAddress>+0x1a) in /a??.cs:line 3"},
		// JSON: the rewrite is escaped, everything else kept as it was
		{`{"message":"   at Ns.Type.M() + 0x5c\n\u003c---"}`, aotsym.FrameResult{Status: aotsym.StatusResolved, File: `C:\src\"quoted"\Ünï.cs`, Line: 7},
			`{"message":"   at Ns.Type.M() in C:\\src\\\"quoted\"\\Ünï.cs:line 7\n\u003c---"}`},
		{`["at Ns.Type.\u003cM\u003ed__1.MoveNext() + 0x1c"]`, managed, `["at Ns.Type.\u003cM\u003ed__1.MoveNext() in /src/OrderService.cs:line 42"]`},
	}
	for _, c := range cases {
		d, err := Parse([]byte(c.in), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Frames) != 1 {
			t.Errorf("%q: %d frames", c.in, len(d.Frames))
			continue
		}
		if got := string(d.RenderText([]aotsym.FrameResult{c.r})); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
