#!/usr/bin/env python3
"""Builds and verifies the manifests (cases.json) of the Native AOT fixture corpus.

Everything here works from committed files and needs no .NET: the scenario
outputs the program printed, the stripped executable and its .dbg, and the
JIT run's outputs. The external oracles are llvm-symbolizer (function, file and
line for an address) and llvm-objdump (whether a frame's address follows a call
instruction); the ELF symbol table and notes are read here directly.

Commands:
  build DIR                 write DIR/cases.json and DIR/cloudwatch-constructed/
  verify DIR [--no-run]     run DIR's executable for every scenario, compare its
                            output byte for byte, check build IDs, and recompute
                            cases.json and the CloudWatch samples and compare
  write-build-info DIR ...  record how DIR was built (used by generate.sh)
  stats DIR...              a Markdown table of sizes, symbols, DWARF and agreement
  assets-version FILE TFM RID  print the ILCompiler version a project.assets.json restored
"""

import argparse
import bisect
import difflib
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import struct
import subprocess
import sys
import uuid

SCHEMA_VERSION = 1
EDI_BOUNDARY = "--- End of stack trace from previous location ---"
# Exceptions the runtime raises from a hardware fault (SIGSEGV / SIGFPE).
FAULT_EXCEPTIONS = {"System.NullReferenceException", "System.DivideByZeroException"}
RUN_TIMEOUT_SECONDS = 60


class CorpusError(Exception):
    """A fixture is inconsistent; the message says which file and what to do."""


# ---------------------------------------------------------------- ELF reading

