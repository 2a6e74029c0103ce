// Package matrix is the scheduler matrix: every in-repo reference and
// deliberately broken sched_ext scheduler, and the kernel tree's example
// schedulers, on one fixed scenario, each with the verdict it must get.
// Each row is a registered test (matrix_<row>) so the ktstr command can
// boot it by name; `ktstr matrix` runs them and compares expected with
// actual. Only the ktstr command imports this package: the failing rows
// are supposed to fail, so a test binary running every registered test
// must not see them.
package matrix

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/verdict"
)

// Row is one scheduler on the fixed scenario and what must happen.
type Row struct {
	Name  string
	Sched *scheds.Scheduler // nil: EEVDF
	// Expect is verdict.Pass or verdict.Fail.
	Expect verdict.Verdict
	// Reason, for failures, is a regexp some reason must match.
	Reason string
	// Watchdog overrides the matrix's sched_ext watchdog timeout.
	Watchdog time.Duration
}

// TestName is the registered test that runs the row.
func (r Row) TestName() string { return "matrix_" + r.Name }

// Rows are the matrix, in the order `ktstr matrix` prints them.
var Rows = []Row{
	{"eevdf", scheds.EEVDF, verdict.Pass, "", 0},
	{"ktstr_fifo", scheds.FIFO, verdict.Pass, "", 0},
	{"ktstr_vtime", scheds.VTime, verdict.Pass, "", 0},
	{"scx_simple", scheds.Simple, verdict.Pass, "", 0},
	{"scx_qmap", scheds.QMap, verdict.Pass, "", 0},
	{"scx_central", scheds.Central, verdict.Pass, "", 0},
	{"scx_flatcg", scheds.FlatCG, verdict.Pass, "", 0},
	// The scenario's workers put more than two tasks in cg_1, so at one
	// slice per 500 ms some wait over 2 s: a longer watchdog keeps this
	// row about starvation, not about sched_ext's stall detector. Either
	// check may name it first: cg_1's workers got almost no CPU
	// (starvation) or waited seconds for it (not_stuck).
	{"ktstr_starve", scheds.Starve, verdict.Fail, `(starvation|not_stuck) fail \[cg_1/`, 6 * time.Second},
	{"ktstr_stall", scheds.Stall, verdict.Fail, "runnable task stall", 0},
	{"ktstr_error", scheds.Error, verdict.Fail, "scx_bpf_error", 0},
	// Equal cgroups far apart in CPU time: the scenario's share_ratio check.
	{"ktstr_unfair", scheds.Unfair, verdict.Fail, "share_ratio fail", 0},
	// cpu1 frozen with interrupts off for 2 s: the host monitor's stall
	// check, which must also say where: the monitor asks the VMM for
	// cpu1's vCPU while it stands still and names the scheduler's
	// ops.tick (wedge_tick, from the BPF functions the guest listed at
	// attach) under the kernel's task_tick_scx. A 10 s sched_ext
	// watchdog keeps the kernel's own detector out of it: the row is
	// about what only the host sees.
	{"ktstr_wedge", scheds.Wedge, verdict.Fail, `monitor: cpu1 stalled: .*its vCPU was in .*bpf_prog_wedge_tick\+0x[0-9a-f]+.*task_tick_scx\+`, 10 * time.Second},
}

// Matrix scenario: two equal cgroups (cg_0, cg_1) of two CPU-bound
// workers each, judged by the scenario package's checks.
const (
	matrixDuration = 4 * time.Second
	matrixWatchdog = 2 * time.Second
	// A worker below this fraction of the mean CPU time is starved.
	starveFraction = 0.05
	// Equal cgroups whose CPU time differs by more than this are unfair.
	unfairRatio = 2.0
)

func init() {
	for _, r := range Rows {
		topo := ktstr.DefaultTopology
		if r.Sched != nil && r.Sched.Topology != (ktstr.DefaultTopology) && r.Sched.Topology.CPUs() > 0 {
			topo = r.Sched.Topology
		}
		wd := matrixWatchdog
		if r.Watchdog > 0 {
			wd = r.Watchdog
		}
		ktstr.Register(r.TestName(), ktstr.Opts{
			Topology: topo, Scheduler: r.Sched, Duration: matrixDuration, Watchdog: wd,
		}, matrixBody)
	}
}

// matrixBody runs in the guest: the scenario package creates the cgroups,
// runs the workers for the duration and judges them with its default
// checks, plus the share ratio of the two equal cgroups and starvation.
// The runner adds the scheduler's fate.
func matrixBody(ctx *scenario.Ctx) error {
	return scenario.ExecuteScenario(ctx, scenario.Scenario{
		Name: "matrix",
		Steps: []scenario.Step{{
			Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(2), scenario.Cgroup("cg_1").Workers(2)},
			Hold: scenario.Frac(1),
		}},
		Checks: []scenario.ReportCheck{
			scenario.ShareRatio("cg_0", "cg_1", 1/unfairRatio, unfairRatio),
			starvation,
		},
	})
}

// starvation fails every worker that got under starveFraction of the
// mean CPU time of all workers. The scenario package's fairness compares
// workers within one cgroup and not_stuck bounds off-CPU gaps, which
// under emulation overlap between a healthy scheduler and one that
// serves a cgroup one slice every 500 ms; CPU share separates them.
func starvation(_ *scenario.Ctx, reports map[string][]scenario.WorkerReport) []scenario.Detail {
	var sum time.Duration
	n := 0
	for _, rs := range reports {
		for _, r := range rs {
			sum += r.CPUTime
			n++
		}
	}
	if n == 0 {
		return nil
	}
	mean := sum / time.Duration(n)
	var out []scenario.Detail
	for cg, rs := range reports {
		for _, r := range rs {
			d := scenario.Detail{Check: "starvation", Verdict: verdict.Pass, Cgroup: cg, Worker: r.Index,
				Message: fmt.Sprintf("CPU time %v, mean %v", r.CPUTime.Round(time.Millisecond), mean.Round(time.Millisecond))}
			if float64(r.CPUTime) < starveFraction*float64(mean) {
				d.Verdict = verdict.Fail
				d.Message = fmt.Sprintf("got %v of CPU in %v, under %.0f%% of the mean %v", r.CPUTime.Round(time.Millisecond),
					r.Wall.Round(time.Millisecond), 100*starveFraction, mean.Round(time.Millisecond))
			}
			out = append(out, d)
		}
	}
	return out
}
