package monitor

import (
	"fmt"
	"time"
)

// Thresholds say what a monitored run may not show. A zero field turns
// its check off; a violation counts only when it lasts Sustained
// consecutive samples, which filters the spikes of cgroup and cpuset
// changes.
type Thresholds struct {
	// MaxImbalance bounds max(nr_running) / max(1, min(nr_running))
	// across CPUs.
	MaxImbalance float64
	// MaxLocalDSQ bounds the depth of any CPU's local dispatch queue: a
	// scheduler that dispatches faster than the CPU consumes.
	MaxLocalDSQ uint32
	// FailOnStall fails a CPU whose rq clock stands still while it has
	// runnable tasks and its vCPU got host CPU time: it stopped ticking
	// (interrupts off, or an idle CPU that sched_ext left with queued
	// work).
	FailOnStall bool
	// Sustained is the number of consecutive samples a violation must
	// last (values below 1 mean 1).
	Sustained int
	// MinVCPUTime is the host CPU time a vCPU must have had in an
	// interval for a standing clock to count as a stall; less means the
	// host did not run it. Zero means defaultMinVCPUTime.
	MinVCPUTime time.Duration
}

// defaultMinVCPUTime is one tick at 250 Hz.
const defaultMinVCPUTime = time.Second / 250

// DefaultThresholds are those of ktstr: a 4x imbalance, a local DSQ of
// 50 tasks, or a stalled CPU, each for five samples (half a second).
var DefaultThresholds = Thresholds{MaxImbalance: 4, MaxLocalDSQ: 50, FailOnStall: true, Sustained: 5}

// BalanceAgnostic is DefaultThresholds without the load-imbalance bound,
// for schedulers and scenarios that pile runnable tasks on some CPUs by
// design: a central dispatcher, real-time hogs, workers confined to a
// few CPUs.
var BalanceAgnostic = Thresholds{MaxLocalDSQ: 50, FailOnStall: true, Sustained: 5}

// Load is the runnable tasks committed to this CPU: nr_running, less the
// sched_ext tasks that wait in a shared dispatch queue (the global one or
// the scheduler's own). The kernel counts those on the CPU that enqueued
// them, yet any CPU may take them: a global FIFO on four busy CPUs reads
// as nr_running 6/1/1/1 with nothing waiting on any one CPU. What stays is
// the CPU's other classes, its local DSQ, and one running sched_ext task.
func (c CPU) Load() uint32 {
	if c.ScxNrRunning == 0 || c.ScxNrRunning > c.NrRunning {
		return c.NrRunning
	}
	return c.NrRunning - c.ScxNrRunning + min(c.ScxNrRunning, c.LocalDSQ+1)
}

// Imbalance is max(load) / max(1, min(load)) over the CPUs (see CPU.Load).
func (s Sample) Imbalance() float64 {
	if len(s.CPUs) == 0 {
		return 1
	}
	lo := s.CPUs[0].Load()
	hi := lo
	for _, c := range s.CPUs[1:] {
		l := c.Load()
		lo, hi = min(lo, l), max(hi, l)
	}
	return float64(hi) / float64(max(lo, 1))
}

// stalled reports whether a CPU stood still from prev to cur: its clock
// did not move although it had runnable tasks and its vCPU ran.
func stalled(prev, cur CPU, minVCPU time.Duration) bool {
	if cur.Clock != prev.Clock {
		return false
	}
	if prev.NrRunning == 0 && cur.NrRunning == 0 {
		return false // idle: NOHZ stopped the tick
	}
	if cur.VCPUTime != 0 && cur.VCPUTime-prev.VCPUTime < minVCPU {
		return false // the host did not run this vCPU
	}
	return true
}

// run tracks consecutive violations of one check.
type run struct {
	n, longest int
	worst      float64
	start      time.Duration // when the current run began
	from, at   time.Duration // when the longest run began and ended
}

func (r *run) record(bad bool, v float64, at time.Duration) {
	if !bad {
		r.n = 0
		return
	}
	r.n++
	if r.n == 1 {
		r.start = at
	}
	if r.n >= r.longest {
		r.longest, r.from, r.at = r.n, r.start, at
	}
	r.worst = max(r.worst, v)
}

// Window is a span of the run, in Sample.At time.
type Window struct{ From, To time.Duration }

// Evaluate returns one message per violated threshold (nil when the run
// was clean or nothing was sampled).
func (th Thresholds) Evaluate(r *Report) []string { return th.EvaluateIn(r, nil) }

