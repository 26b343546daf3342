#!/usr/bin/env bash
# The long soak by hand (RELIABILITY.md): vegeta at a fixed rate against the
# real `aotsym serve` on 127.0.0.1 for AOTSYM_SOAK_DURATION (default 10m) at
# AOTSYM_SOAK_RATE requests per second (default 100), the server's RSS sampled
# every AOTSYM_SOAK_SAMPLE (default 10s). It is TestReliabilitySoak of
# cmd/aotsym/e2e, which CI runs for 20 s; the test fails on any non-200 answer
# or growing memory, and prints p50/p90/p99 and the RSS series.
# Needs vegeta: go install github.com/tsenart/vegeta/v12@v12.13.0
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
export AOTSYM_SOAK_DURATION="${AOTSYM_SOAK_DURATION:-10m}"
export AOTSYM_SOAK_RATE="${AOTSYM_SOAK_RATE:-100}"
export AOTSYM_SOAK_SAMPLE="${AOTSYM_SOAK_SAMPLE:-10s}"
go test -count=1 -timeout 0 -run '^TestReliabilitySoak$' -v ./cmd/aotsym/e2e/ 2>&1 |
  grep -E 'soak|^(--- |ok|FAIL|PASS)' | sed 's/^ *reliability_soak_test.go:[0-9]*: //'
