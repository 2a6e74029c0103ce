package main

import (
	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr"
)

func init() { register("", newStatsCmd) }

func newStatsCmd(*env) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "List kept runs, compare two runs' metrics, prune old runs",
		Long: `Runs keep their results directories under ` + ktstr.RunsRoot() + ` (or --out).
` + "`stats list`" + ` lists them; ` + "`stats compare A B`" + ` prints B's metrics against A's and
exits 1 when one regressed beyond its threshold; ` + "`stats prune --keep N`" + ` removes all but the
N newest (it lists them first and asks, or needs --force).`,
		GroupID: groupTest,
		Args:    subcommandArgs,
		RunE:    missingSubcommand,
	}
}

// addRunsRootFlag is --root of the stats commands.
func addRunsRootFlag(c *cobra.Command, p *string) {
	c.Flags().StringVar(p, "root", ktstr.RunsRoot(), "`DIR` the runs are kept in")
	_ = c.MarkFlagDirname("root")
}
