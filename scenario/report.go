package scenario

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// WorkerReport is the telemetry of one worker process over its measured
// window (from the start signal to the stop request). Kernel counters are
// deltas over that window, summed over the threads the work ran on (not
// the Go runtime's own); timing comes from the worker's own clock. A
// worker that sent no report gets one from Outside, what the collector
// saw of its threads.
type WorkerReport struct {
	Cgroup string   `json:"cgroup"`
	Index  int      `json:"index"` // worker number within its workload
	PID    int      `json:"pid"`
	TIDs   []int    `json:"tids"` // the work threads
	Type   WorkType `json:"type"`
	// Spec is the work with the parameters the test gave (zero: the
	// type's defaults).
	Spec      Work      `json:"spec"`
	Policy    Policy    `json:"policy"`
	Nice      int       `json:"nice"`
	MemPolicy MemPolicy `json:"mem_policy,omitzero"`

	// StartMono is the CLOCK_MONOTONIC ns of the start signal.
	StartMono int64         `json:"start_mono"`
	Wall      time.Duration `json:"wall"`
	// Work counts the work type's units (loop iterations, round trips,
	// writes, children, ...).
	Work       uint64        `json:"work"`
	CPUTime    time.Duration `json:"cpu_time"`
	RunDelay   time.Duration `json:"run_delay"`
	Timeslices uint64        `json:"timeslices"`

	// Gaps are the longest off-CPU gaps of all work threads, longest
	// first; MaxGap* describe the longest one not excused by the test.
	Gaps      []Gap         `json:"gaps,omitempty"`
	MaxGap    time.Duration `json:"max_gap"`
	MaxGapTID int           `json:"max_gap_tid,omitempty"`
	MaxGapCPU int           `json:"max_gap_cpu"`
	// MaxGapAt is when the gap began, relative to StartMono.
	MaxGapAt time.Duration `json:"max_gap_at"`

	WakeSamples uint64        `json:"wake_samples"`
	WakeP50     time.Duration `json:"wake_p50"`
	WakeP99     time.Duration `json:"wake_p99"`
	WakeMax     time.Duration `json:"wake_max"`
	// WakeHist counts the sampled wake-up latencies in log2 buckets:
	// bucket i holds [2^i, 2^(i+1)) ns (bucket 0 also 0 and 1 ns).
	WakeHist []uint64 `json:"wake_hist,omitempty"`

	// Migrations is the kernel's count when known, else the CPU changes
	// the worker observed (a lower bound).
	Migrations          uint64 `json:"migrations"`
	CPUs                CPUSet `json:"cpus"` // CPUs the work threads were seen on
	VoluntarySwitches   uint64 `json:"voluntary_switches"`
	InvoluntarySwitches uint64 `json:"involuntary_switches"`
	MinorFaults         uint64 `json:"minor_faults"`

	// Counters are the work type's own counts (e.g. "rounds" and
	// "wakes" of futex_fanout, "faults" of page_fault_churn).
	Counters map[string]uint64 `json:"counters,omitempty"`
	// PageNodes counts the work's resident pages per NUMA node when a
	// memory policy is set (a sample of at most 4096 pages).
	PageNodes map[int]uint64 `json:"page_nodes,omitempty"`
	// Outside is what the guest's collector read of the worker's
	// threads from /proc while it ran, independent of the worker.
	Outside *OutsideView `json:"outside,omitempty"`
	// FromOutside marks a report the worker did not send: its timing is
	// the collector's (Outside).
	FromOutside bool `json:"from_outside,omitempty"`

	// Allowed is the union of every cpuset the worker's cgroups had while
	// it ran; empty with Bounded false means no restriction.
	Allowed CPUSet `json:"allowed"`
	Bounded bool   `json:"bounded"`

	// Errors are problems the worker or its collector hit.
	Errors []string `json:"errors,omitempty"`
}

// Name identifies the worker in messages: "cg_0/w1 (tid 123)".
func (r *WorkerReport) Name() string {
	tid := r.PID
	if len(r.TIDs) > 0 {
		tid = r.TIDs[0]
	}
	cg := r.Cgroup
	if cg == "" {
		cg = "-"
	}
	return fmt.Sprintf("%s/w%d (tid %d)", cg, r.Index, tid)
}

