package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/symbolizer"
	"github.com/aotsym/aotsym/symbolizer/trace"
	"github.com/spf13/cobra"
)

func init() { register(newSymbolicateCmd) }

// symbolicateFlags are the flags of `aotsym symbolicate`.
type symbolicateFlags struct {
	dbg            []string // --dbg: offline, against these files
	server         string   // --server: through a server (client.go)
	buildID        string
	tags           []string
	json           bool
	failUnresolved bool
	verbose        bool
	maxCandidates  int
	logs           logsFlags // --log-group, --request-id: the trace from CloudWatch Logs (logs.go)
}

// newSymbolicateCmd is `aotsym symbolicate`. The command has two halves that
// meet in run, each a seam marked there: where the trace comes from (readTrace:
// a file or standard input; a CloudWatch mode adds another input) and what
// resolves it (offline: a symbolizer.Resolver over the --dbg files; --server:
// the server, through symbolicateRemote in client.go; another source of builds
// adds a branch and reuses resolveLocal's printing).
func newSymbolicateCmd() *cobra.Command {
	var f symbolicateFlags
	cmd := &cobra.Command{
		Use:   "symbolicate [--dbg FILE]... [--server URL] [--build-id ID] [--json] [FILE|-]",
		Short: "Resolve the frames of a stack trace to function, file and line",
		Long: `symbolicate reads a stack trace (a file, or standard input by default) in any
form a log holds it: Exception.ToString(), CloudWatch log lines, the Lambda error
JSON, JSON log events. It prints the trace back with every resolved frame written
the way the JIT writes it (` + "` in /src/File.cs:line 42`" + `), or the JSON document with --json.

Offline, --dbg names the debug files (app.dbg) or executables to resolve against,
as many as you like; an executable next to its .dbg (app beside app.dbg, same
build ID) is used too, so that return addresses can be told from faulting
instructions. The build is the one --build-id names, else the one a
` + "`build-id: <hex>`" + ` line of the trace names, else detected from the frames; how it
was chosen is written to standard error with -v and is in the JSON.

With --server (or $AOTSYM_SERVER and no --dbg) the trace is sent to a server.

Exit codes: 0 when it ran, even with frames left unresolved; 1 on errors, and
with --fail-unresolved when a frame does not fit the build (not_found,
offset_out_of_range, unknown_build); 2 on usage errors.`,
		Example: `  aotsym symbolicate --dbg publish/app.dbg crash.log
  kubectl logs pod/orders-7d9 | aotsym symbolicate --dbg v1.4.1/app.dbg --dbg v1.4.2/app.dbg -v
  aotsym symbolicate --dbg app.dbg --json trace.txt | jq '.frames[] | {status, function, file, line}'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("symbolicate reads one trace: give one FILE, or - for standard input (see `aotsym symbolicate --help`)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			input := "-"
			if len(args) == 1 {
				input = args[0]
			}
			return f.run(cmd.Context(), input, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&f.dbg, "dbg", nil, "resolve offline against this debug file or executable (repeatable)")
	fs.StringVar(&f.server, "server", "", "resolve through this aotsym server instead (default $AOTSYM_SERVER when no --dbg is given; token from $AOTSYM_TOKEN)")
	fs.StringVar(&f.buildID, "build-id", "", "use this build (hex GNU build ID) instead of detecting it")
	fs.StringArrayVar(&f.tags, "tag", nil, "with --server: use the newest build carrying this key=value tag (repeatable)")
	fs.BoolVar(&f.json, "json", false, "print the JSON document (a status per frame) instead of the trace")
	fs.BoolVar(&f.failUnresolved, "fail-unresolved", false, "exit with 1 when a frame does not fit the build (for CI)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "say on standard error which files and build were used and how frames ended")
	fs.IntVar(&f.maxCandidates, "max-candidates", symbolizer.DefaultMaxCandidates, "detect the build among at most this many of the given files")
	f.logs.add(cmd)
	return cmd
}

func (f *symbolicateFlags) run(ctx context.Context, input string, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var id aotsym.BuildID
	if f.buildID != "" {
		var err error
		if id, err = aotsym.ParseBuildID(f.buildID); err != nil {
			return usageError{err}
		}
	}
	server := f.server
	if server == "" && len(f.dbg) == 0 {
		server = os.Getenv(client.EnvServer)
	}
	switch {
	case len(f.dbg) > 0 && f.server != "":
		return usagef("give --dbg (offline) or --server, not both")
	case len(f.dbg) == 0 && strings.TrimSpace(server) == "":
		return usagef("nothing to resolve against: give --dbg app.dbg (offline) or --server URL (or set %s)", client.EnvServer)
	case len(f.dbg) > 0 && len(f.tags) > 0:
		return usagef("--tag chooses among a server's builds; offline, give --build-id or let the build be detected")
	}

	// Seam 1, the input: a file or standard input. Another input (a
	// CloudWatch mode fetching one request's log events, say) is another
	// branch here that yields the trace's bytes.
	var data []byte
	var err error
	if f.logs.active() {
		data, err = f.logs.fetch(ctx, input, stderr, f.verbose) // one Lambda request's log events (logs.go)
	} else {
		data, err = readTrace(input, stdin)
	}
	if err != nil {
		return err
	}

	// Seam 2, what resolves it: a server, or a Resolver over a
	// symbolizer.Source. Another source of builds (a store opened directly)
	// is another branch that builds a Source and calls resolveLocal.
	if len(f.dbg) == 0 {
		return symbolicateRemote(ctx, RemoteSymbolicate{Server: server, BuildID: f.buildID, Tags: f.tags, JSON: f.json}, bytes.NewReader(data), stdout)
	}
	src, err := loadDebugFiles(ctx, f.dbg, verboseWriter(stderr, f.verbose))
	if err != nil {
		return err
	}
	opts := symbolizer.Options{BuildID: id, MaxCandidates: f.maxCandidates}
	return f.resolveLocal(ctx, symbolizer.NewResolver(src), data, opts, stdout, stderr)
}

// resolveLocal resolves a trace with a Resolver and prints the answer.
func (f *symbolicateFlags) resolveLocal(ctx context.Context, r *symbolizer.Resolver, data []byte, opts symbolizer.Options, stdout, stderr io.Writer) error {
	t0 := time.Now()
	res, err := r.Symbolicate(ctx, data, opts)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res.Trace); err != nil {
			return err
		}
	} else if _, err := stdout.Write(res.Text); err != nil {
		return err
	}
	t := res.Trace
	if f.verbose {
		if t.Build != nil {
			fmt.Fprintf(stderr, "aotsym: build %s (%s): %s\n", orNone(string(t.BuildID)), t.Build.How, t.Build.Note)
		}
		fmt.Fprintf(stderr, "aotsym: %d frames in %s: %s\n", len(t.Frames), time.Since(t0).Round(time.Microsecond), summaryText(t))
	}
	if f.failUnresolved {
		bad := t.Summary[aotsym.StatusNotFound] + t.Summary[aotsym.StatusOffsetOutOfRange] + t.Summary[aotsym.StatusUnknownBuild]
		if bad > 0 {
			fmt.Fprintf(stderr, "aotsym: %d frames do not fit the build (--fail-unresolved)\n", bad)
			return exitError{code: exitFailure}
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func summaryText(t *aotsym.Trace) string {
	if s := t.SummaryText(); s != "" {
		return s
	}
	return "none found"
}

// openTrace opens the input for streaming (server mode).
func openTrace(name string, stdin io.Reader) (io.Reader, func(), error) {
	if name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, aotsym.Errorf(aotsym.EINVALID, "cannot read the trace: %v", err)
	}
	return f, func() { f.Close() }, nil
}

// readTrace reads the whole input, refusing more than the parser accepts.
func readTrace(name string, stdin io.Reader) ([]byte, error) {
	in, closeIn, err := openTrace(name, stdin)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	limit := int64(trace.DefaultLimits.MaxBytes)
	data, err := io.ReadAll(io.LimitReader(in, limit+1))
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "cannot read the trace: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, aotsym.Errorf(aotsym.ETOOLARGE, "the trace is over %d bytes: give only the part of the log that holds it", limit)
	}
	return data, nil
}

func verboseWriter(w io.Writer, on bool) io.Writer {
	if on {
		return w
	}
	return io.Discard
}

// debugPair is what one build is indexed from.
type debugPair struct {
	id          aotsym.BuildID
	debug, exe  string
	debugOK     bool // the debug file has DWARF or symbols
	given       string
	exeFromNext bool // exe was found next to the given debug file (or vice versa)
}

// loadDebugFiles indexes the given files in memory: one build per build ID,
// from its debug file and, when present, its executable (given, or found
// next to the debug file with the same build ID).
func loadDebugFiles(ctx context.Context, paths []string, log io.Writer) (*symbolizer.Local, error) {
	var ix symbolizer.Indexer
	pairs := map[aotsym.BuildID]*debugPair{}
	var order []aotsym.BuildID
	for _, p := range paths {
		info, err := inspectFile(ix, p)
		if err != nil {
			return nil, err
		}
		dp := pairs[info.BuildID]
		if dp == nil {
			dp = &debugPair{id: info.BuildID, given: p}
			pairs[info.BuildID] = dp
			order = append(order, info.BuildID)
		}
		if info.HasCode {
			dp.exe = p
			if info.HasDebug && dp.debug == "" {
				dp.debug, dp.debugOK = p, true
			}
		} else {
			dp.debug, dp.debugOK = p, info.HasDebug
		}
	}
	src := symbolizer.NewLocal()
	for _, id := range order {
		dp := pairs[id]
		findSibling(ix, dp, log)
		if !dp.debugOK && dp.exe == "" {
			return nil, aotsym.Errorf(aotsym.EINVALID, "%s has neither DWARF nor a symbol table: give the .dbg file dotnet publish wrote next to the executable", dp.given)
		}
		t0 := time.Now()
		b, meta, err := indexPair(ctx, ix, dp)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "aotsym: indexed build %s from %s in %s (%d functions, %d line rows, code %v)\n",
			id, strings.Join(filesOf(dp), " + "), time.Since(t0).Round(time.Millisecond), b.Index.NumFunctions(), b.Index.LineRows(), b.Index.HasCode())
		src.Add(b, meta)
	}
	return src, nil
}

func filesOf(dp *debugPair) []string {
	var out []string
	if dp.debug != "" {
		out = append(out, dp.debug)
	}
	if dp.exe != "" && dp.exe != dp.debug {
		out = append(out, dp.exe)
	}
	return out
}

// inspectFile reads a file's identity.
func inspectFile(ix symbolizer.Indexer, path string) (symbolizer.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return symbolizer.FileInfo{}, aotsym.Errorf(aotsym.EINVALID, "--dbg %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return symbolizer.FileInfo{}, aotsym.Errorf(aotsym.EINVALID, "--dbg %s: %v", path, err)
	}
	if st.IsDir() {
		return symbolizer.FileInfo{}, aotsym.Errorf(aotsym.EINVALID, "--dbg %s is a directory: give the .dbg file inside it", path)
	}
	info, err := ix.Inspect(f, st.Size())
	if err != nil {
		return symbolizer.FileInfo{}, aotsym.Errorf(aotsym.ErrorCode(err), "--dbg %s: %s", path, aotsym.ErrorMessage(err))
	}
	return info, nil
}

// findSibling completes a pair with the file next to the given one: the
// executable `app` beside `app.dbg`, or `app.dbg` beside `app`, when it has the
// same build ID.
func findSibling(ix symbolizer.Indexer, dp *debugPair, log io.Writer) {
	var want string
	switch {
	case dp.exe == "" && dp.debug != "":
		for _, ext := range []string{".dbg", ".debug"} {
			if s, ok := strings.CutSuffix(dp.debug, ext); ok {
				want = s
			}
		}
	case dp.exe != "" && (dp.debug == "" || dp.debug == dp.exe):
		for _, ext := range []string{".dbg", ".debug"} {
			if _, err := os.Stat(dp.exe + ext); err == nil {
				want = dp.exe + ext
				break
			}
		}
	}
	if want == "" {
		return
	}
	if _, err := os.Stat(want); err != nil {
		if dp.exe == "" {
			fmt.Fprintf(log, "aotsym: no executable %s next to %s: faulting instructions cannot be told from return addresses (a leaf frame is taken for a return address)\n", want, dp.debug)
		}
		return
	}
	info, err := inspectFile(ix, want)
	if err != nil || info.BuildID != dp.id {
		other := "unreadable"
		if err == nil {
			other = "build ID " + info.BuildID.String()
		}
		fmt.Fprintf(log, "aotsym: %s is not used: %s, not %s\n", want, other, dp.id)
		return
	}
	if info.HasCode && dp.exe == "" {
		dp.exe, dp.exeFromNext = want, true
		fmt.Fprintf(log, "aotsym: using the code of %s next to %s (same build ID %s)\n", want, dp.debug, dp.id.Short())
	} else if !info.HasCode && info.HasDebug {
		dp.debug, dp.debugOK, dp.exeFromNext = want, true, true
		fmt.Fprintf(log, "aotsym: using the debug file %s next to %s (same build ID %s)\n", want, dp.exe, dp.id.Short())
	}
}

// indexPair builds and opens one build's index.
func indexPair(ctx context.Context, ix symbolizer.Indexer, dp *debugPair) (*symbolizer.Build, aotsym.Build, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(path string) (*sizedFile, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		return &sizedFile{File: f, size: st.Size()}, nil
	}
	meta := aotsym.Build{ID: dp.id}
	var debug, exe *sizedFile
	var err error
	if dp.debugOK && dp.debug != dp.exe {
		if debug, err = open(dp.debug); err != nil {
			return nil, meta, err
		}
		meta.Files = append(meta.Files, aotsym.StoredFile{Kind: aotsym.FileDebug, Name: filepath.Base(dp.debug), Size: debug.size})
	}
	if dp.exe != "" {
		if exe, err = open(dp.exe); err != nil {
			return nil, meta, err
		}
		meta.Files = append(meta.Files, aotsym.StoredFile{Kind: aotsym.FileExecutable, Name: filepath.Base(dp.exe), Size: exe.size})
	}
	var res symbolizer.IndexResult
	switch {
	case debug != nil && exe != nil:
		res, err = ix.Build(ctx, debug, exe)
	case debug != nil:
		res, err = ix.Build(ctx, debug, nil)
	default:
		res, err = ix.Build(ctx, nil, exe)
	}
	if err != nil {
		return nil, meta, fmt.Errorf("indexing %s: %w", strings.Join(filesOf(dp), " + "), err)
	}
	b, err := symbolizer.OpenBuild(dp.id, res.Data)
	if err != nil {
		return nil, meta, err
	}
	meta.Arch, meta.HasCode = b.Index.Arch(), res.HasCode
	meta.Functions, meta.LineRows, meta.IndexSize = res.Functions, res.LineRows, int64(len(res.Data))
	return b, meta, nil
}

// sizedFile is an *os.File with the Size the indexer wants.
type sizedFile struct {
	*os.File
	size int64
}

func (f *sizedFile) Size() int64 { return f.size }
