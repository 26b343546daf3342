#!/usr/bin/env bash
# bench/run.sh: aotsym against the tools users would otherwise use, in one run
# on the same inputs (issue 12). Every number in BENCHMARKS.md comes from here.
#
#   bench/run.sh            full run (7 to 10 minutes on 2 cores)
#   bench/run.sh --quick    smoke run: 1 repetition, 1,000 addresses, 5 s of
#                           load, 1 and 100 stored builds (about 1 minute)
#   bench/run.sh --out DIR  write the results to DIR
#                           (default bench/results/<UTC time>[-quick])
#   bench/run.sh --only lookup,ingest
#                           run some phases: lookup warm ingest offline http
#                           startup profile
#   bench/run.sh --publish  after a full run, copy it to bench/results/published
#                           and put its summary.md into BENCHMARKS.md
#   bench/run.sh --publish-from DIR
#                           only that, for a full run already made
#
# Results: DIR/raw/* (every measurement), DIR/profiles/*, DIR/machine.txt and
# DIR/summary.md (the tables of BENCHMARKS.md, made by aotsymbench report).
# Installs nothing: it checks its tools first and says how to get them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
OUT=""
ONLY=""
PUBLISH=0
PUBLISH_FROM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    --publish) PUBLISH=1 ;;
    --publish-from) PUBLISH_FROM=$2; shift ;;
    --publish-from=*) PUBLISH_FROM=${1#--publish-from=} ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# publish DIR: the run in DIR becomes the one BENCHMARKS.md shows: a copy in
# bench/results/published (without the 100,000-address file, which the
# fixed seed redraws), and its summary.md, headings one level down, between
# BENCHMARKS.md's results markers.
publish() {
  local dir=$1 pub=bench/results/published
  if ! grep -q '^mode: full' "$dir/machine.txt" || [ ! -s "$dir/summary.md" ]; then
    echo "bench/run.sh: $dir is not a finished full run (mode: full in machine.txt, and summary.md)" >&2
    exit 1
  fi
  if [ "$(cd "$dir" && pwd)" != "$(cd "$pub" 2>/dev/null && pwd)" ]; then
    rm -rf "$pub"
    cp -r "$dir" "$pub"
    rm -f "$pub/inputs/addrs-100000.txt"
  fi
  awk -v f="$pub/summary.md" '
    /<!-- results:begin -->/ {
      print
      n = 0
      while ((getline l < f) > 0) {
        if (n++ == 0) continue          # the summary'"'"'s own title
        if (l ~ /^#/) l = "#" l
        print l
      }
      skip = 1; next
    }
    /<!-- results:end -->/ { skip = 0 }
    !skip { print }' BENCHMARKS.md > BENCHMARKS.md.tmp
  mv BENCHMARKS.md.tmp BENCHMARKS.md
  echo "published $dir: bench/results/published and BENCHMARKS.md (check its prose against the new numbers)"
}
if [ -n "$PUBLISH_FROM" ]; then
  publish "$PUBLISH_FROM"
  exit 0
fi
if [ "$PUBLISH" = 1 ] && { [ "$QUICK" = 1 ] || [ -n "$ONLY" ]; }; then
  echo "bench/run.sh: --publish needs a full run (no --quick, no --only)" >&2
  exit 2
fi

if [ "$QUICK" = 1 ]; then
  REPS=1; SIZES="1000"; RATE=1000; DURATION=5s; BUILDS="1 100"; BATCH_REPS=2
  BENCHTIME=1x; WARM_BENCHTIME=200000x; PROFILE_SECONDS=3; SWEEP=""; SWEEP_DURATION=3s
else
  REPS=5; SIZES="1000 100000"; RATE=1000; DURATION=30s; BUILDS="1 100 1000"; BATCH_REPS=5
  BENCHTIME=5x; WARM_BENCHTIME=2000000x; PROFILE_SECONDS=15; SWEEP="100 200 400"; SWEEP_DURATION=10s
fi
phase() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# --- tools -------------------------------------------------------------------
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:/usr/lib/llvm-14/bin"
missing=()
need() { # need NAME HOW-TO-INSTALL
  command -v "$1" >/dev/null 2>&1 || missing+=("$1: $2")
}
need go "https://go.dev/doc/install (Go 1.26)"
need llvm-symbolizer "apt-get install llvm"
need llvm-gsymutil "apt-get install llvm (Debian puts it in /usr/lib/llvm-14/bin)"
need addr2line "apt-get install binutils"
need vegeta "go install github.com/tsenart/vegeta/v12@v12.13.0"
need curl "apt-get install curl"
[ -x /usr/bin/time ] || missing+=("/usr/bin/time: apt-get install time")
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/run.sh: missing tools, install them and run again:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

if [ -z "$OUT" ]; then
  OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)$([ "$QUICK" = 1 ] && echo -quick || true)"
fi
mkdir -p "$OUT/raw" "$OUT/inputs" "$OUT/profiles"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aotsym-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
CORPUS=testdata/nativeaot
WEBAPI_DBG=$CORPUS/webapi/bootstrap.dbg
VARIANTS=$(cd $CORPUS && for d in */cases.json; do dirname "$d"; done)

# --- machine -----------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mode: $([ "$QUICK" = 1 ] && echo quick || echo full) (reps $REPS, addresses $SIZES, load ${RATE}/s for $DURATION, builds $BUILDS)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (work tree differs from the commit)')"
  echo "kernel: $(uname -srmv)"
  echo "go: $(go version)"
  echo "llvm-symbolizer: $(llvm-symbolizer --version 2>&1 | grep -i version | head -1 | sed 's/^ *//')"
  echo "llvm-gsymutil: $(command -v llvm-gsymutil)"
  echo "addr2line: $(addr2line --version | head -1)"
  echo "vegeta: $(go version -m "$(command -v vegeta)" 2>/dev/null | awk '$1=="mod"{print $3}')"
  echo "nproc: $(nproc)"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo; echo "--- work tree against the commit (git status --short)"; git status --short 2>/dev/null | grep -v '^?? bench/results/' || true
  echo; echo "--- lscpu"; lscpu
  echo; echo "--- free -m"; free -m
} > "$OUT/machine.txt"