// EvaluateIn is Evaluate with the load-shape checks (imbalance, local
// DSQ depth) limited to the samples inside windows (all samples when
// there are none): the spans the workload held its shape, not the
// moments its tasks were spawned or torn down, when a sound scheduler
// may pile them up briefly. A violation must be sustained within one
// window. Stalls are judged over the whole run: a CPU standing still is
// a failure whenever it happens.
func (th Thresholds) EvaluateIn(r *Report, windows []Window) []string {
	if r == nil || len(r.Samples) == 0 {
		return nil
	}
	inWindow := func(at time.Duration) int {
		if len(windows) == 0 {
			return 0
		}
		for i, w := range windows {
			if at >= w.From && at <= w.To {
				return i
			}
		}
		return -1
	}
	lastWindow := -1
	need := max(th.Sustained, 1)
	minVCPU := th.MinVCPUTime
	if minVCPU == 0 {
		minVCPU = defaultMinVCPUTime
	}
	var imb run
	dsq := make([]run, len(r.Samples[0].CPUs))
	stall := make([]run, len(r.Samples[0].CPUs))
	for i, s := range r.Samples {
		w := inWindow(s.At)
		if w != lastWindow {
			// A run of violations does not carry across windows.
			imb.n = 0
			for c := range dsq {
				dsq[c].n = 0
			}
			lastWindow = w
		}
		shaped := w >= 0
		if th.MaxImbalance > 0 && shaped {
			v := s.Imbalance()
			imb.record(v > th.MaxImbalance, v, s.At)
		}
		for c, cpu := range s.CPUs {
			if c >= len(dsq) {
				break
			}
			if th.MaxLocalDSQ > 0 && shaped {
				dsq[c].record(cpu.LocalDSQ > th.MaxLocalDSQ, float64(cpu.LocalDSQ), s.At)
			}
			if th.FailOnStall && i > 0 && c < len(r.Samples[i-1].CPUs) {
				stall[c].record(stalled(r.Samples[i-1].CPUs[c], cpu, minVCPU), float64(cpu.NrRunning), s.At)
			}
		}
	}
	var out []string
	if imb.longest >= need {
		out = append(out, fmt.Sprintf("monitor: load imbalance %.1f (max/min nr_running) over the bound %.1f for %d samples (%v), ending at %v",
			imb.worst, th.MaxImbalance, imb.longest, time.Duration(imb.longest)*r.Interval, imb.at.Round(time.Millisecond)))
	}
	for c := range dsq {
		if dsq[c].longest >= need {
			out = append(out, fmt.Sprintf("monitor: cpu%d's local DSQ held up to %.0f tasks, over the bound %d, for %d samples, ending at %v",
				c, dsq[c].worst, th.MaxLocalDSQ, dsq[c].longest, dsq[c].at.Round(time.Millisecond)))
		}
	}
	for c := range stall {
		if stall[c].longest >= need {
			msg := fmt.Sprintf("monitor: cpu%d stalled: rq clock stood still for %d samples (%v) with up to %.0f runnable tasks, ending at %v",
				c, stall[c].longest, time.Duration(stall[c].longest)*r.Interval, stall[c].worst, stall[c].at.Round(time.Millisecond))
			if cp, ok := r.captureIn(c, stall[c].from, stall[c].at); ok {
				msg += fmt.Sprintf("; at %v its vCPU was in %s", cp.At.Round(time.Millisecond), cp.Where)
			}
			out = append(out, msg)
		}
	}
	return out
}

// Summary condenses a report for a log line.
type Summary struct {
	Samples      int
	Span         time.Duration
	MaxImbalance float64
	MaxLocalDSQ  uint32
	// MeanRunning is the mean nr_running per CPU over all samples.
	MeanRunning float64
	// Switches is context switches per CPU from the first sample to the
	// last.
	Switches []uint64
	// Shutdown and ShutdownAt are the report's: the state that ended
	// sampling, if the guest began to shut down, and when.
	Shutdown   string
	ShutdownAt time.Duration
}

// Summarize condenses r.
func (r *Report) Summarize() Summary {
	var s Summary
	if r == nil || len(r.Samples) == 0 {
		return s
	}
	s.Samples = len(r.Samples)
	s.Shutdown, s.ShutdownAt = r.Shutdown, r.ShutdownAt
	first, last := r.Samples[0], r.Samples[len(r.Samples)-1]
	s.Span = last.At - first.At
	s.MaxImbalance = 1
	var sum, n float64
	for _, smp := range r.Samples {
		s.MaxImbalance = max(s.MaxImbalance, smp.Imbalance())
		for _, c := range smp.CPUs {
			s.MaxLocalDSQ = max(s.MaxLocalDSQ, c.LocalDSQ)
			sum += float64(c.NrRunning)
			n++
		}
	}
	s.MeanRunning = sum / n
	for i := range min(len(first.CPUs), len(last.CPUs)) {
		s.Switches = append(s.Switches, last.CPUs[i].NrSwitches-first.CPUs[i].NrSwitches)
	}
	return s
}

func (s Summary) String() string {
	if s.Samples == 0 {
		return "no samples"
	}
	out := fmt.Sprintf("%d samples over %v: nr_running %.2f/cpu, max imbalance %.1f, max local DSQ %d, context switches per cpu %v",
		s.Samples, s.Span.Round(time.Millisecond), s.MeanRunning, s.MaxImbalance, s.MaxLocalDSQ, s.Switches)
	if s.Shutdown != "" {
		out += fmt.Sprintf("; sampling stopped at %v: guest in %s", s.ShutdownAt.Round(time.Millisecond), s.Shutdown)
	}
	return out
}
