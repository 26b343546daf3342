package storetest

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/store"
)

// Indexer is a store.Indexer for tests. It reads real ELF files with
// debug/elf (build ID note, machine, which sections are present) and builds
// deterministic index bytes derived from the whole content of the files it is
// given, so that a test can rebuild the expected index from the original
// files and compare byte for byte: a stored index that lost, reordered or
// corrupted a byte, or was built from the wrong files, does not match.
//
// The index is a text header naming the version and each file's SHA-256 and
// size, followed by Size/Ratio bytes of a SHA-256 counter stream seeded by the
// header, so that a big upload gives an index big enough to be chunked.
type Indexer struct {
	version atomic.Int64
	builds  atomic.Int64
	// Ratio is file bytes per index byte; 0 means 16.
	Ratio int64
}

// NewIndexer returns an Indexer writing format version 1.
func NewIndexer() *Indexer {
	ix := &Indexer{}
	ix.version.Store(1)
	return ix
}

// Version returns the format version Build writes.
func (ix *Indexer) Version() int { return int(ix.version.Load()) }

// SetVersion changes the version, as a new release of the real indexer would.
func (ix *Indexer) SetVersion(v int) { ix.version.Store(int64(v)) }

// Builds returns how many indexes Build has built.
func (ix *Indexer) Builds() int { return int(ix.builds.Load()) }

// Inspect reads the identity of an ELF file.
func (ix *Indexer) Inspect(r io.ReaderAt, size int64) (store.ELFInfo, error) {
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		return store.ELFInfo{}, aotsym.Errorf(aotsym.EINVALID, "not a readable ELF file: %v", err)
	}
	var info store.ELFInfo
	info.Arch = Arch(f.Machine)
	for _, s := range f.Sections {
		switch {
		case s.Type == elf.SHT_NOTE && info.BuildID == "":
			if id, ok := buildIDNote(s, f.ByteOrder); ok {
				info.BuildID = id
			}
		case s.Flags&elf.SHF_EXECINSTR != 0 && s.Type != elf.SHT_NOBITS && s.Size > 0:
			info.HasCode = true
		case s.Name == ".debug_info" || s.Name == ".symtab":
			info.HasDebug = info.HasDebug || s.Type != elf.SHT_NOBITS
		}
	}
	if info.BuildID == "" {
		return info, aotsym.Errorf(aotsym.EINVALID, "the ELF file has no GNU build ID note")
	}
	return info, nil
}

// buildIDNote reads an NT_GNU_BUILD_ID note from a note section, reading at
// most 4 KiB of it.
func buildIDNote(s *elf.Section, bo binary.ByteOrder) (aotsym.BuildID, bool) {
	n := s.Size
	if n > 4096 {
		n = 4096
	}
	b := make([]byte, n)
	if _, err := s.ReadAt(b, 0); err != nil && err != io.EOF {
		return "", false
	}
	for len(b) >= 12 {
		namesz, descsz, typ := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		nameEnd := 12 + align4(uint64(namesz))
		descEnd := nameEnd + align4(uint64(descsz))
		if descEnd > uint64(len(b)) {
			return "", false
		}
		if typ == 3 && namesz == 4 && string(b[12:16]) == "GNU\x00" && descsz > 0 {
			return aotsym.BuildIDFromBytes(b[nameEnd : nameEnd+uint64(descsz)]), true
		}
		b = b[descEnd:]
	}
	return "", false
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// Arch names an ELF machine the way aotsym.Build.Arch does.
func Arch(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "arm"
	}
	return strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))
}

// Build builds the index of a build from its debug file and/or executable.
func (ix *Indexer) Build(ctx context.Context, debugFile, exe store.SizedReaderAt) (store.IndexResult, error) {
	if debugFile == nil && exe == nil {
		return store.IndexResult{}, fmt.Errorf("storetest: Build without files")
	}
	ix.builds.Add(1)
	var head strings.Builder
	fmt.Fprintf(&head, "aotsym-storetest-index\nversion %d\n", ix.Version())
	var res store.IndexResult
	var total int64
	for _, in := range []struct {
		kind aotsym.FileKind
		r    store.SizedReaderAt
	}{{aotsym.FileDebug, debugFile}, {aotsym.FileExecutable, exe}} {
		if in.r == nil {
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(in.r, 0, in.r.Size())); err != nil {
			return store.IndexResult{}, fmt.Errorf("storetest: reading the %s: %w", in.kind, err)
		}
		if err := ctx.Err(); err != nil {
			return store.IndexResult{}, err
		}
		fmt.Fprintf(&head, "%s %x %d\n", in.kind, h.Sum(nil), in.r.Size())
		total += in.r.Size()
		if f, err := elf.NewFile(io.NewSectionReader(in.r, 0, in.r.Size())); err == nil {
			if s := f.Section(".symtab"); s != nil && s.Entsize > 0 && res.Functions == 0 {
				res.Functions = int(s.Size / s.Entsize)
			}
			if in.kind == aotsym.FileExecutable {
				for _, s := range f.Sections {
					if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type != elf.SHT_NOBITS && s.Size > 0 {
						res.HasCode = true
					}
				}
			}
		}
	}
	ratio := ix.Ratio
	if ratio <= 0 {
		ratio = 16
	}
	data := make([]byte, 0, int64(head.Len())+total/ratio)
	data = append(data, head.String()...)
	seed := sha256.Sum256(data)
	var ctr [8]byte
	for i := uint64(0); int64(len(data)) < int64(head.Len())+total/ratio; i++ {
		binary.LittleEndian.PutUint64(ctr[:], i)
		block := sha256.Sum256(append(seed[:], ctr[:]...))
		need := int64(head.Len()) + total/ratio - int64(len(data))
		if need < int64(len(block)) {
			data = append(data, block[:need]...)
		} else {
			data = append(data, block[:]...)
		}
	}
	res.Data = data
	return res, nil
}

// IndexHeader returns the text header of an index built by Indexer: its
// version and the files it was built from, for checks and messages.
func IndexHeader(data []byte) string {
	var out strings.Builder
	for rest := string(data); ; {
		line, tail, ok := strings.Cut(rest, "\n")
		if !ok || !(line == "aotsym-storetest-index" || strings.HasPrefix(line, "version ") ||
			strings.HasPrefix(line, string(aotsym.FileDebug)+" ") || strings.HasPrefix(line, string(aotsym.FileExecutable)+" ")) {
			return out.String()
		}
		out.WriteString(line + "\n")
		rest = tail
	}
}

// Hash returns the hex SHA-256 of b, for comparing big byte slices in
// messages.
func Hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
