package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// cmdReport reads a results directory written by bench/run.sh and writes
// its summary.md: the tables of BENCHMARKS.md, every ratio aotsym / peer
// from the same run, and each target met or missed.
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("need -dir RESULTS")
	}
	r := &report{dir: *dir}
	md := r.build()
	if err := os.WriteFile(filepath.Join(*dir, "summary.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

type report struct {
	dir     string
	b       strings.Builder
	targets []string
	ratios  []string
}

// ratioRow adds a row to the table of ratios at the top.
func (r *report) ratioRow(work, peer, aotsym, other, wallRatio, cpuRatio string) {
	r.ratios = append(r.ratios, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", work, peer, aotsym, other, wallRatio, cpuRatio))
}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *report) target(ok bool, what, measured string) {
	mark := "**met**"
	if !ok {
		mark = "**missed**"
	}
	r.targets = append(r.targets, fmt.Sprintf("| %s | %s | %s |", what, measured, mark))
}

func (r *report) path(name string) string { return filepath.Join(r.dir, name) }

// jsonLines decodes every line of a JSONL file into maps (nil when absent).
func (r *report) jsonLines(name string) []map[string]any {
	f, err := os.Open(r.path(name))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (r *report) jsonFile(name string) map[string]any {
	b, err := os.ReadFile(r.path(name))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func num(m map[string]any, keys ...string) float64 {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = mm[k]
	}
	f, _ := v.(float64)
	return f
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

type stats struct{ min, med float64 }

func statsOf(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{s[0], med}
}

// run is the repetitions of one whole-process measurement.
type run struct{ wall, cpu, rss []float64 }

func (r *report) times() map[[3]string]*run {
	out := map[[3]string]*run{}
	for _, m := range r.jsonLines("raw/times.jsonl") {
		k := [3]string{str(m, "phase"), str(m, "tool"), str(m, "key")}
		x := out[k]
		if x == nil {
			x = &run{}
			out[k] = x
		}
		x.wall = append(x.wall, num(m, "wall_s"))
		x.cpu = append(x.cpu, num(m, "user_s")+num(m, "sys_s"))
		x.rss = append(x.rss, num(m, "maxrss_kb"))
	}
	return out
}

// goBench is the results of one Go benchmark (several with -count).
type goBench map[string][]float64 // unit -> values

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

func (r *report) goBenches(name string) map[string]goBench {
	b, err := os.ReadFile(r.path(name))
	if err != nil {
		return nil
	}
	out := map[string]goBench{}
	for _, line := range strings.Split(string(b), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		f := strings.Fields(m[4])
		gb := out[m[1]]
		if gb == nil {
			gb = goBench{}
			out[m[1]] = gb
		}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				gb[f[i+1]] = append(gb[f[i+1]], v)
			}
		}
	}
	return out
}

func secs(s float64) string {
	switch {
	case s == 0:
		return "–"
	case s < 0.01:
		return fmt.Sprintf("%.2f ms", s*1000)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

func mb(kb float64) string {
	if kb == 0 {
		return "–"
	}
	if kb < 100*1024 {
		return fmt.Sprintf("%.1f MB", kb/1024)
	}
	return fmt.Sprintf("%.0f MB", kb/1024)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func nsText(ns float64) string {
	switch {
	case ns == 0:
		return "–"
	case ns < 1000:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (r *report) build() string {
	mach, _ := os.ReadFile(r.path("machine.txt"))
	r.p("# aotsym benchmark run\n\n")
	r.p("Written by `bench/aotsymbench report` from the raw results of one `bench/run.sh` run. Ratios are aotsym / peer from the same run (below 1: aotsym is faster or smaller). Wall times are min and median of interleaved repetitions; CPU is user + sys (median).\n\n")
	r.p("```\n")
	section := ""
	var changed []string
	for _, l := range strings.Split(string(mach), "\n") {
		switch {
		case strings.HasPrefix(l, "--- "):
			section = strings.Fields(l)[1]
			continue
		case l == "":
			continue
		}
		switch section {
		case "":
			r.p("%s\n", l)
		case "work":
			changed = append(changed, strings.TrimSpace(l))
		case "lscpu":
			for _, k := range []string{"Model name:", "CPU(s):", "Thread(s) per core:", "Hypervisor vendor:", "L2 cache:", "L3 cache:"} {
				if strings.HasPrefix(l, k) {
					r.p("cpu: %s %s\n", k, strings.TrimSpace(strings.TrimPrefix(l, k)))
				}
			}
			if strings.HasPrefix(l, "loadavg at end:") {
				r.p("%s\n", l)
			}
		case "free":
			if strings.HasPrefix(l, "Mem:") {
				f := strings.Fields(l)
				r.p("memory (free -m): %s MiB total, %s MiB available at start\n", f[1], f[len(f)-1])
			}
			if strings.HasPrefix(l, "loadavg at end:") {
				r.p("%s\n", l)
			}
		}
	}
	if len(changed) > 0 {
		r.p("work tree files differing from the commit: %s\n", strings.Join(changed, ", "))
	}
	r.p("```\n\n")
	head := r.b.String()
	r.b.Reset()
	t := r.times()
	r.lookups(t)
	r.warm(t)
	r.ingest(t)
	r.offline()
	r.http()
	r.startup()
	body := r.b.String()
	r.b.Reset()
	r.p("%s", head)
	if len(r.ratios) > 0 {
		r.p("## Ratios, aotsym / peer\n\n| work | peer | aotsym | peer | wall ratio (median) | CPU ratio (median) |\n|---|---|---|---|---|---|\n")
		for _, l := range r.ratios {
			r.p("%s\n", l)
		}
		r.p("\n")
	}
	r.p("## Targets\n\n| target | this run | |\n|---|---|---|\n")
	for _, l := range r.targets {
		r.p("%s\n", l)
	}
	r.p("\n%s", body)
	return r.b.String()
}

func (r *report) lookups(t map[[3]string]*run) {
	var sizes []string
	for k := range t {
		if k[0] == "lookup" && k[1] == "aotsym" {
			sizes = append(sizes, k[2])
		}
	}
	if len(sizes) == 0 {
		return
	}
	sort.Slice(sizes, func(i, j int) bool { a, _ := strconv.Atoi(sizes[i]); b, _ := strconv.Atoi(sizes[j]); return a < b })
	r.p("## Addresses to locations, whole process\n\n")
	r.p("`webapi/bootstrap.dbg` (20 MB, DWARF 4, 27k functions); the same address file on standard input of each tool; aotsym builds its index from the raw `.dbg` in the same process. `aotsym lookup --obj=F --inlines --output-style=JSON`, `llvm-symbolizer --obj=F --inlines --output-style=JSON`, `addr2line -f -i -C -e F`.\n\n")
	r.p("| addresses | tool | wall min | wall median | CPU median | max RSS | aotsym / tool, wall (median) | aotsym / tool, CPU |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range sizes {
		a := t[[3]string{"lookup", "aotsym", n}]
		aw, ac := statsOf(a.wall), statsOf(a.cpu)
		for _, tool := range []string{"aotsym", "llvm-symbolizer", "addr2line"} {
			x := t[[3]string{"lookup", tool, n}]
			if x == nil {
				continue
			}
			w, c, m := statsOf(x.wall), statsOf(x.cpu), statsOf(x.rss)
			rw, rc := ratio(aw.med, w.med), ratio(ac.med, c.med)
			if tool == "aotsym" {
				rw, rc = "", ""
			} else {
				r.ratioRow(fmt.Sprintf("%s addresses → locations, whole process (`lookup`)", thousands(atof(n))), tool,
					fmt.Sprintf("%s wall, %s CPU", secs(aw.med), secs(ac.med)), fmt.Sprintf("%s wall, %s CPU", secs(w.med), secs(c.med)), rw, rc)
			}
			r.p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", thousands(atof(n)), tool, secs(w.min), secs(w.med), secs(c.med), mb(m.med), rw, rc)
		}
		if n == "100000" {
			l := t[[3]string{"lookup", "llvm-symbolizer", n}]
			if l != nil {
				lw := statsOf(l.wall)
				r.target(aw.med <= lw.med/2, "100,000 lookups whole-process ≤ ½ of llvm-symbolizer's time",
					fmt.Sprintf("%s vs %s wall (median), ratio %s; CPU ratio %s", secs(aw.med), secs(lw.med), ratio(aw.med, lw.med), ratio(ac.med, statsOf(l.cpu).med)))
			}
		}
	}
	r.p("\n")
	for _, n := range sizes {
		if ag := r.jsonFile("raw/agreement-" + n + ".json"); ag != nil {
			r.p("Same work, checked (%s addresses, innermost frame): same function %.2f%%, same file and line %.2f%%, aotsym gives no line where llvm-symbolizer gives one %.2f%% (its documented difference: the row in force starts before the function), same number of inlined frames %.2f%%.\n\n",
				thousands(num(ag, "addresses")), 100*num(ag, "same_function"), 100*num(ag, "same_file_line"), 100*num(ag, "aotsym_no_line_where_llvm_has_one"), 100*num(ag, "same_frame_count"))
		}
	}
}

func atof(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }

func (r *report) warm(t map[[3]string]*run) {
	gb := r.goBenches("raw/gobench-warm.txt")
	if gb == nil {
		return
	}
	r.p("## Warm lookups from a stored index\n\n")
	r.p("`go test ./bench -bench WarmLookup`: the web API's index put into bbolt with the real indexer, read back, opened; then one address (the same 100,000-address file, cycled) to function, inline chain, file and line. Peers have no stored index: their warm cost per address is the marginal one, (CPU for 100,000 − CPU for 1,000) / 99,000, from the whole-process runs above.\n\n")
	r.p("| what | per lookup, wall (min of runs) | per lookup, CPU (min) | allocs |\n|---|---|---|---|\n")
	var lookupNS, lookupCPU float64
	for _, name := range []string{"Lookup", "LookupAppend", "FunctionAt", "StoreReadOpen"} {
		x := gb["BenchmarkWarmLookup/"+name]
		if name == "StoreReadOpen" {
			x = gb["BenchmarkStoreReadOpen"]
		}
		if x == nil {
			continue
		}
		ns := statsOf(x["ns/op"]).min
		if name == "Lookup" {
			lookupNS, lookupCPU = ns, statsOf(x["cpu-ns/op"]).min
		}
		what := "aotsym " + name
		if name == "StoreReadOpen" {
			what = "aotsym: read the index from bbolt and open it (a cache miss, once per build)"
		}
		r.p("| %s | %s | %s | %.0f |\n", what, nsText(ns), nsText(statsOf(x["cpu-ns/op"]).min), statsOf(x["allocs/op"]).min)
	}
	for _, tool := range []string{"llvm-symbolizer", "addr2line"} {
		big, small := t[[3]string{"lookup", tool, "100000"}], t[[3]string{"lookup", tool, "1000"}]
		if big == nil || small == nil {
			continue
		}
		marg := (statsOf(big.cpu).med - statsOf(small.cpu).med) / 99000 * 1e9
		r.p("| %s, marginal | | %s | |\n", tool, nsText(marg))
		if lookupCPU > 0 {
			r.ratioRow("warm lookup, per address", tool+" (marginal)", nsText(lookupCPU)+" CPU", nsText(marg)+" CPU", "", ratio(lookupCPU, marg))
		}
	}
	r.p("\n")
	if lookupNS > 0 {
		r.target(lookupNS < 1000, "warm lookup < 1 µs", fmt.Sprintf("%s wall, %s CPU (Lookup, stored index, min of 3 runs)", nsText(lookupNS), nsText(lookupCPU)))
	}
}

func (r *report) ingest(t map[[3]string]*run) {
	var variants []string
	for k := range t {
		if k[0] == "ingest" && k[1] == "aotsym" {
			variants = append(variants, k[2])
		}
	}
	if len(variants) == 0 {
		return
	}
	sort.Strings(variants)
	sizes := map[string]map[string]any{}
	for _, m := range r.jsonLines("raw/ingest-sizes.jsonl") {
		sizes[filepath.Base(filepath.Dir(str(m, "file")))] = m
	}
	gsym := map[string]map[string]any{}
	for _, m := range r.jsonLines("raw/gsym-sizes.jsonl") {
		gsym[str(m, "variant")] = m
	}
	gb := r.goBenches("raw/gobench-ingest.txt")
	r.p("## Ingest: parse + index + commit, against llvm-gsymutil --convert\n\n")
	r.p("aotsym: `aotsymbench ingest -data NEW_DIR FILE`, one process doing what `aotsym serve` does on an upload (bolt.Store.Put with symbolizer.Indexer: copy to a temporary file, build ID, index with the Native AOT name and call tables, one bbolt commit with fsync). llvm-gsymutil: `llvm-gsymutil --convert FILE --out-file OUT`. In-process: `go test ./bench -bench Ingest` (the same Put, timed alone).\n\n")
	r.p("| .dbg | size | aotsym wall min / median | CPU | max RSS | gsymutil wall min / median | CPU | max RSS | aotsym / gsymutil wall (median) | CPU | in-process Put | index | GSYM | index / GSYM |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	worst := 0.0
	worstV := ""
	var sumA, sumG float64
	for _, v := range variants {
		a, g := t[[3]string{"ingest", "aotsym", v}], t[[3]string{"ingest", "llvm-gsymutil", v}]
		if g == nil {
			continue
		}
		aw, gw := statsOf(a.wall), statsOf(g.wall)
		sumA += aw.med
		sumG += gw.med
		if q := aw.med / gw.med; q > worst {
			worst, worstV = q, v
		}
		put := "–"
		if x := gb["BenchmarkIngest/"+v]; x != nil {
			put = nsText(statsOf(x["ns/op"]).min)
		}
		ib, gsb := num(sizes[v], "index_bytes"), num(gsym[v], "gsym_bytes")
		r.p("| %s | %.1f MB | %s / %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %.2f MB | %.2f MB | %s |\n",
			v, num(gsym[v], "dbg_bytes")/1e6, secs(aw.min), secs(aw.med), secs(statsOf(a.cpu).med), mb(statsOf(a.rss).med),
			secs(gw.min), secs(gw.med), secs(statsOf(g.cpu).med), mb(statsOf(g.rss).med),
			ratio(aw.med, gw.med), ratio(statsOf(a.cpu).med, statsOf(g.cpu).med), put, ib/1e6, gsb/1e6, ratio(ib, gsb))
	}
	r.p("\n")
	if ups := r.uploads(t); ups != "" {
		r.p("Through the real server (`aotsym upload --server URL --publish-dir DIR`, whole client process: the `.dbg` and the executable, sent over loopback and indexed by `aotsym serve` together): %s.\n\n", ups)
	}
	if worstV != "" {
		var cpuA, cpuG, idx, gs float64
		for _, v := range variants {
			a, g := t[[3]string{"ingest", "aotsym", v}], t[[3]string{"ingest", "llvm-gsymutil", v}]
			if g == nil {
				continue
			}
			cpuA += statsOf(a.cpu).med
			cpuG += statsOf(g.cpu).med
			idx += num(sizes[v], "index_bytes")
			gs += num(gsym[v], "gsym_bytes")
		}
		r.ratioRow(fmt.Sprintf("ingest of the %d committed .dbg (sum of medians)", len(variants)), "llvm-gsymutil --convert",
			fmt.Sprintf("%s wall, %s CPU", secs(sumA), secs(cpuA)), fmt.Sprintf("%s wall, %s CPU", secs(sumG), secs(cpuG)), ratio(sumA, sumG), ratio(cpuA, cpuG))
		if a, g := t[[3]string{"ingest", "aotsym", "webapi"}], t[[3]string{"ingest", "llvm-gsymutil", "webapi"}]; a != nil && g != nil {
			r.ratioRow("ingest of webapi/bootstrap.dbg (20 MB)", "llvm-gsymutil --convert",
				fmt.Sprintf("%s wall, %s CPU", secs(statsOf(a.wall).med), secs(statsOf(a.cpu).med)),
				fmt.Sprintf("%s wall, %s CPU", secs(statsOf(g.wall).med), secs(statsOf(g.cpu).med)),
				ratio(statsOf(a.wall).med, statsOf(g.wall).med), ratio(statsOf(a.cpu).med, statsOf(g.cpu).med))
		}
		r.ratioRow("index size, all committed .dbg", "GSYM file", fmt.Sprintf("%.1f MB", idx/1e6), fmt.Sprintf("%.1f MB", gs/1e6), "size "+ratio(idx, gs), "")
		r.target(worst <= 1, "ingest no slower than llvm-gsymutil (every .dbg)",
			fmt.Sprintf("worst %s: ratio %.2f; all .dbg together %s vs %s", worstV, worst, secs(sumA), secs(sumG)))
	}
}

func (r *report) uploads(t map[[3]string]*run) string {
	var parts []string
	var keys []string
	for k := range t {
		if k[0] == "upload" {
			keys = append(keys, k[2])
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, secs(t[[3]string{"upload", "aotsym", k}].wall[0])))
	}
	return strings.Join(parts, ", ")
}

func (r *report) offline() {
	gb := r.goBenches("raw/gobench-offline.txt")
	if gb == nil {
		return
	}
	r.p("## Native AOT symbolication offline\n\n")
	r.p("`go test ./symbolizer -bench 'CorpusTraces|ResolveWarm'`: every committed trace of a variant, the build detected among all seven (what `aotsym symbolicate --dbg …` does after loading); and one 40-frame trace against a build given by ID (parse, resolve, render).\n\n")
	r.p("| benchmark | frames/s | ns/frame | allocs/op |\n|---|---|---|---|\n")
	var names []string
	for n := range gb {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		x := gb[n]
		fps, nsf := statsOf(x["frames/s"]), statsOf(x["ns/frame"])
		fpsText, nsfText := "–", "–"
		if fps.med > 0 {
			fpsText = thousands(fps.med)
		}
		if nsf.med > 0 {
			nsfText = nsText(nsf.med)
			if fps.med == 0 {
				fpsText = thousands(1e9 / nsf.med)
			}
		}
		r.p("| %s | %s | %s | %.0f |\n", strings.TrimPrefix(n, "Benchmark"), fpsText, nsfText, statsOf(x["allocs/op"]).med)
	}
	r.p("\n")
}

func (r *report) http() {
	given, detected := r.jsonFile("raw/vegeta-given.json"), r.jsonFile("raw/vegeta-detected.json")
	batch := r.jsonLines("raw/batch.jsonl")
	if given == nil && detected == nil && batch == nil {
		return
	}
	tr := r.jsonFile("raw/trace40.json")
	frames := num(tr, "frames")
	r.p("## The HTTP route on loopback\n\n")
	r.p("The real `aotsym serve` (bbolt in a temporary `--data`, the seven corpus builds uploaded with `aotsym upload --publish-dir`), `vegeta attack` at a fixed rate posting a %.0f-frame trace of the web API (`Accept: application/json`). Client and server share the machine's 2 cores.\n\n", frames)
	for _, p := range []string{"given", "detected"} {
		if pr := r.jsonFile("raw/probe-" + p + ".json"); pr != nil {
			sum, _ := json.Marshal(pr["summary"])
			r.p("- build %s: the server answers %.0f frames, %s.\n", p, num(pr, "frames"), sum)
		}
	}
	cpu := map[string]float64{}
	for _, m := range r.jsonLines("raw/server-cpu.jsonl") {
		cpu[str(m, "name")] = num(m, "server_cpu_s_after") - num(m, "server_cpu_s_before")
	}
	r.p("\nAchieved is successful responses per second over the whole attack (vegeta's throughput); server CPU is the `aotsym serve` process's user + system time during the attack divided by the requests, which the other processes on the machine do not inflate the way they inflate latency.\n")
	r.p("\n| run | build | rate asked | achieved | duration | requests | success | p50 | p90 | p99 | max | frames/s | server CPU / request |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	names := []string{"given", "detected"}
	var sweep []string
	files, _ := filepath.Glob(r.path("raw/vegeta-detected-at-*.json"))
	for _, f := range files {
		sweep = append(sweep, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "vegeta-"), ".json"))
	}
	sort.Slice(sweep, func(i, j int) bool {
		return atof(strings.TrimPrefix(sweep[i], "detected-at-")) < atof(strings.TrimPrefix(sweep[j], "detected-at-"))
	})
	names = append(append([]string{"capacity-given", "capacity-detected"}, sweep...), append(names, "profiled-given", "profiled-detected")...)
	for _, name := range names {
		m := r.jsonFile("raw/vegeta-" + name + ".json")
		if m == nil {
			continue
		}
		build := "detected"
		if strings.Contains(name, "given") {
			build = "given (?build_id=)"
		}
		asked := fmt.Sprintf("%.0f/s", num(m, "rate"))
		switch {
		case strings.HasPrefix(name, "capacity"), strings.HasPrefix(name, "profiled"):
			asked = "closed loop, 2 in flight"
		case strings.HasPrefix(name, "detected-at-"):
			asked = strings.TrimPrefix(name, "detected-at-") + "/s"
		}
		perReq := "–"
		if c, ok := cpu[name]; ok && num(m, "requests") > 0 {
			perReq = nsText(c / num(m, "requests") * 1e9)
		}
		r.p("| %s | %s | %s | %.0f/s | %.0f s | %s | %.2f%% | %s | %s | %s | %s | %s | %s |\n", name, build, asked, num(m, "throughput"),
			num(m, "duration")/1e9, thousands(num(m, "requests")), 100*num(m, "success"),
			nsText(num(m, "latencies", "50th")), nsText(num(m, "latencies", "90th")),
			nsText(num(m, "latencies", "99th")), nsText(num(m, "latencies", "max")), thousands(num(m, "throughput")*frames), perReq)
	}
	r.p("\n")
	for _, c := range []struct {
		name string
		m    map[string]any
	}{{"given", given}, {"detected", detected}} {
		if c.m == nil {
			continue
		}
		p99 := num(c.m, "latencies", "99th")
		ok := p99 < 5e6 && num(c.m, "success") >= 0.999 && num(c.m, "rate") >= 990
		r.target(ok, fmt.Sprintf("40-frame trace p99 < 5 ms at 1,000 req/s (build %s)", c.name),
			fmt.Sprintf("p99 %s at %.0f/s, success %.2f%%", nsText(p99), num(c.m, "rate"), 100*num(c.m, "success")))
	}
	if len(batch) > 0 {
		var s []float64
		for _, b := range batch {
			s = append(s, num(b, "seconds"))
		}
		st := statsOf(s)
		b0 := batch[0]
		sum, _ := json.Marshal(b0["summary"])
		r.p("Batch: `POST /v1/symbolicate/batch` with %.0f traces (every committed trace of every variant in turn, build detected per trace), %d requests: %s min, %s median; %s frames per request (%s), %s frames/s at the median; %.0f traces failed.\n\n",
			num(b0, "traces"), len(batch), secs(st.min), secs(st.med), thousands(num(b0, "frames")), sum, thousands(num(b0, "frames")/st.med), num(b0, "failed"))
	}
}

func (r *report) startup() {
	rows := r.jsonLines("raw/startup.jsonl")
	if rows == nil {
		return
	}
	by := map[int][]map[string]any{}
	var ns []int
	for _, m := range rows {
		n := int(num(m, "builds"))
		if by[n] == nil {
			ns = append(ns, n)
		}
		by[n] = append(by[n], m)
	}
	sort.Ints(ns)
	disk := map[int]float64{}
	for _, m := range r.jsonLines("raw/datadir.jsonl") {
		disk[int(num(m, "builds"))] = num(m, "data_kb")
	}
	r.p("## Startup and memory against stored builds\n\n")
	r.p("`aotsym serve` on a data directory holding the `net10.0-linux-x64` build and N − 1 copies of a tiny real ELF (`symbolizer/elfindex/testdata/tiny/tiny.debug`, gcc `--only-keep-debug`, 3 KB) under distinct build IDs, all ingested with the real indexer. Ready = exec to `/readyz` 200; memory from `/proc/PID/status` after ready, then after symbolicating a 40-frame `net10.0-linux-x64` trace against its build (the first request reads and opens the index).\n\n")
	r.p("| builds | data dir | ready min / median | store open (ready − listening) min / median | VmRSS ready | VmHWM ready | first trace | second trace | VmRSS after | VmHWM after |\n|---|---|---|---|---|---|---|---|---|---|\n")
	med := func(n int, k string) float64 {
		var xs []float64
		for _, m := range by[n] {
			xs = append(xs, num(m, k))
		}
		return statsOf(xs).med
	}
	mn := func(n int, k string) float64 {
		var xs []float64
		for _, m := range by[n] {
			xs = append(xs, num(m, k))
		}
		return statsOf(xs).min
	}
	for _, m := range rows {
		m["open_ms"] = num(m, "ready_ms") - num(m, "listening_ms")
	}
	for _, n := range ns {
		r.p("| %s | %s | %.1f / %.1f ms | %.1f / %.1f ms | %s | %s | %.1f ms | %.1f ms | %s | %s |\n", thousands(float64(n)), mb(disk[n]),
			mn(n, "ready_ms"), med(n, "ready_ms"), mn(n, "open_ms"), med(n, "open_ms"), mb(med(n, "rss_kb_ready")), mb(med(n, "hwm_kb_ready")),
			med(n, "first_trace_ms"), med(n, "second_trace_ms"), mb(med(n, "rss_kb_after")), mb(med(n, "hwm_kb_after")))
	}
	r.p("\n")
	if len(ns) > 1 {
		lo, hi := ns[0], ns[len(ns)-1]
		// Startup by its minimum (the least disturbed run), memory by its
		// median. Flat: within 25% (or 5 ms / 2 MB) from the fewest to the
		// most builds.
		rt := mn(hi, "ready_ms") / mn(lo, "ready_ms")
		rr := med(hi, "rss_kb_after") / med(lo, "rss_kb_after")
		flat := (rt <= 1.25 || mn(hi, "ready_ms")-mn(lo, "ready_ms") < 5) && (rr <= 1.25 || med(hi, "rss_kb_after")-med(lo, "rss_kb_after") < 2*1024)
		r.target(flat, fmt.Sprintf("startup and RSS flat in stored builds (%d → %d)", lo, hi),
			fmt.Sprintf("ready (min) %.1f → %.1f ms (×%.2f), store open (min) %.1f → %.1f ms; VmRSS after a trace %s → %s (×%.2f)", mn(lo, "ready_ms"), mn(hi, "ready_ms"), rt,
				mn(lo, "open_ms"), mn(hi, "open_ms"), mb(med(lo, "rss_kb_after")), mb(med(hi, "rss_kb_after")), rr))
	}
}
