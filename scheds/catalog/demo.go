// Package catalog registers ktstr-go's own named scheduler tests: the
// demo that `ktstr run` runs by default, its EEVDF twin, and the test the
// export end-to-end test packages. Importing it (the ktstr command does,
// and so does the tests package) makes them runnable with `ktstr run
// --test NAME`, listable, exportable and run by ktstr.RunRegistered.
package catalog

import (
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Demo is what `ktstr run` runs by default: the in-repo global-FIFO
// sched_ext scheduler with two cgroups of CPU-spinning workers, judged by
// the default checks (no worker stuck, fair shares, cpuset isolation).
var Demo = ktstr.Register("demo", ktstr.Opts{
	Topology:  topology.Must("1n1l2c1t"),
	Scheduler: scheds.FIFO,
	Duration:  3 * time.Second,
}, twoCgroups)

// DemoEEVDF is the same scenario under the kernel's default scheduler.
var DemoEEVDF = ktstr.Register("demo_eevdf", ktstr.Opts{
	Topology: topology.Must("1n1l2c1t"),
	Duration: 3 * time.Second,
}, twoCgroups)

func twoCgroups(ctx *scenario.Ctx) error {
	return scenario.ExecuteDefs(ctx,
		scenario.Cgroup("cg_0").Workers(2),
		scenario.Cgroup("cg_1").Workers(2))
}
