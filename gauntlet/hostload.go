package gauntlet

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/monitor"
	"github.com/ktstr-go/ktstr/verdict"
	"github.com/ktstr-go/ktstr/vmm"
)

// OverloadShare is the host share (monitor.HostShare) below which a run
// is too starved by its host to fail: the VM waited more than half the
// time it had work for a host CPU, so the guest's timing checks judged
// the host. Such a failure becomes inconclusive; a pass stays a pass.
const OverloadShare = 0.5

// vcpuParallelism is how many vCPUs the backend runs at once:
// single-threaded TCG runs them in turn on one host thread; KVM (in-repo
// or QEMU's) has a host thread per vCPU.
func vcpuParallelism(res *ktstr.Result) int {
	if res.Backend == "qemu-tcg" {
		return 1
	}
	return max(res.Topology.CPUs(), 1)
}

// hostShare measures the run's host share from the monitor's samples.
func hostShare(res *ktstr.Result) (monitor.HostShare, bool) {
	if res == nil || res.Monitor == nil {
		return monitor.HostShare{}, false
	}
	return res.Monitor.HostShare(vcpuParallelism(res))
}

// judgeLoad turns a failure on an overloaded host into Inconclusive, with
// the measurement as the reason; overloaded says it did. Panics and VMM
// crashes stay failures: no amount of waiting makes a kernel panic.
func judgeLoad(v verdict.Verdict, reasons []string, res *ktstr.Result) (_ verdict.Verdict, _ []string, overloaded bool) {
	h, ok := hostShare(res)
	if !ok || h.Share >= OverloadShare || v != verdict.Fail {
		return v, reasons, false
	}
	switch res.Exit.Reason {
	case vmm.ExitPanic, vmm.ExitCrash:
		return v, reasons, false
	}
	why := fmt.Sprintf("inconclusive, host overloaded: while the guest had work the VM got %.0f%% of the host CPU it could use (%d of %d intervals starved, longest %v; measured from the vCPU times); rerun with fewer parallel VMs (%s)",
		100*h.Share, h.Starved, int(h.Busy/max(res.Monitor.Interval, 1)), h.LongestStarved.Round(time.Millisecond), EnvParallelism)
	return verdict.Inconclusive, append([]string{why}, reasons...), true
}
