// Package results turns one finished scheduler-test run into a directory
// that outlives it, and compares such directories.
//
// The runner fills a Run (what was asked, what the guest sent, what the
// host monitor sampled, the verdict) and calls Write, which lays out, all
// at once (a temporary directory renamed into place):
//
//	result.json    test, dimensions, kernel, scheduler, verdict, reasons, timings
//	console.log    the whole guest console
//	records.jsonl  every guest record, with when the host received it
//	monitor.json   the host monitor's samples of every CPU's runqueue
//	workers.json   the per-worker reports of each scenario
//	metrics.json   the sidecar: per-cgroup and overall metrics with polarity
//	trace.json     Chrome/Perfetto trace-event JSON (ui.perfetto.dev, chrome://tracing)
//	report.html    a self-contained page: verdict, per-CPU timeline, histograms, workers
//
// WriteIndex adds an index page over a directory of such runs (a matrix),
// List finds the runs under a root, and Compare sets two runs' metrics side
// by side against per-metric thresholds and marks regressions.
//
// The package knows nothing of VMs: it takes guest records, monitor
// samples and strings, so the root package, the ktstr command and tests
// can all use it.
package results
