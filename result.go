package ktstr

import (
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// Result is the host's verdict on one VM run.
type Result struct {
	Test    string
	Verdict verdict.Verdict
	// Reasons explain every failure (all of them, not just the first).
	Reasons []string
	Exit    vmm.Exit
	Records []guest.Record
	Backend string
	Kernel  string
	// Topology is the shape the VM had, after every override.
	Topology topology.Topology
	// ExitCode is the exit status of a shell --exec command.
	ExitCode int
	// Monitor is what the host-side monitor read from the guest's
	// runqueues; nil when the kernel has no vmlinux to read them by.
	Monitor *monitor.Report
	// Dir is the run's results directory; "" when none was written.
	Dir string
}

// Passed reports whether the run passed.
func (r *Result) Passed() bool { return r.Verdict == verdict.Pass }
