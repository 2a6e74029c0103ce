package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
)

// introspectBenchBody is one scenario for every side of BenchmarkIntrospectionCost:
// two cgroups of mixed workers (1 ms burn, 1 ms sleep: a wake-up and an
// enqueue every other millisecond each), with a snapshot asked for
// halfway.
func introspectBenchBody(ctx *scenario.Ctx) error {
	defs := []scenario.CgroupDef{
		scenario.Cgroup("cg_0").Workers(2).Work(scenario.MixedWork),
		scenario.Cgroup("cg_1").Workers(2).Work(scenario.MixedWork),
	}
	return scenario.ExecuteSteps(ctx,
		scenario.Step{Defs: defs, Hold: scenario.Frac(0.5)},
		scenario.Step{Ops: []scenario.Op{scenario.Snapshot("halfway")}, Hold: scenario.Frac(0.5)},
	)
}

// introspectBenchOpts are the options every side shares.
var introspectBenchOpts = ktstr.Opts{Scheduler: scheds.FIFO, Duration: 4 * time.Second, Monitor: &monitor.Thresholds{}, NoAutoRepro: true}

// The sides: bare (no host monitor, so no snapshots, and no probes),
// default (what every test gets: the monitor's samples and its periodic
// and asked-for snapshots) and probed (default plus probes on every
// scheduler callback and the kernel's dispatch path, which a test asks
// for and an auto-repro adds).
var (
	benchBare    = &ktstr.Test{Name: "bench_introspect_bare", Body: introspectBenchBody, Opts: introspectBenchOpts}
	benchDefault = &ktstr.Test{Name: "bench_introspect_default", Body: introspectBenchBody, Opts: introspectBenchOpts}
	benchProbed  = &ktstr.Test{Name: "bench_introspect_probed", Body: introspectBenchBody, Opts: withProbes(introspectBenchOpts,
		append([]probe.Spec{{Func: probe.AllCallbacks}}, probe.DispatchPath...))}
)

func withProbes(o ktstr.Opts, specs []probe.Spec) ktstr.Opts {
	o.Probes = specs
	return o
}

// The benchmark's tests exist only in the guest, where Boot looks them
// up by name; on the host they stay out of TestRegistered.
func init() {
	if guest.IsChild() {
		for _, t := range []*ktstr.Test{benchBare, benchDefault, benchProbed} {
			ktstr.Register(t.Name, t.Opts, t.Body)
		}
	}
}

// benchSide is what one side measured, summed over its runs.
type benchSide struct {
	wall       time.Duration
	work       uint64
	hits       uint64
	probes     int
	setup      time.Duration
	snapshots  int
	snapshotNs time.Duration
}

// boot runs t once, adds what it measured to s and says what one line
// of the benchmark's log shows of it.
func (s *benchSide) boot(b *testing.B, t *ktstr.Test, noMonitor bool) string {
	b.Helper()
	res, err := ktstr.Boot(context.Background(), t, ktstr.RunOptions{NoMonitor: noMonitor, Out: ktstr.NoResults})
	if err != nil {
		b.Fatal(err)
	}
	if !res.Passed() {
		b.Fatalf("%s: %s: %v", t.Name, res.Verdict, res.Reasons)
	}
	s.wall += res.Exit.Duration
	var work uint64
	for _, rec := range res.Records {
		var w struct {
			Reports []scenario.WorkerReport `json:"reports"`
		}
		if rec.Kind == guest.KindWorkers && rec.Decode(&w) == nil {
			for _, rep := range w.Reports {
				work += rep.Work
			}
		}
	}
	s.work += work
	if res.Probes != nil {
		s.setup += res.Probes.Setup
		s.probes = len(res.Probes.Counts)
		for _, c := range res.Probes.Counts {
			s.hits += c.Calls
		}
	}
	if res.Monitor != nil {
		s.snapshots += len(res.Monitor.Snapshots)
		for _, snap := range res.Monitor.Snapshots {
			s.snapshotNs += snap.Took
		}
	}
	return fmt.Sprintf("%v (work %d)", res.Exit.Duration.Round(time.Millisecond), work)
}

// pct is how much more a is than base, in percent.
func pct(a, base float64) float64 { return 100 * (a - base) / max(base, 1e-9) }

// BenchmarkIntrospectionCost boots the same FIFO test three ways in one
// run, interleaved so that the machine's load falls on every side
// alike: bare, default and probed (see the sides above). It reports
// each side's mean VM wall time and worker work, what the default and
// the probed side add to the bare wall time and take from its work, in
// percent (the scenario has a fixed length, so a cost paid while it runs
// shows as lost work, not as wall time). The target
// is under 5% for the default, which every test pays; the probed
// side's figure, paid only by a test that asks for probes and by an
// auto-repro, is reported as measured, with the part of it the guest
// spent setting the probes up.
//
//	flock -o /tmp/ktstr-vm.lock go test -run '^$' -bench IntrospectionCost -benchtime 3x ./tests
func BenchmarkIntrospectionCost(b *testing.B) {
	if testing.Short() {
		b.Skip("boots VMs")
	}
	var bare, def, probed benchSide
	for i := range b.N {
		// Rotate the order so that neither side always runs first.
		sides := []func() string{
			func() string { return bare.boot(b, benchBare, true) },
			func() string { return def.boot(b, benchDefault, false) },
			func() string { return probed.boot(b, benchProbed, false) },
		}
		var took [3]string
		for j := range sides {
			k := (i + j) % len(sides)
			took[k] = sides[k]()
		}
		b.Logf("run %d: bare %s, default %s, probed %s", i+1, took[0], took[1], took[2])
	}
	n := float64(b.N)
	bareS, defS, probedS := bare.wall.Seconds()/n, def.wall.Seconds()/n, probed.wall.Seconds()/n
	defPct, probedPct := pct(defS, bareS), pct(probedS, bareS)
	b.ReportMetric(bareS, "s-wall-bare")
	b.ReportMetric(defS, "s-wall-default")
	b.ReportMetric(probedS, "s-wall-probed")
	b.ReportMetric(defPct, "%-wall-default")
	b.ReportMetric(probedPct, "%-wall-probed")
	defLost, probedLost := -pct(float64(def.work), float64(bare.work)), -pct(float64(probed.work), float64(bare.work))
	b.ReportMetric(defLost, "%-work-lost-default")
	b.ReportMetric(probedLost, "%-work-lost-probed")
	b.ReportMetric(probed.setup.Seconds()/n, "s-probe-setup")
	b.ReportMetric(float64(probed.hits)/n, "probe-hits")
	b.ReportMetric(def.snapshotNs.Seconds()*1000/n, "ms-snapshots")
	b.Logf("wall time per run: bare %.2fs, default %.2fs (%+.1f%%, target under 5%%), probed %.2fs (%+.1f%%)",
		bareS, defS, defPct, probedS, probedPct)
	b.Logf("default: %.1f snapshots a run, %.1f ms reading them; probed: %d functions, %.0f hits a run, %.2fs setting them up in the guest",
		float64(def.snapshots)/n, def.snapshotNs.Seconds()*1000/n, probed.probes, float64(probed.hits)/n, probed.setup.Seconds()/n)
	b.Logf("workers' work per run: bare %.0f, default %.0f (%.1f%% lost), probed %.0f (%.1f%% lost)",
		float64(bare.work)/n, float64(def.work)/n, defLost, float64(probed.work)/n, probedLost)
}