class Elf:
    """The parts of an ELF64 little-endian file the manifest needs."""

    MACHINES = {62: "x86_64", 183: "aarch64"}

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise CorpusError(f"{path}: not a 64-bit little-endian ELF file")
        (self.e_type, self.e_machine) = struct.unpack_from("<HH", d, 16)
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", d, 32)
        (self.phentsize, self.phnum, self.shentsize, self.shnum, self.shstrndx) = \
            struct.unpack_from("<HHHHH", d, 54)
        self.sections = []
        for i in range(self.shnum):
            off = self.shoff + i * self.shentsize
            (name, typ, flags, addr, offset, size, link, info, align, entsize) = \
                struct.unpack_from("<IIQQQQIIQQ", d, off)
            self.sections.append(dict(name_off=name, type=typ, flags=flags, addr=addr,
                                      offset=offset, size=size, link=link, entsize=entsize))
        if self.sections and self.shstrndx < len(self.sections):
            names = self.sections[self.shstrndx]
            for s in self.sections:
                s["name"] = self._cstr(names["offset"] + s["name_off"])

    @property
    def machine(self):
        return self.MACHINES.get(self.e_machine, f"e_machine={self.e_machine}")

    def _cstr(self, off):
        end = self.data.index(b"\0", off)
        return self.data[off:end].decode("utf-8", "replace")

    def build_id(self):
        """The NT_GNU_BUILD_ID note, from the section (present in both files)."""
        for s in self.sections:
            if s["type"] != 7:  # SHT_NOTE
                continue
            if s["offset"] + s["size"] > len(self.data):
                continue  # NOBITS-like copy in a .dbg
            notes = self.data[s["offset"]:s["offset"] + s["size"]]
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, typ = struct.unpack_from("<III", notes, pos)
                name_end = pos + 12 + ((namesz + 3) & ~3)
                desc_end = name_end + ((descsz + 3) & ~3)
                if typ == 3 and notes[pos + 12:pos + 12 + namesz] == b"GNU\0":
                    return notes[name_end:name_end + descsz].hex()
                pos = desc_end
        return None

    def code_symbols(self):
        """Symbols in executable sections, sorted by address: (start, size, name)."""
        out = []
        for s in self.sections:
            if s["type"] != 2:  # SHT_SYMTAB
                continue
            strtab = self.sections[s["link"]]
            for i in range(s["size"] // 24):
                off = s["offset"] + i * 24
                name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", self.data, off)
                if shndx == 0 or shndx >= len(self.sections):
                    continue
                if not self.sections[shndx]["flags"] & 0x4:  # SHF_EXECINSTR
                    continue
                if info & 0xF not in (0, 2):  # STT_NOTYPE, STT_FUNC
                    continue
                out.append((value, size, self._cstr(strtab["offset"] + name)))
        out.sort()
        return out


def _most_qualified(same):
    """Of symbols at one address, the longest name (the mangled, fully qualified one:
    S_P_CoreLib_..._RhUnbox2 over the bare export RhUnbox2); the others are aliases."""
    same = sorted(same, key=lambda s: (-len(s[2]), s[2]))
    return same[0], [s[2] for s in same[1:]]


class SymbolIndex:
    """Finds the symbol that contains an address; aliases share a start address."""

    def __init__(self, symbols):
        self.unsized = [s for s in symbols if s[1] == 0]
        self.unsized_starts = [s[0] for s in self.unsized]
        self.symbols = [s for s in symbols if s[1] > 0]
        self.starts = [s[0] for s in self.symbols]

    def nearest_unsized(self, addr):
        """The closest symbol of size 0 at or below addr (startup code has only those)."""
        i = bisect.bisect_right(self.unsized_starts, addr) - 1
        if i < 0:
            return (None, None, None), []
        return _most_qualified([s for s in self.unsized if s[0] == self.unsized[i][0]])

    # How far back to look for a symbol that holds an address: symbols nest rarely and
    # shallowly (an alias, a local label), never across hundreds of others.
    LOOK_BACK = 256

    def containing(self, addr):
        """The sized symbol whose [start, start + size) holds addr, the one with the
        latest start when several do; namesakes at that start become aliases."""
        i = bisect.bisect_right(self.starts, addr) - 1
        for j in range(i, max(-1, i - self.LOOK_BACK), -1):
            start, size, _ = self.symbols[j]
            if addr < start + size:
                same = [s for s in self.symbols[max(0, j - self.LOOK_BACK):i + 1]
                        if s[0] == start and addr < s[0] + s[1]]
                return _most_qualified(same)
        return (None, None, None), []


# ---------------------------------------------------------------- program output

FRAME_RE = re.compile(r'^frame (\d+) rva=(\S+) file=(.*?) text="(.*)"$')
EXC_RE = re.compile(r'^exception (\S+) (\S+) message="(.*)"$')
TRACE_RE = re.compile(r'^stack-trace "(.*)"$')


def unescape(s):
    return json.loads('"' + s + '"')


def parse_report(text, origin):
    """Parses one scenario's stdout (see TraceReport.cs for the format)."""
    lines = text.split("\n")
    head = {}
    i = 0
    while i < len(lines) and not lines[i].startswith("=== "):
        key, _, value = lines[i].partition(": ")
        head[key] = value
        i += 1
    if i >= len(lines) or lines[i] != "=== Exception.ToString() ===":
        raise CorpusError(f"{origin}: no '=== Exception.ToString() ===' block; "
                          "was the scenario output truncated?")
    try:
        frames_at = lines.index("=== frames ===", i)
        end_at = lines.index("=== end ===", frames_at)
    except ValueError:
        raise CorpusError(f"{origin}: the report is missing '=== frames ===' or '=== end ==='")
    tostring = "\n".join(lines[i + 1:frames_at])
    exceptions = []
    for n, line in enumerate(lines[frames_at + 1:end_at], frames_at + 2):
        if m := EXC_RE.match(line):
            exceptions.append(dict(path=m[1], type=m[2], message=unescape(m[3]),
                                   stack_trace=None, frames=[]))
        elif m := TRACE_RE.match(line):
            exceptions[-1]["stack_trace"] = unescape(m[1])
        elif m := FRAME_RE.match(line):
            file_line = None
            if m[3] != "-":
                path, _, ln = m[3].rpartition(":")
                file_line = (path, int(ln))
            exceptions[-1]["frames"].append(dict(
                index=int(m[1]), rva=None if m[2] == "-" else int(m[2], 16),
                source=file_line, text=unescape(m[4])))
        else:
            raise CorpusError(f"{origin}:{n}: unexpected line in the frames block: {line!r}")
    return dict(head=head, tostring=tostring, exceptions=exceptions,
                rest="\n".join(lines[end_at + 1:]))


def printed_lines(exc, origin):
    """Ties each frame to its line in the exception's StackTrace text.

    Returns, per frame, the printed line (None for a hidden frame) and whether an
    ExceptionDispatchInfo boundary line follows it. Fails unless joining the
    frames' texts reproduces the StackTrace property exactly.
    """
    out = []
    pieces = []
    for f in exc["frames"]:
        text = f["text"]
        if not text:
            out.append((None, False))
            continue
        parts = text.split("\n")
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != EDI_BOUNDARY):
            raise CorpusError(f"{origin}: frame {f['index']} text has unexpected lines: {text!r}")
        out.append((parts[0], len(parts) == 2))
        pieces.append(text)
    joined = "\n".join(pieces)
    if joined != (exc["stack_trace"] or ""):
        raise CorpusError(
            f"{origin}: exception {exc['path']}: the frames' texts do not add up to its "
            f"StackTrace property; the oracle cannot tie printed lines to addresses.\n"
            f"frames: {joined!r}\nproperty: {exc['stack_trace']!r}")
    return out


OFFSET_RE = re.compile(r"^   at (?P<method>.+) \+ 0x(?P<off>[0-9a-f]+)$")
BASEADDR_RE = re.compile(r"^   at (?P<module>[^!\s]+)!<BaseAddress>\+0x(?P<rva>[0-9a-f]+)$")
JIT_RE = re.compile(r"^   at (?P<method>.+?)(?P<suffix> in (?P<file>.+):line (?P<line>\d+))?$")


# ---------------------------------------------------------------- method-name keys

