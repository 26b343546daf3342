// Package elfindex turns an ELF executable and/or its debug file (DWARF 4 or
// 5, symbol tables) into a compact, versioned index built once, and answers
// address lookups from it with a binary search, never a DWARF parse. It
// serves .NET Native AOT code and native C, C++, Rust and Go code, on x86-64
// and arm64. llvm-symbolizer is the reference for its answers; where they
// differ on purpose, this documentation says so.
//
// # Layers
//
//   - Reading (elffile.go, inspect.go): debug/elf for headers; section
//     contents read with every size checked against the file and Limits,
//     SHF_COMPRESSED (zlib, zstd) and .zdebug_ sections decompressed (one
//     goroutine per section, klauspost/compress) after checking the size
//     their header claims; the symbol table is read meanwhile. Inspect
//     reads only headers and notes: GNU and Go build IDs, architecture,
//     .gnu_debuglink, PIE and the image base from the program headers.
//   - Walking DWARF (dwarfread.go, dwarfwalk.go, lineprog.go): a reader of
//     its own over the abbreviation tables, two goroutines per compile unit
//     (entries, line program) on as many cores as there are. It decodes only
//     the attributes the index uses and skips the others by the size of
//     their form (DWARF 2 to 5: strx, addrx, rnglistx, implicit_const,
//     indirect, …), allocates nothing per entry, and keeps strings as views
//     of the decompressed sections; every offset and size is checked, and a
//     malformed entry is an error naming the section and offset. Values are
//     read as debug/dwarf reads them, which the index was first built on.
//     Line programs run straight into sorted sequences (several per unit),
//     subprograms are named through DW_AT_specification and
//     DW_AT_abstract_origin, and inlined subroutines keep their call file,
//     line and column.
//   - Building (build.go, encode.go, calls.go, x86len.go): the function
//     table (symbols and subprograms radix-sorted by address and merged),
//     rows bounded by function, inline ranges, and the return addresses
//     (a linear sweep of the code with a length decoder of its own on
//     x86-64, checked against llvm-objdump; it runs while the encoder
//     prepares the entries). The encoder works on every core and writes
//     the same bytes whatever their number: entries are prepared in
//     parallel, file IDs and string offsets are given in entry order, the
//     name tables are sorted in parallel and merged, and the records are
//     written in parallel chunks put end to end.
//   - Reading the index (index.go, names.go): Open, Lookup and the rest, as
//     views over the bytes. Open builds a page index over the function
//     starts (at most two pages per function) so that FunctionAt searches
//     a handful of entries; decoded names are kept in a small lock-free
//     cache sized to the index.
//
// # Functions
//
// The function table has one entry per start address, sorted. Entries come
// from the symbol table (.symtab, else .dynsym: FUNC, GNU_IFUNC and NOTYPE
// symbols defined in an executable section, except ARM mapping symbols) and
// from DWARF subprograms with code (one entry per range; a range that does
// not start in an executable section is a discarded function and is left
// out). Symbols and a subprogram starting at the same address make one
// entry, which ends at the largest end any of them gives.
//
//   - Name is the most qualified symbol at the start (sized before size 0,
//     FUNC before NOTYPE, then the longest name: "S_P_CoreLib_…__RhUnbox2"
//     over its export alias "RhUnbox2"), or the DWARF linkage name (else
//     DW_AT_name) without a symbol; Aliases are the other symbols there.
//   - Symbol is the symbol llvm-symbolizer names the function by: the
//     largest, then the last in the symbol table. Answers use it.
//   - A symbol of size 0 (Native AOT's compiler-generated thunks, assembly
//     labels) without a subprogram covers the addresses up to the next
//     entry, the end of its section, or the end of the entry it is nested
//     in, whichever comes first, as llvm-symbolizer reads such symbols.
//   - An entry that starts inside another is nested in it (Parent). FunctionAt
//     returns the innermost entry holding an address. A nested entry without
//     a subprogram of its own (a label) takes its rows and inline ranges from
//     the enclosing function, including the row in force at its start.
//   - From DWARF: LinkageName, ShortName (DW_AT_name: Native AOT's short
//     method name), Class (the enclosing class, structure or namespace names,
//     "::"-joined: Native AOT's mangled type name), DeclFile/DeclLine, and
//     Params: the type names of the formal parameters, in order, printed as
//     C++ does ("String &", "int", "char **"), with the parameters of the
//     declaration when the definition lists none. An artificial parameter
//     (`this`) is not in Params; HasThis marks it. ParamNames holds the
//     parameters' names where DWARF gives them.
//   - Names(i) returns the naming fields alone (Name, Symbol, LinkageName,
//     ShortName, Class, Aliases) without decoding parameters: the cheap
//     first test when matching printed frames against many functions.
//
// # Lookups
//
// Lookup returns the frames at an address, innermost first, like
// llvm-symbolizer --inlines: each inlined subroutine, with its line from the
// line table (innermost) or the call site of the frame inside it (outer
// ones), then the function. Names are not demangled (see Frame).
//
// Rows never leak across functions: the rows stored for a function are those
// that start inside it, so when the row in force at an address starts before
// its function, Answer.NoLine is set and the frame has no file or line.
// llvm-symbolizer answers with the previous function's line there (see
// line_row_before_symbol in testdata/nativeaot/README.md); that difference is
// intended. Where a sequence of the line table ends inside a function, the
// addresses after it have no line either.
//
// A stack frame's address is a return address (look up addr−1) except for
// the leaf frame of a hardware fault (look up addr). When Build is given the
// executable's code, the index records where every call instruction ends
// (x86-64: a linear disassembly of each function; arm64: BL, BLR, BLRAA…),
// and ReturnAddressAt(addr) tells whether the instruction ending at addr is
// a call. Only at the start of a line row does it change the answer.
//
// Addresses are those of the ELF file: address = ImageBase + RVA, where
// RVA = IP − the module's load address. For a PIE or shared library the
// image base is usually 0.
//
// # Index format (version 2)
//
// All integers are little-endian; "uvarint" is encoding/binary's.
//
//	header     magic "AOTSYMIX", version uint32, section count uint32,
//	           total length uint64, 8 reserved bytes
//	directory  per section: name [16]byte (NUL-padded), offset uint64,
//	           length uint64; sections are 8-byte aligned
//
// Sections:
//
//	meta     uvarints and length-prefixed bytes: ELF machine, arch, build ID,
//	         Go build ID, debug link, image base, address base, flags (has
//	         code, 8-byte addresses, lookup-only: Options.LookupOnly left
//	         parameters and classes out), function count, file count, then
//	         counts of rows, inline nodes, symbols and compile units
//	addrs    per function, its start − address base: uint32 (uint64 with
//	         the 8-byte flag); strictly increasing — the one sorted table
//	         a lookup searches
//	funcs    per function: size uint32, offset of its record in fdata uint32
//	fdata    per function, a record (below)
//	params   parameter lists: uvarint count, then per parameter the type and
//	         the name as string refs
//	files    per file ID: offset uint32 and length uint32 in strings; ID 0 is
//	         "no file"
//	names    function names, sorted and front-coded in blocks of 8 (each the
//	         length shared with the previous name and the rest; names.go);
//	         a name is an ID, 1 + its rank, 0 for none. An opened index
//	         keeps recently decoded names in a small lock-free cache
//	strings  other strings (paths, type names), deduplicated; a string ref
//	         is uvarint offset, uvarint length
//	x.NAME   an Extension's bytes
//
// A function record (fdata) is a uvarint of flags and what they announce, in
// this order: the distance back to the enclosing function (fParent); the
// symbol name ID (fSym); aliases: count, IDs, and which of name and aliases
// llvm-symbolizer picks (fAliases); the DWARF identity (fDWARF): the linkage
// name ID unless it is the symbol name (fLinkSame), the short name and the
// class each as 0 (none), 1 + length (a suffix, resp. prefix, of the linkage
// name) or 2 + string ref, the declaration file ID and line, and the
// parameter list's offset (fParams); the STT_FILE name of a local symbol
// (fSymFile); the rows (fRows) and their index (fRowIndex); the inline
// ranges (fInline); the return addresses (fCalls): count and deltas from
// the function start.
//
// Rows are length-prefixed and relative to the function: per row a uvarint
// header (zigzag line delta << 3 | 1 file changes | 2 column changes | 4
// discriminator follows), the uvarint address delta, then the new file ID,
// column and discriminator as flagged. A row with file ID 0 ends the line
// information (an end of sequence inside the function). The row in force at
// an address is the last one starting at or before it. A function of more
// than 24 rows also has a row index: length-prefixed, after every 16th row
// the state there (offset from the function start, offset of the next row
// in the rows, file, line, column, discriminator: six uint32), so that a
// lookup binary-searches it and decodes at most 16 rows. (Readers take
// checkpoints at any spacing; the spacing is the writer's choice.)
//
// Inline ranges are length-prefixed: the uvarint counts of nodes and
// intervals, then two fixed-width tables. Per node nine uint32: the parent
// (1 + index, or 0 for the function), name ID, declaration file and line,
// call file, line, column and discriminator, and 1 + the offset of its
// DW_AT_low_pc (0: none); nodes come parents first. Per interval three
// uint32: start and end as offsets from the function start, and the
// innermost node there; intervals are disjoint and sorted, so a lookup
// binary-searches them and walks the parents.
//
// Open checks the header, the version (ErrVersion), the directory, and the
// bounds and order of the tables; a record that turns out malformed during a
// lookup gives an empty or partial answer, never a panic. Version changes
// with any change to these bytes; a store rebuilds older indexes from the
// files.
//
// # Limits and errors
//
// Every size, count and offset read from a file is checked; decompressed
// sizes and the counts of symbols, functions, rows and inline nodes are
// capped by Limits (documented defaults), and so are the DWARF entries kept
// while indexing, so that memory follows what is indexed rather than what a
// header claims. Errors are *FormatError values
// naming the file, the section, the offset and the problem, wrapped in
// aotsym errors (EINVALID, or ETOOLARGE over a limit). A compile unit that
// cannot be decoded is left out and named in Stats.Warnings.
package elfindex
