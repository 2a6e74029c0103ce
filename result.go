package ktstr

import (
	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	"github.com/ktstr-go/ktstr/timeline"
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
	// Its Snapshots are the scheduler state read at chosen moments.
	Monitor *monitor.Report
	// Probes are the counts and hits of Opts.Probes (nil without).
	Probes *probe.Results
	// Timeline merges the scenario's steps, the scheduler's events, the
	// monitor's samples and snapshots, probe hits and the failure.
	Timeline *timeline.Timeline
	// Repro is the automatic second run of a scheduler death or stall,
	// with probes on its path (nil when there was none).
	Repro *Repro
	// Watchdog is the sched_ext watchdog timeout that was in force for
	// the scheduler under test, and why (e.g. "2s (override; the
	// scheduler asked for 5s)"); empty without a sched_ext scheduler.
	Watchdog string
	// Dir is the run's results directory; "" when none was written.
	Dir string
}

// watchdogRecord finds the watchdog in force in the guest's last
// scheduler attach.
func watchdogRecord(records []guest.Record) string {
	w := ""
	for _, r := range records {
		var ev guest.SchedEvent
		if r.Kind == guest.KindSched && r.Decode(&ev) == nil && ev.Event == "attached" && ev.Watchdog != nil {
			w = ev.Watchdog.String()
		}
	}
	return w
}

// Passed reports whether the run passed.
func (r *Result) Passed() bool { return r.Verdict == verdict.Pass }