def split_top(s, sep):
    """Splits s on sep outside <>, [] and () brackets."""
    parts, depth, cur = [], 0, ""
    i = 0
    while i < len(s):
        c = s[i]
        if c in "<[(":
            depth += 1
        elif c in ">])":
            depth -= 1
        if depth == 0 and s.startswith(sep, i):
            parts.append(cur)
            cur = ""
            i += len(sep)
            continue
        cur += c
        i += 1
    parts.append(cur)
    return parts


def method_key(method):
    """(name, parameter types) of a printed method, for matching JIT and AOT frames.

    Parameter names are dropped (the JIT prints them, Native AOT mostly does not).
    A compiler-generated state machine's MoveNext (async methods, iterators) is
    keyed by the method it was generated from, with parameters unknown (None),
    because the JIT prints that method instead: `T.<M>d__3.MoveNext()` (AOT) and
    `T.M(String x)` or `T.M(String x)+MoveNext()` (JIT) both give ('T.M', None).
    """
    if method.endswith("+MoveNext()"):
        head = method[:-len("+MoveNext()")]
        name = head[:head.index("(")] if "(" in head else head
        return name, None
    paren = _outer_paren(method)
    name, params = (method[:paren], method[paren + 1:-1]) if paren >= 0 else (method, "")
    parts = split_top(name, ".")
    if len(parts) >= 2 and parts[-1] == "MoveNext":
        m = re.fullmatch(r"<(.+)>d(__\d+)?", parts[-2])
        if m:
            return ".".join(parts[:-2] + [m[1]]), None
    types = tuple(p.strip().split(" ")[0] for p in split_top(params, ",") if p.strip())
    return name, types


def _outer_paren(method):
    """Index of the '(' that opens the parameter list (the last top-level one)."""
    depth = 0
    for i in range(len(method) - 1, -1, -1):
        c = method[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1


def keys_match(a, b):
    return a[0] == b[0] and (a[1] is None or b[1] is None or a[1] == b[1])


def align(aot, jit):
    """Longest common subsequence of two key lists; returns {aot_index: jit_index}."""
    n, m = len(aot), len(jit)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if keys_match(aot[i], jit[j]):
                best[i][j] = best[i + 1][j + 1] + 1
            else:
                best[i][j] = max(best[i + 1][j], best[i][j + 1])
    pairs, i, j = {}, 0, 0
    while i < n and j < m:
        if keys_match(aot[i], jit[j]) and best[i][j] == best[i + 1][j + 1] + 1:
            pairs[i] = j
            i += 1
            j += 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


# ---------------------------------------------------------------- external oracles

def run_tool(args, stdin=None):
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CorpusError(f"{args[0]} is not installed; install Debian's llvm package "
                          "(apt-get install llvm)")
    if p.returncode != 0:
        raise CorpusError(f"{' '.join(args[:3])}... failed ({p.returncode}): {p.stderr.strip()[:500]}")
    return p.stdout


def tool_version(name):
    out = run_tool([name, "--version"])
    for line in out.splitlines():
        if "version" in line.lower():
            return line.strip()
    return out.strip().splitlines()[0]


def symbolize(dbg, addresses):
    """llvm-symbolizer's answer for each address: a list of frames (innermost first)."""
    if not addresses:
        return {}
    uniq = sorted(set(addresses))
    out = run_tool(["llvm-symbolizer", f"--obj={dbg}", "--output-style=JSON", "--inlines"],
                   stdin="".join(f"0x{a:x}\n" for a in uniq))
    answers = {}
    for line, addr in zip(out.splitlines(), uniq):
        doc = json.loads(line)
        if int(doc["Address"], 16) != addr:
            raise CorpusError(f"llvm-symbolizer answered for {doc['Address']}, expected 0x{addr:x}")
        answers[addr] = [dict(function=s["FunctionName"], file=s["FileName"],
                              line=s["Line"], column=s["Column"]) for s in doc["Symbol"]]
    return answers


ROW_RE = re.compile(r"^0x([0-9a-f]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s*(.*)$")


class LineRows:
    """The DWARF line table as address intervals, to tell which row an answer came from.

    llvm-symbolizer answers with the row whose interval holds the address; when that
    row starts before the function's symbol (a function without a row at its start,
    in one long sequence), the answer describes the previous function's code.
    """

    def __init__(self, dbg):
        out = run_tool(["llvm-dwarfdump", "--debug-line", dbg])
        starts, rows = [], []
        prev = None
        for line in out.splitlines():
            m = ROW_RE.match(line)
            if not m:
                continue
            addr, flags = int(m[1], 16), m[5]
            if prev is not None and addr > prev[0]:
                starts.append(prev[0])
                rows.append((prev[0], addr, prev[1]))
            prev = None if "end_sequence" in flags else (addr, int(m[2]))
        order = sorted(range(len(starts)), key=starts.__getitem__)
        self.starts = [starts[i] for i in order]
        self.rows = [rows[i] for i in order]

    def row_for(self, addr):
        """(row start, line) of the row whose interval holds addr, or None."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.rows[i][0] <= addr < self.rows[i][1]:
            return self.rows[i][0], self.rows[i][2]
        return None


INSN_RE = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")


class Disassembly:
    """llvm-objdump's instructions of the executable, one run per symbol: frames that
    fall in the same method (Main, recursion, shared callers) reuse it."""

    def __init__(self, exe, machine):
        self.exe, self.machine = exe, machine
        self.runs = {}  # symbol start -> (stop address, [(address, instruction text)])

    def _instructions(self, start, stop):
        cached = self.runs.get(start)
        if cached is None or cached[0] < stop:
            out = run_tool(["llvm-objdump", "-d", "--no-show-raw-insn",
                            f"--start-address=0x{start:x}", f"--stop-address=0x{stop:x}", self.exe])
            insns = [(int(m[1], 16), " ".join(m[2].split()))
                     for m in map(INSN_RE.match, out.splitlines()) if m]
            cached = self.runs[start] = (stop, insns)
        return cached[1]

    def before_and_at(self, sym_start, sym_size, addr):
        """(instruction ending at addr, instruction at addr), disassembling from the
        symbol's start: through its end, or past addr for a symbol of size 0."""
        insns = self._instructions(sym_start, max(sym_start + sym_size, addr) + 16)
        for k, (a, text) in enumerate(insns):
            if a == addr:
                return (insns[k - 1][1] if k > 0 else None), text
        if self.machine == "x86_64":
            raise CorpusError(f"{self.exe}: 0x{addr:x} is not an instruction boundary when "
                              f"disassembling from 0x{sym_start:x}")
        return None, None


def is_call(insn, machine):
    if insn is None:
        return False
    mnemonic = insn.split(" ")[0]
    if machine == "aarch64":
        return mnemonic in ("bl", "blr")
    return mnemonic.startswith("call")


# ---------------------------------------------------------------- the manifest

def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not UTF-8 ({e})")


def scenario_names(variant_dir):
    names = sorted(n[:-len(".stdout")] for n in os.listdir(os.path.join(variant_dir, "out"))
                   if n.endswith(".stdout") and n != "list.stdout")
    if not names:
        raise CorpusError(f"{variant_dir}/out has no scenario outputs; run generate.sh")
    return names


def hx(n):
    return None if n is None else f"0x{n:x}"


def request_id(variant, scenario):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"aotsym:{variant}:{scenario}"))


