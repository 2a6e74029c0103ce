package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/verdict"
)

// snapshot returns the run's snapshot called name.
func snapshot(t *testing.T, res *ktstr.Result, name string) monitor.Snapshot {
	t.Helper()
	if res.Monitor == nil {
		t.Fatal("no monitor report")
	}
	for _, s := range res.Monitor.Snapshots {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no snapshot %q among %d", name, len(res.Monitor.Snapshots))
	return monitor.Snapshot{}
}

// dsq returns a snapshot's dispatch queue called name.
func dsq(s monitor.Snapshot, name string) (monitor.DSQ, bool) {
	if s.SchedExt == nil {
		return monitor.DSQ{}, false
	}
	i := slices.IndexFunc(s.SchedExt.DSQs, func(d monitor.DSQ) bool { return d.Name == name })
	if i < 0 {
		return monitor.DSQ{}, false
	}
	return s.SchedExt.DSQs[i], true
}

// TestSnapshotStarvedDSQ: ktstr_starve queues cgroup cg_1's tasks on its
// own DSQ 1, served one slice every 500 ms. A snapshot asked for halfway
// through the scenario, read from the host while the workers run, must
// show them there, every task on it in cg_1, and none of cg_1's on the
// shared DSQ 0.
func TestSnapshotStarvedDSQ(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Scheduler: scheds.Starve, Duration: 4 * time.Second, Watchdog: 6 * time.Second,
		Monitor: &monitor.Thresholds{}, NoAutoRepro: true}, func(ctx *scenario.Ctx) error {
		return scenario.ExecuteSteps(ctx,
			scenario.Step{Defs: []scenario.CgroupDef{scenario.Cgroup("cg_0").Workers(2), scenario.Cgroup("cg_1").Workers(2)}, Hold: scenario.Frac(0.5)},
			scenario.Step{Ops: []scenario.Op{scenario.Snapshot("halfway")}, Hold: scenario.Frac(0.5)},
		)
	})
	if res == nil {
		return
	}
	s := snapshot(t, res, "halfway")
	t.Logf("\n%s", s.String())
	if s.SchedExt == nil || s.SchedExt.State != "SCX_OPS_ENABLED" || s.SchedExt.Ops != "ktstr_starve" {
		t.Fatalf("sched_ext %+v: want ktstr_starve enabled", s.SchedExt)
	}
	victims, ok := dsq(s, "user 0x1")
	if !ok || len(victims.Tasks) == 0 {
		t.Fatalf("DSQ 1 %+v: want cg_1's workers queued on it", victims)
	}
	for _, tk := range victims.Tasks {
		if tk.Cgroup != "cg_1" {
			t.Errorf("task %d %s of cgroup %q on the victims' DSQ", tk.PID, tk.Comm, tk.Cgroup)
		}
	}
	if shared, ok := dsq(s, "user 0x0"); ok {
		for _, tk := range shared.Tasks {
			if tk.Cgroup == "cg_1" {
				t.Errorf("cg_1's task %d on the shared DSQ", tk.PID)
			}
		}
	}
	// The loader set trickle_ms; the host reads it back from .rodata.
	i := slices.IndexFunc(s.Maps, func(m monitor.BPFMap) bool { return strings.HasSuffix(m.Name, ".rodata") })
	if i < 0 || len(s.Maps[i].Entries) != 1 {
		t.Fatalf("no .rodata map among %d", len(s.Maps))
	}
	ro, _ := s.Maps[i].Entries[0].Value.(monitor.Struct)
	if v, _ := ro.Field("trickle_ms"); v != uint64(500) {
		t.Errorf(".rodata trickle_ms = %v, want the 500 the loader set", v)
	}
}

// fifoStats mirrors struct fifo_stats in scheds/bpf/fifo.bpf.c.
type fifoStats struct {
	SelectCPUs, Enqueues uint64
}

// readFifoStats reads fifo_stats in the guest through the bpf syscall:
// what the scheduler wrote, on each CPU.
func readFifoStats() ([]fifoStats, error) {
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			return nil, fmt.Errorf("no fifo_stats map: %w", err)
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue
		}
		info, err := m.Info()
		if err != nil || info.Name != "fifo_stats" {
			m.Close()
			continue
		}
		var per []fifoStats
		err = m.Lookup(uint32(0), &per)
		m.Close()
		return per, err
	}
}

// fifoRecord is what TestFIFOStatsFromHost's body reports.
type fifoRecord struct {
	Before, After           []fifoStats
	ProbeBefore, ProbeAfter uint64
	Probed                  bool
}

