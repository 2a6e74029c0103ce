package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/results"
)

func init() { register("stats", newStatsListCmd) }

func newStatsListCmd(e *env) *cobra.Command {
	var root string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the kept runs, newest first",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			entries, err := results.List(root)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				fmt.Fprintf(e.stdout, "no runs under %s\n", root)
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tVERDICT\tTEST\tTOPOLOGY\tSCHEDULER\tKERNEL\tBACKEND\tVM")
			for _, en := range entries {
				d := en.Result.Dimensions
				sched := d.Scheduler
				if len(d.Flags) > 0 {
					sched += "+" + strings.Join(d.Flags, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.ID, en.Result.Verdict, d.Test, d.Topology, sched, d.Kernel, d.Backend,
					en.Result.Timings.VM.Round(1e8))
			}
			return tw.Flush()
		},
	}
	addRunsRootFlag(c, &root)
	return c
}
