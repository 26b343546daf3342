package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aotsym/aotsym"
	"github.com/aotsym/aotsym/api/client"
	"github.com/spf13/cobra"
)

func init() { register(newBuildsCmd) }

// newBuildsCmd is `aotsym builds [list|show ID|tag ID k=v… [-k key]|delete ID…]`.
func newBuildsCmd() *cobra.Command {
	var sf serverFlags
	var asJSON bool
	var listTags []string
	var limit int
	list := func(cmd *cobra.Command, _ []string) error {
		c, err := sf.client()
		if err != nil {
			return err
		}
		tags, err := client.ParseTags(listTags)
		if err != nil {
			return usageError{err}
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
		defer cancel()
		builds, err := c.Builds(ctx, tags, limit)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(cmd.OutOrStdout(), client.BuildList{Builds: builds})
		}
		writeBuildTable(cmd.OutOrStdout(), builds)
		return nil
	}
	cmd := &cobra.Command{
		Use:   "builds [list|show ID|tag ID key=value... [-k KEY]|delete ID...]",
		Short: "List, show, tag and delete the builds a server keeps",
		Long: `builds manages the builds stored on an aotsym server (--server, default
$AOTSYM_SERVER; token from $AOTSYM_TOKEN). Without a subcommand it lists them,
newest first.`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the server's JSON")
	sf.add(cmd.PersistentFlags())
	cmd.Flags().StringArrayVar(&listTags, "tag", nil, "only builds carrying this key=value tag (repeatable)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many builds (the server's default without it)")

	listCmd := &cobra.Command{Use: "list [--tag key=value...]", Short: "List builds, newest first", Args: cobra.NoArgs, RunE: list}
	listCmd.Flags().StringArrayVar(&listTags, "tag", nil, "only builds carrying this key=value tag (repeatable)")
	listCmd.Flags().IntVar(&limit, "limit", 0, "at most this many builds (the server's default without it)")

	showCmd := &cobra.Command{
		Use: "show ID", Short: "Show one build: its files, counts and tags", Args: exactArgs(1, "the build ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := clientAndID(&sf, args[0])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
			defer cancel()
			b, err := c.Build(ctx, id)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), b)
			}
			writeBuild(cmd.OutOrStdout(), b)
			return nil
		},
	}

	var remove []string
	tagCmd := &cobra.Command{
		Use:   "tag ID key=value... [-k KEY...]",
		Short: "Set tags of a build (key=value), or remove them (-k KEY)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := clientAndID(&sf, args[0])
			if err != nil {
				return err
			}
			set, err := client.ParseTags(args[1:])
			if err != nil {
				return usageError{err}
			}
			if len(set) == 0 && len(remove) == 0 {
				return usagef("nothing to change: give key=value tags to set, or -k KEY to remove one")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
			defer cancel()
			b, err := c.SetTags(ctx, id, set, remove)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", b.ID, formatTagList(b.Tags))
			return nil
		},
	}
	tagCmd.Flags().StringArrayVarP(&remove, "remove", "k", nil, "remove the tag with this key (repeatable)")

	deleteCmd := &cobra.Command{
		Use: "delete ID...", Short: "Delete builds and their files (needs an admin token)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := 0
			for _, a := range args {
				c, id, err := clientAndID(&sf, a)
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), client.DefaultTimeout)
				err = c.Delete(ctx, id)
				cancel()
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "aotsym: %s: %s\n", id, aotsym.ErrorMessage(err))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", id)
			}
			if failed > 0 {
				return exitError{code: exitFailure}
			}
			return nil
		},
	}
	cmd.AddCommand(listCmd, showCmd, tagCmd, deleteCmd)
	return cmd
}

// exitError ends the command with a code after it printed its own messages.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }
func (e exitError) ExitCode() int { return e.code }

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s (see `%s --help`)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

func clientAndID(sf *serverFlags, arg string) (*client.Client, aotsym.BuildID, error) {
	id, err := aotsym.ParseBuildID(arg)
	if err != nil {
		return nil, "", usageError{err}
	}
	c, err := sf.client()
	return c, id, err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeBuildTable(w io.Writer, builds []aotsym.Build) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BUILD ID\tARCH\tFILES\tCREATED\tTAGS")
	for _, b := range builds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.ID, b.Arch, fileKinds(b), b.Created.UTC().Format(time.DateTime), formatTagList(b.Tags))
	}
	tw.Flush()
	if len(builds) == 0 {
		fmt.Fprintln(w, "(no builds: upload some with `aotsym upload FILE...`)")
	}
}

func writeBuild(w io.Writer, b aotsym.Build) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "build id\t%s\n", b.ID)
	fmt.Fprintf(tw, "arch\t%s\n", b.Arch)
	for _, f := range b.Files {
		name := f.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s, %s, sha256 %s\n", f.Kind, name, humanSize(f.Size), f.SHA256)
	}
	fmt.Fprintf(tw, "index\tversion %d, %s, %d functions, %d line rows, code %v\n", b.IndexVersion, humanSize(b.IndexSize), b.Functions, b.LineRows, b.HasCode)
	fmt.Fprintf(tw, "created\t%s\n", b.Created.UTC().Format(time.RFC3339))
	if !b.LastUsed.IsZero() {
		fmt.Fprintf(tw, "last used\t%s\n", b.LastUsed.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "tags\t%s\n", formatTagList(b.Tags))
	tw.Flush()
}

func fileKinds(b aotsym.Build) string {
	var k []string
	for _, f := range b.Files {
		k = append(k, string(f.Kind))
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func formatTagList(tags map[string]string) string {
	if len(tags) == 0 {
		return "-"
	}
	return strings.Join(client.FormatTags(tags), " ")
}