// TestFIFOStatsFromHost: ktstr_fifo counts its callbacks per CPU in a
// per-CPU array. The host reads that map out of guest memory in a
// snapshot the body asks for between two reads of its own through the
// bpf syscall: every CPU's count must lie between them. A probe on the
// scheduler's enqueue callback must count what the scheduler itself
// counted over the same window, and its hits must name the task.
func TestFIFOStatsFromHost(t *testing.T) {
	opts := ktstr.Opts{Scheduler: scheds.FIFO, Duration: 3 * time.Second,
		Probes: []probe.Spec{probe.On("fifo_enqueue", "p", "enq_flags"), probe.On("scx_bpf_dispatch", "p", "dsq_id")}}
	res := ktstr.RunResult(t, opts, func(ctx *scenario.Ctx) error {
		w, err := ctx.Spawn(scenario.WorkloadConfig{Workers: 2, Work: scenario.MixedWork})
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		defer w.Stop()
		time.Sleep(500 * time.Millisecond)
		var rec fifoRecord
		if rec.Before, err = readFifoStats(); err != nil {
			return err
		}
		rec.ProbeBefore, _ = ktstr.ProbeCalls("fifo_enqueue")
		ctx.Snapshot("fifo_stats")
		time.Sleep(time.Second)
		if rec.After, err = readFifoStats(); err != nil {
			return err
		}
		rec.ProbeAfter, rec.Probed = ktstr.ProbeCalls("fifo_enqueue")
		ctx.Emit(guest.KindOutput, rec)
		return nil
	})
	if res == nil {
		return
	}
	if !res.Passed() {
		t.Fatalf("%s: %s\n%s", res.Verdict, strings.Join(res.Reasons, "; "), res.Explain())
	}
	var rec fifoRecord
	for _, r := range res.Records {
		if r.Kind == guest.KindOutput && r.Decode(&rec) == nil && len(rec.After) > 0 {
			break
		}
	}
	if len(rec.Before) == 0 || len(rec.After) != len(rec.Before) {
		t.Fatalf("the guest's reads of fifo_stats: %+v", rec)
	}
	s := snapshot(t, res, "fifo_stats")
	i := slices.IndexFunc(s.Maps, func(m monitor.BPFMap) bool { return m.Name == "fifo_stats" })
	if i < 0 || len(s.Maps[i].Entries) != 1 {
		t.Fatalf("fifo_stats not in the snapshot:\n%s", s.String())
	}
	m := s.Maps[i]
	t.Logf("host read: %s", monitor.FormatValue(m.Entries[0].PerCPU))
	if m.Type != "BPF_MAP_TYPE_PERCPU_ARRAY" || len(m.Entries[0].PerCPU) != len(rec.Before) {
		t.Fatalf("fifo_stats %s with %d per-CPU values, want a per-CPU array of %d", m.Type, len(m.Entries[0].PerCPU), len(rec.Before))
	}
	var total uint64
	for cpu, v := range m.Entries[0].PerCPU {
		st, _ := v.(monitor.Struct)
		enq, _ := st.Field("enqueues")
		sel, _ := st.Field("select_cpus")
		n, ok := enq.(uint64)
		if _, ok2 := sel.(uint64); !ok || !ok2 {
			t.Fatalf("cpu%d: %v, want {select_cpus, enqueues} decoded by the map's BTF", cpu, v)
		}
		total += n
		if n < rec.Before[cpu].Enqueues || n > rec.After[cpu].Enqueues {
			t.Errorf("cpu%d: the host read %d enqueues, the guest %d before and %d after", cpu, n, rec.Before[cpu].Enqueues, rec.After[cpu].Enqueues)
		}
	}
	if total == 0 {
		t.Error("the host read no enqueues at all")
	}
	// The probe counts what the scheduler counts, over the same second.
	var enqBefore, enqAfter uint64
	for cpu := range rec.Before {
		enqBefore += rec.Before[cpu].Enqueues
		enqAfter += rec.After[cpu].Enqueues
	}
	sched, probed := enqAfter-enqBefore, rec.ProbeAfter-rec.ProbeBefore
	slack := 10 + sched/50
	t.Logf("fifo_enqueue in one second: the scheduler counted %d, the probe %d; %d in all", sched, probed, res.Probes.Calls("fifo_enqueue"))
	if !rec.Probed || sched == 0 || probed+slack < sched || probed > sched+slack {
		t.Errorf("probe counted %d calls of fifo_enqueue, the scheduler %d (±%d); not attached: %v", probed, sched, slack, res.Probes.Missing)
	}
	if res.Probes == nil || res.Probes.Calls("fifo_enqueue") < rec.ProbeAfter {
		t.Errorf("probe results %+v: want at least the %d calls counted in the guest", res.Probes, rec.ProbeAfter)
	}
	// fifo_enqueue calls the kernel's scx_bpf_dispatch once, and that
	// probe (a kernel function's fentry) is attached before the scheduler.
	if d, e := res.Probes.Calls("scx_bpf_dispatch"), res.Probes.Calls("fifo_enqueue"); d < e {
		t.Errorf("scx_bpf_dispatch counted %d calls, fewer than fifo_enqueue's %d; not attached: %v", d, e, res.Probes.Missing)
	}
	if i := slices.IndexFunc(res.Probes.Hits, func(h probe.Hit) bool {
		return h.Func == "fifo_enqueue" && len(h.Args) == 2 && strings.HasPrefix(h.Args[0].Value, "pid ")
	}); i < 0 {
		var sb strings.Builder
		res.Probes.Format(&sb, 10)
		t.Errorf("no sampled hit of fifo_enqueue with the task's pid among %d:\n%s", len(res.Probes.Hits), sb.String())
	}
}