def build_manifest(variant_dir):
    info = load_json(os.path.join(variant_dir, "build-info.json"))
    exe_path = os.path.join(variant_dir, info["executable"])
    dbg_path = os.path.join(variant_dir, info["debug_file"])
    exe, dbg = Elf(exe_path), Elf(dbg_path)
    index = SymbolIndex(dbg.code_symbols())
    list_path = os.path.join(variant_dir, "out", "list.stdout")
    covers = parse_list(read_text(list_path)) if os.path.exists(list_path) else {}
    jit_reference = info.get("jit_reference_variant")
    reference = None
    if jit_reference:
        ref_path = os.path.join(variant_dir, "..", jit_reference, "cases.json")
        reference = {c["scenario"]: c for c in load_json(ref_path)["cases"]}

    cases, pending = [], []
    build_ids = set()
    runtime = None
    for name in scenario_names(variant_dir):
        origin = os.path.join(variant_dir, "out", f"{name}.stdout")
        report = parse_report(read_text(origin), origin)
        build_ids.add(report["head"].get("build-id"))
        runtime = report["head"].get("runtime")
        jit = None
        # A variant without its own JIT run (cross-compiled, or built with a switch the
        # JIT has no use for) is matched against the reference variant's JIT run.
        jit_dir = os.path.join(variant_dir, "jit")
        if not os.path.isdir(jit_dir) and jit_reference:
            jit_dir = os.path.join(variant_dir, "..", jit_reference, "jit")
        jit_path = os.path.join(jit_dir, f"{name}.stdout")
        if os.path.exists(jit_path):
            jit = parse_report(read_text(jit_path), jit_path)
        # A program run records its exit code; an HTTP capture records its request.
        exit_path = os.path.join(variant_dir, "out", f"{name}.exit")
        request_path = os.path.join(variant_dir, "out", f"{name}.request")
        exit_code = int(read_text(exit_path)) if os.path.exists(exit_path) else None
        request = read_text(request_path).rstrip("\n") if os.path.exists(request_path) else None
        stderr = os.path.join("out", f"{name}.stderr")
        case = dict(scenario=name, covers=covers.get(name, ""),
                    command=None if request else [f"./{info['executable']}", name],
                    request=request, exit_code=exit_code,
                    stdout=os.path.join("out", f"{name}.stdout"),
                    stderr=stderr if os.path.exists(os.path.join(variant_dir, stderr)) else None,
                    request_id=request_id(info["variant"], name),
                    exception_tostring=report["tostring"], exceptions=[])
        jit_by_path = {e["path"]: e for e in jit["exceptions"]} if jit else {}
        for exc in report["exceptions"]:
            lines = printed_lines(exc, f"{origin}: exception {exc['path']}")
            frames = []
            for f, (printed, boundary) in zip(exc["frames"], lines):
                frame = dict(index=f["index"], printed=printed, hidden=printed is None,
                             edi_boundary_follows=boundary, rva=hx(f["rva"]))
                if printed is not None:
                    if m := OFFSET_RE.match(printed):
                        frame["printed_method"] = m["method"]
                        frame["printed_offset"] = "0x" + m["off"]
                    elif m := BASEADDR_RE.match(printed):
                        frame["printed_module"] = m["module"]
                        frame["printed_rva"] = "0x" + m["rva"]
                    else:
                        raise CorpusError(f"{origin}: frame {f['index']}: unknown frame shape {printed!r}")
                frames.append(frame)
                pending.append((frame, f["rva"], exc))
            entry = dict(path=exc["path"], type=exc["type"], message=exc["message"],
                         stack_trace=exc["stack_trace"], frames=frames)
            attach_jit(entry, jit_by_path.get(exc["path"]))
            case["exceptions"].append(entry)
        cases.append(case)

    if len(build_ids) != 1 or None in build_ids:
        raise CorpusError(f"{variant_dir}: the scenarios printed different or no build IDs: {build_ids}")
    printed_id = build_ids.pop()

    # Symbols, return-address test and the llvm-symbolizer oracle.
    machine = exe.machine
    anomalies = []
    disassembly = Disassembly(exe_path, machine)
    for frame, rva, exc in pending:
        (start, size, name), aliases = index.containing(rva)
        at_end = False
        if name is None:
            (start, size, name), aliases = index.containing(rva - 1)
            at_end = name is not None
        if name is None:
            (start, size, name), aliases = index.nearest_unsized(rva)
        if name is None:
            raise CorpusError(f"{dbg_path}: no symbol contains 0x{rva:x} or 0x{rva - 1:x}")
        before, at = disassembly.before_and_at(start, size, rva)
        after_call = is_call(before, machine)
        leaf = frame["index"] == 0
        fault_leaf = leaf and not after_call
        if fault_leaf and exc["type"] not in FAULT_EXCEPTIONS:
            anomalies.append(f"{exc['type']} frame 0 at {hx(rva)} does not follow a call ({before!r})")
        if not leaf and not after_call:
            anomalies.append(f"frame {frame['index']} at {hx(rva)} does not follow a call ({before!r})")
        frame["symbol"] = dict(name=name, start=hx(start), size=size)
        if aliases:
            frame["symbol"]["aliases"] = aliases
        frame["offset_in_symbol"] = hx(rva - start)
        frame["rva_is_symbol_end"] = at_end
        frame["return_address"] = after_call
        frame["fault_leaf"] = fault_leaf
        if fault_leaf:
            frame["faulting_instruction"] = at
        frame["lookup_address"] = hx(rva if fault_leaf else rva - 1)
        if "printed_offset" in frame and int(frame["printed_offset"], 16) != rva - start:
            anomalies.append(f"{frame['printed']!r}: printed offset {frame['printed_offset']} "
                             f"but the RVA is {hx(rva - start)} into {name}")
        if "printed_rva" in frame and int(frame["printed_rva"], 16) != rva:
            anomalies.append(f"{frame['printed']!r}: printed RVA differs from {hx(rva)}")

    answers = symbolize(dbg_path, [int(f["lookup_address"], 16) for f, _, _ in pending])
    rows = LineRows(dbg_path)
    for frame, _, _ in pending:
        lookup = int(frame["lookup_address"], 16)
        symbols = answers[lookup]
        frame["expected"] = symbols[0]
        frame["expected_inlined_frames"] = len(symbols) - 1
        row = rows.row_for(lookup)
        frame["line_row_address"] = hx(row[0]) if row else None
        frame["line_row_before_symbol"] = bool(row and row[0] < int(frame["symbol"]["start"], 16))

    if reference is not None:
        attach_jit_by_position(cases, reference, anomalies)

    build = dict(info)
    build.update(build_id=exe.build_id(), printed_build_id=printed_id,
                 debug_file_build_id=dbg.build_id(), machine=machine, runtime=runtime,
                 executable_bytes=len(exe.data), debug_file_bytes=len(dbg.data),
                 executable_sha256=hashlib.sha256(exe.data).hexdigest(),
                 debug_file_sha256=hashlib.sha256(dbg.data).hexdigest())
    if not (build["build_id"] == build["debug_file_build_id"] == printed_id):
        raise CorpusError(f"{variant_dir}: build IDs differ: executable {build['build_id']}, "
                          f".dbg {build['debug_file_build_id']}, printed {printed_id}")
    frames_total = sum(len(e["frames"]) for c in cases for e in c["exceptions"])
    return dict(schema=SCHEMA_VERSION, variant=info["variant"], build=build,
                oracle_tools=dict(llvm_symbolizer=tool_version("llvm-symbolizer")),
                frames_total=frames_total,
                frames_printed=sum(1 for c in cases for e in c["exceptions"]
                                   for f in e["frames"] if not f["hidden"]),
                anomalies=anomalies, cases=cases)


