// Package tests holds ktstr-go's own scheduler tests. Tests registered
// here (non-_test files) are also runnable and exportable through the
// ktstr command (`ktstr run --list`); the _test files run them under go
// test.
package tests

import (
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/tests/scheds"
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
