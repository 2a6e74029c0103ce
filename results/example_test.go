package results_test

import (
	"fmt"

	"github.com/ktstr-go/ktstr/results"
)

// Compare two runs' sidecars: B's cg_1 got a third of the CPU share it
// had in A, which is a regression of a higher-is-better metric.
func ExampleCompare() {
	a := &results.Metrics{ID: "healthy", Metrics: []results.Metric{
		{Scope: "cg_1", Name: results.MetricCPUShare, Value: 0.48, Unit: "ratio", Polarity: results.HigherIsBetter},
		{Scope: "overall", Name: results.MetricWakeP99, Value: 2.0, Unit: "ms", Polarity: results.LowerIsBetter},
	}}
	b := &results.Metrics{ID: "unfair", Metrics: []results.Metric{
		{Scope: "cg_1", Name: results.MetricCPUShare, Value: 0.16, Unit: "ratio", Polarity: results.HigherIsBetter},
		{Scope: "overall", Name: results.MetricWakeP99, Value: 2.2, Unit: "ms", Polarity: results.LowerIsBetter},
	}}
	c := results.Compare(a, b, nil)
	for _, d := range c.Regressions() {
		fmt.Printf("%s %s: %.2f -> %.2f\n", d.Scope, d.Name, d.A, d.B)
	}
	// Output:
	// cg_1 cpu_share: 0.48 -> 0.16
}
