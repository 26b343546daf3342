package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/aotsym/aotsym/symbolizer/elfindex"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { register(newUploadCmd) }

// newUploadCmd is `aotsym upload [--server URL] [--tag k=v…] [FILE...] [--publish-dir DIR...]`.
func newUploadCmd() *cobra.Command {
	var (
		sf          serverFlags
		tagList     []string
		publishDirs []string
		compress    string
		force       bool
		progress    string
	)
	cmd := &cobra.Command{
		Use:   "upload [--server URL] [--tag key=value...] [FILE...] [--publish-dir DIR...]",
		Short: "Upload executables and debug files (.dbg) to a server",
		Long: `upload sends executables and their debug files to an aotsym server, keyed by
the GNU build ID read from each file. A file the server already has is skipped
(its tags are still added), so CI can run it on every build.

--publish-dir DIR finds what ` + "`dotnet publish -p:PublishAot=true`" + ` wrote: each X.dbg
and, when present, its executable X (app + app.dbg, bootstrap + bootstrap.dbg).
It can be given several times, and with files.

On a terminal each file shows a progress bar; otherwise one line is printed per
file. The exit code is 1 when any file failed.`,
		Example: `  aotsym upload --server http://127.0.0.1:8080 bin/Release/net10.0/linux-x64/publish/app.dbg
  AOTSYM_SERVER=https://aotsym.internal AOTSYM_TOKEN=… aotsym upload --tag service=orders --tag version=1.4.2 --publish-dir ./publish`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(publishDirs) == 0 && len(args) == 0 {
				return usagef("name the files to upload, or --publish-dir DIR (see `aotsym upload --help`)")
			}
			switch compress {
			case "gzip", "zstd", "none":
			default:
				return usagef("--compress %q: use gzip, zstd or none", compress)
			}
			tags, err := client.ParseTags(tagList)
			if err != nil {
				return usageError{err}
			}
			files := append([]string{}, args...)
			for _, dir := range publishDirs {
				found, err := findPublished(dir)
				if err != nil {
					return err
				}
				files = append(files, found...)
			}
			c, err := sf.client()
			if err != nil {
				return err
			}
			u := &uploader{c: c, tags: tags, compress: compress, force: force,
				out: cmd.OutOrStdout(), bar: progressWriter(cmd.ErrOrStderr(), progress)}
			return u.run(cmd.Context(), files)
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringArrayVar(&tagList, "tag", nil, "add this key=value tag to the builds (repeatable): service=orders, version=1.4.2, git=abc123")
	cmd.Flags().StringArrayVar(&publishDirs, "publish-dir", nil, "upload every X.dbg of this `dotnet publish` output with its executable X (repeatable)")
	cmd.Flags().StringVar(&compress, "compress", "gzip", "compress uploads on the way: gzip, zstd or none")
	cmd.Flags().BoolVar(&force, "force", false, "upload even when the server already has the file")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress bar: auto (on a terminal), always, never")
	return cmd
}

// progressWriter returns where progress bars go, or nil for none.
func progressWriter(w io.Writer, mode string) io.Writer {
	switch mode {
	case "always":
		return w
	case "never":
		return nil
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return nil
}

// findPublished lists the files to upload from a publish directory: each
// X.dbg, preceded by its executable X when there is one.
func findPublished(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "--publish-dir: %v", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".dbg") || name == ".dbg" {
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		out = append(out, filepath.Join(dir, name))
		exe := filepath.Join(dir, strings.TrimSuffix(name, ".dbg"))
		if fi, err := os.Stat(exe); err == nil && fi.Mode().IsRegular() {
			out = append(out, exe)
		}
	}
	if len(out) == 0 {
		return nil, aotsym.Errorf(aotsym.EINVALID, "no .dbg file in %s: publish with -p:PublishAot=true (which writes app and app.dbg), or name the files to upload", dir)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.HasSuffix(out[i], ".dbg") && !strings.HasSuffix(out[j], ".dbg") })
	return out, nil
}

type uploader struct {
	c        *client.Client
	tags     map[string]string
	compress string
	force    bool
	out      io.Writer
	bar      io.Writer // nil: no progress bar

	uploaded, skipped, failed int
}

func (u *uploader) run(ctx context.Context, files []string) error {
	for _, path := range files {
		u.one(ctx, path)
	}
	if len(files) > 1 {
		fmt.Fprintf(u.out, "%d uploaded, %d already there, %d failed\n", u.uploaded, u.skipped, u.failed)
	}
	if u.failed > 0 {
		return exitError{code: exitFailure}
	}
	return nil
}

