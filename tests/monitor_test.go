package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
)

// pinnedWorkers is how many spinning workers TestMonitorSeesRunqueues
// confines to cpu1: more than DefaultThresholds.MaxImbalance.
const pinnedWorkers = 6

// TestMonitorSeesRunqueues: six spinning workers pinned to cpu1 of a
// two-CPU guest for three seconds. The host monitor, reading the guest's
// struct rq from outside, must see them there and not on cpu0, both
// clocks and context-switch counters moving, and the default imbalance
// bound must name the pile-up (this test turns that bound off for its
// own verdict, which therefore still passes).
func TestMonitorSeesRunqueues(t *testing.T) {
	opts := ktstr.Opts{Topology: topology.Must("1n1l2c1t"), Timeout: 3 * time.Minute,
		Monitor: &monitor.BalanceAgnostic}
	res := ktstr.RunResult(t, opts, func(ctx *scenario.Ctx) error {
		w, err := ctx.Spawn(scenario.WorkloadConfig{Workers: pinnedWorkers, Work: scenario.SpinWork})
		if err != nil {
			return err
		}
		if err := w.SetAffinity(scenario.NewCPUSet(1)); err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		// The kernel's own sum of every rq->nr_switches, before and
		// after the hold: the host's samples in between must agree.
		before, err := contextSwitches()
		if err != nil {
			return err
		}
		time.Sleep(3 * time.Second)
		after, err := contextSwitches()
		if err != nil {
			return err
		}
		ctx.Emit(guest.KindOutput, ctxtRecord{Before: before, After: after})
		_, err = w.Stop()
		return err
	})
	if res == nil {
		return
	}
	if !res.Passed() {
		t.Fatalf("%s: %s", res.Verdict, strings.Join(res.Reasons, "; "))
	}
	r := res.Monitor
	if r == nil || r.Err != "" || len(r.Samples) < 20 {
		t.Fatalf("monitor report %+v: want 20+ samples of a 3 s hold and no error", r)
	}
	t.Logf("monitor: %s", r.Summarize())
	first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
	for _, s := range r.Samples {
		if len(s.CPUs) != 2 {
			t.Fatalf("sample with %d CPUs, want 2", len(s.CPUs))
		}
	}
	for cpu := range 2 {
		if last.CPUs[cpu].Clock <= first.CPUs[cpu].Clock || last.CPUs[cpu].NrSwitches <= first.CPUs[cpu].NrSwitches {
			t.Errorf("cpu%d: clock %d→%d, switches %d→%d: both must advance", cpu,
				first.CPUs[cpu].Clock, last.CPUs[cpu].Clock, first.CPUs[cpu].NrSwitches, last.CPUs[cpu].NrSwitches)
		}
	}
	// Cross-check against the guest kernel: /proc/stat's ctxt is the
	// sum of every CPU's rq->nr_switches, read by the guest when the
	// pinned workers were running and 3 s later. The samples whose sums
	// fall between the two readings are the hold's (about 30): that must
	// be most of it, and in them the workers must be on cpu1, never cpu0
	// (outside the hold they are still being spawned and placed).
	var ctxt ctxtRecord
	for _, rec := range res.Records {
		if rec.Kind == guest.KindOutput {
			_ = rec.Decode(&ctxt)
		}
	}
	if ctxt.After <= ctxt.Before {
		t.Fatalf("guest ctxt record %+v: want two increasing /proc/stat readings", ctxt)
	}
	hold, piled := 0, 0
	for _, s := range r.Samples {
		var sum uint64
		for _, c := range s.CPUs {
			sum += c.NrSwitches
		}
		if sum < ctxt.Before || sum > ctxt.After {
			continue
		}
		hold++
		if s.CPUs[1].NrRunning >= pinnedWorkers {
			piled++
		}
		if s.CPUs[0].NrRunning >= pinnedWorkers {
			t.Errorf("cpu0 had %d runnable tasks at %v of the hold: the workers are pinned to cpu1", s.CPUs[0].NrRunning, s.At)
		}
	}
	if hold < 10 {
		t.Errorf("%d samples sum nr_switches within the guest's ctxt %d..%d over the 3 s hold, want 10+", hold, ctxt.Before, ctxt.After)
	}
	if piled < hold/2 {
		t.Errorf("cpu1 had %d+ runnable tasks in %d of the hold's %d samples, want most", pinnedWorkers, piled, hold)
	}
	v := monitor.DefaultThresholds.Evaluate(r)
	if len(v) != 1 || !strings.Contains(v[0], "load imbalance") {
		t.Errorf("default thresholds: %q, want exactly the load imbalance", v)
	}
}

// ctxtRecord is the guest's /proc/stat ctxt before and after the hold.
type ctxtRecord struct {
	Before uint64 `json:"ctxt_before"`
	After  uint64 `json:"ctxt_after"`
}

// contextSwitches reads /proc/stat's ctxt line: context switches on every
// CPU since boot.
func contextSwitches() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "ctxt "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no ctxt line in /proc/stat")
}
