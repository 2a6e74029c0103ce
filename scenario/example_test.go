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
