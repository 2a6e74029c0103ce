package ktstr

import (
	"fmt"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/guest"
	"github.com/ktstr-go/ktstr/kernel"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// judge turns what a VM run produced into the host's Result: how the VM
// ended, the guest's own verdict, where the vCPUs were if it was killed,
// and, for a test, the monitor's bounds.
func judge(r *vmRun, c collected) *Result {
	res := &Result{
		Test:     r.plan.spec.name,
		Backend:  r.machine.Backend(),
		Kernel:   r.plan.kernel.Image,
		Topology: r.plan.set.topology,
		Exit:     c.exit,
		Records:  c.records,
		Monitor:  c.monitor,
	}
	judgeExit(res, c.final, c.chanErr)
	if w := WhereVCPUs(res.Exit.VCPUs, r.plan.kernel.Vmlinux); w != "" {
		res.Reasons = append(res.Reasons, "where the vCPUs were when the VM was killed: "+w)
	}
	if r.plan.spec.judged() {
		judgeMonitor(res, r.plan.set.thresholds)
		res.Verdict, res.Reasons = expectFailure(r.plan.set.expectFail, res.Verdict, res.Reasons)
	}
	res.Watchdog = watchdogRecord(res.Records)
	return res
}

// judgeExit merges the guest's own verdict with how the VM ended. The
// host never takes a missing final record as a pass.
func judgeExit(res *Result, final *guest.Final, chanErr error) {
	if why := exitFailure(res.Exit, res.Monitor); len(why) > 0 {
		res.Verdict = verdict.Fail
		res.Reasons = append(res.Reasons, why...)
	} else if final == nil {
		res.Verdict = verdict.Fail
		res.Reasons = append(res.Reasons, "guest powered off without a final record (the test process died or never started)")
	} else {
		res.Verdict = final.Verdict
	}
	if final != nil {
		res.ExitCode = final.ExitCode
		res.Reasons = append(res.Reasons, final.Reasons...)
	}
	if chanErr != nil && res.Verdict == verdict.Pass {
		res.Verdict = verdict.Inconclusive
		res.Reasons = append(res.Reasons, fmt.Sprintf("host channel: %v", chanErr))
	}
}

// exitFailure says why a VM's end fails the run whatever the guest
// reported; nothing for a clean power-off.
func exitFailure(ex vmm.Exit, m *monitor.Report) []string {
	switch ex.Reason {
	case vmm.ExitPanic:
		return []string{"guest kernel panicked: " + ex.Detail}
	case vmm.ExitTimeout:
		why := []string{"timeout: " + ex.Detail}
		if m != nil && m.Shutdown != "" {
			// A halt stops every CPU but leaves the VM up: without this
			// the timeout would be a mystery.
			why = append(why, fmt.Sprintf("the guest kernel entered %s %v after the VM started, stopped its CPUs and left the VM up",
				m.Shutdown, m.ShutdownAt.Round(time.Millisecond)))
		}
		return why
	case vmm.ExitCrash:
		return []string{"VMM crashed: " + ex.Detail}
	case vmm.ExitReboot:
		return []string{"guest rebooted instead of powering off: " + ex.Detail}
	case vmm.ExitKilled:
		return []string{"VM killed before the test finished (interrupted)"}
	}
	return nil
}

// judgeMonitor adds what the monitor saw to a test's verdict: every
// violated threshold is a reason, and fails a run that otherwise passed.
// A run the guest skipped stays skipped.
func judgeMonitor(res *Result, th *monitor.Thresholds) {
	if res.Monitor == nil || res.Verdict == verdict.Skip {
		return
	}
	v := th.Evaluate(res.Monitor)
	if len(v) == 0 {
		return
	}
	res.Reasons = append(res.Reasons, v...)
	res.Verdict = res.Verdict.Merge(verdict.Fail)
}

// WhereVCPUs names the kernel functions a killed VM's vCPUs sat in
// (vmm.Exit.VCPUs), with the return addresses found on each one's stack,
// by the kernel's vmlinux: "vCPU 0 in pv_native_safe_halt+0x17 (on its
// stack: default_idle+0x9 ...)". It returns "" when the backend could not
// tell or the vmlinux cannot name them.
func WhereVCPUs(vcpus []vmm.VCPUState, vmlinux string) string {
	if len(vcpus) == 0 || vmlinux == "" {
		return ""
	}
	sym, err := kernel.NewSymbolizer(vmlinux)
	if err != nil {
		return ""
	}
	parts := make([]string, len(vcpus))
	for i, v := range vcpus {
		parts[i] = fmt.Sprintf("vCPU %d in %s", i, sym.Where(v.RIP, v.Stack))
	}
	return strings.Join(parts, "; ")
}
