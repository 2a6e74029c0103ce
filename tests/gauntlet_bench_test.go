package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/gauntlet"
	"github.com/ktstr-go/ktstr/verdict"
)

// BenchmarkGauntlet runs the same six variants (the demo under FIFO and
// under the kernel's fair class, on three presets, on the default kernel
// or KTSTR_KERNEL) at parallelism 1 and at the default, side by side:
//
//	flock /tmp/ktstr-vm.lock go test -run '^$' -bench Gauntlet -benchtime 1x ./tests
//
// It reports variants per hour, wall seconds per variant, and each
// variant's wall time against its scenario's duration (the rest is boot,
// scheduler load and teardown), plus the lowest host share a VM got.
func BenchmarkGauntlet(b *testing.B) {
	if testing.Short() {
		b.Skip("ktstr: VM benchmarks are skipped under -short")
	}
	ctx := context.Background()
	kernels, err := gauntlet.ResolveKernels(ctx, gauntlet.KernelOptions{})
	if err != nil {
		b.Skipf("ktstr: %v", err)
	}
	tests, err := gauntlet.SelectTests([]string{"demo", "demo_eevdf"})
	if err != nil {
		b.Fatal(err)
	}
	presets, err := gauntlet.SelectPresets([]string{"pair", "smt-pair", "2llc"})
	if err != nil {
		b.Fatal(err)
	}
	vs, _, err := gauntlet.Expand(gauntlet.Selection{Tests: tests, Presets: presets, Kernels: kernels[:1]})
	if err != nil {
		b.Fatal(err)
	}
	def := gauntlet.DefaultParallelism()
	levels := []int{1}
	if def > 1 {
		levels = append(levels, def)
	}
	for _, par := range levels {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			var outs []gauntlet.Outcome
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				outs = (&gauntlet.Runner{Parallel: par}).Run(ctx, vs)
				wall += time.Since(start)
			}
			runs := float64(b.N * len(vs))
			b.ReportMetric(runs/wall.Hours(), "variants/h")
			b.ReportMetric(wall.Seconds()/runs, "s/variant")
			var ratio float64
			minShare := 1.0
			var rows []string
			for _, o := range outs {
				ratio += o.Wall.Seconds() / o.Scenario.Seconds()
				share := "-"
				if h := o.HostShare; h != nil {
					minShare = min(minShare, h.Share)
					share = fmt.Sprintf("%.0f%%", 100*h.Share)
				}
				rows = append(rows, fmt.Sprintf("%-30s %-12s wall %5.1fs  VM %5.1fs  scenario %.0fs  x%.1f  host share %s",
					o.Variant.ID(), o.Verdict, o.Wall.Seconds(), o.VM.Seconds(), o.Scenario.Seconds(), o.Wall.Seconds()/o.Scenario.Seconds(), share))
				if o.Verdict == verdict.Fail {
					b.Errorf("%s failed: %s", o.Variant.ID(), strings.Join(o.Reasons, "; "))
				}
			}
			b.ReportMetric(ratio/float64(len(outs)), "wall/scenario")
			b.ReportMetric(minShare, "min-host-share")
			b.Logf("parallelism %d, %d variants in %v:\n  %s", par, len(vs), wall.Round(time.Second), strings.Join(rows, "\n  "))
		})
	}
}
