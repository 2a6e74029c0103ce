// Package ktstr is the Go test API of ktstr-go: declare a scheduler test
// (topology, scheduler, scenario body) and run it in a VM from go test.
//
// On the host, Run boots a VM whose init is the same test binary told to run
// only that test; inside the guest the same call runs the body. TestMain
// must call Main so the binary can act as the guest's PID 1, as a worker
// process, and as a multi-call tool.
package ktstr

import (
	"time"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/scheds"
	"github.com/ktstr-go/ktstr/topology"
)

// Opts declares how a test runs.
type Opts struct {
	// Topology of the VM; zero means the scheduler's default, else 1n1l2c1t.
	Topology topology.Topology
	// Scheduler under test; nil runs under the kernel's EEVDF.
	Scheduler *scheds.Scheduler
	// Flags enables scheduler flags (by name) for this run.
	Flags []string
	// Duration of the scenario; zero means DefaultDuration.
	Duration time.Duration
	// Watchdog is the sched_ext watchdog timeout; zero keeps the kernel's.
	Watchdog time.Duration
	// Timeout bounds the whole VM run on the host; zero derives it from
	// Duration plus boot and scheduler-load allowances.
	Timeout time.Duration
	// MemoryMB of guest RAM; zero means DefaultMemoryMB.
	MemoryMB int
	// Kernel overrides KTSTR_KERNEL for this test (any kernel.ID form).
	Kernel string
	// Includes are host files copied into the guest under /include/.
	Includes []string
	// HostOnly tests run on the host without a VM (not exportable).
	HostOnly bool
	// Monitor bounds what the host-side monitor may see in the guest's
	// runqueues (monitor.Thresholds); nil means monitor.DefaultThresholds.
	// A test that loads CPUs unevenly on purpose raises MaxImbalance.
	Monitor *monitor.Thresholds
	// Probes count and record calls of kernel functions and of the
	// scheduler's BPF callbacks in the guest, with their arguments
	// (Result.Probes); see docs/introspection.md.
	Probes []probe.Spec
	// NoAutoRepro turns off the second run with probes on the failure's
	// path that follows a scheduler death or a stall (Result.Repro).
	NoAutoRepro bool
}

// Defaults suited to a debug kernel under emulation.
const (
	DefaultDuration = 4 * time.Second
	DefaultMemoryMB = 1024
)

// Test is a named, registered test.
type Test struct {
	Name string
	Opts
	Body func(*scenario.Ctx) error
}

// EffectiveTopology is the topology the test boots with: its own, else its
// scheduler's default, else DefaultTopology.
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