def attach_jit(entry, jit_exc):
    """Adds the JIT's ' in File.cs:line N' to each frame that the JIT run also printed."""
    if jit_exc is None:
        return
    jit_lines = [l for l in (jit_exc["stack_trace"] or "").split("\n") if l.startswith("   at ")]
    jit_parsed = [JIT_RE.match(l) for l in jit_lines]
    jit_keys = [method_key(m["method"]) for m in jit_parsed]
    visible = [f for f in entry["frames"] if "printed_method" in f]
    if not visible:
        return
    aot_keys = [method_key(f["printed_method"]) for f in visible]
    for ai, ji in align(aot_keys, jit_keys).items():
        m = jit_parsed[ji]
        visible[ai]["jit"] = dict(printed=jit_lines[ji], match="method-name",
                                  suffix=m["suffix"], file=m["file"],
                                  line=int(m["line"]) if m["line"] else None)


def attach_jit_by_position(cases, reference, anomalies):
    """For frames printed without names: take the JIT answer of the same frame (same
    scenario, exception path and index) in the reference variant, when llvm-symbolizer
    names the same function for both."""
    for case in cases:
        ref_case = reference.get(case["scenario"])
        if not ref_case:
            continue
        ref_exc = {e["path"]: e for e in ref_case["exceptions"]}
        for exc in case["exceptions"]:
            r = ref_exc.get(exc["path"])
            if all(f["hidden"] or "printed_method" in f for f in exc["frames"]):
                continue  # every frame has a name: matched by name already
            if not r or len(r["frames"]) != len(exc["frames"]):
                anomalies.append(f"{case['scenario']} exception {exc['path']}: frame count differs "
                                 "from the reference variant; no JIT answer by position")
                continue
            for f, rf in zip(exc["frames"], r["frames"]):
                if f["hidden"] or "jit" in f or "jit" not in rf:
                    continue
                if rf["expected"]["function"] != f["expected"]["function"]:
                    continue
                f["jit"] = dict(rf["jit"], match="position-in-reference-variant")


