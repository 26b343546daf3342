package aotsym

// FrameKind says which form a stack frame was written in, and so what can be
// done with it.
type FrameKind string

const (
	// FrameManaged is a Native AOT frame naming a method and an offset from its
	// start: `at Ns.Type.<M>d__7.MoveNext() + 0x19c` (no offset printed when it is 0).
	FrameManaged FrameKind = "managed"
	// FrameLined already carries a source position
	// (`at Ns.Type.M(Int32 x) in /src/File.cs:line 42`): a JIT trace, or a
	// runtime that resolves lines itself; also a native frame that names its
	// file (gdb's `at file.c:12`, a sanitizer's `file.c:12:3`). It is
	// recognised and left as it is.
	FrameLined FrameKind = "lined"
	// FrameRVA is a Native AOT frame without stack-trace metadata:
	// `at app!<BaseAddress>+0x1a2b`, where the number is the RVA in module app.
	FrameRVA FrameKind = "rva"
	// FrameNative is a native frame: `module+0x1234`,
	// `(/usr/lib/libfoo.so+0x1f50f)`, `symbol+0x12`, or gdb's
	// `#3 0x00007f… in sym () from lib`.
	FrameNative FrameKind = "native"
	// FrameUnknown is `at <unknown>` and the like: a frame with nothing to look up.
	FrameUnknown FrameKind = "unknown"
)

// Param is one parameter of a printed managed method: its type as the runtime
// prints it (`Int32`, `Func`2`, `String[]`, `MethodTable*`) and, when the
// runtime printed one, its name.
type Param struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// Frame is one stack frame found in user input, with the fields parsed from its
// text. Which fields are set depends on Kind.
type Frame struct {
	Kind FrameKind `json:"kind"`
	// Text is the frame as it appeared, trimmed of surrounding space and of the
	// leading `at ` (`Ns.Type.M(Int32) + 0x1c`); for numbered frames (gdb,
	// sanitizers) the whole line after `#N`.
	Text string `json:"text"`
	// Start and End are the byte offsets of Text in the input as given. For a
	// frame inside a JSON string they are offsets of the escaped text in the raw
	// document.
	Start int `json:"start"`
	End   int `json:"end"`

	// Managed and lined frames. Method is the qualified method as printed,
	// without parameters: `MyService.Storage.Repository`1.Map[TResult]`,
	// `MyService.Inventory.Warehouse.MyService.Inventory.IStockSource.Reserve`,
	// `MyService.Inventory.Shipment..ctor`. Where the type ends and the method
	// begins is not decidable from the text alone (explicit interface
	// implementations, nested types); symbolizer/dotnet decides it.
	Method string  `json:"method,omitempty"`
	Params []Param `json:"params,omitempty"`
	// HasParams is false when the frame printed no parameter list at all.
	HasParams bool `json:"-"`

	// Offset is the printed offset: from the method start (managed), from the
	// module's image base (rva, and native module+0x…), or from the symbol
	// (native symbol+0x…). HasOffset is false when nothing was printed, which
	// for a managed frame means offset 0.
	Offset    uint64 `json:"offset,omitempty"`
	HasOffset bool   `json:"-"`

	// Module is the module a frame names: `app` in `app!<BaseAddress>+0x…`,
	// `/usr/lib/libfoo.so` in `(/usr/lib/libfoo.so+0x1f50f)`, `libc.so.6` in a gdb
	// frame's `from` part.
	Module string `json:"module,omitempty"`
	// Symbol is the native symbol a frame names, possibly mangled (C++, Rust, Go).
	Symbol string `json:"symbol,omitempty"`
	// Address is an absolute address printed in the frame (gdb's `#3 0x00007f…`).
	Address    uint64 `json:"address,omitempty"`
	HasAddress bool   `json:"-"`

	// File and Line are the source position a lined frame already carries.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}
