package elfindex

import (
	"bytes"
	"debug/elf"
	"io"

	"github.com/aotsym/aotsym"
)

// Info is what Inspect reads from an ELF file's headers and notes.
type Info struct {
	// BuildID is the GNU build ID note (NT_GNU_BUILD_ID); "" when the file
	// has none.
	BuildID aotsym.BuildID
	// GoBuildID is the Go toolchain's build ID note of a Go binary, "" for
	// other programs.
	GoBuildID string
	// Arch is "x86_64", "aarch64", … (see archName).
	Arch string
	// HasDebug is true for a file with DWARF (.debug_info) or a symbol table
	// (.symtab) worth indexing.
	HasDebug bool
	// HasCode is true when the file's executable sections hold bytes (an
	// executable or library, not an --only-keep-debug file).
	HasCode bool
	// DebugLink is the file name in .gnu_debuglink, DebugLinkCRC its CRC-32.
	DebugLink    string
	DebugLinkCRC uint32
	// PIE is true for a position-independent file (ET_DYN: a PIE executable
	// or a shared library), whose addresses are offsets from its load address.
	PIE bool
	// ImageBase is the unrelocated address of the file's first byte: an
	// address in the file is ImageBase + RVA, where RVA = IP − load address.
	ImageBase uint64
	// Type is the ELF file type (ET_EXEC, ET_DYN, …).
	Type elf.Type
}

// Inspect reads the identity of one ELF file: headers, notes and section
// flags, without reading any debug section. A file that is not ELF gives an
// error wrapping ErrNotELF; errors carry aotsym codes (EINVALID, ETOOLARGE).
func Inspect(r io.ReaderAt, size int64) (Info, error) {
	ef, err := openELF(r, size, "file", Limits{}.withDefaults())
	if err != nil {
		return Info{}, coded(err)
	}
	return ef.info(), nil
}

func (e *elfFile) info() Info {
	f := e.f
	in := Info{
		Arch:      archName(f.Machine),
		PIE:       f.Type == elf.ET_DYN,
		ImageBase: imageBase(f),
		Type:      f.Type,
	}
	e.notes(func(name string, typ uint32, desc []byte) {
		switch {
		case name == "GNU" && typ == ntGNUBuildID && in.BuildID == "" && 2*len(desc) >= aotsym.MinBuildIDHex && 2*len(desc) <= aotsym.MaxBuildIDHex:
			// (A note too short to be a build ID is no build ID: an index
			// must not carry one that Open and the stores refuse.)
			in.BuildID = aotsym.BuildIDFromBytes(desc)
		case name == "Go" && typ == 4 && in.GoBuildID == "" && len(desc) <= 1024:
			in.GoBuildID = string(desc)
		}
	})
	for _, s := range f.Sections {
		switch {
		case s.Name == ".debug_info" || s.Name == ".zdebug_info":
			in.HasDebug = in.HasDebug || hasData(s)
		case s.Type == elf.SHT_SYMTAB:
			in.HasDebug = in.HasDebug || (hasData(s) && s.FileSize > 2*s.Entsize)
		case s.Name == ".gnu_debuglink" && hasData(s) && s.FileSize <= 4096 && s.Flags&elf.SHF_COMPRESSED == 0:
			if b, err := e.data(s); err == nil {
				if i := bytes.IndexByte(b, 0); i > 0 {
					in.DebugLink = string(b[:i])
					if crcOff := (i + 4) &^ 3; crcOff+4 <= len(b) {
						in.DebugLinkCRC = f.ByteOrder.Uint32(b[crcOff:])
					}
				}
			}
		}
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type == elf.SHT_PROGBITS && s.FileSize > 0 {
			in.HasCode = true
		}
	}
	return in
}

// ntGNUBuildID is the note type of the GNU build ID (owner "GNU").
const ntGNUBuildID = 3
