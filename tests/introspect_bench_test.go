package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// benchSide is what one side measured, run by run.
type benchSide struct {
	name string
	// wall is each run's VM wall time; work the workers' work units.
	wall []time.Duration
	work []float64
	// hostCPU is the CPU time of this process during each run (the
	// harness and, on the default and probed sides, the host monitor),
	// qemuCPU the VMM's.
	hostCPU, qemuCPU []time.Duration
	hits             uint64
	probes           int
	setup            time.Duration
	snapshots        int
	snapshotNs       time.Duration
}

// boot runs t once and records what it measured; it returns one line of
// the benchmark's log.
func (s *benchSide) boot(b *testing.B, t *ktstr.Test, noMonitor bool) string {
	b.Helper()
	self0, children0 := cpuTime(unix.RUSAGE_SELF), cpuTime(unix.RUSAGE_CHILDREN)
	res, err := ktstr.Boot(context.Background(), t, ktstr.RunOptions{NoMonitor: noMonitor, Out: ktstr.NoResults})
	if err != nil {
		b.Fatal(err)
	}
	if !res.Passed() {
		b.Fatalf("%s: %s: %v", t.Name, res.Verdict, res.Reasons)
	}
	host, qemu := cpuTime(unix.RUSAGE_SELF)-self0, cpuTime(unix.RUSAGE_CHILDREN)-children0
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
	s.wall = append(s.wall, res.Exit.Duration)
	s.work = append(s.work, float64(work))
	s.hostCPU, s.qemuCPU = append(s.hostCPU, host), append(s.qemuCPU, qemu)
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
	return fmt.Sprintf("%s %v (work %d, host CPU %v, QEMU CPU %v)", s.name, res.Exit.Duration.Round(time.Millisecond),
		work, host.Round(time.Millisecond), qemu.Round(time.Millisecond))
}

// cpuTime is user plus system time of who (unix.RUSAGE_SELF or
// unix.RUSAGE_CHILDREN: the VMMs this process has waited for).
func cpuTime(who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median of a sample (0 for none).
func median[T time.Duration | float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pct is how much more a is than base, in percent.
func pct[T time.Duration | float64](a, base T) float64 {
	return 100 * (float64(a) - float64(base)) / max(float64(base), 1e-9)
}

// BenchmarkIntrospectionCost boots the same FIFO test three ways in one
// run, interleaved (the order rotating) so that the shared machine's
// load falls on every side alike: bare, default and probed (see the
// sides above). Per side it reports the median VM wall time, worker
// work and CPU time, and what the default and the probed side add to
// the bare wall time and take from its work, in percent (the scenario
// has a fixed length, so a cost paid while it runs shows as lost work,
// not as wall time). The target is under 5% for the default, which every
// test pays; the probed side's figures, paid only by a test that asks
// for probes and by an auto-repro, are reported as measured, with the
// time the guest spent setting the probes up.
//
// On a loaded host the wall times of single runs vary by tens of
// percent: run enough iterations, and read the host CPU time beside
// them (the monitor's cost is this process's extra CPU time, which adds
// to the wall time only when no core is free for it).
//
//	flock -o /tmp/ktstr-vm.lock go test -run '^$' -bench IntrospectionCost -benchtime 6x ./tests
func BenchmarkIntrospectionCost(b *testing.B) {
	if testing.Short() {
		b.Skip("boots VMs")
	}
	bare, def, probed := &benchSide{name: "bare"}, &benchSide{name: "default"}, &benchSide{name: "probed"}
	sides := []struct {
		s         *benchSide
		t         *ktstr.Test
		noMonitor bool
	}{{bare, benchBare, true}, {def, benchDefault, false}, {probed, benchProbed, false}}
	for i := 0; b.Loop(); i++ {
		line := make([]string, len(sides))
		for j := range sides {
			k := (i + j) % len(sides)
			line[k] = sides[k].s.boot(b, sides[k].t, sides[k].noMonitor)
		}
		b.Logf("run %d: %s", i+1, strings.Join(line, "; "))
	}
	n := float64(len(bare.wall))
	bareS, defS, probedS := median(bare.wall), median(def.wall), median(probed.wall)
	defPct, probedPct := pct(defS, bareS), pct(probedS, bareS)
	defLost, probedLost := -pct(median(def.work), median(bare.work)), -pct(median(probed.work), median(bare.work))
	monitorCPU := median(def.hostCPU) - median(bare.hostCPU)
	b.ReportMetric(bareS.Seconds(), "s-wall-bare")
	b.ReportMetric(defS.Seconds(), "s-wall-default")
	b.ReportMetric(probedS.Seconds(), "s-wall-probed")
	b.ReportMetric(defPct, "%-wall-default")
	b.ReportMetric(probedPct, "%-wall-probed")
	b.ReportMetric(defLost, "%-work-lost-default")
	b.ReportMetric(probedLost, "%-work-lost-probed")
	b.ReportMetric(monitorCPU.Seconds(), "s-monitor-cpu")
	b.ReportMetric(probed.setup.Seconds()/n, "s-probe-setup")
	b.ReportMetric(float64(probed.hits)/n, "probe-hits")
	b.ReportMetric(def.snapshotNs.Seconds()*1000/n, "ms-snapshots")
	b.Logf("median wall time of %d runs: bare %.2fs, default %.2fs (%+.1f%%, target under 5%%), probed %.2fs (%+.1f%%)",
		len(bare.wall), bareS.Seconds(), defS.Seconds(), defPct, probedS.Seconds(), probedPct)
	b.Logf("median work: bare %.0f, default %.0f (%.1f%% lost), probed %.0f (%.1f%% lost)",
		median(bare.work), median(def.work), defLost, median(probed.work), probedLost)
	b.Logf("median host CPU time: bare %v, default %v: the monitor costs %v a run (%.1f%% of the bare wall time); QEMU: bare %v, default %v, probed %v",
		median(bare.hostCPU).Round(time.Millisecond), median(def.hostCPU).Round(time.Millisecond), monitorCPU.Round(time.Millisecond),
		pct(bareS+monitorCPU, bareS), median(bare.qemuCPU).Round(time.Millisecond), median(def.qemuCPU).Round(time.Millisecond),
		median(probed.qemuCPU).Round(time.Millisecond))
	b.Logf("default: %.1f snapshots a run, %.1f ms reading them; probed: %d functions, %.0f hits a run, %.2fs a run setting them up in the guest (%.1f%% of the bare wall time)",
		float64(def.snapshots)/n, def.snapshotNs.Seconds()*1000/n, probed.probes, float64(probed.hits)/n, probed.setup.Seconds()/n,
		100*probed.setup.Seconds()/n/bareS.Seconds())
}
