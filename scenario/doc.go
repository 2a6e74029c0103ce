// Package scenario is what a scheduler test says and what the harness
// judges: cgroups and worker processes declared as data, multi-step
// scenarios, per-worker telemetry, and checks with a verdict.
//
// A test body receives a *Ctx inside the guest. The declarative style
// names cgroups and their workers and lets ExecuteDefs or ExecuteSteps do
// the rest (create, place, start together, hold, stop, check, clean up):
//
//	func(ctx *scenario.Ctx) error {
//		return scenario.ExecuteDefs(ctx,
//			scenario.Cgroup("cg_0").Workers(2),
//			scenario.Cgroup("cg_1").Workers(2).Work(scenario.MixedWork).Cpuset(scenario.LLC(1)))
//	}
//
// Steps change things while workers run (Op: add/remove/stop cgroups,
// set/clear/swap cpusets, spawn, set affinity, move tasks, freeze/thaw,
// attach/detach the scheduler), each followed by a HoldSpec; a Scenario
// adds a backdrop of cgroups that live through every step and extra
// checks. Canned returns ready-made scenarios.
//
// The low-level style drives the same pieces by hand: Ctx.Cgroups,
// Ctx.Spawn (a Workload of worker processes), Workload.Start/Stop, and
// Ctx.Check on the reports.
//
// Workers are re-executions of the test binary (/proc/self/exe) in worker
// mode, one process group per Workload, released together through a
// shared start pipe after they are placed in their cgroups; the package's
// init diverts a worker process before anything else runs
// (RunWorkerIfRequested). Each reports a WorkerReport: work done, CPU time
// and run delay (schedstat), the longest off-CPU gaps with CPU and time,
// wake-up latency percentiles, migrations, CPUs used, context switches.
//
// Work types take parameters (Work: burn and sleep times, sizes, fan-out,
// lock counts, phase sequences), RegisterWork adds a test's own work
// function, and MemPolicy places a worker's memory on NUMA nodes. A
// Payload runs a program (hackbench, cyclictest, stress-ng, the kernel's
// sched_ext selftests) as part of a step and reads its output into
// metrics and TAP cases.
//
// Assert holds the bounds (DefaultAssert suits a debug kernel under TCG:
// generous but meaningful); ctx.Checks overrides them per test, CgroupDef
// .Checks per cgroup, CtxConfig.Checks per scheduler. Verdicts merge
// Skip < Pass < Inconclusive < Fail, and an AssertResult keeps every
// failing detail, not just the first. Each check knows how much evidence
// the scenario should have produced, so a failure cannot pass by removing
// its own evidence (a starved waker fails wake_latency instead of being
// skipped for want of samples), and a worker that cannot report is
// judged from the collector's view of its threads.
package scenario
