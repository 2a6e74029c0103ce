package vmm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ExitReason is why a VM stopped.
type ExitReason int

const (
	ExitClean   ExitReason = iota // guest powered off
	ExitPanic                     // guest kernel panicked (pvpanic or console)
	ExitTimeout                   // host watchdog killed it
	ExitCrash                     // the VMM failed or died unexpectedly
	ExitKilled                    // stopped by Kill or context cancellation
	ExitReboot                    // guest rebooted
)

func (r ExitReason) String() string {
	switch r {
	case ExitClean:
		return "clean"
	case ExitPanic:
		return "panic"
	case ExitTimeout:
		return "timeout"
	case ExitCrash:
		return "crash"
	case ExitKilled:
		return "killed"
	case ExitReboot:
		return "reboot"
	}
	return fmt.Sprintf("ExitReason(%d)", int(r))
}

// Exit describes how a VM ended.
type Exit struct {
	Reason ExitReason
	// Detail is a human-readable cause (e.g. qemu's exit status).
	Detail string
	// ConsoleTail is the last lines of console output, for error reports.
	ConsoleTail string
	// Duration is wall time from Start to exit.
	Duration time.Duration
	// VCPUs is where each vCPU was, in CPU order, when the watchdog or
	// Kill ended the VM; empty for any other exit, or when the VMM could
	// not tell. The harness names the kernel functions with the vmlinux.
	VCPUs []VCPUState
}

// VCPUState is one vCPU's position at a moment: when its VM was killed
// (Exit.VCPUs), or when a VCPUInspector was asked.
type VCPUState struct {
	RIP, RSP uint64
	// Stack holds the words from RSP upwards when the VMM could read
	// them (through the vCPU's page tables): the code addresses among
	// them are a rough backtrace.
	Stack []uint64
}

// ErrVMStopped is returned by reads of guest memory (in-repo VMM) and by
// VCPUStates once the VM has ended.
var ErrVMStopped = errors.New("vmm: the VM has stopped")

// VCPUInspector is implemented by machines that can tell where their
// vCPUs are while the VM runs. The host monitor asks it the moment it
// sees a guest CPU stand still, so a stall report names the code the
// CPU was stuck in.
type VCPUInspector interface {
	// VCPUStates returns where each vCPU is now, in CPU order; the
	// vCPUs run on. After the VM stopped it returns ErrVMStopped.
	VCPUStates() ([]VCPUState, error)
}

// VCPUTimer is implemented by machines that can tell how much host CPU
// time each vCPU has had. The monitor uses it to tell a guest CPU that
// stopped ticking from one the host did not run.
type VCPUTimer interface {
	// VCPUTimes returns each vCPU's host CPU time so far, indexed by
	// vCPU; zero where it is unknown.
	VCPUTimes() ([]time.Duration, error)
}

// StackWords is how much of a vCPU's stack a backend reads into
// VCPUState.Stack.
const StackWords = 64

// VCPUsDetail formats an Exit's VCPUs for its Detail: " (vCPU 0 at rip
// 0x…, …)", or "" without any.
func VCPUsDetail(vs []VCPUState) string {
	if len(vs) == 0 {
		return ""
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("vCPU %d at rip %#x", i, v.RIP)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// Machine is a running VM. Every backend (the in-repo KVM VMM and QEMU)
// implements it, so the runner does not care which one booted the guest.
type Machine interface {
	// Channel is the guest→host data channel (the guest writes it on
	// /dev/ttyS1): framed result records, never mixed with the console.
	// It reaches EOF when the VM stops.
	Channel() io.Reader
	// Memory reads guest-physical memory while the VM runs.
	Memory() io.ReaderAt
	// Wait blocks until the VM stops and says why. It is safe to call
	// more than once.
	Wait() Exit
	// Kill stops the VM at once; Wait then reports ExitKilled.
	Kill()
	// Backend names the implementation ("qemu-tcg", "qemu-kvm", "kvm").
	Backend() string
}

// Backend starts machines.
type Backend interface {
	Name() string
	// Available returns nil when the backend can run on this host, or an
	// error naming what is missing and how to fix it.
	Available() error
	Start(ctx context.Context, cfg Config) (Machine, error)
}