# --- builds ------------------------------------------------------------------
log "building aotsym, aotsymbench and aotsym-pprof"
go build -o "$TMP/aotsym" ./cmd/aotsym
go build -o "$TMP/aotsymbench" ./bench/aotsymbench
printf '{"Replace":{"%s/cmd/aotsym/zz_aotsymbench_pprof.go":"%s/bench/overlay/pprof.go"}}\n' "$ROOT" "$ROOT" > "$TMP/overlay.json"
go build -overlay "$TMP/overlay.json" -tags aotsymbench_pprof -o "$TMP/aotsym-pprof" ./cmd/aotsym
# The Go benchmarks are compiled now too, so that every phase measures the
# same code even if the work tree changes during the run.
go test -c -o "$TMP/bench.test" ./bench
go test -c -o "$TMP/symbolizer.test" ./symbolizer
# gobench PKG-DIR TEST-BINARY ARGS...: runs compiled benchmarks in their
# package directory, as go test does.
gobench() {
  local dir=$1 bin=$2
  shift 2
  echo "go test ./$dir $*" | sed 's/-test\./-/g' >> "$OUT/raw/commands.txt"
  (cd "$dir" && "$bin" -test.run '^$' "$@")
}
AOTSYM=$TMP/aotsym
BENCH=$TMP/aotsymbench
unset AOTSYM_SERVER AOTSYM_TOKEN AOTSYM_TOKENS AOTSYM_TOKENS_FILE AOTSYM_DATA AOTSYM_STORE || true

# --- inputs ------------------------------------------------------------------
log "inputs"
for n in 1000 100000; do
  "$BENCH" addrs -dbg "$WEBAPI_DBG" -n $n -o "$OUT/inputs/addrs-$n.txt"
