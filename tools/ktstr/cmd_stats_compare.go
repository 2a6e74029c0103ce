package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ktstr-go/ktstr/results"
)

func init() { register("stats", newStatsCompareCmd) }

func newStatsCompareCmd(e *env) *cobra.Command {
	var root string
	th := thresholdsValue{results.Thresholds{}}
	c := &cobra.Command{
		Use:   "compare A B",
		Short: "Print run B's metrics against run A's; exit 1 on a regression",
		Long: `A and B are results directories or run ids under --root. Prints B's metrics
against A's and exits 1 when one regressed beyond its threshold; -t overrides
a metric's threshold (wake_p99=30%, cpu_share=0.1,0.02).`,
		Example: "  ktstr stats compare 20261203T101500Z-demo 20261203T111500Z-demo -t wake_p99=30%",
		Args:    positional("A", "B"),
		RunE: func(_ *cobra.Command, args []string) error {
			dirs := make([]string, 2)
			for i, p := range args {
				d, err := results.Resolve(root, p)
				if err != nil {
					return usageErr(err)
				}
				dirs[i] = d
			}
			cs, err := results.CompareDirs(dirs[0], dirs[1], th.th)
			if err != nil {
				return usageErr(err)
			}
			if unknown := unknownThresholds(th.th, cs); len(unknown) > 0 {
				return usagef("-t for metrics neither run has: %s", strings.Join(unknown, ", "))
			}
			regressed := false
			for _, c := range cs {
				if err := c.WriteText(e.stdout); err != nil {
					return err
				}
				regressed = regressed || len(c.Regressions()) > 0
			}
			if regressed {
				return exitCode(exitFail)
			}
			return nil
		},
	}
	addRunsRootFlag(c, &root)
	c.Flags().VarP(th, "threshold", "t", "override a metric's threshold: `METRIC=REL[,ABS]` (repeatable)")
	return c
}

// thresholdsValue is a repeatable -t METRIC=REL[,ABS].
type thresholdsValue struct{ th results.Thresholds }

func (v thresholdsValue) String() string { return "" }
func (v thresholdsValue) Type() string   { return "threshold" }
func (v thresholdsValue) Set(s string) error {
	name, t, err := results.ParseThreshold(s)
	if err != nil {
		return err
	}
	v.th[name] = t
	return nil
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
