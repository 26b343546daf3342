package elfindex

import (
	"debug/elf"
	"os/exec"
	"strings"
	"testing"

	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/internal/testenv"
)

// TestX86SweepAgainstObjdump: the linear sweep with x86Len finds exactly
// the instruction starts and the calls llvm-objdump finds, in every symbol
// block of real x86-64 code: the corpus executables (Native AOT managed
// code and runtime) and the compiled C, C++, Rust and Go programs (Go's
// runtime has VEX-encoded AVX2).
func TestX86SweepAgainstObjdump(t *testing.T) {
	objdump := testenv.Tool(t, "llvm-objdump", "apt-get install llvm")
	var bins []string
	ms, err := corpus.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Build.Machine == "x86_64" {
			bins = append(bins, m.Executable())
		}
	}
	for _, b := range compileNative(t) {
		switch b.name {
		case "c-O2", "cpp-O2", "rust-release", "go":
			bins = append(bins, b.exe)
		}
	}
	var total int
	for _, bin := range bins {
		out, err := exec.Command(objdump, "-d", "--no-show-raw-insn", bin).Output()
		if err != nil {
			t.Fatalf("llvm-objdump %s: %v", bin, err)
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		insts, calls, bad := compareSweep(t, f, objdumpBlocks(string(out)))
		f.Close()
		t.Logf("%s: %d instructions, %d calls, %d differences", bin, insts, calls, bad)
		if insts < 500 || calls < 20 {
			t.Errorf("%s: only %d instructions and %d calls compared", bin, insts, calls)
		}
		total += insts
	}
	t.Logf("%d instructions in all", total)
}

// objdumpBlock is the instructions llvm-objdump lists under one label.
type objdumpBlock struct {
	addrs []uint64
	mnems []string
}

// objdumpBlocks parses llvm-objdump -d --no-show-raw-insn. A prefix it
// prints on a line of its own (lock, rep, …) starts the instruction of the
// next line. A block listed as raw bytes (data in a code section, as in a
// Go binary's .plt) is left out.
func objdumpBlocks(out string) []*objdumpBlock {
	var blocks []*objdumpBlock
	var cur *objdumpBlock
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasSuffix(line, ">:"):
			cur = &objdumpBlock{}
			blocks = append(blocks, cur)
			continue
		case strings.HasPrefix(line, "Disassembly of section"):
			cur = nil
			continue
		}
		addr, mnem, ok := objdumpInstruction(line)
		if !ok || cur == nil {
			continue
		}
		if len(mnem) == 2 && strings.Trim(mnem, "0123456789abcdef") == "" {
			cur.addrs, cur.mnems = nil, nil // raw bytes: not disassembled
			cur = nil
			continue
		}
		if n := len(cur.mnems); n > 0 && isPrefixMnemonic(cur.mnems[n-1]) {
			cur.mnems[n-1] = mnem
			continue
		}
		cur.addrs = append(cur.addrs, addr)
		cur.mnems = append(cur.mnems, mnem)
	}
	return blocks
}

func isPrefixMnemonic(m string) bool {
	switch m {
	case "lock", "rep", "repe", "repz", "repne", "repnz", "data16", "data32", "addr32", "rex", "rex64",
		"cs", "ds", "es", "fs", "gs", "ss", "notrack", "xacquire", "xrelease", "bnd":
		return true
	}
	return strings.HasPrefix(m, "rex.")
}

// compareSweep sweeps every block as callEnds does and compares the
// instruction starts and the ends of calls with llvm-objdump's.
func compareSweep(t *testing.T, f *elf.File, blocks []*objdumpBlock) (insts, calls, bad int) {
	t.Helper()
	for bi, b := range blocks {
		if len(b.addrs) == 0 {
			continue
		}
		start := b.addrs[0]
		var sec *elf.Section
		for _, s := range f.Sections {
			if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type == elf.SHT_PROGBITS && start >= s.Addr && start < s.Addr+s.Size {
				sec = s
			}
		}
		if sec == nil {
			continue
		}
		data, err := sec.Data()
		if err != nil {
			t.Fatal(err)
		}
		end := sec.Addr + uint64(len(data))
		if bi+1 < len(blocks) && len(blocks[bi+1].addrs) > 0 && blocks[bi+1].addrs[0] > start && blocks[bi+1].addrs[0] < end {
			end = blocks[bi+1].addrs[0]
		}
		code := data[start-sec.Addr : end-sec.Addr]
		starts := make(map[uint64]bool)
		for off := 0; off < len(code); {
			starts[start+uint64(off)] = true
			n, _ := x86Len(code[off:])
			off += max(n, 1)
		}
		got := make(map[uint64]bool)
		for _, a := range callEnds(elf.EM_X86_64, code, start, nil) {
			got[a] = true
		}
		want := make(map[uint64]bool)
		for k, a := range b.addrs {
			insts++
			if !starts[a] {
				bad++
				if bad <= 10 {
					t.Errorf("%#x: llvm-objdump starts %s here, the sweep does not", a, b.mnems[k])
				}
			}
			if isCallMnemonic(b.mnems[k]) {
				calls++
				next := end
				if k+1 < len(b.addrs) {
					next = b.addrs[k+1]
				}
				want[next] = true
				if !got[next] {
					bad++
					if bad <= 10 {
						t.Errorf("%#x: the call at %#x is not found", next, a)
					}
				}
			}
		}
		for a := range got {
			if !want[a] {
				bad++
				if bad <= 10 {
					t.Errorf("%#x: the sweep finds a call ending here, llvm-objdump does not", a)
				}
			}
		}
	}
	return insts, calls, bad
}

