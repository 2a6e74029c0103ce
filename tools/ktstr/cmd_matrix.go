package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/tests/scheds"
	"github.com/ktstr-go/ktstr/verdict"
)

// matrixRow is one scheduler on the fixed scenario and what must happen.
type matrixRow struct {
	name   string
	sched  *scenario.Scheduler // nil: EEVDF
	expect verdict.Verdict     // verdict.Pass or verdict.Fail
	reason string              // for failures: a regexp some reason must match
	// watchdog overrides matrixWatchdog.
	watchdog time.Duration
}

var matrixRows = []matrixRow{
	{"eevdf", scenario.EEVDF, verdict.Pass, "", 0},
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
	register("matrix", "run every reference, broken and kernel-tree scheduler on a fixed scenario", cmdMatrix)
	for _, r := range matrixRows {
		topo := ktstr.DefaultTopology
		if r.sched != nil && r.sched.Topology != (ktstr.DefaultTopology) && r.sched.Topology.CPUs() > 0 {
			topo = r.sched.Topology
		}
		wd := matrixWatchdog
		if r.watchdog > 0 {
			wd = r.watchdog
		}
		ktstr.Register("matrix_"+r.name, ktstr.Opts{
			Topology: topo, Scheduler: r.sched, Duration: matrixDuration, Watchdog: wd,
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

func cmdMatrix(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated row names to run (default: all)")
	backend := fs.String("backend", "auto", "VMM backend: auto, qemu, qemu-tcg")
	kernel := fs.String("kernel", "", "kernel to boot (any KTSTR_KERNEL form)")
	retries := fs.Int("retries", 0, "run a row that did not go as expected up to this many more times; a later match prints FLAKY and does not fail the run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *retries < 0 {
		fmt.Fprintf(os.Stderr, "ktstr matrix: -retries %d: want 0 or more\n", *retries)
		return 2
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	opts := ktstr.RunOptions{Backend: *backend, Kernel: *kernel}
	// Fixed widths rather than a tabwriter: rows print as each VM ends.
	fmt.Printf(matrixRowFmt, "SCHEDULER", "EXPECTED", "ACTUAL", "MATCH", "TIME", "REASON")
	allOK, ran := true, 0
	var flaky []string
	for _, r := range matrixRows {
		if len(want) > 0 && !want[r.name] {
			continue
		}
		ran++
		ok := false
		for attempt := 0; attempt <= *retries && !ok && ctx.Err() == nil; attempt++ {
			ok = runMatrixRow(ctx, r, opts, attempt > 0)
			if ok && attempt > 0 {
				flaky = append(flaky, r.name)
			}
		}
		allOK = allOK && ok
		if ctx.Err() != nil {
			break
		}
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "ktstr matrix: -only %q matched no row\n", *only)
		return 2
	}
	if len(flaky) > 0 {
		fmt.Printf("flaky (mismatched, then matched on a retry): %s\n", strings.Join(flaky, ", "))
	}
	if !allOK {
		return 1
	}
	return 0
}

const matrixRowFmt = "%-13s %-31s %-7s %-8s %-6s %s\n"

// matrixBoot boots one row's VM; a variable so the retry logic is tested
// without a VM.
var matrixBoot = ktstr.Boot

// runMatrixRow boots one row's VM, prints its line (and what a CI log
// needs when it did not go as expected) and reports whether it matched.
// A retry that matches is marked FLAKY so the earlier mismatch stays
// visible.
func runMatrixRow(ctx context.Context, r matrixRow, opts ktstr.RunOptions, retry bool) bool {
	rt, _ := ktstr.Lookup("matrix_" + r.name)
	t0 := time.Now()
	res, err := matrixBoot(ctx, rt, opts)
	actual, reason := "error", ""
	if err != nil {
		reason = err.Error()
	} else {
		actual, reason = res.Verdict.String(), strings.Join(res.Reasons, "; ")
	}
	ok := actual == r.expect.String() && (r.reason == "" || regexp.MustCompile(r.reason).MatchString(reason))
	mark := "ok"
	switch {
	case !ok:
		mark = "MISMATCH"
	case retry:
		mark = "FLAKY"
	}
	exp := r.expect.String()
	if r.reason != "" {
		exp += " (" + r.reason + ")"
	}
	fmt.Printf(matrixRowFmt, r.name, exp, actual, mark, time.Since(t0).Round(time.Second), oneLine(reason, 160))
	if !ok && res != nil {
		fmt.Print(mismatchDetail(res))
	}
	return ok
}

// mismatchDetail is what a CI log needs to diagnose a row that did not go
// as expected: every reason in full, how the scheduler died (sched_ext's
// kernel log and the scheduler's own output), and the console tail.
func mismatchDetail(res *ktstr.Result) string {
	var b strings.Builder
	for _, r := range res.Reasons {
		fmt.Fprintf(&b, "    reason: %s\n", r)
	}
	for _, rec := range res.Records {
		var ev guest.SchedEvent
		if rec.Kind != guest.KindSched || rec.Decode(&ev) != nil || ev.Exit == nil {
			continue
		}
		fmt.Fprintf(&b, "    scheduler %s %s %s after attach: %s %s\n", ev.Name, ev.Event, ev.Exit.After.Round(time.Millisecond), ev.Exit.Reason, ev.Exit.Message)
		prefixLines(&b, "    dmesg| ", ev.Exit.Dmesg, 0)
		prefixLines(&b, "    sched| ", ev.Exit.Output, 0)
	}
	prefixLines(&b, "    console| ", res.Exit.ConsoleTail, mismatchConsoleLines)
	return b.String()
}

// mismatchConsoleLines bounds the console tail a mismatch prints.
const mismatchConsoleLines = 30

// prefixLines writes s's last max lines (all when max is 0), each after
// prefix.
func prefixLines(b *strings.Builder, prefix, s string, max int) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return
	}
	if max > 0 && len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
