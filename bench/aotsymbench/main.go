// Command aotsymbench is the helper of bench/run.sh: it writes the inputs
// every tool is fed, ingests a file into the bbolt store as `aotsym serve`
// does (so /usr/bin/time can measure it as a whole process), fills data
// directories with many builds, measures the server's startup and a batch
// request, checks that aotsym and llvm-symbolizer answered the same
// addresses alike, and turns the raw results into BENCHMARKS.md's tables.
//
//	aotsymbench addrs -dbg FILE -n N -o FILE
//	aotsymbench trace -variant V -frames N -o FILE
//	aotsymbench batch-body -traces N -o FILE
//	aotsymbench ingest -data DIR FILE
//	aotsymbench populate -data DIR -builds N -real FILE
//	aotsymbench probe -url URL -trace FILE [-build-id ID]
//	aotsymbench batch -url URL -body FILE -reps N
//	aotsymbench startup -bin AOTSYM -data DIR -trace FILE -build-id ID -builds N -rep R
//	aotsymbench compare -aotsym FILE -llvm FILE
//	aotsymbench cpu -pid PID
//	aotsymbench report -dir RESULTS
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmds := map[string]func([]string) error{
		"addrs":      cmdAddrs,
		"trace":      cmdTrace,
		"batch-body": cmdBatchBody,
		"ingest":     cmdIngest,
		"populate":   cmdPopulate,
		"probe":      cmdProbe,
		"batch":      cmdBatch,
		"startup":    cmdStartup,
		"compare":    cmdCompare,
		"cpu":        cmdCPU,
		"report":     cmdReport,
	}
	fn, ok := cmds[os.Args[1]]
	if !ok {
		usage()
	}
	if err := fn(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "aotsymbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: aotsymbench addrs|trace|batch-body|ingest|populate|probe|batch|startup|compare|cpu|report [flags] (see bench/run.sh)")
	os.Exit(2)
}
