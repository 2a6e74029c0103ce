package results

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/verdict"
)

// Polarity says which way a metric improves.
type Polarity string

const (
	// HigherIsBetter marks metrics such as CPU share and work rate.
	HigherIsBetter Polarity = "higher"
	// LowerIsBetter marks latencies, gaps and queue depths.
	LowerIsBetter Polarity = "lower"
	// Informational metrics are compared but never judged.
	Informational Polarity = "none"
)

// Overall is the scope of metrics over the whole run.
const Overall = "overall"

// Metric is one number a run is judged and compared by.
type Metric struct {
	// Scope is Overall or a cgroup's name.
	Scope    string   `json:"scope"`
	Name     string   `json:"name"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Polarity Polarity `json:"polarity"`
}

// Key identifies a metric within a run: "overall/wake_p99", "cg_1/cpu_share".
func (m Metric) Key() string { return m.Scope + "/" + m.Name }

// Metrics is the sidecar: one run's metrics with what the run was.
type Metrics struct {
	Schema     int             `json:"schema"`
	ID         string          `json:"id"`
	Dimensions Dimensions      `json:"dimensions"`
	Verdict    verdict.Verdict `json:"verdict"`
	Metrics    []Metric        `json:"metrics"`
}

// Get returns the metric of that scope and name.
func (ms *Metrics) Get(scope, name string) (Metric, bool) {
	for _, m := range ms.Metrics {
		if m.Scope == scope && m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Metric names. Per cgroup and overall unless noted.
const (
	// MetricCPUShare is the mean CPU time over wall time of the workers
	// (the fraction of one CPU each got).
	MetricCPUShare = "cpu_share"
	// MetricWorkRate is the workers' work units per second, summed.
	MetricWorkRate = "work_rate"
	// MetricWakeP50 and MetricWakeP99 are the highest wake-up latency
	// percentiles among the workers (ms); absent without wake-ups.
	MetricWakeP50 = "wake_p50"
	MetricWakeP99 = "wake_p99"
	// MetricMaxGap is the longest off-CPU gap of a runnable worker (ms).
	MetricMaxGap = "max_gap"
	// MetricMigrationsPerSwitch is migrations over context switches.
	MetricMigrationsPerSwitch = "migrations_per_switch"
	// MetricCgroupBalance (overall) is the lowest cgroup CPU share over
	// the highest among cgroups running the same load: 1 when they got
	// equal CPU.
	MetricCgroupBalance = "cgroup_balance"
	// Monitor maxima (overall): load imbalance, local DSQ depth,
	// nr_running; and context switches per CPU per second.
	MetricMaxImbalance = "max_imbalance"
	MetricMaxLocalDSQ  = "max_local_dsq"
	MetricMaxNrRunning = "max_nr_running"
	MetricSwitchRate   = "switches_per_cpu_s"
)

// Units of the metrics.
const (
	unitRatio = "ratio"
	unitMs    = "ms"
	unitPerS  = "/s"
	unitTasks = "tasks"
)

// metricsSchema versions metrics.json and result.json.
const metricsSchema = 1

// computeMetrics derives the sidecar's metrics from the worker reports
// and the monitor samples.
func computeMetrics(v *view) []Metric {
	byCgroup := map[string][]scenario.WorkerReport{}
	var names []string
	all := v.allWorkers()
	for _, r := range all {
		if _, ok := byCgroup[r.Cgroup]; !ok {
			names = append(names, r.Cgroup)
		}
		byCgroup[r.Cgroup] = append(byCgroup[r.Cgroup], r)
	}
	slices.Sort(names)
	var out []Metric
	if len(all) > 0 {
		out = append(out, workerMetrics(Overall, all)...)
	}
	shares := map[string]float64{}
	for _, n := range names {
		ms := workerMetrics(n, byCgroup[n])
		shares[n] = ms[0].Value
		out = append(out, ms...)
	}
	if b, ok := cgroupBalance(names, byCgroup, shares); ok {
		out = append(out, Metric{Overall, MetricCgroupBalance, b, unitRatio, HigherIsBetter})
	}
	return append(out, monitorMetrics(v.run.Monitor)...)
}

// cgroupBalance is the lowest CPU share over the highest among cgroups
// that run the same load (work type, policy, nice and worker count), the
// worst over every such set of two or more: cgroups of sleeping workers
// are not short-changed next to spinning ones. ok is false when no two
// cgroups run the same load.
func cgroupBalance(names []string, byCgroup map[string][]scenario.WorkerReport, shares map[string]float64) (float64, bool) {
	peers := map[string][]string{}
	for _, n := range names {
		rs := byCgroup[n]
		sig := fmt.Sprintf("%d", len(rs))
		for _, r := range rs {
			sig += fmt.Sprintf("|%s/%v/%d", r.Type, r.Policy, r.Nice)
		}
		peers[sig] = append(peers[sig], n)
	}
	worst, ok := 1.0, false
	for _, group := range peers {
		if len(group) < 2 {
			continue
		}
		lo, hi := math.Inf(1), 0.0
		for _, n := range group {
			lo, hi = min(lo, shares[n]), max(hi, shares[n])
		}
		if hi > 0 {
			worst, ok = min(worst, lo/hi), true
		}
	}
	return worst, ok
}

// workerMetrics are the metrics of one group of workers; cpu_share first.
func workerMetrics(scope string, rs []scenario.WorkerReport) []Metric {
	var share, rate float64
	var p50, p99, gap time.Duration
	var migr, switches, wakes uint64
	for i := range rs {
		r := &rs[i]
		share += r.CPUShare()
		rate += r.WorkRate()
		gap = max(gap, r.MaxGap)
		migr += r.Migrations
		switches += r.VoluntarySwitches + r.InvoluntarySwitches
		if r.WakeSamples > 0 {
			wakes += r.WakeSamples
			p50, p99 = max(p50, r.WakeP50), max(p99, r.WakeP99)
		}
	}
	out := []Metric{
		{scope, MetricCPUShare, share / float64(len(rs)), unitRatio, HigherIsBetter},
		{scope, MetricWorkRate, rate, unitPerS, HigherIsBetter},
	}
	if wakes > 0 {
		out = append(out,
			Metric{scope, MetricWakeP50, ms(p50), unitMs, LowerIsBetter},
			Metric{scope, MetricWakeP99, ms(p99), unitMs, LowerIsBetter})
	}
	out = append(out, Metric{scope, MetricMaxGap, ms(gap), unitMs, LowerIsBetter})
	if switches > 0 {
		out = append(out, Metric{scope, MetricMigrationsPerSwitch, float64(migr) / float64(switches), unitRatio, LowerIsBetter})
	}
	return out
}

// monitorMetrics are the maxima the host monitor saw.
func monitorMetrics(r *monitor.Report) []Metric {
	if r == nil || len(r.Samples) == 0 {
		return nil
	}
	s := r.Summarize()
	var maxRunning uint32
	for _, smp := range r.Samples {
		for _, c := range smp.CPUs {
			maxRunning = max(maxRunning, c.NrRunning)
		}
	}
	out := []Metric{
		{Overall, MetricMaxImbalance, s.MaxImbalance, unitRatio, LowerIsBetter},
		{Overall, MetricMaxLocalDSQ, float64(s.MaxLocalDSQ), unitTasks, LowerIsBetter},
		{Overall, MetricMaxNrRunning, float64(maxRunning), unitTasks, Informational},
	}
	if s.Span > 0 && len(s.Switches) > 0 {
		var sum uint64
		for _, n := range s.Switches {
			sum += n
		}
		rate := float64(sum) / float64(len(s.Switches)) / s.Span.Seconds()
		out = append(out, Metric{Overall, MetricSwitchRate, rate, unitPerS, Informational})
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
