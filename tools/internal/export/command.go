package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr"
)

// CommandConfig adapts NewCommand to the program that hosts it.
type CommandConfig struct {
	// SelfTests says the running program registers the tests itself (the
	// ktstr command): it is the test binary unless --test-binary or
	// KTSTR_TEST_BINARY names another, and a test name is checked against
	// its registry before anything runs. Otherwise a test binary is built
	// from TestsPackage of the enclosing module.
	SelfTests bool
}

// NewCommand is `ktstr export` (and `bazel run //tools:export --`): write
// NAME.run, or list the exportable tests. Flags may come before or after
// the name. Under `bazel run` relative paths are the user's directory's
// and the stamped commit is the workspace's.
func NewCommand(use string, cfg CommandConfig) *cobra.Command {
	var (
		output, testBin string
		quiet, list     bool
	)
	cmd := &cobra.Command{
		Use:   use + " NAME | --list",
		Short: "Write a self-extracting .run script that reproduces a test on bare metal",
		Long: `Writes NAME.run: a self-extracting bash script that reproduces the registered
test NAME on a bare-metal host (root, matching topology, a sched_ext kernel),
without a VM. ` + "`--list`" + ` prints the exportable test names.`,
		Example: "  " + use + " fifo_two_llcs -o /tmp/x.run\n  " + use + " --list",
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case list && len(args) > 0:
				return fmt.Errorf("--list takes no test name (got %s)", quotedList(args))
			case !list && len(args) == 0:
				return errors.New("missing the test NAME to export (or --list)")
			case len(args) > 1:
				return fmt.Errorf("one test at a time: unexpected %s after %q", quotedList(args[1:]), args[0])
			}
			if cfg.SelfTests && !list && testBin == "" && os.Getenv(TestBinaryEnv) == "" {
				_, err := ktstr.LookupTest(args[0])
				return err
			}
			return nil
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 || !cfg.SelfTests {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, t := range ktstr.Registered() {
				names = append(names, t.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			bin, cleanup, err := testBinary(c.Context(), cfg, testBin)
			if err != nil {
				return err
			}
			defer cleanup()
			// Under `bazel run` the process runs in the runfiles tree;
			// the user's directory and checkout are in these variables.
			dir := os.Getenv("BUILD_WORKING_DIRECTORY")
			src := firstNonEmpty(os.Getenv("BUILD_WORKSPACE_DIRECTORY"), dir)
			if list {
				tests, err := List(c.Context(), bin, dir)
				if err != nil {
					return err
				}
				if len(tests) > 0 {
					fmt.Fprintln(c.OutOrStdout(), strings.Join(tests, "\n"))
				}
				return nil
			}
			res, err := Export(c.Context(), Options{TestBinary: bin, Test: args[0], Output: output, Dir: dir, SourceDir: src, Log: zap.NewNop()})
			if err != nil {
				return err
			}
			if !quiet {
				fmt.Fprintln(c.ErrOrStderr(), res.Summary())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "output `path` (default NAME.run in the current directory)")
	f.BoolVar(&quiet, "quiet", false, "print nothing on success")
	f.BoolVar(&list, "list", false, "print the exportable test names, one per line")
	testBinDefault := "built from " + TestsPackage + " with go test -c"
	if cfg.SelfTests {
		testBinDefault = "this program"
	}
	f.StringVar(&testBin, "test-binary", "", "test binary `path` to export from (default $"+TestBinaryEnv+", else "+testBinDefault+")")
	return cmd
}

// testBinary is the binary to export from: --test-binary, else
// $KTSTR_TEST_BINARY, else this program (SelfTests) or one built with
// go test -c.
func testBinary(ctx context.Context, cfg CommandConfig, explicit string) (string, func(), error) {
	if cfg.SelfTests && explicit == "" && os.Getenv(TestBinaryEnv) == "" {
		self, err := os.Executable()
		if err != nil {
			return "", func() {}, fmt.Errorf("locating this program: %w", err)
		}
		return self, func() {}, nil
	}
	dir := os.Getenv("BUILD_WORKING_DIRECTORY")
	src := firstNonEmpty(os.Getenv("BUILD_WORKSPACE_DIRECTORY"), dir)
	return FindTestBinary(ctx, explicit, firstNonEmpty(src, dir))
}

// quotedList shows arguments in a message, each quoted.
func quotedList(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// Command runs NewCommand(prog) for a program of its own (tools/export)
// and returns the exit status: 0, 1 when the export failed, 2 for a
// usage error.
func Command(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	cmd := NewCommand(prog, CommandConfig{})
	ran := false
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error { ran = true; return run(c, args) }
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		if !ran {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", prog)
			return 2
		}
		return 1
	}
	return 0
}
