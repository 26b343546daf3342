// Package elftest rewrites real ELF files into the inputs that tests and
// benchmarks need and that no compiler writes on demand.
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// ManySymbols returns a copy of a little-endian ELF64 file whose .symtab is
// replaced by n real function symbols, appended at the end of the file: names
// taken in turn from the file's own symbol table, 16 bytes each, at addresses
// spread over .text (so most addresses carry several symbols). It is the
// reliability tests' "3 million real symbols" upload, and the benchmarks'
// measure of the cost per symbol.
func ManySymbols(data []byte, n int) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if f.Class != elf.ELFCLASS64 || f.ByteOrder != binary.LittleEndian {
		return nil, errors.New("not a little-endian ELF64 file")
	}
	symtab, text := f.Section(".symtab"), f.Section(".text")
	if symtab == nil || text == nil || text.Size <= 16 {
		return nil, errors.New("the file has no .symtab or no .text")
	}
	old, err := symtab.Data()
	if err != nil {
		return nil, fmt.Errorf(".symtab: %w", err)
	}
	oldN := len(old) / 24
	if oldN < 2 {
		return nil, errors.New(".symtab holds no symbol to take names from")
	}
	textIndex, symIndex := -1, -1
	for i, s := range f.Sections {
		switch s {
		case text:
			textIndex = i
		case symtab:
			symIndex = i
		}
	}
	le := binary.LittleEndian
	out := bytes.Clone(data)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	at := len(out)
	out = append(out, make([]byte, 24*(n+1))...)
	for i := 1; i <= n; i++ {
		s := out[at+24*i:]
		le.PutUint32(s, le.Uint32(old[24*(1+i%(oldN-1)):]))
		s[4] = byte(elf.STB_GLOBAL)<<4 | byte(elf.STT_FUNC)
		le.PutUint16(s[6:], uint16(textIndex))
		le.PutUint64(s[8:], text.Addr+uint64(i*16)%(text.Size-16))
		le.PutUint64(s[16:], 16)
	}
	h := int(le.Uint64(data[40:])) + symIndex*int(le.Uint16(data[58:]))
	le.PutUint64(out[h+24:], uint64(at))
	le.PutUint64(out[h+32:], uint64(24*(n+1)))
	le.PutUint32(out[h+44:], 1) // sh_info: the first global
	return out, nil
}