// TestStallAutoRepro: ktstr_stall stops dispatching after 500 ms and the
// sched_ext watchdog (2 s) throws it out. The host keeps the state from
// halfway to the watchdog, with the stuck tasks on the scheduler's DSQ,
// and the automatic second run's probes show the dispatch path the
// stall went through: the core's balance_scx calling the scheduler's
// stall_dispatch, which no longer consumes, up to sched_ext's exit with
// SCX_EXIT_ERROR_STALL.
func TestStallAutoRepro(t *testing.T) {
	res := ktstr.RunResult(t, ktstr.Opts{Scheduler: scheds.Stall, Duration: 4 * time.Second, Watchdog: 2 * time.Second},
		func(ctx *scenario.Ctx) error {
			return scenario.ExecuteDefs(ctx, scenario.Cgroup("cg_0").Workers(2), scenario.Cgroup("cg_1").Workers(2))
		})
	if res == nil {
		return
	}
	if res.Verdict != verdict.Fail || !strings.Contains(strings.Join(res.Reasons, "\n"), "runnable task stall") {
		t.Fatalf("%s: %v; want a runnable task stall", res.Verdict, res.Reasons)
	}
	t.Logf("\n%s", res.Explain())
	half := slices.IndexFunc(res.Monitor.Snapshots, func(s monitor.Snapshot) bool { return s.Trigger == monitor.TriggerWatchdog })
	if half < 0 {
		t.Fatalf("no snapshot halfway to the watchdog among %d", len(res.Monitor.Snapshots))
	}
	if q, ok := dsq(res.Monitor.Snapshots[half], "user 0x0"); !ok || len(q.Tasks) == 0 {
		t.Errorf("halfway snapshot: DSQ 0 %+v, want the stalled tasks on it\n%s", q, res.Monitor.Snapshots[half].String())
	}
	if tl := res.Timeline; tl == nil || !tl.Failed || !strings.Contains(tl.String(), "died ktstr_stall") {
		t.Errorf("timeline does not show the death:\n%v", tl)
	}
	checkFailureInResults(t, res)
	r := res.Repro
	if r == nil || r.Err != "" || !r.Reproduced || r.Results == nil {
		t.Fatalf("auto-repro %+v: want a second run that failed again, with probe results", r)
	}
	// The tail sent at the death, or the end's (the exit froze the ring).
	i := slices.IndexFunc(r.Results.Tails, func(tl probe.Tail) bool { _, exit := tl.LeadingUp(0); return len(exit) > 0 })
	if i < 0 {
		t.Fatalf("no probe tail reaches sched_ext's exit among %d; missing %v", len(r.Results.Tails), r.Results.Missing)
	}
	before, exit := r.Results.Tails[i].LeadingUp(probe.TailLen)
	called := map[string]bool{}
	for _, h := range before {
		called[h.Func] = true
	}
	for _, fn := range []string{"balance_scx", "stall_dispatch"} {
		if !called[fn] {
			t.Errorf("the calls leading up to the stall do not include %s (saw %v)", fn, called)
		}
	}
	if !slices.ContainsFunc(exit, func(h probe.Hit) bool {
		return h.Func == "scx_ops_exit_kind" && slices.Contains(h.Args, probe.Arg{Name: "kind", Value: "SCX_EXIT_ERROR_STALL"})
	}) {
		t.Errorf("exit path %v: want scx_ops_exit_kind(kind=SCX_EXIT_ERROR_STALL)", exit)
	}
}

// checkFailureInResults: a failed run's results directory holds its
// timeline, snapshots and auto-repro, the report explains the failure
// and the trace marks it.
func checkFailureInResults(t *testing.T, res *ktstr.Result) {
	t.Helper()
	if res.Dir == "" {
		t.Error("no results directory")
		return
	}
	for _, f := range []string{"timeline.txt", "timeline.json", "snapshots.txt", "repro.txt"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("results: %v", err)
		}
	}
	page, err := os.ReadFile(filepath.Join(res.Dir, results.FileReport))
	if err != nil || !strings.Contains(string(page), `id="explain"`) || !strings.Contains(string(page), "died ktstr_stall") {
		t.Errorf("%s does not explain the failure (%v)", results.FileReport, err)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, results.FileTrace))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := results.ParseTrace(b)
	if err != nil || tr.Tracks()["i failure"] != 1 {
		t.Errorf("%s: no failure instant (%v)", results.FileTrace, err)
	}
	t.Logf("results: %s", res.Dir)
}