done
"$BENCH" trace -variant webapi -frames 40 -o "$OUT/inputs/trace40.txt" > "$OUT/raw/trace40.json"
"$BENCH" batch-body -traces 1000 -o "$TMP/batch1000.json" > "$OUT/raw/batch-body.json"
cat "$OUT/raw/trace40.json" "$OUT/raw/batch-body.json"

TIMES=$OUT/raw/times.jsonl
# timeit PHASE TOOL KEY REP STDIN STDOUT CMD...: one whole-process run under
# /usr/bin/time -f '%e %U %S %M' (wall s, user s, sys s, max RSS kB).
timeit() {
  local phase=$1 tool=$2 key=$3 rep=$4 in=$5 out=$6
  shift 6
  if [ "$rep" = 1 ]; then printf '%s %s: %s\n' "$phase" "$key" "$*" >> "$OUT/raw/commands.txt"; fi
  /usr/bin/time -f '%e %U %S %M' -o "$TMP/time.txt" "$@" < "$in" > "$out"
  local wall user sys rss
  read -r wall user sys rss < <(tail -n 1 "$TMP/time.txt")
  printf '{"phase":"%s","tool":"%s","key":"%s","rep":%d,"wall_s":%s,"user_s":%s,"sys_s":%s,"maxrss_kb":%s}\n' \
    "$phase" "$tool" "$key" "$rep" "$wall" "$user" "$sys" "$rss" >> "$TIMES"
  printf '  %-8s %-16s %-34s rep %d: %6ss wall %6ss user %5ss sys %7s kB\n' "$phase" "$tool" "$key" "$rep" "$wall" "$user" "$sys" "$rss"
}

# --- addresses to locations, whole process -----------------------------------
if phase lookup; then
  log "lookup: addresses of $WEBAPI_DBG, whole process, $REPS interleaved repetitions"
  for rep in $(seq 1 $REPS); do
    for n in $SIZES; do
      in=$OUT/inputs/addrs-$n.txt
      timeit lookup aotsym "$n" "$rep" "$in" "$TMP/aotsym-$n.json" \
        "$AOTSYM" lookup --obj="$WEBAPI_DBG" --inlines --output-style=JSON
      timeit lookup llvm-symbolizer "$n" "$rep" "$in" "$TMP/llvm-$n.json" \
        llvm-symbolizer --obj="$WEBAPI_DBG" --inlines --output-style=JSON
      timeit lookup addr2line "$n" "$rep" "$in" "$TMP/addr2line-$n.txt" \
        addr2line -f -i -C -e "$WEBAPI_DBG"
    done
  done
  for n in $SIZES; do
    "$BENCH" compare -aotsym "$TMP/aotsym-$n.json" -llvm "$TMP/llvm-$n.json" | tee "$OUT/raw/agreement-$n.json"
  done
fi

# --- warm lookups from a stored index ----------------------------------------
if phase warm; then
  log "warm: lookups against the web API's index read back from bbolt (go test ./bench)"
  AOTSYM_BENCH_ADDRS=$OUT/inputs/addrs-100000.txt gobench bench "$TMP/bench.test" -test.bench '^BenchmarkWarmLookup$' \
    -test.benchtime "$WARM_BENCHTIME" -test.count 3 | tee "$OUT/raw/gobench-warm.txt"
  gobench bench "$TMP/bench.test" -test.bench '^BenchmarkStoreReadOpen$' -test.benchtime "$BENCHTIME" | tee -a "$OUT/raw/gobench-warm.txt"
fi

