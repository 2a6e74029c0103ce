package ktstr

import (
	"time"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
)

// Opts declares how a test runs. Zero fields take the scheduler's
// default, then ktstr's; a launcher or the caller may override some of
// them per run (see RunOptions and the KTSTR_* variables).
type Opts struct {
	// Topology of the VM; zero means the scheduler's default, else
	// DefaultTopology.
	Topology topology.Topology
	// Scheduler under test; nil runs under the kernel's EEVDF.
	Scheduler *scheds.Scheduler
	// Flags enables scheduler flags (by name) for this run.
	Flags []string
	// Duration of the scenario; zero means DefaultDuration.
	Duration time.Duration
	// Watchdog is the sched_ext watchdog timeout; zero means the
	// scheduler's default, else the kernel's.
	Watchdog time.Duration
	// Timeout bounds the whole VM run on the host; zero derives it from
	// Duration plus boot and scheduler-load allowances.
	Timeout time.Duration
	// MemoryMB of guest RAM; zero means DefaultMemoryMB.
	MemoryMB int
	// Kernel is the kernel to boot (any kernel.ID form); KTSTR_KERNEL and
	// RunOptions.Kernel override it.
	Kernel string
	// Includes are host files copied into the guest under /include/.
	Includes []string
	// HostOnly tests run on the host without a VM (not exportable).
	HostOnly bool
	// Constraints say which VM shapes the test needs: the gauntlet runs
	// it only on topology presets that meet them, and a run whose settled
	// topology does not meet them and the scheduler's is skipped before
	// boot, naming the mismatch.
	Constraints topology.Constraints
	// Monitor bounds what the host-side monitor may see in the guest's
	// runqueues (monitor.Thresholds); nil means the scheduler's, else
	// monitor.DefaultThresholds. A test that loads CPUs unevenly on
	// purpose raises MaxImbalance.
	Monitor *monitor.Thresholds
	// Probes count and record calls of kernel functions and of the
	// scheduler's BPF callbacks in the guest, with their arguments
	// (Result.Probes); see docs/introspection.md.
	Probes []probe.Spec
	// NoAutoRepro turns off the second run with probes on the failure's
	// path that follows a scheduler death or a stall (Result.Repro).
	NoAutoRepro bool

	// What a scheduler developer configures as production does (see
	// docs/schedulers.md, "Configured as in production").

	// SchedArgs are appended to the scheduler's command line, after its
	// Args and flags.
	SchedArgs []string
	// SchedConfig, if set, replaces the scheduler's config file for this
	// test; its Args and GuestName default to the scheduler's, so
	// Content alone will do.
	SchedConfig *scheds.Config
	// CgroupParent, if set, replaces Scheduler.CgroupParent: the
	// scenario's cgroups are created under this cgroup2 directory, and
	// the scheduler gets it through its CgroupParentArgs.
	CgroupParent string
	// Sysctls are written in the guest before the scheduler starts, in
	// order, each read back; a failure names the sysctl.
	Sysctls []Sysctl
	// KernelArgs are appended to the guest kernel's command line
	// (visible in /proc/cmdline).
	KernelArgs []string
	// MapWrites are written to the scheduler's BPF maps each time it
	// attaches, and read back (for writes at a scenario step see
	// scenario.WriteBPFMap).
	MapWrites []bpfmap.Write
	// ExpectFail, if set, is a regular expression: the test must fail,
	// and one of its failure reasons must match. It then passes; a
	// failure for other reasons only, or a pass, fails it.
	ExpectFail string
}

// Sysctl is one kernel parameter set in the guest before the scheduler
// starts: Key is its name (kernel.sched_rt_runtime_us) and Value what to
// write.
type Sysctl = guest.Sysctl

// Defaults suited to a debug kernel under emulation.
const (
	DefaultDuration = 4 * time.Second
	DefaultMemoryMB = vmm.DefaultMemoryMB
)

// DefaultTopology is used when neither the test nor its scheduler names one.
var DefaultTopology = topology.Topology{NUMANodes: 1, LLCs: 1, CoresPerLLC: 2, ThreadsPerCore: 1}

// Test is a named, registered test.
type Test struct {
	Name string
	Opts
	Body func(*scenario.Ctx) error
}

// EffectiveTopology is the topology the test boots with when nothing
// overrides it: its own, else its scheduler's default, else
// DefaultTopology.
func (o *Opts) EffectiveTopology() topology.Topology {
	switch {
	case o.Topology != (topology.Topology{}):
		return o.Topology
	case o.Scheduler != nil && o.Scheduler.Topology != (topology.Topology{}):
		return o.Scheduler.Topology
	}
	return DefaultTopology
}

// EffectiveWatchdog is the sched_ext watchdog timeout: the test's, else
// its scheduler's default (zero keeps the kernel's).
func (o *Opts) EffectiveWatchdog() time.Duration {
	if o.Watchdog == 0 && o.Scheduler != nil {
		return o.Scheduler.Watchdog
	}
	return o.Watchdog
}

// EffectiveDuration is the scenario duration: the test's, else
// DefaultDuration.
func (o *Opts) EffectiveDuration() time.Duration {
	if o.Duration > 0 {
		return o.Duration
	}
	return DefaultDuration
}

// monitorThresholds are the bounds a run is judged by: the test's, else
// its scheduler's, else monitor.DefaultThresholds.
func monitorThresholds(o *Opts) *monitor.Thresholds {
	switch {
	case o.Monitor != nil:
		return o.Monitor
	case o.Scheduler != nil && o.Scheduler.Monitor != nil:
		return o.Scheduler.Monitor
	}
	return &monitor.DefaultThresholds
}
