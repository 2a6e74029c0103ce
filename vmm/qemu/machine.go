package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/vmm"
	"go.uber.org/zap"
)

// machine is one running qemu process and what the host keeps of it.
type machine struct {
	name    string
	cmd     *exec.Cmd
	tail    *vmm.ConsoleTail
	channel io.Reader
	mem     *fileMemory
	started time.Time
	cleanup func()
	log     *zap.Logger
	cpus    int
	qmp     string // QMP socket path

	mu         sync.Mutex
	killedAs   vmm.ExitReason // set before a deliberate kill
	killDetail string         // the kill's Exit.Detail, before the vCPUs
	killed     bool
	vcpus      []vmm.VCPUState // where the vCPUs were when it was killed
	exit       vmm.Exit
	done       chan struct{}
}

func (m *machine) Backend() string    { return m.name }
func (m *machine) Channel() io.Reader { return m.channel }
func (m *machine) Memory() io.ReaderAt {
	return m.mem
}

func (m *machine) Wait() vmm.Exit {
	<-m.done
	return m.exit
}

func (m *machine) Kill() { m.kill(vmm.ExitKilled, "VM killed") }

// qmpTimeout bounds a question to QEMU over QMP: it answers at once or
// not at all.
const qmpTimeout = 2 * time.Second

// VCPUStates implements VCPUInspector through QMP, as a kill does.
func (m *machine) VCPUStates() ([]vmm.VCPUState, error) {
	select {
	case <-m.done:
		return nil, vmm.ErrVMStopped
	default:
	}
	return qmpVCPUs(m.qmp, qmpTimeout)
}

func (m *machine) kill(reason vmm.ExitReason, detail string) {
	// Asked before taking the lock: QEMU answers at once or not at all,
	// and a kill must not wait longer than the deadline.
	vcpus, err := qmpVCPUs(m.qmp, qmpTimeout)
	if err != nil {
		m.log.Debug("vCPU registers unavailable", zap.Error(err))
	}
	m.mu.Lock()
	if !m.killed {
		m.killed, m.killedAs, m.killDetail, m.vcpus = true, reason, detail, vcpus
		if m.cmd.Process != nil {
			_ = m.cmd.Process.Kill()
		}
	}
	m.mu.Unlock()
}

func (m *machine) wait(ctx context.Context, timeout time.Duration) {
	// The watchdog ends when qemu does, before the exit is classified:
	// a kill after that would misreport a guest that stopped by itself.
	exited := make(chan struct{})
	go vmm.Watch(ctx, timeout, exited, m.kill)
	err := m.cmd.Wait()
	close(exited)
	ex := vmm.Exit{Duration: time.Since(m.started), ConsoleTail: m.tail.String()}
	m.mu.Lock()
	killed, reason, detail := m.killed, m.killedAs, m.killDetail
	ex.VCPUs = m.vcpus
	m.mu.Unlock()
	switch {
	case killed:
		ex.Reason, ex.Detail = reason, detail+vmm.VCPUsDetail(ex.VCPUs)
	default:
		ex.Reason, ex.Detail = qemuExit(err, ex.ConsoleTail, m.tail.Panicked())
	}
	m.exit = ex
	m.cleanup()
	close(m.done)
	m.log.Debug("vm exited", zap.String("reason", ex.Reason.String()), zap.String("detail", ex.Detail), zap.Duration("took", ex.Duration))
}

// qemuExit classifies a qemu that ended by itself: waitErr is what
// cmd.Wait returned, tail the console tail, panicked whether a kernel
// panic ever reached the console.
func qemuExit(waitErr error, tail string, panicked bool) (vmm.ExitReason, string) {
	var ee *exec.ExitError
	switch {
	case waitErr == nil && panicked:
		return vmm.ExitPanic, "kernel panic on the console"
	case waitErr == nil && rebooted(tail):
		// -no-reboot turns a guest reboot into a clean qemu exit.
		return vmm.ExitReboot, "guest rebooted (kernel restart on the console)"
	case waitErr == nil:
		return vmm.ExitClean, ""
	case errors.As(waitErr, &ee) && ee.ExitCode() == 1 && !strings.Contains(tail, "qemu-system"):
		// -action panic=exit-failure: a pvpanic event makes qemu exit 1.
		return vmm.ExitPanic, "guest kernel panicked (pvpanic)"
	}
	return vmm.ExitCrash, fmt.Sprintf("qemu: %v: %s", waitErr, lastLine(tail))
}

// rebooted reports whether the kernel's last word on the console was a
// restart rather than a power-off (see kernel_restart and kernel_power_off
// in kernel/reboot.c).
func rebooted(tail string) bool {
	return strings.LastIndex(tail, "reboot: Restarting system") > strings.LastIndex(tail, "reboot: Power down")
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
