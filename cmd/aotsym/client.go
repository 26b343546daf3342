package main

// Helpers of the commands that talk to a server (upload, builds, symbolicate
// --server): the --server flag, settings from the environment, and the server
// mode of `aotsym symbolicate`.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serverFlags is the --server flag of every client command; the token comes
// from $AOTSYM_TOKEN only, so that it never shows in a process list.
type serverFlags struct {
	server string
}

func (f *serverFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", "", "URL of the aotsym server, e.g. http://127.0.0.1:8080 (default $AOTSYM_SERVER; token from $AOTSYM_TOKEN)")
}

// client returns a client for the server, or a usage error saying how to name
// one.
func (f *serverFlags) client() (*client.Client, error) {
	server := f.server
	if server == "" {
		server = os.Getenv(client.EnvServer)
	}
	if strings.TrimSpace(server) == "" {
		return nil, usagef("no server: pass --server URL or set %s (for example http://127.0.0.1:8080)", client.EnvServer)
	}
	c, err := client.New(server, os.Getenv(client.EnvToken))
	if err != nil {
		return nil, usageError{err}
	}
	c.UserAgent = "aotsym-cli"
	return c, nil
}

// bindEnv sets every flag of cmd that was not given on the command line from
// its environment variable, so each setting can come from either.
func bindEnv(cmd *cobra.Command, env map[string]string) error {
	for flag, name := range env {
		v, ok := os.LookupEnv(name)
		if !ok || cmd.Flags().Changed(flag) {
			continue
		}
		if err := cmd.Flags().Set(flag, v); err != nil {
			return usagef("%s=%q: %v", name, aotsym.Clip(v, 60), err)
		}
	}
	return nil
}

// byteSize is a flag holding a size: 1048576, 512KiB, 16MiB, 2GiB (also KB,
// MB, GB, K, M, G, taken as powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return formatSize(int64(*b)) }
func (b *byteSize) Type() string   { return "size" }
func (b *byteSize) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSpace(t[len(num):]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: write a number of bytes, or e.g. 512KiB, 16MiB, 2GiB", s)
	}
	shift := 0
	switch unit {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	case "t", "tb", "tib":
		shift = 40
	default:
		return 0, fmt.Errorf("%q has an unknown unit: use KiB, MiB or GiB", s)
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n << shift, nil
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// humanSize writes a size for people: 4.7 MiB.
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// RemoteSymbolicate is the server mode of `aotsym symbolicate`: the options
// of `aotsym symbolicate --server URL [--build-id ID] [--tag k=v] [--json]`.
type RemoteSymbolicate struct {
	Server  string   // --server (default $AOTSYM_SERVER)
	BuildID string   // --build-id; empty: the server detects the build
	Tags    []string // --tag key=value: the newest build carrying all of them
	JSON    bool     // --json: the JSON document instead of the JIT-style text
}

// symbolicateRemote sends in to the server and writes the answer to out: the
// trace as text with every resolved frame written as the JIT writes it, or the
// JSON document (indented) with --json. The command in symbolicate.go calls it
// when --server (or $AOTSYM_SERVER without --dbg) is given.
func symbolicateRemote(ctx context.Context, o RemoteSymbolicate, in io.Reader, out io.Writer) error {
	c, err := (&serverFlags{server: o.Server}).client()
	if err != nil {
		return err
	}
	var opts client.SymbolicateOptions
	if o.BuildID != "" {
		id, err := aotsym.ParseBuildID(o.BuildID)
		if err != nil {
			return usageError{err}
		}
		opts.BuildID = id
	}
	if opts.Tags, err = client.ParseTags(o.Tags); err != nil {
		return usageError{err}
	}
	if o.JSON {
		t, err := c.Symbolicate(ctx, in, opts)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(t)
	}
	text, _, err := c.SymbolicateText(ctx, in, opts)
	if err != nil {
		return err
	}
	_, err = out.Write(text)
	return err
}
