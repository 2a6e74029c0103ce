package results

import (
	"slices"
	"time"

	"github.com/ktstr-go/ktstr/verdict"
)

// Result is result.json: what a run was, how it ended and where its
// files are.
type Result struct {
	Schema     int        `json:"schema"`
	ID         string     `json:"id"`
	Test       string     `json:"test"`
	Dimensions Dimensions `json:"dimensions"`
	Kernel     Kernel     `json:"kernel"`
	Backend    string     `json:"backend"`
	Topology   string     `json:"topology"`
	// CPUs is the number of CPUs of the topology.
	CPUs          int             `json:"cpus"`
	Scheduler     string          `json:"scheduler,omitempty"`
	SchedulerArgv []string        `json:"scheduler_argv,omitempty"`
	Flags         []string        `json:"flags,omitempty"`
	Verdict       verdict.Verdict `json:"verdict"`
	Reasons       []string        `json:"reasons,omitempty"`
	Exit          string          `json:"exit"`
	ExitDetail    string          `json:"exit_detail,omitempty"`
	Timings       Timings         `json:"timings"`
	// Files names the files of the directory, result.json aside.
	Files []string `json:"files"`
}

// Timings of a run. Durations are nanoseconds in JSON.
type Timings struct {
	Started time.Time `json:"started"`
	// Total is the whole run; VM the VM's life; Duration the scenario's
	// asked-for length.
	Total    time.Duration `json:"total"`
	VM       time.Duration `json:"vm"`
	Duration time.Duration `json:"duration"`
	// GuestStart is when guest init began, since the VM started (zero
	// when the records carry no receive times); Guest is from then to
	// the guest's last record.
	GuestStart time.Duration `json:"guest_start,omitempty"`
	Guest      time.Duration `json:"guest,omitempty"`
	// MonitorSamples is how many times the monitor sampled the guest.
	MonitorSamples int `json:"monitor_samples"`
}

// Files of a results directory.
const (
	FileResult  = "result.json"
	FileConsole = "console.log"
	FileRecords = "records.jsonl"
	FileMonitor = "monitor.json"
	FileWorkers = "workers.json"
	FileMetrics = "metrics.json"
	FileTrace   = "trace.json"
	FileReport  = "report.html"
	// FileIndex and FileIndexHTML list the runs of a multi-run directory.
	FileIndex     = "index.json"
	FileIndexHTML = "index.html"
)

// runFiles are the files Write lays out besides result.json, in the
// order the report links them.
var runFiles = []string{FileReport, FileTrace, FileMetrics, FileConsole, FileRecords, FileMonitor, FileWorkers}

func newResult(r *Run, v *view, extra []string) *Result {
	res := &Result{
		Schema: metricsSchema, ID: r.ID, Test: r.Test, Dimensions: r.Dimensions(), Kernel: r.Kernel,
		Backend: r.Backend, Topology: r.Topology.String(), CPUs: r.Topology.CPUs(),
		Scheduler: r.Scheduler, SchedulerArgv: r.SchedulerArgv, Flags: r.Flags,
		Verdict: r.Verdict, Reasons: r.Reasons, Exit: r.Exit, ExitDetail: r.ExitDetail,
		Timings: Timings{Started: r.Started, Total: r.Total, VM: r.VMTime, Duration: r.Duration},
		Files:   append(slices.Clip(runFiles), extra...),
	}
	if v.aligned {
		res.Timings.GuestStart = v.offset
	}
	if n := len(r.Records); n > 0 {
		res.Timings.Guest = r.Records[n-1].Elapsed
	}
	if r.Monitor != nil {
		res.Timings.MonitorSamples = len(r.Monitor.Samples)
	}
	return res
}
