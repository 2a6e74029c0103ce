package ktstr

import (
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/bpfmap"
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/vmm"
)

// RunOptions are the caller's choices for one run, which do not change
// what a test is. The override fields (Kernel, Topology, Duration, Flags)
// beat the environment and the test's Opts; see overrides.go.
type RunOptions struct {
	// Kernel overrides KTSTR_KERNEL and the test's kernel.
	Kernel string
	// Topology, if set, overrides KTSTR_TOPOLOGY and the test's shape.
	Topology topology.Topology
	// Duration, if set, overrides KTSTR_DURATION and the test's duration.
	Duration time.Duration
	// Flags, if non-nil, overrides KTSTR_FLAGS and the test's flags (an
	// empty non-nil slice runs with none).
	Flags []string
	// Scheduler, if set, is a scheduler file (a binary or a BPF object)
	// that replaces the test's scheduler; it beats KTSTR_SCHEDULER (see
	// scheds.ResolveOverride).
	Scheduler string
	// SchedArgs are appended to the scheduler's command line, after
	// KTSTR_SCHED_ARGS and the test's SchedArgs.
	SchedArgs []string
	// MapWrites are BPF map writes made at each attach, after the test's.
	MapWrites []bpfmap.Write
	// Watchdog, if set, overrides the test's and the scheduler's sched_ext
	// watchdog timeout (any sched_ext scheduler takes it).
	Watchdog time.Duration
	// Backend is "auto" (default: in-repo KVM VMM when /dev/kvm is
	// usable, else QEMU), "kvm", "qemu" or "qemu-tcg".
	Backend string
	// Console receives the guest console as it arrives (nil: kept only
	// for error reports).
	Console io.Writer
	// OnRecord is called for every record the guest sends, as it arrives.
	OnRecord func(guest.Record)
	// OnMachine is called once the VM is running, e.g. to read guest
	// memory with Machine.Memory while the test runs.
	OnMachine func(vmm.Machine)
	// Deadline, if set, is when the run must be over: the VM's timeout
	// is cut to end DeadlineGrace before it. go test sets it from
	// t.Deadline, so a run about to overrun -timeout fails with where
	// the guest was instead of the test binary panicking.
	Deadline time.Time
	// Out is the directory a test run's results go to; "" picks one
	// (Bazel's test outputs, go test's -outputdir, else under RunsRoot),
	// NoResults writes none.
	Out string
	// RunName names the directory picked when Out is "" (after the start
	// time, e.g. 20261203T093012Z-demo_quad_base_6.12.118); "" means the
	// test's name. The gauntlet passes the variant.
	RunName string
	// NoMonitor turns the host monitor off, with its snapshots (to
	// measure what it costs).
	NoMonitor bool
	Log       *zap.Logger
}

// DeadlineGrace is left between a VM's timeout and RunOptions.Deadline:
// time for the host to stop the VM, read where its vCPUs were and report.
const DeadlineGrace = 15 * time.Second

// fitTimeout cuts a VM timeout (0: none) to end DeadlineGrace before
// ro.Deadline, if one is set.
func (ro *RunOptions) fitTimeout(d time.Duration) time.Duration {
	if ro.Deadline.IsZero() {
		return d
	}
	left := max(time.Until(ro.Deadline)-DeadlineGrace, time.Millisecond)
	if d == 0 || d > left {
		return left
	}
	return d
}
