package native

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/vmm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// machine is one running VM of the in-repo VMM.
type machine struct {
	log     *zap.Logger
	vm      *kvm.VM
	mem     []byte
	liveMu  sync.RWMutex // held around uses of vm and mem off the vCPU threads; release takes it
	vcpus   []*vcpuThread
	com1    *uart
	com2    *uart
	console *consoleSink
	tail    *vmm.ConsoleTail
	channel *byteQueue
	started time.Time

	pm1Cnt atomic.Uint32
	pm1En  atomic.Uint32

	panicked atomic.Bool // pvpanic fired
	cmosIdx  atomic.Uint32

	peekMu sync.Mutex // one VCPUStates at a time

	stopOnce sync.Once
	stopped  atomic.Bool
	reason   vmm.ExitReason
	detail   string

	exit vmm.Exit
	done chan struct{}
}

type vcpuThread struct {
	*kvm.VCPU
	// mu orders stop's signal against the thread leaving its run loop:
	// once the goroutine returns, its locked thread exits and the TID may
	// be reused by an unrelated thread.
	mu  sync.Mutex
	tid int // the thread's TID while it is in its run loop, else 0
	// peeks carries VCPUStates requests to the thread, which answers
	// between two KVM_RUNs: KVM holds a vCPU's ioctls while it runs, so
	// another thread could not read its registers.
	peeks chan chan<- peekReply
}

// peekReply is a vCPU thread's answer to VCPUStates.
type peekReply struct {
	state vmm.VCPUState
	err   error
}

// setTID records (or, with 0, clears) the TID that stop may signal.
func (v *vcpuThread) setTID(tid int) {
	v.mu.Lock()
	v.tid = tid
	v.mu.Unlock()
}

// kick interrupts a KVM_RUN in progress; it does nothing once the thread
// has left its run loop.
func (v *vcpuThread) kick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tid != 0 {
		_ = unix.Tgkill(unix.Getpid(), v.tid, unix.SIGURG)
	}
}

func (m *machine) Backend() string    { return "kvm" }
func (m *machine) Channel() io.Reader { return m.channel }
func (m *machine) Memory() io.ReaderAt {
	return guestMemory{m}
}

func (m *machine) Wait() vmm.Exit {
	<-m.done
	return m.exit
}

func (m *machine) Kill() { m.stop(vmm.ExitKilled, "VM killed") }

// stop records the first reason the VM ends and kicks every vCPU out of
// the guest: immediate_exit covers a vCPU about to enter, the signal one
// already inside.
func (m *machine) stop(reason vmm.ExitReason, detail string) {
	m.stopOnce.Do(func() {
		m.reason, m.detail = reason, detail
		m.stopped.Store(true)
		for _, v := range m.vcpus {
			v.SetImmediateExit(true)
		}
		for _, v := range m.vcpus {
			v.kick()
		}
	})
}

// runVCPU is one vCPU's thread: KVM_RUN until the VM stops. The OS thread
// stays locked (and dies with the goroutine) because KVM binds a vCPU to
// the thread that runs it and signals must reach that thread.
func (m *machine) runVCPU(v *vcpuThread) {
	runtime.LockOSThread()
	v.setTID(unix.Gettid())
	defer v.setTID(0)
	for !m.stopped.Load() {
		err := v.Run()
		if errors.Is(err, kvm.ErrInterrupted) {
			// Cleared before the request is read: a request arriving
			// later sets it again, so none waits for the next exit.
			// Never cleared once stopped (the loop test then ends it).
			if !m.stopped.Load() {
				v.SetImmediateExit(false)
			}
			m.answerPeek(v)
			continue
		}
		if err != nil {
			m.stop(vmm.ExitCrash, err.Error())
			return
		}
		switch r := v.Exit(); r {
		case kvm.ExitIO:
			m.handleIO(v)
		case kvm.ExitMMIO:
			mm := v.MMIO()
			if !mm.Write {
				for i := range mm.Data {
					mm.Data[i] = 0xff
				}
			}
		case kvm.ExitHLT:
			// Only without an in-kernel irqchip; nothing to wake us.
			m.stop(vmm.ExitCrash, "vCPU halted with interrupts off")
		case kvm.ExitShutdown:
			m.stop(vmm.ExitCrash, fmt.Sprintf("vCPU %d shut down (triple fault)%s", v.ID, m.rip(v)))
		case kvm.ExitSystemEvent:
			switch e := v.SystemEvent(); e {
			case 1:
				m.stop(vmm.ExitClean, "guest shut down (system event)")
			case 2:
				m.stop(vmm.ExitReboot, "guest rebooted (reset system event)")
			case 3:
				m.stop(vmm.ExitPanic, "guest crash system event")
			default:
				m.stop(vmm.ExitCrash, fmt.Sprintf("unexpected system event %d on vCPU %d", e, v.ID))
			}
		case kvm.ExitFailEntry:
			m.stop(vmm.ExitCrash, fmt.Sprintf("KVM_EXIT_FAIL_ENTRY on vCPU %d: hardware reason %#x", v.ID, v.FailEntryReason()))
		case kvm.ExitInternalError:
			m.stop(vmm.ExitCrash, fmt.Sprintf("KVM_EXIT_INTERNAL_ERROR on vCPU %d: suberror %d%s", v.ID, v.InternalError(), m.rip(v)))
		case kvm.ExitIntr:
		default:
			m.stop(vmm.ExitCrash, fmt.Sprintf("unhandled %s on vCPU %d%s", r, v.ID, m.rip(v)))
		}
	}
}

