#!/usr/bin/env bash
# Long fuzz runs by hand (RELIABILITY.md): each target in turn, never two at
# once (the machine has 2 cores), for AOTSYM_FUZZTIME each (default 10m), with
# AOTSYM_FUZZ_PARALLEL workers (default 1). Prints one summary line per target:
# the executions, the new corpus entries, and whether it found a failure.
# Usage: scripts/fuzz-long.sh [PKG:FuzzTarget ...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${AOTSYM_FUZZTIME:-10m}"
parallel="${AOTSYM_FUZZ_PARALLEL:-1}"
# Minimizing each new interesting input may take 60 s by default, during which
# nothing is fuzzed (and no executions are counted): keep it short.
minimize="${AOTSYM_FUZZ_MINIMIZE:-5s}"
logdir="${AOTSYM_FUZZ_LOGS:-$(mktemp -d /tmp/aotsym-fuzz-XXXXXX)}"
mkdir -p "$logdir"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
    for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
      targets+=("$dir:$f")
    done
  done
fi
echo "fuzzing ${#targets[@]} targets for $fuzztime each with $parallel worker(s); logs in $logdir"
status=0
for t in "${targets[@]}"; do
  pkg="${t%%:*}"; fn="${t##*:}"
  log="$logdir/$(echo "$pkg" | tr '/.' '__')-$fn.log"
  start=$(date +%s)
  if go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" -parallel="$parallel" -fuzzminimizetime="$minimize" -timeout=0 "$pkg" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED; status=1
  fi
  last=$(grep -o 'elapsed: [^,]*, execs: [0-9]* ([0-9]*/sec), new interesting: [0-9]* (total: [0-9]*)' "$log" | tail -1 || true)
  echo "$pkg $fn: $result in $(( $(date +%s) - start ))s; $last"
  if [ "$result" = FAILED ]; then tail -40 "$log"; fi
done
exit $status
