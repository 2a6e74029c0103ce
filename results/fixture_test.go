package results

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// fixture describes a synthetic run: how fair the scheduler was and
// whether it died.
type fixture struct {
	// cg1Share is the CPU share of each cg_1 worker (cg_0 gets the rest).
	cg1Share float64
	died     bool
}

// guestBoot is when guest init starts on the VM's clock; recvDelay how
// long a record takes to reach the host.
const (
	guestBoot = 2 * time.Second
	recvDelay = 3 * time.Millisecond
	mono0     = int64(1_900_000_000) // guest CLOCK_MONOTONIC at guest time 0
)

// synthRun is a two-CPU run of two cgroups of two workers, with samples,
// phases, scheduler events, a stall capture and worker gaps.
func synthRun(t testing.TB, f fixture) *Run {
	t.Helper()
	r := &Run{
		Test: "synthetic", Topology: topology.Must("1n1l2c1t"), Kernel: Kernel{Key: "6.12.118-test", Version: "6.12.118"},
		Backend: "qemu-tcg", Scheduler: "ktstr_fifo", SchedulerArgv: []string{"/sched/scxload", "/sched/fifo.bpf.o"},
		Duration: 3 * time.Second, Verdict: verdict.Pass, Exit: "clean",
		Started: time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC), VMTime: 9 * time.Second, Total: 11 * time.Second,
		Console: []byte("[    0.000000] Linux version 6.12.118\nktstr-guest: init\n"),
	}
	rec := func(kind string, at time.Duration, payload any) {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		r.Records = append(r.Records, Record{Record: guest.Record{Kind: kind, Elapsed: at, Data: b}, Host: guestBoot + at + recvDelay})
	}
	rec(guest.KindStart, time.Millisecond, guest.Start{Test: "synthetic", CPUs: 2, Mono: mono0 + int64(time.Millisecond)})
	rec(guest.KindSched, 1500*time.Millisecond, guest.SchedEvent{Event: "attached", Name: "ktstr_fifo", Took: 700 * time.Millisecond})
	rec(guest.KindPhase, 1600*time.Millisecond, map[string]any{"name": "step 1", "step": 1})
	rec(guest.KindOp, 1700*time.Millisecond, map[string]any{"step": 1, "op": "SetCpuset(cg_0)", "took": 20 * time.Millisecond})
	rec(guest.KindPhase, 3100*time.Millisecond, map[string]any{"name": "step 2", "step": 2})
	if f.died {
		rec(guest.KindSched, 4*time.Second, guest.SchedEvent{Event: "died", Name: "ktstr_fifo",
			Exit: &guest.SchedExit{Name: "ktstr_fifo", Reason: "runnable task stall", Message: "cg_1/w0 stuck for 2s", Dmesg: "sched_ext: BPF scheduler \"ktstr_fifo\" disabled"}})
	}
	start := mono0 + int64(1650*time.Millisecond)
	var reports []scenario.WorkerReport
	for i, cg := range []string{"cg_0", "cg_0", "cg_1", "cg_1"} {
		share := 1 - f.cg1Share
		if cg == "cg_1" {
			share = f.cg1Share
		}
		wall := 3 * time.Second
		reports = append(reports, scenario.WorkerReport{
			Cgroup: cg, Index: i % 2, PID: 40 + i, TIDs: []int{40 + i}, Type: scenario.MixedWork,
			StartMono: start, Wall: wall, Work: uint64(1000 * share * 3), CPUTime: time.Duration(share * float64(wall)),
			Gaps:   []scenario.Gap{{Start: start + int64(time.Second), End: start + int64(time.Second) + int64(40*time.Millisecond), CPU: i % 2, TID: 40 + i}},
			MaxGap: 40 * time.Millisecond, WakeSamples: 100, WakeP50: 200 * time.Microsecond, WakeP99: time.Duration(2/share) * time.Millisecond,
			WakeMax: 9 * time.Millisecond, WakeHist: []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 12, 30, 40, 8, 3, 1, 1},
			Migrations: 10, VoluntarySwitches: 150, InvoluntarySwitches: 50,
		})
	}
	rec(guest.KindWorkers, 4700*time.Millisecond, map[string]any{"scenario": "", "reports": reports})
	rec(guest.KindFinal, 5*time.Second, guest.Final{Verdict: r.Verdict})

	m := &monitor.Report{Interval: 100 * time.Millisecond}
	for i := range 60 {
		at := time.Duration(i+10) * 100 * time.Millisecond
		s := monitor.Sample{At: at}
		for c := range 2 {
			s.CPUs = append(s.CPUs, monitor.CPU{NrRunning: uint32((i/5 + c) % 6), NrSwitches: uint64(i * (c + 1) * 10), Clock: uint64(at)})
		}
		m.Samples = append(m.Samples, s)
	}
	m.Captures = []monitor.Capture{{CPU: 1, At: 4500 * time.Millisecond, Where: "read_tsc+0x4 (on its stack: bpf_prog_wedge_tick+0x110)"}}
	r.Monitor = m
	return r
}