// VCPUStates implements VCPUInspector: each vCPU thread is kicked out of
// the guest, reads its own registers and stack, and re-enters.
func (m *machine) VCPUStates() ([]vmm.VCPUState, error) {
	m.peekMu.Lock()
	defer m.peekMu.Unlock()
	replies, err := m.requestPeeks()
	if err != nil {
		return nil, err
	}
	timeout := time.NewTimer(peekTimeout)
	defer timeout.Stop()
	out := make([]vmm.VCPUState, len(m.vcpus))
	for i, r := range replies {
		select {
		case rep := <-r:
			if rep.err != nil {
				return nil, fmt.Errorf("vCPU %d: %w", i, rep.err)
			}
			out[i] = rep.state
		case <-m.done:
			return nil, vmm.ErrVMStopped
		case <-timeout.C:
			return nil, fmt.Errorf("vCPU %d did not leave the guest within %v", i, peekTimeout)
		}
	}
	return out, nil
}

// requestPeeks queues a request on every vCPU thread and kicks it. The
// read lock keeps release from unmapping a vCPU's kvm_run meanwhile.
func (m *machine) requestPeeks() ([]chan peekReply, error) {
	m.liveMu.RLock()
	defer m.liveMu.RUnlock()
	if m.stopped.Load() {
		return nil, vmm.ErrVMStopped
	}
	replies := make([]chan peekReply, len(m.vcpus))
	for i, v := range m.vcpus {
		replies[i] = make(chan peekReply, 1)
		select {
		case v.peeks <- replies[i]:
		default:
			return nil, fmt.Errorf("vCPU %d has not left the guest since an earlier request", i)
		}
		// Set after the request is queued: a thread that already looked
		// for requests leaves its next KVM_RUN at once.
		v.SetImmediateExit(true)
		v.kick()
	}
	return replies, nil
}

// peekTimeout bounds how long VCPUStates waits for a vCPU: a kicked
// thread leaves KVM_RUN at once unless its host thread is not running.
const peekTimeout = 2 * time.Second

// answerPeek answers a pending VCPUStates request on the vCPU's thread.
func (m *machine) answerPeek(v *vcpuThread) {
	select {
	case reply := <-v.peeks:
		st, err := m.state(v)
		reply <- peekReply{st, err}
	default:
	}
}

// state reads where a vCPU is; only its own thread (or anyone once it
// stopped running) may call it.
func (m *machine) state(v *vcpuThread) (vmm.VCPUState, error) {
	r, err := v.Regs()
	if err != nil {
		return vmm.VCPUState{}, err
	}
	return vmm.VCPUState{RIP: r.RIP, RSP: r.RSP, Stack: m.stack(v, r.RSP)}, nil
}

// stack reads a stopped vCPU's stack words through its page tables, in
// long mode only (nil otherwise: a guest still booting).
func (m *machine) stack(v *vcpuThread, rsp uint64) []uint64 {
	s, err := v.Sregs()
	if err != nil {
		return nil
	}
	return x86.ReadStack(guestMemory{m}, s, rsp, vmm.StackWords)
}

func (m *machine) rip(v *vcpuThread) string {
	r, err := v.Regs()
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" at rip %#x", r.RIP)
}

func (m *machine) setIRQ(irq uint32, level bool) {
	if err := m.vm.IRQLine(irq, level); err != nil {
		m.log.Warn("irq line", zap.Error(err))
	}
}

// finish runs once every vCPU thread has returned.
func (m *machine) finish() {
	m.console.flush()
	ex := vmm.Exit{Reason: m.reason, Detail: m.detail, Duration: time.Since(m.started), ConsoleTail: m.tail.String()}
	if ex.Reason == vmm.ExitTimeout || ex.Reason == vmm.ExitKilled {
		// Where a hung guest sat helps tell a guest hang from a VMM bug.
		for _, v := range m.vcpus {
			st, err := m.state(v)
			if err != nil {
				ex.VCPUs = nil
				break
			}
			ex.VCPUs = append(ex.VCPUs, st)
		}
		ex.Detail += vmm.VCPUsDetail(ex.VCPUs)
	}
	// A panic reboots the guest (panic=-1); when pvpanic was not yet up,
	// the console tells a panic from a requested reboot.
	guestEnded := ex.Reason == vmm.ExitClean || ex.Reason == vmm.ExitReboot || ex.Reason == vmm.ExitCrash
	switch {
	case ex.Reason == vmm.ExitPanic:
	case m.panicked.Load() && guestEnded:
		ex.Reason, ex.Detail = vmm.ExitPanic, "guest kernel panicked (pvpanic), then "+ex.Detail
	case guestEnded && m.tail.Panicked():
		ex.Reason, ex.Detail = vmm.ExitPanic, "kernel panic on the console ("+ex.Detail+")"
	}
	m.exit = ex
	m.channel.close()
	m.release()
	close(m.done)
	m.log.Debug("vm exited", zap.String("reason", ex.Reason.String()), zap.String("detail", ex.Detail), zap.Duration("took", ex.Duration))
}

func (m *machine) release() {
	// m.vcpus stays: VCPUTimes may still read it (their TIDs are 0).
	m.liveMu.Lock()
	defer m.liveMu.Unlock()
	for _, v := range m.vcpus {
		v.Close()
	}
	if m.vm != nil {
		m.vm.Close()
		m.vm = nil
	}
	if m.mem != nil {
		unix.Munmap(m.mem)
		m.mem = nil
	}
}

// guestMemory reads guest-physical memory (one linear slot from 0).
type guestMemory struct{ m *machine }

func (g guestMemory) ReadAt(p []byte, off int64) (int, error) {
	g.m.liveMu.RLock()
	defer g.m.liveMu.RUnlock()
	mem := g.m.mem
	if mem == nil {
		return 0, vmm.ErrVMStopped
	}
	if off < 0 || off >= int64(len(mem)) {
		return 0, io.EOF
	}
	n := copy(p, mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
