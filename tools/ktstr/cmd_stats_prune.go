package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/results"
)

func init() { register("stats", newStatsPruneCmd) }

// pruneFlags are `ktstr stats prune`'s flags.
type pruneFlags struct {
	root string
	opts results.PruneOptions
	removal
}

func newStatsPruneCmd(e *env) *cobra.Command {
	var f pruneFlags
	c := &cobra.Command{
		Use:   "prune",
		Short: "Remove kept runs: lists them first, removes with --force or your confirmation",
		Long: `Removes the runs kept under --root except the --keep newest (and, with
--older-than, those younger than that). A matrix's directory counts as one
run. Nothing but results directories is touched.

A run's results may be the only evidence of a failure, so prune first lists
what it would remove and keep. On a terminal it then asks; elsewhere it
removes only with --force (without it, it exits 2 having removed nothing).
--dry-run only lists.`,
		Example: `  ktstr stats prune --keep 20            # asks, on a terminal
  ktstr stats prune --older-than 30d --force
  ktstr stats prune --keep 5 --dry-run`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if f.opts.Keep < 0 {
				return usagef("--keep %d: want 0 or more runs to keep", f.opts.Keep)
			}
			if err := f.check(); err != nil {
				return err
			}
			return pruneRuns(e, &f)
		},
	}
	addRunsRootFlag(c, &f.root)
	fl := c.Flags()
	fl.IntVar(&f.opts.Keep, "keep", 0, "keep the `N` newest runs")
	fl.Var(ageValue{&f.opts.OlderThan}, "older-than", "remove only runs that started longer ago than `AGE` (30d, 2w, 12h)")
	f.addFlags(c)
	return c
}

func pruneRuns(e *env, f *pruneFlags) error {
	remove, keep, err := results.PlanPrune(f.root, f.opts)
	if err != nil {
		return err
	}
	if len(remove) == 0 {
		printRunDirs(e.stdout, "keep  ", keep)
		fmt.Fprintf(e.stderr, "nothing to remove (%d kept) in %s\n", len(keep), f.root)
		return nil
	}
	printRunDirs(e.stdout, "remove", remove)
	printRunDirs(e.stdout, "keep  ", keep)
	var size int64
	for _, r := range remove {
		size += r.Size
	}
	what := fmt.Sprintf("%d run%s (%.1f MB)", len(remove), plural(len(remove)), float64(size)/1e6)
	if ok, err := f.consent(e, what, fmt.Sprintf("Remove %s from %s? [y/N] ", what, f.root)); !ok {
		return err
	}
	if err := results.RemoveRuns(remove); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "removed %s, kept %d\n", what, len(keep))
	return nil
}

// printRunDirs lists runs, one per line after verb.
func printRunDirs(w io.Writer, verb string, runs []results.RunDir) {
	for _, r := range runs {
		n := ""
		if r.Runs > 1 {
			n = fmt.Sprintf(", %d runs", r.Runs)
		}
		fmt.Fprintf(w, "%s %s (started %s%s, %.1f MB)\n", verb, r.ID, r.Started.Local().Format("2006-01-02 15:04"), n, float64(r.Size)/1e6)
	}
}