func (u *uploader) one(ctx context.Context, path string) {
	name := filepath.Base(path)
	fail := func(err error) {
		u.failed++
		fmt.Fprintf(u.out, "failed    %s: %s\n", path, aotsym.ErrorMessage(err))
	}
	f, err := os.Open(path)
	if err != nil {
		fail(aotsym.Errorf(aotsym.EINVALID, "%v", err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		fail(aotsym.Errorf(aotsym.EINVALID, "not a regular file"))
		return
	}
	id, kind, err := inspectELF(f, fi.Size())
	if err != nil {
		fail(err)
		return
	}
	if !u.force {
		cctx, cancel := context.WithTimeout(ctx, client.DefaultTimeout)
		b, err := u.c.Build(cctx, id)
		cancel()
		switch {
		case err == nil:
			if _, has := b.File(kind); has {
				if missing := missingTags(b.Tags, u.tags); len(missing) > 0 {
					cctx, cancel := context.WithTimeout(ctx, client.DefaultTimeout)
					_, err := u.c.SetTags(cctx, id, missing, nil)
					cancel()
					if err != nil {
						fail(err)
						return
					}
				}
				u.skipped++
				fmt.Fprintf(u.out, "skipped   %s  %s of build %s is already on the server\n", path, kind, id)
				return
			}
		case aotsym.ErrorCode(err) == aotsym.ENOTFOUND:
		default:
			fail(err)
			return
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		fail(err)
		return
	}
	start := time.Now()
	var body io.Reader = f
	var bar *progressBar
	if u.bar != nil {
		bar = newProgressBar(u.bar, name, fi.Size())
		body = io.TeeReader(f, bar)
	}
	opts := client.UploadOptions{Name: name, Tags: u.tags, Size: fi.Size()}
	if u.compress != "none" {
		opts.Encoding = u.compress
		body = compressed(body, u.compress)
	}
	res, err := u.c.Upload(ctx, body, opts)
	if pr, ok := body.(*io.PipeReader); ok {
		pr.Close() // stops the compressor when the server answered early
	}
	if bar != nil {
		bar.finish()
	}
	if aotsym.ErrorCode(err) == aotsym.ETOOLARGE {
		// Too big for the request itself (the API on Lambda takes at most
		// about 6 MB): send the file straight to the store through a
		// presigned PUT when the server hands one out.
		if r, perr := u.presigned(ctx, path, fi.Size(), name); perr == nil {
			res, err = r, nil
		} else if c := aotsym.ErrorCode(perr); c != client.CodeUnsupported && c != aotsym.ENOTFOUND {
			err = perr
		}
	}
	if err != nil {
		fail(err)
		return
	}
	what := "already on the server"
	switch {
	case res.Created:
		what = "new build"
		u.uploaded++
	case res.Added:
		what = "added to build"
		u.uploaded++
	default:
		u.skipped++
	}
	fmt.Fprintf(u.out, "uploaded  %s  %s of build %s (%s, %s, %s)\n", path, res.Kind, res.BuildID, what, humanSize(fi.Size()), time.Since(start).Round(time.Millisecond))
}

// presigned uploads f raw (S3 does not decompress) through the server's
// presigned-upload route. Stores that have none answer with the code
// unsupported (or an older server with not_found), and the caller then keeps
// the original "too large" error.
func (u *uploader) presigned(ctx context.Context, path string, size int64, name string) (*client.UploadResult, error) {
	// Opened again: the HTTP client closed the file it sent as the first body.
	f, err := os.Open(path)
	if err != nil {
		return nil, aotsym.Errorf(aotsym.EINVALID, "%v", err)
	}
	defer f.Close()
	var body io.Reader = f
	if u.bar != nil {
		bar := newProgressBar(u.bar, name+" (presigned)", size)
		defer bar.finish()
		body = io.TeeReader(f, bar)
	}
	return u.c.UploadPresigned(ctx, body, size, client.UploadOptions{Name: name, Tags: u.tags})
}

func missingTags(have, want map[string]string) map[string]string {
	var out map[string]string
	for k, v := range want {
		if have[k] != v {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// compressed streams r compressed with gzip or zstd through a pipe.
func compressed(r io.Reader, enc string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var w io.WriteCloser
		if enc == "zstd" {
			zw, err := zstd.NewWriter(pw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			w = zw
		} else {
			w, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
		}
		if _, err := io.Copy(w, r); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()
	return pr
}

// inspectELF reads a file's GNU build ID and its role in the build, with the
// same reader the server's indexer uses (elfindex.Inspect): a file whose
// sections hold code is the executable, anything else the debug file.
func inspectELF(r io.ReaderAt, size int64) (aotsym.BuildID, aotsym.FileKind, error) {
	in, err := elfindex.Inspect(r, size)
	if err != nil {
		return "", "", err
	}
	if in.BuildID == "" {
		return "", "", aotsym.Errorf(aotsym.EINVALID, "the ELF file has no GNU build ID note: link with --build-id (dotnet publish does by default)")
	}
	if in.HasCode {
		return in.BuildID, aotsym.FileExecutable, nil
	}
	return in.BuildID, aotsym.FileDebug, nil
}

// progressBar draws one line on a terminal, at most ten times a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	name  string
	total int64
	done  int64
	last  time.Time
	start time.Time
}

func newProgressBar(w io.Writer, name string, total int64) *progressBar {
	p := &progressBar{w: w, name: name, total: total, start: time.Now()}
	p.draw()
	return p
}

func (p *progressBar) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(len(b))
	if time.Since(p.last) >= 100*time.Millisecond || p.done == p.total {
		p.draw()
	}
	return len(b), nil
}

func (p *progressBar) draw() {
	p.last = time.Now()
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.done) / float64(p.total)
	}
	n := int(frac * width)
	name := p.name
	if len(name) > 24 {
		name = name[:23] + "…"
	}
	fmt.Fprintf(p.w, "\r%-24s [%s%s] %3.0f%% %s/%s ", name, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, humanSize(p.done), humanSize(p.total))
}

func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 80))
}
