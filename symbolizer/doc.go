// Package symbolizer resolves parsed stack traces against the indexes of
// builds: it chooses the build (given, named by a `build-id:` line, chosen
// by tags, or detected by scoring candidate builds), finds each frame's
// function (Native AOT names through symbolizer/dotnet, RVAs, native symbols
// and module offsets), looks the frame's address up in the build's
// elfindex.Index, and answers every frame with a status from
// shared/interface.md.
//
// The pieces:
//
//	Indexer   ELF files to index bytes at upload: elfindex's core index, the
//	          dotnet name table and the direct-call table, as extensions
//	Build     one opened index (OpenBuild): views over its bytes, no DWARF
//	Cache     an LRU of opened builds within a byte budget
//	Source    where builds live: a store (symbolizer/storeindex), or Local
//	Resolver  Symbolicate (a whole input) and ResolveFrame (one frame)
//
// Honesty rules: a frame's line comes only from line rows of the frame's own
// function (never the previous function's, as llvm-symbolizer does where a
// function's first row starts after its first instruction); several matching
// functions are "resolved" only when they all give the same file and line,
// else "ambiguous" with every candidate; a build is detected only when the
// evidence rules out every build of other code (detect.go), else the answer
// is "undecided": no build is named, and frames are answered where every
// remaining build agrees; every answer that is not resolved, or that rests
// on an assumption, says why in plain words.
package symbolizer
