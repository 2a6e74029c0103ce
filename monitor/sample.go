package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// CPU is one CPU's runqueue at one instant.
type CPU struct {
	// NrRunning is rq->nr_running: runnable tasks of every class.
	NrRunning uint32 `json:"nr_running"`
	// Clock is rq->clock in ns; it advances while the CPU ticks.
	Clock uint64 `json:"clock"`
	// NrSwitches is rq->nr_switches, context switches so far.
	NrSwitches uint64 `json:"nr_switches"`
	// ScxNrRunning, ScxFlags and LocalDSQ are rq->scx.nr_running,
	// rq->scx.flags and the depth of the CPU's local dispatch queue
	// (zero without sched_ext).
	ScxNrRunning uint32 `json:"scx_nr_running"`
	ScxFlags     uint32 `json:"scx_flags"`
	LocalDSQ     uint32 `json:"local_dsq"`
	// VCPUTime is the host CPU time the vCPU has had so far (zero when
	// the backend cannot tell): a CPU whose clock stopped because the host
	// did not run it is not stalled.
	VCPUTime time.Duration `json:"vcpu_time"`
}

// Sample is every CPU at one instant.
type Sample struct {
	// At is the time since the monitor started.
	At   time.Duration `json:"at"`
	CPUs []CPU         `json:"cpus"`
}

// Sample reads every CPU's runqueue now. vcpu, when not nil, gives each
// vCPU's host CPU time.
func (g *Guest) Sample(vcpu []time.Duration) (Sample, error) {
	s := Sample{CPUs: make([]CPU, len(g.rq))}
	for i := range g.rq {
		r, err := g.readCPU(i)
		if err != nil {
			return Sample{}, err
		}
		// Re-checked on every read: a runqueue that no longer says
		// which CPU it is means the addresses are stale.
		if r.cpu != uint64(i) {
			return Sample{}, fmt.Errorf("%w: cpu%d's runqueue says cpu %d", ErrNotReady, i, r.cpu)
		}
		s.CPUs[i] = CPU{
			NrRunning: uint32(r.nrRunning), Clock: r.clock, NrSwitches: r.nrSwitches,
			ScxNrRunning: uint32(r.scxNrRunning), ScxFlags: uint32(r.scxFlags), LocalDSQ: uint32(r.localDSQ),
		}
		if i < len(vcpu) {
			s.CPUs[i].VCPUTime = vcpu[i]
		}
	}
	return s, nil
}

// Config says how to sample a guest.
type Config struct {
	// CPUs the guest was booted with.
	CPUs int
	// Interval between samples; zero means DefaultInterval.
	Interval time.Duration
	// VCPUTimes, when set, reports each vCPU's host CPU time so far.
	VCPUTimes func() ([]time.Duration, error)
	// OnStall, when set, is called from the sampling loop when a CPU
	// has stood still for CaptureAfter intervals and still does, once
	// per stall: the moment to ask the VMM where that vCPU is. What it
	// returns is kept in Report.Captures, and Evaluate quotes it in the
	// stall's message.
	OnStall func(cpu int) string
	// PageWalk translates the guest's vmalloc'd memory for snapshots
	// (the VMM's page walk); nil leaves such memory unread.
	PageWalk PageWalker
	// Requests asks for snapshots while Run samples (a test's
	// scenario.Snapshot, the harness's own moments).
	Requests <-chan SnapshotRequest
	// SnapshotEvery is how often the snapshot kept for TriggerDisabled
	// is refreshed while sched_ext is enabled: zero means
	// DefaultSnapshotEvery, negative turns it off.
	SnapshotEvery time.Duration
	// OnSnapshot, when set, receives every snapshot kept, as it is taken.
	OnSnapshot func(Snapshot)
}

// DefaultInterval is 100 ms: five samples make the default sustained
// window of half a second.
const DefaultInterval = 100 * time.Millisecond

// Report is what one monitored run saw.
type Report struct {
	Interval time.Duration `json:"interval"`
	Samples  []Sample      `json:"samples"`
	// Err says why there are no samples (the guest never became ready,
	// or its memory could not be read); empty when sampling worked.
	Err string `json:"error,omitempty"`
	// Shutdown is the state the guest kernel had entered when sampling
	// stopped for it (SYSTEM_POWER_OFF, SYSTEM_HALT or SYSTEM_RESTART):
	// CPUs being stopped for shutdown are not stalls, so nothing after it
	// is sampled. Empty when the run ended otherwise.
	Shutdown string `json:"shutdown,omitempty"`
	// ShutdownAt is when the monitor saw the shutdown, since it started.
	ShutdownAt time.Duration `json:"shutdown_at,omitempty"`
	// Captures are Config.OnStall's answers, in the order taken.
	Captures []Capture `json:"captures,omitempty"`
	// Snapshots are the guest's scheduling state at the moments asked
	// for (Config.Requests) and those Run chose: a stall, a task halfway
	// to the sched_ext watchdog, the last state before sched_ext left the
	// enabled state.
	Snapshots []Snapshot `json:"snapshots,omitempty"`
	// Start is when sampling began: every At is since then.
	Start time.Time `json:"start"`
}

// Run samples the guest in mem every interval until ctx ends or the guest
// kernel begins to shut down (see Report.Shutdown). Until the guest
// kernel is ready (see Attach) it retries, and Err keeps the last reason
// it was not; a read error after that ends sampling (the VM is going
// away) but keeps what was seen.
func Run(ctx context.Context, k *Kernel, mem io.ReaderAt, cfg Config) *Report {
	iv := cfg.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	start := time.Now()
	r := &Report{Interval: iv, Start: start}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	var g *Guest
	watch := stallWatch{onStall: cfg.OnStall}
	snaps := newSnapWatch(cfg)
	for {
		select {
		case <-ctx.Done():
			if g == nil && r.Err == "" {
				r.Err = "the VM ended before the first sample"
			}
			return r
		case req := <-cfg.Requests:
			snaps.request(g, r, req, time.Since(start))
			continue
		case <-tick.C:
		}
		if g == nil {
			// Until the guest is ready every failure is worth a retry: a
			// backend may not even have its memory up in the first
			// ticks (QEMU creates its RAM files as it starts).
			var err error
			if g, err = k.Attach(mem, cfg.CPUs); err != nil {
				r.Err = err.Error()
				continue
			}
			r.Err = ""
		}
		// Checked before the runqueues: the kernel sets system_state
		// before it stops any CPU.
		state, down, err := g.ShuttingDown()
		if err != nil {
			return r
		}
		if down {
			r.Shutdown, r.ShutdownAt = state, time.Since(start)
			return r
		}
		var vcpu []time.Duration
		if cfg.VCPUTimes != nil {
			vcpu, _ = cfg.VCPUTimes() // best effort: without it no CPU is exempt
		}
		s, err := g.Sample(vcpu)
		if errors.Is(err, ErrNotReady) {
			g, r.Err = nil, err.Error() // attach again
			continue
		}
		if err != nil {
			return r
		}
		s.At = time.Since(start)
		if n := len(r.Samples); n > 0 {
			for _, cpu := range watch.observe(r.Samples[n-1], s, r) {
				snaps.take(g, r, fmt.Sprintf("cpu%d stood still for %d samples", cpu, CaptureAfter), TriggerStall, s.At)
			}
		}
		r.Samples = append(r.Samples, s)
		snaps.observe(g, r, s.At)
	}
}
