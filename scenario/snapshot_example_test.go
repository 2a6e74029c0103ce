package scenario_test

import "github.com/ktstr-go/ktstr/scenario"

// A snapshot halfway through: the host reads the scheduler's queues and
// BPF maps out of guest memory while the second step holds, and the
// run's Result.Monitor.Snapshots has it under "after cpuset change".
func ExampleSnapshot() {
	body := func(ctx *scenario.Ctx) error {
		return scenario.ExecuteSteps(ctx,
			scenario.Step{Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(2)}, Hold: scenario.Frac(0.5)},
			scenario.Step{Ops: []scenario.Op{
				scenario.SetCpuset("cg_0", scenario.Exact(0)),
				scenario.Snapshot("after cpuset change"),
			}, Hold: scenario.Frac(0.5)},
		)
	}
	_ = body // passed to ktstr.Run(t, opts, body)
}
