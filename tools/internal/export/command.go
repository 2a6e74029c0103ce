package export

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
)

// Command is the shared body of `ktstr export` and `bazel run
// //tools:export --`: flags may come before or after the test name. It
// returns the process exit code.
func Command(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "", "output `path` (default NAME.run in the current directory)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	list := fs.Bool("list", false, "print the exportable test names, one per line")
	testBin := fs.String("test-binary", "", "test binary `path` to export from (default $"+TestBinaryEnv+", else built from "+TestsPackage+" with go test -c)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s NAME [-o PATH] [--quiet] [--test-binary PATH]\n       %s --list [--test-binary PATH]\n\n", prog, prog)
		fmt.Fprintln(stderr, "Writes NAME.run: a self-extracting bash script that reproduces the test on a bare-metal host (root, matching topology, sched_ext kernel).")
		fs.PrintDefaults()
	}
	var names []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *list == (len(names) == 1) || len(names) > 1 {
		fs.Usage()
		return 2
	}

	// Under `bazel run` the process runs in the runfiles tree; the user's
	// directory and checkout are in these variables.
	dir := firstNonEmpty(os.Getenv("BUILD_WORKING_DIRECTORY"), "")
	src := firstNonEmpty(os.Getenv("BUILD_WORKSPACE_DIRECTORY"), dir)

	bin, cleanup, err := FindTestBinary(ctx, *testBin, firstNonEmpty(src, dir))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	defer cleanup()

	if *list {
		tests, err := List(ctx, bin, dir)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prog, err)
			return 1
		}
		if len(tests) > 0 {
			fmt.Fprintln(stdout, strings.Join(tests, "\n"))
		}
		return 0
	}
	res, err := Export(ctx, Options{TestBinary: bin, Test: names[0], Output: *output, Dir: dir, SourceDir: src, Log: zap.NewNop()})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	if !*quiet {
		fmt.Fprintln(stderr, res.Summary())
	}
	return 0
}
