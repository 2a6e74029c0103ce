package ktstr

import (
	"context"

	"go.uber.org/zap"

	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/vmm"
)

// startMonitor samples the guest's runqueues from the host while the VM
// runs. The returned func stops sampling and returns what was seen: nil
// when the kernel has no vmlinux to read the guest by, a report with Err
// set when that vmlinux cannot be used.
func startMonitor(ctx context.Context, m vmm.Machine, vmlinux string, cpus int, log *zap.Logger) func() *monitor.Report {
	if vmlinux == "" {
		log.Info("host monitor off: the kernel has no vmlinux with it")
		return func() *monitor.Report { return nil }
	}
	k, err := monitor.Load(vmlinux)
	if err != nil {
		log.Warn("host monitor off", zap.Error(err))
		return func() *monitor.Report { return &monitor.Report{Err: err.Error()} }
	}
	cfg := monitor.Config{CPUs: cpus}
	if t, ok := m.(vmm.VCPUTimer); ok {
		cfg.VCPUTimes = t.VCPUTimes
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan *monitor.Report, 1)
	go func() { done <- monitor.Run(ctx, k, m.Memory(), cfg) }()
	return func() *monitor.Report {
		cancel()
		return <-done
	}
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

// judgeMonitor adds what the monitor saw to a test's verdict: every
// violated threshold is a reason, and fails a run that otherwise passed.
// A run the guest skipped stays skipped.
func judgeMonitor(res *Result, th *monitor.Thresholds) {
	if res.Monitor == nil || res.Verdict == VerdictSkip {
		return
	}
	v := th.Evaluate(res.Monitor)
	if len(v) == 0 {
		return
	}
	res.Reasons = append(res.Reasons, v...)
	if res.Verdict == VerdictPass || res.Verdict == VerdictInconclusive {
		res.Verdict = VerdictFail
	}
}
