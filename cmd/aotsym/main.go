// Command aotsym turns stack traces of ahead-of-time compiled programs (.NET
// Native AOT, C, C++, Rust, Go) back into function, file and line. Its
// subcommands and flags are public names (shared/interface.md). This package
// only wires flags to the packages that do the work; each subcommand lives in
// its own file and registers itself with register.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aotsym/aotsym"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (bad input, server error, nothing resolved when asked to require it)
	exitUsage   = 2 // wrong flags or arguments
)

// commands holds the constructors of every subcommand, filled by register in
// each command file's init.
var commands []func() *cobra.Command

func register(newCmd func() *cobra.Command) { commands = append(commands, newCmd) }

// usageError marks an error in how the command was called (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "aotsym",
		Short: "Make stack traces of ahead-of-time compiled programs readable again",
		Long: `aotsym resolves stack frames of .NET Native AOT programs (and native frames of
C, C++, Rust and Go code) to function, file and line, using the program's debug
file (app.dbg). Run it offline against local debug files, or as a service that
keeps the debug files of every build.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())}
	})
	for _, newCmd := range commands {
		root.AddCommand(newCmd())
	}
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "aotsym: %v\n", ue.error)
		return exitUsage
	}
	if code := exitCodeOf(err); code != 0 {
		return code
	}
	msg := err.Error()
	if aotsym.ErrorCode(err) != aotsym.EINTERNAL {
		msg = aotsym.ErrorMessage(err)
	}
	fmt.Fprintf(stderr, "aotsym: %s\n", msg)
	return exitFailure
}

// exitCoder lets a command choose its exit code after printing its own output.
type exitCoder interface{ ExitCode() int }

func exitCodeOf(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 0
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