// TestX86LenEncodings pins the lengths of encodings the corpus may lack.
func TestX86LenEncodings(t *testing.T) {
	for _, c := range []struct {
		hex  string
		n    int
		call bool
	}{
		{"e8 00 00 00 00", 5, true},                  // call rel32
		{"ff d0", 2, true},                           // call *%rax
		{"41 ff 14 24", 4, true},                     // call *(%r12)
		{"3e ff 15 00 00 00 00", 7, true},            // notrack call *(%rip)
		{"ff 1c 25 00 00 00 00", 7, true},            // lcall *0
		{"ff e0", 2, false},                          // jmp *%rax
		{"48 b8 01 02 03 04 05 06 07 08", 10, false}, // movabs $imm64, %rax
		{"66 b8 01 02", 4, false},                    // mov $imm16, %ax
		{"a1 00 00 00 00 00 00 00 00", 9, false},     // movabs moffs64, %eax
		{"67 a1 00 00 00 00", 6, false},              // mov moffs32 (addr32)
		{"f6 c0 01", 3, false},                       // test $1, %al
		{"f7 c0 01 00 00 00", 6, false},              // test $1, %eax
		{"f7 d0", 2, false},                          // not %eax
		{"66 f7 c0 01 00", 5, false},                 // test $1, %ax
		{"c8 10 00 01", 4, false},                    // enter
		{"0f 1f 84 00 00 00 00 00", 8, false},        // nopl 0(%rax,%rax)
		{"f3 0f 1e fa", 4, false},                    // endbr64
		{"c5 fc 77", 3, false},                       // vzeroall
		{"c5 f8 77", 3, false},                       // vzeroupper
		{"c4 e2 7d 18 05 00 00 00 00", 9, false},     // vbroadcastss (%rip), %ymm0
		{"c4 e3 7d 18 c1 01", 6, false},              // vinsertf128 $1
		{"c5 fd 70 c0 1b", 5, false},                 // vpshufd $0x1b
		{"62 f1 7c 48 10 05 00 00 00 00", 10, false}, // vmovups (%rip), %zmm0
		{"62 f3 fd 48 3e c1 00", 7, false},           // vpcmpuq $0, %zmm1, %zmm0, %k0
		{"66 0f 3a 0f c1 08", 6, false},              // palignr $8
		{"66 0f 38 00 c1", 5, false},                 // pshufb
		{"0f 0f c1 b4", 4, false},                    // 3DNow! pfadd
		{"8f e8 78 c2 c1 05", 6, false},              // XOP vprotb $5
		{"8f c0", 2, false},                          // pop %rax
		{"66 0f 78 c1 02 03", 6, false},              // extrq $2, $3
		{"c7 f8 00 00 00 00", 6, false},              // xbegin rel32
		{"f0 48 0f c1 10", 5, false},                 // lock xadd
		{"06", 0, false},                             // push %es: not in 64-bit mode
		{"9a 00 00 00 00 00 00", 0, false},           // lcall ptr16:32: not in 64-bit mode
		{"e8 00 00", 0, false},                       // cut off
		{"66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 15, false},
		{"66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", 0, false}, // 16 bytes
	} {
		code := hexBytes(t, c.hex)
		n, call := x86Len(code)
		if n != c.n || call != c.call {
			t.Errorf("% x: length %d, call %v; want %d, %v", code, n, call, c.n, c.call)
		}
	}
}

func hexBytes(t *testing.T, s string) []byte {
	var out []byte
	for _, f := range strings.Fields(s) {
		var b byte
		for _, c := range f {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				b |= byte(c - 'a' + 10)
			default:
				t.Fatalf("bad hex %q", s)
			}
		}
		out = append(out, b)
	}
	return out
}

// FuzzX86Len: any bytes give a length within them and within 15 bytes, or
// 0, and never a panic.
func FuzzX86Len(f *testing.F) {
	for _, s := range []string{"e8 00 00 00 00", "c4 e2 7d 18 05 00 00 00 00", "62 f1 7c 48 10 05 00 00 00 00", "f0 48 0f c1 10", "0f 38", "8f e8"} {
		f.Add(hexBytes(&testing.T{}, s))
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		n, _ := x86Len(code)
		if n < 0 || n > len(code) || n > 15 {
			t.Fatalf("% x: length %d", code, n)
		}
	})
}
