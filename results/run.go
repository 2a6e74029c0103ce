package results

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/probe"
	tline "github.com/ktstr-go/ktstr/timeline"
	"github.com/ktstr-go/ktstr/topology"
	"github.com/ktstr-go/ktstr/verdict"
)

// Run is everything one finished run leaves behind, as the runner saw it.
type Run struct {
	// ID names the run among others (a directory name under a runs
	// root); empty means NewID(Test, Started).
	ID   string
	Test string
	// Topology is the VM shape the run booted with.
	Topology topology.Topology
	// Flags are the scheduler flags the run enabled.
	Flags []string
	// Kernel identifies the kernel booted.
	Kernel Kernel
	// Backend is the VMM that ran it ("qemu-tcg", "kvm", ...).
	Backend string
	// Scheduler is the sched_ext scheduler's ops name; empty for EEVDF.
	Scheduler string
	// SchedulerArgv is its command line in the guest.
	SchedulerArgv []string
	// Duration is the scenario duration the guest was given.
	Duration time.Duration

	Verdict verdict.Verdict
	Reasons []string
	// Exit is how the VM ended ("clean", "panic", "timeout", ...) and
	// ExitDetail what the VMM said about it.
	Exit       string
	ExitDetail string

	// Started is when the run began (wall clock); VMTime how long the VM
	// ran; Total the whole run, kernel resolution and packing included.
	Started time.Time
	VMTime  time.Duration
	Total   time.Duration

	// Console is the whole guest console.
	Console []byte
	// ConsoleDropped counts console bytes not kept (a capture cap).
	ConsoleDropped int64
	// Records are every record the guest sent, in order.
	Records []Record
	// Monitor is what the host monitor sampled; nil when it was off.
	// Its Snapshots (the scheduler's state at chosen moments) go to the
	// trace and the report.
	Monitor *monitor.Report

	// Timeline is the run's stimulus against response on the VM's
	// clock (nil: none): its probe hits, failed checks and failure go to
	// the trace.
	Timeline *tline.Timeline
	// Probes are the guest's probe counts (nil: the run had no probes).
	Probes *probe.Results
	// Explain says why a failed run failed beyond its reasons (the
	// timeline around the failure, the auto-repro's findings); the
	// report shows it first.
	Explain string
	// Extra are more files for the directory, by name (the runner's
	// snapshots, probes, timeline and auto-repro as JSON and text). A
	// name must be a plain file name other than the directory's own.
	Extra map[string][]byte
}

// Kernel identifies the kernel a run booted.
type Kernel struct {
	// Key is the kernel cache key; empty outside the cache.
	Key     string `json:"key,omitempty"`
	Version string `json:"version,omitempty"`
	Image   string `json:"image,omitempty"`
}

// Record is one guest record with the time the host received it.
type Record struct {
	guest.Record
	// Host is when the host received it, since the VM started (the
	// monitor's clock); zero when not known. It places guest times on
	// the monitor's timeline.
	Host time.Duration `json:"host,omitempty"`
}

// Dimensions are what a run was asked to be: two runs are comparable
// when their dimensions match.
type Dimensions struct {
	Test      string   `json:"test"`
	Topology  string   `json:"topology"`
	Scheduler string   `json:"scheduler"` // "eevdf" without sched_ext
	Flags     []string `json:"flags,omitempty"`
	Kernel    string   `json:"kernel"` // cache key, else version, else the guest's uname -r, else image
	Backend   string   `json:"backend"`
}

// Dimensions returns what r was asked to be.
func (r *Run) Dimensions() Dimensions {
	sched := r.Scheduler
	if sched == "" {
		sched = "eevdf"
	}
	return Dimensions{
		Test: r.Test, Topology: r.Topology.String(), Scheduler: sched, Flags: r.Flags,
		Kernel: firstNonEmpty(r.Kernel.Key, r.Kernel.Version, r.guestRelease(), r.Kernel.Image), Backend: r.Backend,
	}
}

// guestRelease is the kernel release the guest reported (uname -r): what
// names a kernel booted from a path, whose path may change from run to
// run (Bazel's sandboxes).
func (r *Run) guestRelease() string {
	for _, rec := range r.Records {
		var s guest.Start
		if rec.Kind == guest.KindStart && rec.Decode(&s) == nil {
			return s.Kernel
		}
	}
	return ""
}

// String is "test topology scheduler[+flags] kernel backend".
func (d Dimensions) String() string {
	sched := d.Scheduler
	if len(d.Flags) > 0 {
		sched += "+" + strings.Join(d.Flags, ",")
	}
	return strings.Join([]string{d.Test, d.Topology, sched, d.Kernel, d.Backend}, " ")
}

// Differences lists the dimensions in which d and o differ, as
// "scheduler: ktstr_fifo vs ktstr_unfair".
func (d Dimensions) Differences(o Dimensions) []string {
	var out []string
	add := func(name, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("%s: %s vs %s", name, a, b))
		}
	}
	add("test", d.Test, o.Test)
	add("topology", d.Topology, o.Topology)
	add("scheduler", d.Scheduler, o.Scheduler)
	add("flags", strings.Join(d.Flags, ","), strings.Join(o.Flags, ","))
	add("kernel", d.Kernel, o.Kernel)
	add("backend", d.Backend, o.Backend)
	return out
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// NewID names a run: UTC start time, then the test name made safe for a
// directory ("20261203T093012Z-demo"). Names sort by time.
func NewID(test string, started time.Time) string {
	name := strings.Trim(unsafeIDChars.ReplaceAllString(test, "_"), "_.")
	if name == "" {
		name = "run"
	}
	return started.UTC().Format("20060102T150405Z") + "-" + name
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