# --- ingest --------------------------------------------------------------------
if phase ingest; then
  log "ingest: each committed .dbg into bbolt with the real indexer, against llvm-gsymutil --convert"
  for rep in $(seq 1 $REPS); do
    for v in $VARIANTS; do
      dbg=$(ls $CORPUS/$v/*.dbg)
      rm -rf "$TMP/ingest"
      timeit ingest aotsym "$v" "$rep" /dev/null "$TMP/ingest.json" \
        "$BENCH" ingest -data "$TMP/ingest" "$dbg"
      if [ "$rep" = 1 ]; then cat "$TMP/ingest.json" >> "$OUT/raw/ingest-sizes.jsonl"; fi
      rm -f "$TMP/out.gsym"
      timeit ingest llvm-gsymutil "$v" "$rep" /dev/null "$TMP/gsym.log" \
        llvm-gsymutil --convert "$dbg" --out-file "$TMP/out.gsym"
      if [ "$rep" = 1 ]; then
        printf '{"variant":"%s","dbg_bytes":%d,"gsym_bytes":%d}\n' "$v" "$(stat -c %s "$dbg")" "$(stat -c %s "$TMP/out.gsym")" >> "$OUT/raw/gsym-sizes.jsonl"
      fi
    done
  done
  rm -rf "$TMP/ingest" "$TMP/out.gsym"
  gobench bench "$TMP/bench.test" -test.bench '^BenchmarkIngest$' -test.benchtime "$BENCHTIME" | tee "$OUT/raw/gobench-ingest.txt"
fi

# --- offline symbolication of every committed trace -----------------------------
if phase offline; then
  log "offline: every committed trace, build detected among the seven (go test ./symbolizer)"
  gobench symbolizer "$TMP/symbolizer.test" -test.bench '^Benchmark(CorpusTraces|ResolveWarm)$' \
    -test.benchtime "$([ "$QUICK" = 1 ] && echo 3x || echo 50x)" | tee "$OUT/raw/gobench-offline.txt"
fi

# start_server BIN DATA LOG [ENV=VALUE...]: runs `BIN serve` on a free
# loopback port, waits for /readyz, sets URL and SERVER_PID.
start_server() {
  local bin=$1 data=$2 logf=$3
  shift 3
  env "$@" "$bin" serve --data "$data" --listen 127.0.0.1:0 --log-format json \
    --max-batch 1000 2> "$logf" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local addr="" i
  for i in $(seq 1 600); do
    addr=$(sed -n 's/.*"msg":"listening".*"addr":"\([^"]*\)".*/\1/p' "$logf" | head -1)
    [ -n "$addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$logf" >&2; echo "aotsym serve exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$logf" >&2; echo "aotsym serve did not listen" >&2; exit 1; }
  URL=http://$addr
  for i in $(seq 1 600); do
    curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "aotsym serve not ready" >&2
  exit 1
}
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# drain waits until the server is idle (under 50 ms of CPU in a second, at
# most 2 minutes), so that requests still queued from an overloaded attack
# do not slow the next one down.
drain() {
  local i a b
  for i in $(seq 1 120); do
    a=$("$BENCH" cpu -pid "$SERVER_PID")
    sleep 1
    b=$("$BENCH" cpu -pid "$SERVER_PID")
    if awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.05) }'; then return 0; fi
  done
  echo "  (the server was still busy after 2 minutes)"
}

# attack NAME RATE DURATION URL [VEGETA-FLAGS...]: vegeta posting the
# 40-frame trace at RATE per second (0: as fast as the given workers go).
attack() {
  local name=$1 rate=$2 dur=$3 target=$4
  shift 4
  printf 'POST %s\nAccept: application/json\n@%s\n' "$target" "$OUT/inputs/trace40.txt" > "$TMP/targets-$name.txt"
  echo "http $name: vegeta attack -rate=$rate/1s -duration=$dur -timeout=30s $* -targets=TARGETS | vegeta report -type=json  # TARGETS: POST $target, Accept: application/json, @trace40.txt" >> "$OUT/raw/commands.txt"
  local c0 c1
  drain
  c0=$("$BENCH" cpu -pid "$SERVER_PID")
  vegeta attack -rate="$rate/1s" -duration="$dur" -timeout=30s "$@" -targets="$TMP/targets-$name.txt" \
    | vegeta report -type=json > "$OUT/raw/vegeta-$name.json"
  c1=$("$BENCH" cpu -pid "$SERVER_PID")
  printf '{"name":"%s","server_cpu_s_before":%s,"server_cpu_s_after":%s}\n' "$name" "$c0" "$c1" >> "$OUT/raw/server-cpu.jsonl"
  echo "  $name: $(sed 's/"bytes_in".*"requests"/… "requests"/' "$OUT/raw/vegeta-$name.json" | head -c 600)"
}

