package tests

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

// hashLoop is custom work registered the way a test suite would: its
// worker processes (this binary, re-executed) find it by name.
var hashLoop = scenario.RegisterWork("test_hash_loop", scenario.CustomWork{
	Description:    "FNV over 4 KiB, then a 2 ms sleep",
	WakesPerSecond: 100,
	Cycle: func(l *scenario.WorkLoop) error {
		var h uint32 = 2166136261
		for i := range 4096 {
			h = (h ^ uint32(i)) * 16777619
		}
		l.Tick(1)
		l.Count("hashes", 1)
		if h == 0 {
			return errors.New("impossible hash")
		}
		l.Sleep(2 * time.Millisecond)
		return nil
	},
})

// newTypes are the work types this test shows, each with its parameters.
var newTypes = []struct {
	name string
	work scenario.Work
}{
	{"futex_fanout", scenario.FutexFanOut(4)},
	{"fanout_compute", scenario.FanOutCompute(3)},
	{"page_fault_churn", scenario.PageFaultChurn(1 << 20)},
	{"mutex_contention", scenario.MutexContention(4, 1)},
	{"sequence", scenario.Sequence(scenario.Burn(3*time.Millisecond), scenario.Sleep(2*time.Millisecond),
		scenario.Yield(time.Millisecond), scenario.SpinWait(time.Millisecond), scenario.IO(time.Millisecond))},
	{"custom", scenario.Work{Type: hashLoop}},
}

// TestWorkTypesBehaviour runs each new work type alone in a 2-CPU guest
// and checks the behaviour that defines it: every futex fan-out waiter
// wakes every round, fan-out compute children all report in, page-fault
// churn's touches are the kernel's page faults, mutex contenders wait
// for each other, a sequence sleeps once per cycle, custom work runs.
func TestWorkTypesBehaviour(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 5 * time.Minute},
		func(ctx *scenario.Ctx) error {
			ctx.Duration = 2 * time.Second
			var errs []error
			for _, nt := range newTypes {
				sc := scenario.Scenario{Name: nt.name, Steps: []scenario.Step{{
					Defs: []scenario.CgroupDef{scenario.Cgroup(nt.name).Work(nt.work)}, Hold: scenario.Frac(1)}}}
				if err := scenario.ExecuteScenario(ctx, sc); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", nt.name, err))
				}
			}
			return errors.Join(errs...)
		})
	if res == nil {
		return
	}
	reports := decodeReports(t, res)
	var table []scenario.WorkerReport
	one := func(name string) (scenario.WorkerReport, bool) {
		rs := reports[name]
		if len(rs) != 1 {
			t.Errorf("%s: %d reports, want 1", name, len(rs))
			return scenario.WorkerReport{}, false
		}
		table = append(table, rs[0])
		return rs[0], true
	}
	for _, nt := range newTypes[:2] {
		if r, ok := one(nt.name); ok {
			rounds, wakes, n := r.Counters[scenario.CounterRounds], r.Counters[scenario.CounterWakes], uint64(nt.work.Fanout)
			if rounds < 10 || wakes > n*rounds || wakes < n*(rounds-1) {
				t.Errorf("%s: %d wakes in %d rounds of %d waiters, want every waiter every round", nt.name, wakes, rounds, n)
			}
			t.Logf("%s: %d rounds × %d waiters = %d wakes, wake p50 %s p99 %s", nt.work, rounds, n, wakes, r.WakeP50, r.WakeP99)
		}
	}
	if r, ok := one("page_fault_churn"); ok {
		faults := r.Counters[scenario.CounterFaults]
		if faults < 256 || r.MinorFaults < faults*9/10 {
			t.Errorf("page_fault_churn: %d touches, kernel counted %d minor faults", faults, r.MinorFaults)
		}
		t.Logf("page_fault_churn: %d pages touched, %d minor faults", faults, r.MinorFaults)
	}
	if r, ok := one("mutex_contention"); ok {
		acq, cont := r.Counters[scenario.CounterAcquired], r.Counters[scenario.CounterContended]
		if cont == 0 || acq == 0 {
			t.Errorf("mutex_contention: acquired %d, contended %d", acq, cont)
		}
		t.Logf("mutex_contention: 4 threads on 1 lock, %d acquisitions, %d contended", acq, cont)
	}
	if r, ok := one("sequence"); ok {
		// 8 ms of phases a cycle, one sleep each: at most 250 in 2 s.
		if r.WakeSamples == 0 || r.WakeSamples > 260 || r.VoluntarySwitches == 0 {
			t.Errorf("sequence: %d sleeps timed, %d voluntary switches", r.WakeSamples, r.VoluntarySwitches)
		}
	}
	if r, ok := one("custom"); ok && r.Counters["hashes"] == 0 {
		t.Errorf("custom work counted no hashes: %v", r.Counters)
	}
	t.Logf("new work types (EEVDF, 1n1l2c1t, one worker each, 2 s):\n%s", scenario.FormatReports(table))
	if !res.Passed() {
		t.Fatalf("work types: %s\n  %s", res.Verdict, strings.Join(res.Reasons, "\n  "))
	}
}
