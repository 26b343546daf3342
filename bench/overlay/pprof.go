//go:build aotsymbench_pprof

// This file is not part of aotsym. bench/run.sh adds it to cmd/aotsym at
// build time (go build -overlay, -tags aotsymbench_pprof) to make a second
// binary, aotsym-pprof, used only to take the CPU profile of the HTTP route
// under load; every number in BENCHMARKS.md comes from the plain binary.
// With AOTSYM_BENCH_PPROF=HOST:PORT set, it serves net/http/pprof there and
// logs the address on standard error as {"msg":"pprof","addr":…}.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("AOTSYM_BENCH_PPROF")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aotsym-pprof: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "{\"msg\":\"pprof\",\"addr\":%q}\n", ln.Addr().String())
	go http.Serve(ln, nil)
}
