package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/bench"
	"github.com/aotsym/aotsym/internal/corpus"
	"github.com/aotsym/aotsym/store"
)

// cmdAddrs writes n random code addresses of a debug file, one per line.
func cmdAddrs(args []string) error {
	fs := flag.NewFlagSet("addrs", flag.ExitOnError)
	dbg := fs.String("dbg", "", "the ELF file whose functions to draw addresses from")
	n := fs.Int("n", 1000, "how many addresses")
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	if *dbg == "" || *out == "" || *n < 1 {
		return errors.New("need -dbg FILE, -o FILE and -n N ≥ 1")
	}
	a, err := bench.Addresses(*dbg, *n, bench.Seed)
	if err != nil {
		return err
	}
	return writeFile(*out, func(f *os.File) error { return bench.WriteAddresses(f, a) })
}

// cmdTrace writes a trace of exactly -frames frames from a variant's
// printed traces.
func cmdTrace(args []string) error {
	fs := flag.NewFlagSet("trace", flag.ExitOnError)
	variant := fs.String("variant", "webapi", "corpus variant")
	frames := fs.Int("frames", 40, "frames in the trace")
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	m, err := corpus.Load(*variant)
	if err != nil {
		return err
	}
	text, n := bench.Trace(m, *frames)
	if n != *frames {
		return fmt.Errorf("%s has only %d printed frames outside the recursion scenario", *variant, n)
	}
	fmt.Printf(`{"variant":%q,"frames":%d,"build_id":%q,"bytes":%d}`+"\n", *variant, n, m.Build.BuildID, len(text))
	return os.WriteFile(*out, []byte(text), 0o644)
}

// cmdBatchBody writes a POST /v1/symbolicate/batch body of n traces: every
// committed trace of every variant in turn (build detected from the
// frames), repeated until there are n.
func cmdBatchBody(args []string) error {
	fs := flag.NewFlagSet("batch-body", flag.ExitOnError)
	n := fs.Int("traces", 1000, "traces in the batch")
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	ms, err := corpus.LoadAll()
	if err != nil {
		return err
	}
	var all []string
	for _, m := range ms {
		for _, c := range m.Cases {
			if strings.TrimSpace(c.ExceptionToString) != "" {
				all = append(all, c.ExceptionToString)
			}
		}
	}
	var req client.BatchRequest
	frames := 0
	for i := 0; i < *n; i++ {
		t := all[i%len(all)]
		req.Traces = append(req.Traces, client.BatchTrace{ID: fmt.Sprint(i), Text: t})
		for _, l := range strings.Split(t, "\n") {
			if bench.IsFrameLine(l) {
				frames++
			}
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	fmt.Printf(`{"traces":%d,"distinct":%d,"frame_lines":%d,"bytes":%d}`+"\n", *n, len(all), frames, len(b))
	return os.WriteFile(*out, b, 0o644)
}

// cmdIngest puts one file into the bbolt store in -data with the real
// indexer, as `aotsym serve` does on an upload (read to a temporary file,
// build ID, index, one commit), and prints what was stored.
func cmdIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	data := fs.String("data", "", "data directory of the store (use a fresh one to measure a new build)")
	fs.Parse(args)
	if *data == "" || fs.NArg() != 1 {
		return errors.New("need -data DIR and one FILE")
	}
	path := fs.Arg(0)
	s, err := bench.OpenStore(*data)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		s.Close()
		return err
	}
	fi, _ := f.Stat()
	res, err := s.Put(context.Background(), f, store.PutOptions{Name: filepath.Base(path)})
	f.Close()
	if err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	b := res.Build
	fmt.Printf(`{"file":%q,"file_bytes":%d,"build_id":%q,"created":%v,"index_bytes":%d,"functions":%d,"line_rows":%d}`+"\n",
		path, fi.Size(), b.ID, res.Created, b.IndexSize, b.Functions, b.LineRows)
	return nil
}

// cmdPopulate fills a data directory with -builds builds: the real file
// given by -real, and -builds - 1 copies of bench.FillerELF under distinct
// build IDs, put with 2 goroutines (the machine's cores).
func cmdPopulate(args []string) error {
	fs := flag.NewFlagSet("populate", flag.ExitOnError)
	data := fs.String("data", "", "data directory of the store")
	n := fs.Int("builds", 1, "builds in the store, the real one included")
	real := fs.String("real", "", "the real build to store (its trace is resolved after startup)")
	fs.Parse(args)
	if *data == "" || *real == "" || *n < 1 {
		return errors.New("need -data DIR, -real FILE and -builds N ≥ 1")
	}
	filler, err := os.ReadFile(bench.FillerELF())
	if err != nil {
		return fmt.Errorf("the filler ELF: %w", err)
	}
	s, err := bench.OpenStore(*data)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	f, err := os.Open(*real)
	if err != nil {
		return err
	}
	res, err := s.Put(ctx, f, store.PutOptions{Name: filepath.Base(*real), Tags: map[string]string{"service": "real"}})
	f.Close()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1 + w; i < *n; i += 2 {
				body, err := bench.WithBuildID(filler, bench.FillerID(i, 20))
				if err == nil {
					_, err = s.Put(ctx, strings.NewReader(string(body)), store.PutOptions{
						Name: "tiny.debug", Tags: map[string]string{"service": fmt.Sprintf("svc%d", i%10), "version": fmt.Sprint(i)}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	l, err := s.List(ctx, store.ListOptions{})
	if err != nil {
		return err
	}
	if len(l) != *n {
		return fmt.Errorf("the store holds %d builds, want %d", len(l), *n)
	}
	fmt.Printf(`{"builds":%d,"real_build_id":%q,"filler":%q}`+"\n", len(l), res.Build.ID, bench.FillerELF())
	return nil
}

func writeFile(path string, fn func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