// WorkRate is work units per second of wall time.
func (r *WorkerReport) WorkRate() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Work) / r.Wall.Seconds()
}

// CPUShare is CPU time over wall time (above 1 with several threads).
func (r *WorkerReport) CPUShare() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return r.CPUTime.Seconds() / r.Wall.Seconds()
}

// RunnableShare is the share of the time the worker's threads wanted a
// CPU that they got: CPU time over CPU time plus run delay (time
// runnable on a runqueue), as the kernel accounts them. Time a thread was
// not runnable at all (blocked, or parked by the Go runtime while its
// work ran on another thread) is in neither, so this is the scheduler's
// part of the worker's share; CPUShare also holds the rest. Without the
// kernel's run-delay accounting (no timeslices counted) it is CPUShare.
func (r *WorkerReport) RunnableShare() float64 {
	wanted := r.CPUTime + r.RunDelay
	if r.Timeslices == 0 || wanted <= 0 {
		return r.CPUShare()
	}
	return r.CPUTime.Seconds() / wanted.Seconds()
}

// Interval is a span of CLOCK_MONOTONIC nanoseconds [Start, End).
type Interval struct{ Start, End int64 }

// excuse recomputes MaxGap* from Gaps, ignoring the part of each gap that
// overlaps an excused interval (e.g. while the cgroup was frozen).
func (r *WorkerReport) excuse(excused []Interval) {
	r.MaxGap, r.MaxGapTID, r.MaxGapCPU, r.MaxGapAt = 0, 0, -1, 0
	for _, g := range r.Gaps {
		for _, piece := range subtract(Interval{g.Start, g.End}, excused) {
			if d := time.Duration(piece.End - piece.Start); d > r.MaxGap {
				r.MaxGap, r.MaxGapTID, r.MaxGapCPU = d, g.TID, g.CPU
				r.MaxGapAt = time.Duration(piece.Start - r.StartMono)
			}
		}
	}
}

// subtract returns the parts of iv not covered by any of cut.
func subtract(iv Interval, cut []Interval) []Interval {
	out := []Interval{iv}
	for _, c := range cut {
		var next []Interval
		for _, p := range out {
			if c.End <= p.Start || c.Start >= p.End {
				next = append(next, p)
				continue
			}
			if c.Start > p.Start {
				next = append(next, Interval{p.Start, c.Start})
			}
			if c.End < p.End {
				next = append(next, Interval{c.End, p.End})
			}
		}
		out = next
	}
	return out
}

// Percentile returns the p-th percentile (0..100) of samples by the
// nearest-rank method; 0 for no samples. samples is sorted in place.
func Percentile(samples []int64, p float64) int64 {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	rank := int(math.Ceil(p / 100 * float64(len(samples))))
	rank = min(max(rank, 1), len(samples))
	return samples[rank-1]
}

// Spread is (max-min)/mean of values: 0 for equal values, 0 for fewer
// than two values or a zero mean.
func Spread(values []float64) float64 {
	if len(values) < 2 {
		return 0
	}
	lo, hi, sum := values[0], values[0], 0.0
	for _, v := range values {
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	mean := sum / float64(len(values))
	if mean == 0 {
		return 0
	}
	return (hi - lo) / mean
}

// FormatReports renders reports as a fixed-width table for logs.
func FormatReports(reports []WorkerReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-30s %-14s %10s %8s %6s %8s %9s %8s %8s %5s %6s %-6s\n",
		"worker", "type", "work", "work/s", "cpu%", "rundly", "maxgap", "wakep50", "wakep99", "migr", "csw", "cpus")
	for i := range reports {
		r := &reports[i]
		fmt.Fprintf(&b, "%-30s %-14s %10d %8.0f %5.0f%% %8s %9s %8s %8s %5d %6d %-6s\n",
			r.Name(), r.Type, r.Work, r.WorkRate(), 100*r.CPUShare(), ms(r.RunDelay), ms(r.MaxGap),
			ms(r.WakeP50), ms(r.WakeP99), r.Migrations, r.VoluntarySwitches+r.InvoluntarySwitches, r.CPUs)
	}
	return b.String()
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