def parse_list(text):
    """scenario name -> what it covers, from `app list`."""
    out = {}
    for line in text.split("\n"):
        if "\t" in line:
            name, _, covers = line.partition("\t")
            out[name] = covers
    return out


# ---------------------------------------------------------------- CloudWatch samples

CW_TIMESTAMP = "2026-11-25T10:15:30.123Z"


def lambda_error_document(exc, by_path):
    """The Lambda runtime's error document for one exception (errorType is the short
    type name; stackTrace the trimmed lines; cause the inner exception; causes the
    inner exceptions of an AggregateException)."""
    doc = dict(errorType=exc["type"].rsplit(".", 1)[-1], errorMessage=exc["message"])
    trace = [l.strip() for l in (exc["stack_trace"] or "").split("\n") if l.strip()]
    if trace:
        doc["stackTrace"] = trace
    children = [by_path[p] for p in sorted(by_path, key=path_key)
                if p.rsplit(".", 1)[0] == exc["path"] and p != exc["path"]]
    if children:
        doc["cause"] = lambda_error_document(children[0], by_path)
        if exc["type"] == "System.AggregateException":
            doc["causes"] = [lambda_error_document(c, by_path) for c in children]
    return doc


def path_key(p):
    return [int(x) for x in p.split(".")]


def cloudwatch_samples(manifest):
    """The three constructed CloudWatch shapes for every case, as {file name: text}."""
    files = {}
    for case in manifest["cases"]:
        rid = case["request_id"]
        name = case["scenario"]
        text = case["exception_tostring"]
        files[f"{name}.log"] = f"{CW_TIMESTAMP}\t{rid}\tfail\t{text}\n"
        by_path = {e["path"]: e for e in case["exceptions"]}
        doc = lambda_error_document(by_path["0"], by_path)
        files[f"{name}.error.json"] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        event = dict(timestamp=CW_TIMESTAMP, level="Error", requestId=rid, message=text)
        files[f"{name}.event.json"] = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
    return files


# ---------------------------------------------------------------- commands

def dump(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def write_outputs(variant_dir, manifest):
    with open(os.path.join(variant_dir, "cases.json"), "w", encoding="utf-8") as f:
        f.write(dump(manifest))
    cw = os.path.join(variant_dir, "cloudwatch-constructed")
    os.makedirs(cw, exist_ok=True)
    for old in os.listdir(cw):
        os.remove(os.path.join(cw, old))
    for name, text in cloudwatch_samples(manifest).items():
        with open(os.path.join(cw, name), "w", encoding="utf-8") as f:
            f.write(text)


def cmd_build(args):
    manifest = build_manifest(args.dir)
    write_outputs(args.dir, manifest)
    print(f"{args.dir}: {len(manifest['cases'])} cases, {manifest['frames_total']} frames "
          f"({manifest['frames_printed']} printed), {len(manifest['anomalies'])} anomalies")
    for a in manifest["anomalies"]:
        print(f"  anomaly: {a}")
    return 0


VOLATILE_KEYS = ("oracle_tools",)


def diff_text(expected, actual, label):
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                      f"committed {label}", f"recomputed {label}", lineterm="", n=2))
    return "\n".join(lines[:60])


