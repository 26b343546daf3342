// Package trace finds the stack frames in whatever text a user pastes and writes
// the trace back with source positions. It knows nothing of ELF, stores or HTTP:
// Parse turns bytes into a Document (frames, the exception tree, build IDs), a
// resolver answers each frame with an aotsym.FrameResult, and the Document
// renders the answers as text or as the JSON document of shared/interface.md.
//
// # Containers
//
// The container is detected, never declared (Document.Format):
//
//   - "text": anything else, parsed line by line.
//   - "cloudwatch": text with Lambda log lines
//     (`2026-11-25T10:15:30.123Z<TAB>request-id<TAB>fail<TAB>message`), also
//     several events pasted together and the CloudWatch console's copied table rows
//     (a timestamp column, then the message). Each prefixed line starts a new event.
//   - "lambda_error": the Lambda error document (`errorType`, `errorMessage`,
//     `stackTrace` as an array of trimmed frames, nested `cause`/`causes`).
//   - "json_events": JSON log events whose strings hold traces (escaped newlines),
//     one per line or as an array.
//   - "aws_logs": the output of `aws logs filter-log-events` / `get-log-events`
//     (an `events` array), and the CloudWatch Logs subscription payload
//     (`logEvents`).
//
// An input is JSON when all of it is a sequence of JSON values; otherwise it is
// text, and a text line whose message is a complete JSON value (a console row of a
// JSON log event, say) is read as JSON. Every JSON string is decoded and read as
// text again, so a trace inside a message inside a message (JSON log events fetched
// with `aws logs`) is found too, down to three levels.
//
// # Frames
//
// A frame is always a whole line (after any container prefix and indentation), or
// one element of a Lambda `stackTrace` array; text that merely contains `at` and
// `+ 0x` is never a frame. The forms, by aotsym.FrameKind:
//
//   - managed: `at Ns.Type.<M>d__7.MoveNext() + 0x19c`, nested and generic types,
//     method generic arguments, explicit interface implementations, parameter names
//     or none, no offset when it is 0;
//   - lined: the same with ` in /path/File.cs:line 42` (JIT traces), native frames
//     that already name a file (gdb `at file.c:12`, sanitizer `file.c:12:3`), and
//     frames this package rendered;
//   - rva: `at app!<BaseAddress>+0x1a2b`;
//   - native: `module+0x1234`, `symbol+0x12` (mangled C++, Rust and Go names),
//     `module!symbol+0x12`, glibc's `./app(main+0x1f) [0x…]`,
//     `(/usr/lib/libfoo.so+0x1f50f)`, sanitizer lines
//     `#1 0x7f… in sym (/usr/lib/libfoo.so+0x1f50f)`, gdb's
//     `#3 0x00007f… in sym () from lib`. A bare `NAME+0x…` names a module when NAME
//     looks like a file (a `/` or `\`, or a `.so`, `.so.N`, `.dll`, `.exe`, `.dylib`,
//     `.dbg` or `.o` name) and a symbol otherwise;
//   - unknown: `at <unknown>`.
//
// # Exceptions
//
// `Type: message` lines (messages may span lines, up to the first frame, structure
// line or blank line), ` ---> Inner: message`, `--- End of inner exception stack
// trace ---`, `(Inner Exception #N)` members ending in `<---`, and the
// `Unhandled exception.` / `Unhandled Exception:` headers build the tree. Paths
// are "0" for the first exception of the input, "0.0" for its inner exception,
// "0.N" for member N of an AggregateException, "1" for the next unrelated
// exception. A header is a qualified type name whose last part ends in
// `Exception`, or any qualified name directly followed by a frame. In a Lambda
// error document `cause` is path P.0 and `causes[i]` P.i; since `cause` repeats
// `causes[0]`, both copies' frames carry the path and the exception lists the
// frames of the first copy.
//
// # Rendering
//
// Document.RenderText returns the input byte for byte, except that every frame
// whose result is "resolved" with a File and a Line is rewritten:
//
//	managed   at Ns.Type.<M>d__7.MoveNext() + 0x19c
//	       -> at Ns.Type.<M>d__7.MoveNext() in /src/OrderService.cs:line 42
//	rva       at app!<BaseAddress>+0xa1d6c
//	       -> at FUNCTION (app!<BaseAddress>+0xa1d6c) in /_/src/…/Task.cs:line 2784
//	native    libfoo.so+0x1f50f        -> FUNCTION (libfoo.so+0x1f50f) in /src/foo.c:line 12
//	sanitizer #1 0x7f… (libfoo.so+0x1f50f) -> #1 0x7f… in FUNCTION (libfoo.so+0x1f50f) in /src/foo.c:line 12
//	gdb       #3 0x00007f… in ?? () from libfoo.so -> #3 0x00007f… in FUNCTION () from libfoo.so in /src/foo.c:line 12
//
// The managed form is the JIT's: the method and parameters as printed, the offset
// replaced by the position. Every other form keeps the printed token and puts the
// function in front of it (FUNCTION is FrameResult.Function, else Symbol; nothing
// when both are empty) and the position after it; a function the line already
// names is not repeated. Whatever follows the frame on its line (the aggregate
// marker `<---`) stays. Frames of any other status, and lined and unknown frames,
// stay byte-identical. Inside JSON the rewrite happens in the decoded string and is
// escaped back (once per level of nesting), so the document stays valid JSON and
// everything outside the rewritten spans is unchanged. A rendered trace parses
// again to the same frames, now lined.
//
// # Limits
//
// Parse rejects inputs over Limits.MaxBytes and inputs with more than
// Limits.MaxFrames frames (or as many exceptions) with an *aotsym.Error of code
// ETOOLARGE. Every scanner is a hand-written single pass: time is linear in the
// input, with no regular expressions.
package trace
