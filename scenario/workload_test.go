package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWorkTypesRun runs every work type briefly as real processes (no
// cgroups: those need the guest) and checks each reports work and sane
// telemetry.
func TestWorkTypesRun(t *testing.T) {
	run := 300 * time.Millisecond
	if testing.Short() {
		run = 100 * time.Millisecond
	}
	types := WorkTypes()
	if len(types) < 12 {
		t.Errorf("%d work types, the issue asks for at least 12", len(types))
	}
	var all []WorkerReport
	for _, typ := range types {
		if isCustom(typ) {
			continue // this binary's own, tested by TestCustomWork
		}
		t.Run(string(typ), func(t *testing.T) {
			switch typ {
			case PolicyChurnWork:
				skipWithoutRealtime(t)
			case NiceSweepWork:
				skipWithoutNiceRaise(t)
			}
			w, err := SpawnWorkload(WorkloadConfig{Workers: 1, Work: sampleWork(typ), Label: string(typ)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Kill()
			if got, want := len(w.TIDs()), sampleWork(typ).Threads(); got < want {
				t.Errorf("%d threads, want at least %d", got, want)
			}
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(run)
			reps, err := w.Stop()
			if err != nil {
				t.Fatal(err)
			}
			r := reps[0]
			if len(r.Errors) > 0 {
				t.Errorf("worker errors: %v", r.Errors)
			}
			if r.Work == 0 {
				t.Errorf("no work done: %+v", r)
			}
			if r.Wall < run/2 || r.Wall > run+2*time.Second {
				t.Errorf("wall %v, want about %v", r.Wall, run)
			}
			if len(r.TIDs) < 1 {
				t.Error("no work thread reported")
			}
			if r.CPUs.Empty() {
				t.Error("no CPU observed")
			}
			if r.CPUTime <= 0 {
				t.Errorf("cpu time %v (schedstat unreadable?)", r.CPUTime)
			}
			if r.VoluntarySwitches+r.InvoluntarySwitches == 0 && typ != SpinWork && typ != CachePressureWork {
				t.Errorf("%s made no context switches", typ)
			}
			all = append(all, r)
		})
	}
	t.Log("\n" + FormatReports(all))
}

// sampleWork is typ with the parameters it needs to run.
func sampleWork(typ WorkType) Work {
	if typ == SequenceWork {
		return Sequence(Burn(2*time.Millisecond), Sleep(time.Millisecond), Yield(time.Millisecond), SpinWait(time.Millisecond), IO(time.Millisecond))
	}
	return Work{Type: typ}
}

func TestWorkloadStartsTogetherAfterStart(t *testing.T) {
	w, err := SpawnWorkload(WorkloadConfig{Workers: 3, Work: SpinWork})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if len(w.PIDs()) != 3 {
		t.Fatalf("pids %v", w.PIDs())
	}
	// Every worker must share the workload's process group.
	for _, pid := range w.PIDs() {
		if pg, err := unix.Getpgid(pid); err != nil || pg != w.PGID() {
			t.Errorf("pid %d in group %d (%v), want %d", pid, pg, err, w.PGID())
		}
	}
	// Before Start the workers wait: no CPU burnt while we watch.
	cpu := func() (total time.Duration) {
		for _, tid := range w.TIDs() {
			if st, err := readThreadStat(procTaskDir(tid)); err == nil {
				total += time.Duration(st.CPUTimeNs)
			}
		}
		return total
	}
	before := cpu()
	time.Sleep(300 * time.Millisecond)
	if used := cpu() - before; used > 100*time.Millisecond {
		t.Errorf("workers used %v of CPU in 300ms before Start", used)
	}
	released := monoNow()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	reps, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	for _, r := range reps {
		starts = append(starts, r.StartMono)
		if r.Wall > time.Second {
			t.Errorf("%s: wall %v counts time before Start", r.Name(), r.Wall)
		}
	}
	// Nobody starts before the release: they wait until all are placed.
	for i, s := range starts {
		if s < released {
			t.Errorf("worker %d started %v before Start released it", i, time.Duration(released-s))
		}
	}
	again, err := w.Stop()
	if err != nil || len(again) != 3 {
		t.Errorf("second Stop: %d reports, %v", len(again), err)
	}
	for _, pid := range w.PIDs() {
		if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
			t.Errorf("pid %d still exists after Stop (%v)", pid, err)
		}
	}
}

func procTaskDir(tid int) string { return fmt.Sprintf("/proc/%d/task/%d", tid, tid) }

func TestWorkloadKillLeavesNothing(t *testing.T) {
	w, err := SpawnWorkload(WorkloadConfig{Workers: 2, Work: ForkChurnWork})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	pgid := w.PGID()
	w.Kill()
	// Allow init to reap orphaned grandchildren.
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := unix.Kill(-pgid, 0)
		if errors.Is(err, unix.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has members after Kill (%v)", pgid, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := w.Stop(); err == nil {
		t.Error("Stop after Kill succeeded")
	}
}

func TestWorkloadStopWithoutStart(t *testing.T) {
	w, err := SpawnWorkload(WorkloadConfig{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if _, err := w.Stop(); err == nil || !strings.Contains(err.Error(), "before it was started") {
		t.Errorf("Stop without Start: %v", err)
	}
}

func TestWorkloadBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  WorkloadConfig
		want string
	}{
		{WorkloadConfig{Workers: 0}, "at least 1 worker"},
		{WorkloadConfig{Workers: 1, Work: WorkType("nope")}, `unknown work type "nope"`},
		{WorkloadConfig{Workers: 1, Policy: FIFOPolicy(0)}, "priority must be 1..99"},
		{WorkloadConfig{Workers: 1, Policy: Policy{Class: "deadline"}}, "unknown scheduling class"},
		{WorkloadConfig{Workers: 1, Work: Work{Type: SpinWork, Sleep: time.Millisecond}}, "spin does not take Sleep (it takes: none)"},
		{WorkloadConfig{Workers: 1, Work: Work{Type: BurstyWork, Size: 10}}, "bursty does not take Size (it takes: Burn, Sleep)"},
		{WorkloadConfig{Workers: 1, Work: Sequence(Phase{Kind: "dance", For: time.Second})}, `phase 1: unknown phase kind "dance"`},
		{WorkloadConfig{Workers: 1, Work: Sequence(Burn(0))}, "burn phase needs a positive duration"},
		{WorkloadConfig{Workers: 1, Work: FutexFanOut(1000)}, "Fanout 1000 above 64"},
		{WorkloadConfig{Workers: 1, Work: Work{Type: WakeChainWork, Fanout: 1}}, "needs Fanout >= 2"},
		{WorkloadConfig{Workers: 1, Work: PageFaultChurn(100)}, "multiple of the page size"},
		{WorkloadConfig{Workers: 1, Work: Work{Type: BurstyWork, Burn: -time.Millisecond}}, "negative Burn"},
		{WorkloadConfig{Workers: 1, MemPolicy: BindMemory(0)}, "maps no memory of its own"},
		{WorkloadConfig{Workers: 1, Work: CachePressureWork, MemPolicy: PreferMemory(0).With(MpolStaticNodes | MpolRelativeNodes)}, "exclude each other"},
		{WorkloadConfig{Workers: 1, Work: CachePressureWork, MemPolicy: MemPolicy{Mode: MemBind}}, "needs at least one node"},
		{WorkloadConfig{Workers: 1, Work: CachePressureWork, MemPolicy: BindMemory(64)}, "node 64 out of range"},
	} {
		w, err := SpawnWorkload(tc.cfg)
		if err == nil {
			w.Kill()
			t.Errorf("%+v accepted", tc.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %q does not say %q", tc.cfg, err, tc.want)
		}
	}
}

func TestWorkloadPolicies(t *testing.T) {
	skipWithoutRealtime(t)
	for _, p := range []Policy{BatchPolicy, IdlePolicy, FIFOPolicy(5), RRPolicy(5)} {
		t.Run(p.String(), func(t *testing.T) {
			w, err := SpawnWorkload(WorkloadConfig{Workers: 1, Work: SleepWork, Policy: p, Nice: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Kill()
			attr, err := unix.SchedGetAttr(w.TIDs()[0], 0)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := p.kernelPolicy()
			if attr.Policy != want {
				t.Errorf("policy %d, want %d", attr.Policy, want)
			}
			if (p.Class == SchedFIFO || p.Class == SchedRR) && attr.Priority != uint32(p.Priority) {
				t.Errorf("priority %d, want %d", attr.Priority, p.Priority)
			}
			if p.Class == SchedBatch && attr.Nice != 3 {
				t.Errorf("nice %d, want 3", attr.Nice)
			}
		})
	}
}

func TestWorkloadSetAffinity(t *testing.T) {
	w, err := SpawnWorkload(WorkloadConfig{Workers: 1, Work: SpinWork})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if err := w.SetAffinity(NewCPUSet(0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	reps, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := reps[0].CPUs.String(); got != "0" {
		t.Errorf("pinned to cpu0 but seen on %s", got)
	}
}
