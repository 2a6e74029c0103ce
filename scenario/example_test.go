package scenario_test

import (
	"time"

	"github.com/ktstr-go/ktstr/scenario"
)

// The declarative style: cgroups and workers as data, one call.
func ExampleExecuteDefs() {
	body := func(ctx *scenario.Ctx) error {
		return scenario.ExecuteDefs(ctx,
			scenario.Cgroup("cg_0").Workers(2),
			scenario.Cgroup("cg_1").Workers(2).Work(scenario.MixedWork).Cpuset(scenario.Disjoint(1, 2)),
		)
	}
	_ = body // passed to ktstr.Run(t, opts, body)
}

// Multi-step: work changes while it runs.
func ExampleExecuteSteps() {
	body := func(ctx *scenario.Ctx) error {
		return scenario.ExecuteSteps(ctx,
			scenario.Step{Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(4)}, Hold: scenario.Frac(0.5)},
			scenario.Step{Ops: []scenario.Op{scenario.StopCgroup("cg_0"), scenario.RemoveCgroup("cg_0")}, Hold: scenario.Frac(0.5)},
		)
	}
	_ = body
}

// The low-level style: create cgroups, spawn, place, start, stop and
// check by hand.
func ExampleCtx_Spawn() {
	body := func(ctx *scenario.Ctx) error {
		cg := ctx.Cgroups
		if err := cg.Create("workers"); err != nil {
			return err
		}
		if err := cg.SetCpuset("workers", ctx.Topo.All()); err != nil {
			return err
		}
		w, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 2, Work: scenario.SpinWork})
		if err != nil {
			return err
		}
		if err := cg.Move(w, "workers"); err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		time.Sleep(ctx.Duration)
		reports, err := w.Stop()
		if err != nil {
			return err
		}
		return ctx.Check(reports).Err()
	}
	_ = body
}

// Bounds are plain fields: loosen or tighten them per test.
func ExampleAssert() {
	body := func(ctx *scenario.Ctx) error {
		ctx.Checks.MaxGap = 5 * time.Second
		ctx.Checks.MaxMigrationRatio = 0.5
		return scenario.ExecuteDefs(ctx,
			scenario.Cgroup("lat").Work(scenario.TimerWork).Checks(func(a *scenario.Assert) { a.MaxWakeP99 = 50 * time.Millisecond }),
			scenario.Cgroup("hogs").WorkersPerCPU(2))
	}
	_ = body
}

// Work types take parameters; a zero parameter keeps the type's default.
func ExampleWork() {
	body := func(ctx *scenario.Ctx) error {
		return scenario.ExecuteDefs(ctx,
			scenario.Cgroup("short_bursts").Work(scenario.Work{Type: scenario.BurstyWork, Burn: 5 * time.Millisecond, Sleep: 45 * time.Millisecond}),
			scenario.Cgroup("fanout").Work(scenario.FutexFanOut(8)),
			scenario.Cgroup("locks").Work(scenario.MutexContention(6, 2)),
			scenario.Cgroup("app").Work(scenario.Sequence(scenario.Burn(3*time.Millisecond), scenario.Sleep(2*time.Millisecond), scenario.IO(time.Millisecond))),
			scenario.Cgroup("near").Work(scenario.PageFaultChurn(2<<20)).MemPolicy(scenario.BindMemory(0)),
		)
	}
	_ = body
}

// A benchmark as a payload: its output read into metrics with a bound,
// run beside a cgroup of CPU hogs. ktstr.Opts.Includes gets
// cyclictest.Includes() so that the program is in the guest.
func ExamplePayload() {
	cyclictest := scenario.Payload{
		Program: "cyclictest", Args: []string{"-q", "-t", "2", "-i", "1000", "-l", "1000"},
		Format: scenario.RegexpOutput(`Avg:\s*(?P<avg>\d+)\s+Max:\s*(?P<max>\d+)`),
		Metrics: []scenario.Metric{
			{Name: "avg_latency", Key: "avg", Unit: "us", Polarity: scenario.LowerBetter, Agg: scenario.AggMean},
			{Name: "max_latency", Key: "max", Unit: "us", Polarity: scenario.LowerBetter, Agg: scenario.AggMax},
		},
		Checks: []scenario.MetricCheck{scenario.MetricAtMost("max_latency", 50000)},
	}
	body := func(ctx *scenario.Ctx) error {
		return scenario.ExecuteSteps(ctx, scenario.Step{
			Defs: []scenario.CgroupDef{scenario.Cgroup("hogs").WorkersPerCPU(1)},
			Ops:  []scenario.Op{scenario.RunPayload(cyclictest)},
		})
	}
	_ = body
}