# --- the HTTP route on loopback -------------------------------------------------
if phase http || phase profile; then
  log "http: aotsym serve on loopback, the corpus builds uploaded with aotsym upload --publish-dir"
  start_server "$AOTSYM" "$TMP/http-data" "$TMP/serve.log"
  for v in $VARIANTS; do
    timeit upload aotsym "$v" 1 /dev/null "$TMP/upload.txt" "$AOTSYM" upload --server "$URL" --publish-dir "$CORPUS/$v"
  done
  BUILD=$(sed -n 's/.*"build_id":"\([^"]*\)".*/\1/p' "$OUT/raw/trace40.json")
  "$BENCH" probe -url "$URL" -trace "$OUT/inputs/trace40.txt" -build-id "$BUILD" | tee "$OUT/raw/probe-given.json"
  "$BENCH" probe -url "$URL" -trace "$OUT/inputs/trace40.txt" | tee "$OUT/raw/probe-detected.json"
  if phase http; then
    # Where the p99 target holds on this machine: the capacity with two
    # requests in flight (a closed loop, no queueing), and lower fixed rates;
    # then the target's 1,000/s. Each attack starts on an idle server.
    attack capacity-given 0 "$SWEEP_DURATION" "$URL/v1/symbolicate?build_id=$BUILD" -max-workers=2 -workers=2
    attack capacity-detected 0 "$SWEEP_DURATION" "$URL/v1/symbolicate" -max-workers=2 -workers=2
    for r in $SWEEP; do
      attack "detected-at-$r" "$r" "$SWEEP_DURATION" "$URL/v1/symbolicate"
    done
    attack given "$RATE" "$DURATION" "$URL/v1/symbolicate?build_id=$BUILD"
    attack detected "$RATE" "$DURATION" "$URL/v1/symbolicate"
    drain
    echo "http batch: POST /v1/symbolicate/batch with 1000 traces, build detected, $BATCH_REPS requests" >> "$OUT/raw/commands.txt"
    "$BENCH" batch -url "$URL" -body "$TMP/batch1000.json" -reps "$BATCH_REPS" | tee "$OUT/raw/batch.jsonl"
  fi
  stop_server
  if phase profile; then
    log "profile: CPU of aotsym-pprof under the same load, and of the index build"
    start_server "$TMP/aotsym-pprof" "$TMP/http-data" "$TMP/serve-pprof.log" AOTSYM_BENCH_PPROF=127.0.0.1:0
    PPROF=$(sed -n 's/.*"msg":"pprof","addr":"\([^"]*\)".*/\1/p' "$TMP/serve-pprof.log" | head -1)
    # A closed loop of two clients keeps the server busy without a queue, so
    # the profile shows the work of a request, not a backlog.
    for how in detected given; do
      target=$URL/v1/symbolicate
      [ "$how" = given ] && target="$target?build_id=$BUILD"
      printf 'POST %s\nAccept: application/json\n@%s\n' "$target" "$OUT/inputs/trace40.txt" > "$TMP/targets-prof.txt"
      echo "profile $how: vegeta attack -rate=0 -max-workers=2 -workers=2 -duration=$((PROFILE_SECONDS + 4))s while fetching /debug/pprof/profile?seconds=$PROFILE_SECONDS" >> "$OUT/raw/commands.txt"
      vegeta attack -rate=0 -max-workers=2 -workers=2 -duration="$((PROFILE_SECONDS + 4))s" -timeout=30s -targets="$TMP/targets-prof.txt" \
        | vegeta report -type=json > "$OUT/raw/vegeta-profiled-$how.json" &
      VEG=$!
      PIDS+=("$VEG")
      sleep 2
      curl -fsS -o "$OUT/profiles/http-$how.prof" "http://$PPROF/debug/pprof/profile?seconds=$PROFILE_SECONDS"
      wait "$VEG"
      go tool pprof -top -nodecount=40 "$TMP/aotsym-pprof" "$OUT/profiles/http-$how.prof" > "$OUT/profiles/http-$how.top.txt" 2>/dev/null
      go tool pprof -top -cum -nodecount=60 "$TMP/aotsym-pprof" "$OUT/profiles/http-$how.prof" > "$OUT/profiles/http-$how.cum.txt" 2>/dev/null
    done
    stop_server
    gobench bench "$TMP/bench.test" -test.bench '^BenchmarkIndexBuild$' -test.benchtime "$BENCHTIME" \
      -test.cpuprofile "$OUT/profiles/index-build.prof" | tee "$OUT/raw/gobench-indexbuild.txt"
    go tool pprof -top -nodecount=40 "$TMP/bench.test" "$OUT/profiles/index-build.prof" > "$OUT/profiles/index-build.top.txt" 2>/dev/null
    go tool pprof -top -cum -nodecount=60 "$TMP/bench.test" "$OUT/profiles/index-build.prof" > "$OUT/profiles/index-build.cum.txt" 2>/dev/null
    head -n 20 "$OUT/profiles/http-detected.top.txt" "$OUT/profiles/http-given.top.txt" "$OUT/profiles/index-build.top.txt"
  fi
  rm -rf "$TMP/http-data"
