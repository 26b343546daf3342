package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

type llvmAnswer struct {
	Address string
	Symbol  []struct {
		FunctionName, FileName string
		Line                   int
	}
}

func readAnswers(path string) ([]llvmAnswer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []llvmAnswer
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var a llvmAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, len(out)+1, err)
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// cmdCompare checks that `aotsym lookup` and llvm-symbolizer did the same
// work on the same addresses: it counts the addresses where they name the
// same innermost function, the same file and line, and the same number of
// inlined frames. They differ on purpose where the line row in force starts
// before the function (aotsym answers no line), so full agreement is not
// expected; a low one would mean the timing compares different work.
func cmdCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	ap := fs.String("aotsym", "", "aotsym lookup --output-style=JSON output")
	lp := fs.String("llvm", "", "llvm-symbolizer --output-style=JSON output")
	fs.Parse(args)
	a, err := readAnswers(*ap)
	if err != nil {
		return err
	}
	l, err := readAnswers(*lp)
	if err != nil {
		return err
	}
	if len(a) != len(l) {
		return fmt.Errorf("aotsym answered %d addresses, llvm-symbolizer %d", len(a), len(l))
	}
	var fn, line, frames, noLine int
	for i := range a {
		if a[i].Address != l[i].Address {
			return fmt.Errorf("answer %d: aotsym is for %s, llvm-symbolizer for %s", i+1, a[i].Address, l[i].Address)
		}
		if len(a[i].Symbol) == 0 || len(l[i].Symbol) == 0 {
			continue
		}
		x, y := a[i].Symbol[0], l[i].Symbol[0]
		if x.FunctionName == y.FunctionName {
			fn++
		}
		if x.FileName == y.FileName && x.Line == y.Line {
			line++
		} else if x.Line == 0 && y.Line != 0 {
			noLine++
		}
		if len(a[i].Symbol) == len(l[i].Symbol) {
			frames++
		}
	}
	n := float64(len(a))
	fmt.Printf(`{"addresses":%d,"same_function":%.4f,"same_file_line":%.4f,"aotsym_no_line_where_llvm_has_one":%.4f,"same_frame_count":%.4f}`+"\n",
		len(a), float64(fn)/n, float64(line)/n, float64(noLine)/n, float64(frames)/n)
	return nil
}
