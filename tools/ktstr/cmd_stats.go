package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/results"
)

func init() {
	register("stats", "list kept runs (list) and compare two runs' metrics (compare A B; exits 1 on a regression)", cmdStats)
}

const statsUsage = `usage:
  ktstr stats list [--root DIR]
  ktstr stats compare [--root DIR] [-t METRIC=REL[,ABS]]... A B

A and B are results directories or run ids under the root (default %s).
compare prints B's metrics against A's and exits 1 when one regressed beyond
its threshold; -t overrides a metric's threshold (wake_p99=30%%, cpu_share=0.1,0.02).
`

func cmdStats(_ context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, statsUsage, ktstr.RunsRoot())
		return 2
	}
	switch args[0] {
	case "list":
		return statsList(args[1:], os.Stdout)
	case "compare":
		return statsCompare(args[1:], os.Stdout)
	}
	fmt.Fprintf(os.Stderr, "ktstr stats: unknown subcommand %q\n", args[0])
	fmt.Fprintf(os.Stderr, statsUsage, ktstr.RunsRoot())
	return 2
}

// parseInterspersed parses flags wherever they stand among the
// positional arguments (the flag package stops at the first of these).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func statsList(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("stats list", flag.ContinueOnError)
	root := fs.String("root", ktstr.RunsRoot(), "directory the runs are kept in")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	entries, err := results.List(*root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr stats list: %v\n", err)
		return 1
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "no runs under %s\n", *root)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tVERDICT\tTEST\tTOPOLOGY\tSCHEDULER\tKERNEL\tBACKEND\tVM")
	for _, e := range entries {
		d := e.Result.Dimensions
		sched := d.Scheduler
		if len(d.Flags) > 0 {
			sched += "+" + strings.Join(d.Flags, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Result.Verdict, d.Test, d.Topology, sched, d.Kernel, d.Backend,
			e.Result.Timings.VM.Round(1e8))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

func statsCompare(args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("stats compare", flag.ContinueOnError)
	root := fs.String("root", ktstr.RunsRoot(), "directory the runs are kept in (for run ids)")
	th := results.Thresholds{}
	fs.Func("t", "override a metric's threshold: METRIC=REL[,ABS] (repeatable)", func(s string) error {
		name, t, err := results.ParseThreshold(s)
		if err == nil {
			th[name] = t
		}
		return err
	})
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 2 {
		fmt.Fprintf(os.Stderr, statsUsage, *root)
		return 2
	}
	dirs := make([]string, 2)
	for i, p := range pos {
		if dirs[i], err = results.Resolve(*root, p); err != nil {
			fmt.Fprintf(os.Stderr, "ktstr stats compare: %v\n", err)
			return 2
		}
	}
	cs, err := results.CompareDirs(dirs[0], dirs[1], th)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr stats compare: %v\n", err)
		return 2
	}
	if unknown := unknownThresholds(th, cs); len(unknown) > 0 {
		fmt.Fprintf(os.Stderr, "ktstr stats compare: -t for metrics neither run has: %s\n", strings.Join(unknown, ", "))
		return 2
	}
	regressed := false
	for _, c := range cs {
		if err := c.WriteText(stdout); err != nil {
			return 1
		}
		regressed = regressed || len(c.Regressions()) > 0
	}
	if regressed {
		return 1
	}
	return 0
}

// unknownThresholds names the overridden metrics no comparison has: a
// typo would otherwise silently keep the default.
func unknownThresholds(th results.Thresholds, cs []*results.Comparison) []string {
	known := map[string]bool{}
	for _, c := range cs {
		for _, d := range c.Deltas {
			known[d.Name] = true
		}
	}
	var out []string
	for name := range th {
		if !known[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