def cmd_verify(args):
    d = args.dir
    committed = load_json(os.path.join(d, "cases.json"))
    info = load_json(os.path.join(d, "build-info.json"))
    failures = []
    ran = 0

    # 1. Run every scenario and compare stdout, stderr and exit code byte for byte.
    runner, why_not = runner_for(d, info)
    if args.no_run:
        pass
    elif runner is None:
        print(f"SKIP running {d}: {why_not}")
    else:
        for name in ["list"] + [c["scenario"] for c in committed["cases"]]:
            cmd = runner + [f"./{info['executable']}", name]
            try:
                p = subprocess.run(cmd, cwd=d, capture_output=True, timeout=RUN_TIMEOUT_SECONDS,
                                   preexec_fn=no_core_dumps)
            except subprocess.TimeoutExpired:
                failures.append(f"{name}: did not finish within {RUN_TIMEOUT_SECONDS}s")
                continue
            ran += 1
            stderr = b"".join(l for l in p.stderr.splitlines(keepends=True)
                              if not l.startswith(QEMU_NOISE))
            for stream, got in (("stdout", p.stdout), ("stderr", stderr)):
                path = os.path.join(d, "out", f"{name}.{stream}")
                want = open(path, "rb").read() if os.path.exists(path) else b""
                if got != want:
                    failures.append(f"{name}: {stream} differs from out/{name}.{stream}\n" +
                                    diff_text(want.decode("utf-8", "replace"),
                                              got.decode("utf-8", "replace"), f"{name}.{stream}"))
            want_code = int(read_text(os.path.join(d, "out", f"{name}.exit")))
            got_code = p.returncode if p.returncode >= 0 else 128 - p.returncode
            if got_code != want_code:
                failures.append(f"{name}: exit code {got_code}, expected {want_code}")

    # 2. Recompute the manifest and the CloudWatch samples from the committed files.
    manifest = build_manifest(d)
    for key in VOLATILE_KEYS:
        manifest.pop(key, None)
        committed.pop(key, None)
    if manifest != committed:
        failures.append("cases.json differs from what the committed files give:\n" +
                        diff_text(dump(committed), dump(manifest), "cases.json"))
    cw = os.path.join(d, "cloudwatch-constructed")
    want_files = cloudwatch_samples(manifest)
    have = set(os.listdir(cw)) if os.path.isdir(cw) else set()
    if have != set(want_files):
        failures.append(f"cloudwatch-constructed/ holds {sorted(have ^ set(want_files))[:5]} "
                        "unexpectedly or lacks them")
    for name, text in want_files.items():
        path = os.path.join(cw, name)
        if os.path.exists(path) and read_text(path) != text:
            failures.append(f"cloudwatch-constructed/{name} differs from what cases.json gives")

    b = manifest["build"]
    runs = "runs not asked for" if args.no_run else f"ran {ran} scenarios"
    print(f"{d}: {runs}; build ID {b['build_id']} (executable = .dbg = printed); "
          f"{manifest['frames_total']} frames re-resolved")
    if failures:
        for f in failures:
            print(f"FAIL {d}: {f}", file=sys.stderr)
        return 1
    return 0


QEMU_NOISE = b"qemu: uncaught target signal"
HOST_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def runner_for(variant_dir, info):
    """The command prefix that runs the variant's executable here: [] natively, the
    recorded emulator for another architecture, or None (with the reason) when this
    machine cannot run it."""
    machine = Elf(os.path.join(variant_dir, info["executable"])).machine
    if HOST_MACHINES.get(platform.machine().lower()) == machine:
        return [], None
    emulator = info.get("emulator")
    if not emulator:
        return None, f"a {machine} executable and no emulator recorded in build-info.json"
    cmd = emulator.split()
    if not shutil.which(cmd[0]):
        return None, f"{cmd[0]} is not installed (apt-get install qemu-user-static)"
    if "-L" in cmd:
        sysroot = cmd[cmd.index("-L") + 1]
        if not os.path.isdir(os.path.join(sysroot, "lib")):
            return None, f"{sysroot} is missing (apt-get install libc6-arm64-cross)"
    return cmd, None


def no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def dwarf_summary(dbg):
    """Counts and versions from llvm-dwarfdump, for the README's findings."""
    p = subprocess.run(["llvm-dwarfdump", "--debug-info", dbg], capture_output=True, text=True)
    units, subprograms, pending = [], 0, None
    for line in p.stdout.splitlines():
        if "Compile Unit:" in line:
            m = re.search(r"version = 0x([0-9a-f]+)", line)
            pending = int(m[1], 16) if m else None
        elif pending is not None and "DW_AT_name" in line:
            units.append((line.split("(", 1)[1].rstrip(")").strip('"'), pending))
            pending = None
        elif "DW_TAG_subprogram" in line:
            subprograms += 1
    rows = sum(1 for l in run_tool(["llvm-dwarfdump", "--debug-line", dbg]).splitlines()
               if ROW_RE.match(l))
    return units, subprograms, rows


