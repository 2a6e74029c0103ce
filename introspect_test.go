package ktstr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cilium/ebpf/btf"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/results"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

func record(t *testing.T, kind string, elapsed time.Duration, payload any) guest.Record {
	t.Helper()
	r, err := guest.NewRecord(kind, elapsed, payload)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The guest's snapshot requests and a scheduler's death become monitor
// requests; probe reports are placed on the guest's clock and merged.
func TestIntrospectionRecords(t *testing.T) {
	in := newIntrospection()
	in.record(record(t, guest.KindSnapshot, time.Second, guest.SnapshotRequest{Name: "halfway"}))
	in.record(record(t, guest.KindSched, 2*time.Second, guest.SchedEvent{Event: "died", Name: "s", Exit: &guest.SchedExit{Reason: "runnable task stall"}}))
	in.record(record(t, guest.KindProbe, 3*time.Second, probe.Report{Now: 10e9, Counts: []probe.Count{{Func: "f", Calls: 5}},
		Tail: []probe.Hit{{Seq: 1, Func: "f", At: 9e9}}, Why: "died"}))
	var names []string
	for len(in.requests) > 0 {
		names = append(names, (<-in.requests).Name)
	}
	if want := []string{"halfway", "scheduler s died: runnable task stall"}; !reflect.DeepEqual(names, want) {
		t.Errorf("requests %q, want %q", names, want)
	}
	res := &Result{Verdict: verdict.Fail, Records: []guest.Record{{Kind: guest.KindOutput}, {}, {}}}
	in.finish(res)
	if res.Probes == nil || res.Probes.Calls("f") != 5 || res.Probes.Tails[0].Hits[0].Elapsed != 2*time.Second {
		t.Errorf("probes %+v: want 5 calls of f and the tail's hit placed 1 s before its record", res.Probes)
	}
	if res.Timeline == nil || !res.Timeline.Failed {
		t.Errorf("timeline %+v", res.Timeline)
	}
	// A full request queue drops requests instead of blocking the
	// record reader.
	for range cap(in.requests) + 1 {
		in.ask("x")
	}
}

// Auto-repro is for scheduler deaths and stalls, and probes the stalled
// CPU's stack (not the other vCPUs').
func TestReproCause(t *testing.T) {
	died := &Result{Records: []guest.Record{record(t, guest.KindSched, 0, guest.SchedEvent{Event: "died", Name: "ktstr_stall", Exit: &guest.SchedExit{Reason: "runnable task stall"}})}}
	stalled := &Result{Reasons: []string{"not_stuck fail", "monitor: cpu1 stalled: rq clock stood still for 19 samples; at 7.2s its vCPU was in x"}}
	for _, tc := range []struct {
		res  *Result
		want string
	}{
		{died, "scheduler ktstr_stall died: runnable task stall"},
		{stalled, "monitor: cpu1 stalled: rq clock stood still for 19 samples"},
		{&Result{Reasons: []string{"share_ratio fail"}}, ""},
	} {
		if got := reproCause(tc.res); got != tc.want {
			t.Errorf("reproCause = %q, want %q", got, tc.want)
		}
	}
	rep := &monitor.Report{Captures: []monitor.Capture{{CPU: 1, Where: "read_tsc+0x4 (on its stack: bpf_prog_wedge_tick+0x110 task_tick_scx+0x5e); meanwhile vCPU 0 in queued_spin_lock_slowpath+0x29"}}}
	if got := stallStack(rep); !reflect.DeepEqual(got, []string{"read_tsc", "bpf_prog_wedge_tick", "task_tick_scx"}) {
		t.Errorf("stallStack = %q", got)
	}
}

// A run's introspection goes into its results directory as JSON and
// text, and into its report; parts it does not have are left out.
func TestIntrospectionInResultsDirectory(t *testing.T) {
	res := &Result{
		Verdict: verdict.Fail,
		Monitor: &monitor.Report{Snapshots: []monitor.Snapshot{{Name: "halfway", Trigger: monitor.TriggerRequest}}},
		Probes:  &probe.Results{Counts: []probe.Count{{Func: "f", How: "kprobe", Calls: 3}}},
	}
	newIntrospection().finish(res)
	dir := filepath.Join(t.TempDir(), "run")
	ro := RunOptions{Out: dir}
	s := newResultsSink(bootSpec{name: "t", params: guest.BootParams{Mode: guest.ModeTest}}, &ro)
	p := &vmPlan{spec: bootSpec{name: "t"}, set: settings{topology: topology.Must("1n1l2c1t"), duration: time.Second}, kernel: &kernel.Kernel{Image: "/bz"}}
	if got := s.write(p, res, zap.NewNop()); got != dir {
		t.Fatalf("written to %q, want %q", got, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "probes.") || strings.HasPrefix(e.Name(), "snapshots.") ||
			strings.HasPrefix(e.Name(), "timeline.") || strings.HasPrefix(e.Name(), "repro.") {
			names = append(names, e.Name())
		}
	}
	if want := []string{"probes.json", "probes.txt", "snapshots.json", "snapshots.txt", "timeline.json", "timeline.txt"}; !reflect.DeepEqual(names, want) {
		t.Errorf("files %q, want %q (no repro)", names, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "snapshots.txt"))
	if err != nil || !strings.Contains(string(b), `snapshot "halfway" (request)`) {
		t.Errorf("snapshots.txt: %q, %v", b, err)
	}
	var snaps []monitor.Snapshot
	if b, err := os.ReadFile(filepath.Join(dir, "snapshots.json")); err != nil || json.Unmarshal(b, &snaps) != nil || len(snaps) != 1 {
		t.Errorf("snapshots.json: %v, %v", snaps, err)
	}
	page, err := os.ReadFile(filepath.Join(dir, results.FileReport))
	if err != nil || !strings.Contains(string(page), `<tr class="snapshot">`) || !strings.Contains(string(page), `<tr class="probe">`) {
		t.Errorf("report.html has no snapshot and probe rows (%v)", err)
	}
}

// The guest gets the test's probes in its run plan; a spec the guest
// could never attach is refused before boot, naming what is wrong.
func TestGuestPlanProbes(t *testing.T) {
	opts := Opts{Probes: []probe.Spec{{Func: probe.AllCallbacks}, probe.On("balance_scx", "rq", "prev")}}
	s, err := settle(&opts, &RunOptions{}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.guestPlan(&opts, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	var p guest.Plan
	if err := json.Unmarshal(b, &p); err != nil || p.Probes != "*,balance_scx:rq+prev" {
		t.Fatalf("plan %s (%v): want the probes as probe.Format writes them", b, err)
	}
	if len(p.ProbeTable) != 0 {
		t.Errorf("a probe table without a vmlinux: %s", p.ProbeTable)
	}

	// With the kernel's vmlinux the host resolves the probes' types, so
	// the guest does not parse its BTF; an unreadable one leaves it to
	// the guest.
	u64 := &btf.Int{Name: "u64", Size: 8}
	regs := &btf.Struct{Name: "pt_regs", Size: 16, Members: []btf.Member{{Name: "si", Type: u64}, {Name: "di", Type: u64, Offset: 64}}}
	bb, err := btf.NewBuilder([]btf.Type{regs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bb.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	vmlinux := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(vmlinux, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		vmlinux string
		want    bool
	}{{vmlinux, true}, {vmlinux + ".gone", false}} {
		b, err := s.guestPlan(&opts, c.vmlinux, zap.NewNop())
		var p guest.Plan
		if err != nil || json.Unmarshal(b, &p) != nil {
			t.Fatalf("%s: plan %s, %v", c.vmlinux, b, err)
		}
		var table probe.Table
		got := len(p.ProbeTable) > 0 && json.Unmarshal(p.ProbeTable, &table) == nil && slices.Equal(table.Regs, []int16{8, 0})
		if got != c.want {
			t.Errorf("%s: probe table %s; want one with pt_regs' di and si: %v", c.vmlinux, p.ProbeTable, c.want)
		}
	}

	bad := Opts{Probes: []probe.Spec{probe.On("balance scx")}}
	if _, err := s.guestPlan(&bad, "", zap.NewNop()); err == nil || !strings.Contains(err.Error(), "want a function name") {
		t.Errorf("a probe on %q: %v, want it refused", "balance scx", err)
	}
}
