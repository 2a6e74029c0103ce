package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// TestStarvedWakerFailsEvidence: under the deliberately broken
// ktstr_starve (cgroup cg_1 gets one slice per 500 ms) two bursty wakers
// (20 ms burn / 30 ms sleep) wake far less often than their cycle
// allows. With fewer than 100 wake samples the old wake-latency gate
// skipped them and the run passed; the evidence check fails them: as
// starved of wake-ups when they woke less than their cycle and their
// wake-ups' own lateness allow, else by the lateness of the few wake-ups
// they had (a max standing for the p99 they could not give).
func TestStarvedWakerFailsEvidence(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Scheduler: scheds.Starve, Watchdog: 20 * time.Second, Duration: 6 * time.Second,
		Topology: topology.Must("1n1l2c1t"), Timeout: 4 * time.Minute, Monitor: &monitor.BalanceAgnostic},
		func(ctx *scenario.Ctx) error {
			return scenario.ExecuteDefs(ctx,
				scenario.Cgroup("cg_0").Workers(1),
				scenario.Cgroup("cg_1").Workers(2).Work(scenario.BurstyWork))
		})
	if res == nil {
		return
	}
	reports := decodeReports(t, res)
	var wakers []scenario.WorkerReport
	for _, r := range reports[""] {
		if r.Cgroup == "cg_1" {
			wakers = append(wakers, r)
			// The gate before the evidence check: fewer than 100 samples
			// was a skip.
			if r.WakeSamples >= 100 {
				t.Errorf("waker %s recorded %d wake samples: not starved enough to show the old gate's blind spot", r.Name(), r.WakeSamples)
			}
		}
	}
	t.Logf("starved wakers:\n%s", scenario.FormatReports(wakers))
	all := strings.Join(res.Reasons, "\n")
	if res.Verdict != verdict.Fail || len(wakers) != 2 ||
		!(strings.Contains(all, "wake_latency fail [cg_1/w") && (strings.Contains(all, "starved of wake-ups") || strings.Contains(all, "wake latency max"))) {
		t.Fatalf("verdict %s, want wake_latency to fail the starved cg_1 wakers:\n%s", res.Verdict, all)
	}
	if strings.Contains(all, "[cg_0/") {
		t.Errorf("cg_0 was not starved, yet:\n%s", all)
	}
	for _, line := range res.Reasons {
		if strings.Contains(line, "wake_latency") {
			t.Logf("failed as it must: %s", line)
		}
	}
}

// TestStarvedWorkerJudgedFromOutside: a worker that cannot run at all (a
// real-time hog on its only CPU, with the kernel's RT throttling and
// fair server off) cannot send its report; the checks judge it from the
// collector's view of its threads and say it was starved and by how much.
func TestStarvedWorkerJudgedFromOutside(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 4 * time.Minute, Monitor: &monitor.BalanceAgnostic},
		starveFromOutside)
	if res == nil {
		return
	}
	all := strings.Join(res.Reasons, "\n")
	for _, want := range []string{"worker sent no report within the stop timeout", "starved: ran ", "longest wait"} {
		if !strings.Contains(all, want) {
			t.Fatalf("verdict %s, reasons lack %q:\n%s", res.Verdict, want, all)
		}
	}
	if res.Verdict != verdict.Fail {
		t.Fatalf("verdict %s, want fail", res.Verdict)
	}
	t.Logf("failed as it must:\n%s", all)
}

// knob writes value to a kernel file and returns a function that puts
// the old value back.
func knob(path, value string) (func(), error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return nil, fmt.Errorf("writing %s to %s: %w", value, path, err)
	}
	return func() { _ = os.WriteFile(path, old, 0) }, nil
}

func starveFromOutside(ctx *scenario.Ctx) error {
	// Without these the kernel keeps 5% of the CPU for fair tasks
	// beside a real-time hog: starved, but not silenced.
	restoreRT, err := knob("/proc/sys/kernel/sched_rt_runtime_us", "-1")
	if err != nil {
		return err
	}
	defer restoreRT()
	restoreFair, err := knob("/sys/kernel/debug/sched/fair_server/cpu1/runtime", "0")
	if err != nil {
		return err
	}
	defer restoreFair()
	cpu1 := scenario.NewCPUSet(1)
	for _, cg := range []string{"victim", "hog"} {
		if err := ctx.Cgroups.Create(cg); err != nil {
			return err
		}
		if err := ctx.Cgroups.SetCpuset(cg, cpu1); err != nil {
			return err
		}
	}
	victim, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 1, Work: scenario.BurstyWork, StopTimeout: 3 * time.Second})
	if err != nil {
		return err
	}
	hog, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 1, Work: scenario.SpinWork, Policy: scenario.FIFOPolicy(50)})
	if err != nil {
		return err
	}
	if err := ctx.Cgroups.Move(victim, "victim"); err != nil {
		return err
	}
	if err := ctx.Cgroups.Move(hog, "hog"); err != nil {
		return err
	}
	if err := victim.Start(); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // the victim runs a little first
	if err := hog.Start(); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	// The hog holds cpu1 through the victim's stop timeout, then goes,
	// so that the killed victim can run to its exit.
	stopWait := victim.Config().StopTimeout
	go func() {
		time.Sleep(stopWait + 500*time.Millisecond)
		hog.Kill()
	}()
	reports, err := victim.Stop()
	if err != nil {
		return err
	}
	ctx.Emit(guest.KindWorkers, map[string]any{"scenario": "outside", "reports": reports})
	return ctx.Check(reports).Err()
}
