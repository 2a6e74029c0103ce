package tests

import (
	"context"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
)

// benchBody is one scenario for both sides of BenchmarkIntrospectionCost:
// two cgroups of mixed workers (1 ms burn, 1 ms sleep: a wake-up and an
// enqueue every other millisecond each), with a snapshot asked for
// halfway.
func benchBody(ctx *scenario.Ctx) error {
	defs := []scenario.CgroupDef{
		scenario.Cgroup("cg_0").Workers(2).Work(scenario.MixedWork),
		scenario.Cgroup("cg_1").Workers(2).Work(scenario.MixedWork),
	}
	return scenario.ExecuteSteps(ctx,
		scenario.Step{Defs: defs, Hold: scenario.Frac(0.5)},
		scenario.Step{Ops: []scenario.Op{scenario.Snapshot("halfway")}, Hold: scenario.Frac(0.5)},
	)
}

// The two sides: without the monitor and probes, and with the monitor
// (samples, periodic and asked-for snapshots) and probes on every
// scheduler callback and the kernel's dispatch path.
var (
	benchOff = &ktstr.Test{Name: "bench_introspect_off", Body: benchBody,
		Opts: ktstr.Opts{Scheduler: scheds.FIFO, Duration: 4 * time.Second, Monitor: &monitor.Thresholds{}, NoAutoRepro: true}}
	benchOn = &ktstr.Test{Name: "bench_introspect_on", Body: benchBody,
		Opts: ktstr.Opts{Scheduler: scheds.FIFO, Duration: 4 * time.Second, Monitor: &monitor.Thresholds{}, NoAutoRepro: true,
			Probes: append([]probe.Spec{{Func: probe.AllCallbacks}}, probe.DispatchPath...)}}
)

// The benchmark's tests exist only in the guest, where Boot looks them
// up by name; on the host they stay out of TestRegistered.
func init() {
	if guest.IsChild() {
		for _, t := range []*ktstr.Test{benchOff, benchOn} {
			ktstr.Register(t.Name, t.Opts, t.Body)
		}
	}
}

// benchRun is what one side's run measured.
type benchRun struct {
	wall       time.Duration
	work       uint64
	hits       uint64
	snapshotNs time.Duration
}

func bootBench(b *testing.B, t *ktstr.Test, noMonitor bool) benchRun {
	b.Helper()
	res, err := ktstr.Boot(context.Background(), t, ktstr.RunOptions{NoMonitor: noMonitor})
	if err != nil {
		b.Fatal(err)
	}
	if !res.Passed() {
		b.Fatalf("%s: %s: %v", t.Name, res.Verdict, res.Reasons)
	}
	r := benchRun{wall: res.Exit.Duration}
	for _, rec := range res.Records {
		var w struct {
			Reports []scenario.WorkerReport `json:"reports"`
		}
		if rec.Kind == guest.KindWorkers && rec.Decode(&w) == nil {
			for _, rep := range w.Reports {
				r.work += rep.Work
			}
		}
	}
	if res.Probes != nil {
		for _, c := range res.Probes.Counts {
			r.hits += c.Calls
		}
	}
	if res.Monitor != nil {
		for _, s := range res.Monitor.Snapshots {
			r.snapshotNs += s.Took
		}
	}
	return r
}

// BenchmarkIntrospectionCost boots the same FIFO test side by side in
// one run, alternating: without the host monitor and probes, and with
// both. It reports each side's mean VM wall time and worker work, and
// what introspection adds to the wall time and takes from the work, in
// percent. The target is under 5% for both.
//
//	flock /tmp/ktstr-vm.lock go test -run '^$' -bench IntrospectionCost -benchtime 2x ./tests
func BenchmarkIntrospectionCost(b *testing.B) {
	if testing.Short() {
		b.Skip("boots VMs")
	}
	var off, on benchRun
	for range b.N {
		o, n := bootBench(b, benchOff, true), bootBench(b, benchOn, false)
		off.wall, off.work = off.wall+o.wall, off.work+o.work
		on.wall, on.work, on.hits, on.snapshotNs = on.wall+n.wall, on.work+n.work, on.hits+n.hits, on.snapshotNs+n.snapshotNs
	}
	n := float64(b.N)
	wallPct := 100 * (on.wall.Seconds() - off.wall.Seconds()) / off.wall.Seconds()
	workPct := 100 * (float64(off.work) - float64(on.work)) / float64(max(off.work, 1))
	b.ReportMetric(off.wall.Seconds()/n, "s-wall-off")
	b.ReportMetric(on.wall.Seconds()/n, "s-wall-on")
	b.ReportMetric(wallPct, "%-wall-added")
	b.ReportMetric(float64(off.work)/n, "work-off")
	b.ReportMetric(float64(on.work)/n, "work-on")
	b.ReportMetric(workPct, "%-work-lost")
	b.ReportMetric(float64(on.hits)/n, "probe-hits")
	b.ReportMetric(on.snapshotNs.Seconds()*1000/n, "ms-snapshots")
	b.Logf("introspection added %.1f%% wall time and cost %.1f%% of the workers' work (target: under 5%% each)", wallPct, workPct)
}