fi

# --- startup and memory against the number of stored builds -----------------------
if phase startup; then
  log "startup: aotsym serve with $BUILDS stored builds (net10.0-linux-x64 + copies of a tiny real ELF)"
  REAL=$CORPUS/net10.0-linux-x64/app.dbg
  "$BENCH" trace -variant net10.0-linux-x64 -frames 40 -o "$TMP/trace-net10.txt" > "$TMP/trace-net10.json"
  REALID=$(sed -n 's/.*"build_id":"\([^"]*\)".*/\1/p' "$TMP/trace-net10.json")
  for n in $BUILDS; do
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/time.txt" "$BENCH" populate -data "$TMP/builds-$n" -builds "$n" -real "$REAL" \
      | tee -a "$OUT/raw/populate.jsonl"
    echo "  populate $n builds: $(tail -n1 "$TMP/time.txt") (wall user sys maxrss)"
    du -sk "$TMP/builds-$n" | awk -v n="$n" '{printf "{\"builds\":%d,\"data_kb\":%d}\n", n, $1}' >> "$OUT/raw/datadir.jsonl"
  done
  echo "startup: aotsymbench startup -bin aotsym -data DIR -trace trace-net10.txt -build-id $REALID (exec to /readyz 200, /proc VmRSS/VmHWM)" >> "$OUT/raw/commands.txt"
  for rep in $(seq 1 $REPS); do
    for n in $BUILDS; do
      "$BENCH" startup -bin "$AOTSYM" -data "$TMP/builds-$n" -trace "$TMP/trace-net10.txt" -build-id "$REALID" \
        -builds "$n" -rep "$rep" | tee -a "$OUT/raw/startup.jsonl"
    done
  done
  rm -rf "$TMP"/builds-*
fi

echo "loadavg at end: $(cat /proc/loadavg)" >> "$OUT/machine.txt"
log "report"
"$BENCH" report -dir "$OUT"
ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/latest" 2>/dev/null || true
echo
echo "results: $OUT (summary.md has the tables)"
if [ "$PUBLISH" = 1 ]; then
  publish "$OUT"
fi