def cmd_stats(args):
    """Prints a Markdown table of sizes, symbols, DWARF and oracle agreement per variant."""
    print("| variant | machine | executable | .dbg | .symtab | FUNC | compressed .debug_* | "
          "managed CU (DWARF) | CUs | subprograms | line rows | frames (printed) | "
          "JIT line known | llvm-symbolizer = JIT | row before function |")
    print("|" + "---|" * 15)
    for d in args.dirs:
        m = load_json(os.path.join(d, "cases.json"))
        b = m["build"]
        dbg = Elf(os.path.join(d, b["debug_file"]))
        symtab = [s for s in dbg.sections if s["type"] == 2][0]
        nsyms = symtab["size"] // 24
        nfunc = sum(1 for i in range(nsyms)
                    if dbg.data[symtab["offset"] + i * 24 + 4] & 0xF == 2)
        debug = [s for s in dbg.sections if s.get("name", "").startswith(".debug_")]
        compressed = [s for s in debug if s["flags"] & 0x800]
        kinds = {struct.unpack_from("<I", dbg.data, s["offset"])[0] for s in compressed}
        units, subprograms, rows = dwarf_summary(dbg.path)
        managed = [v for n, v in units if n == "il.cpp"]
        frames = [f for c in m["cases"] for e in c["exceptions"] for f in e["frames"]]
        known = [f for f in frames if f.get("jit", {}).get("line")]
        agree = [f for f in known if (f["jit"]["file"], f["jit"]["line"]) ==
                 (f["expected"]["file"], f["expected"]["line"])]
        print(f"| {m['variant']} | {b['machine']} | {b['executable_bytes']:,} | "
              f"{b['debug_file_bytes']:,} | {nsyms:,} | {nfunc:,} | "
              f"{len(compressed)}/{len(debug)} ({'zlib' if kinds == {1} else kinds}) | "
              f"{managed[0] if managed else '?'} | {len(units)} | {subprograms:,} | {rows:,} | "
              f"{len(frames)} ({m['frames_printed']}) | {len(known)} | {len(agree)} | "
              f"{sum(f['line_row_before_symbol'] for f in frames)} |")
    return 0


def cmd_write_build_info(args):
    info = dict(variant=args.variant, target_framework=args.target_framework,
                runtime_identifier=args.runtime_identifier, sdk_version=args.sdk_version,
                ilcompiler_version=args.ilcompiler_version,
                msbuild_properties=dict(p.split("=", 1) for p in args.properties),
                executable=args.executable, debug_file=args.executable + ".dbg")
    if args.jit_reference_variant:
        info["jit_reference_variant"] = args.jit_reference_variant
    if args.emulator:
        info["emulator"] = args.emulator
    with open(os.path.join(args.dir, "build-info.json"), "w", encoding="utf-8") as f:
        f.write(dump(info))
    return 0


def cmd_assets_version(args):
    """The ILCompiler version restored for one target framework and runtime: a package
    reference up to .NET 9, a download dependency (KnownILCompilerPack) from .NET 10."""
    assets = load_json(args.file)
    wanted = {f"runtime.{args.rid}.microsoft.dotnet.ilcompiler", "microsoft.dotnet.ilcompiler"}
    for key in assets.get("targets", {}).get(f"{args.tfm}/{args.rid}", {}):
        name, _, version = key.partition("/")
        if name.lower() in wanted:
            print(version)
            return 0
    framework = assets.get("project", {}).get("frameworks", {}).get(args.tfm, {})
    for dep in framework.get("downloadDependencies", []):
        if dep["name"].lower() in wanted:
            print(dep["version"].strip("[]").split(",")[0])
            return 0
    raise CorpusError(f"{args.file}: no ILCompiler package for {args.tfm}/{args.rid}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("build")
    p.add_argument("dir")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("verify")
    p.add_argument("dir")
    p.add_argument("--no-run", action="store_true", help="only recompute the manifest")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("stats")
    p.add_argument("dirs", nargs="+")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("write-build-info")
    p.add_argument("dir")
    for opt in ("variant", "target-framework", "runtime-identifier", "sdk-version", "ilcompiler-version"):
        p.add_argument("--" + opt, required=True)
    p.add_argument("--jit-reference-variant")
    p.add_argument("--executable", default="app", help="file name of the executable (its .dbg is NAME.dbg)")
    p.add_argument("--emulator", help="command that runs the executable on another architecture, "
                   "e.g. 'qemu-aarch64-static -L /usr/aarch64-linux-gnu'")
    p.add_argument("--properties", nargs="*", default=[])
    p.set_defaults(func=cmd_write_build_info)
    p = sub.add_parser("assets-version")
    p.add_argument("file")
    p.add_argument("tfm")
    p.add_argument("rid")
    p.set_defaults(func=cmd_assets_version)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except CorpusError as e:
        print(f"aotcases: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
