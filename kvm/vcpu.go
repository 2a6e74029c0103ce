package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// VCPU is a virtual CPU: its fd and its mmapped kvm_run area.
type VCPU struct {
	ID  int
	fd  int
	run []byte
}

// Close unmaps kvm_run and closes the vCPU fd.
func (c *VCPU) Close() error {
	err := unix.Munmap(c.run)
	if cerr := unix.Close(c.fd); err == nil {
		err = cerr
	}
	return err
}

// ErrInterrupted is returned by Run when a signal or SetImmediateExit made
// KVM_RUN return before entering the guest, or left it early.
var ErrInterrupted = errors.New("KVM_RUN interrupted")

// Run enters the guest until the next exit that needs user space. The exit
// is described by Exit(). A signal yields ErrInterrupted.
func (c *VCPU) Run() error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), reqRun, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			return ErrInterrupted
		case unix.EAGAIN:
			// An AP waiting for INIT/SIPI woke up: enter again.
			continue
		}
		return fmt.Errorf("KVM_RUN on vCPU %d: %w", c.ID, e)
	}
}

// SetImmediateExit makes the next (or current, after a signal) KVM_RUN
// return at once with EINTR: the race-free way to stop a vCPU thread.
func (c *VCPU) SetImmediateExit(on bool) {
	var v uint8
	if on {
		v = 1
	}
	c.run[1] = v // kvm_run.immediate_exit
}

func (c *VCPU) get(req uintptr, v unsafe.Pointer, name string) error {
	if _, err := ioctl(c.fd, req, uintptr(v)); err != nil {
		return fmt.Errorf("%s on vCPU %d: %w", name, c.ID, err)
	}
	return nil
}

// Regs returns the general-purpose registers.
func (c *VCPU) Regs() (Regs, error) {
	var r Regs
	return r, c.get(reqGetRegs, unsafe.Pointer(&r), "KVM_GET_REGS")
}

// SetRegs sets the general-purpose registers.
func (c *VCPU) SetRegs(r Regs) error {
	return c.get(reqSetRegs, unsafe.Pointer(&r), "KVM_SET_REGS")
}

// Sregs returns the special registers.
func (c *VCPU) Sregs() (Sregs, error) {
	var s Sregs
	return s, c.get(reqGetSregs, unsafe.Pointer(&s), "KVM_GET_SREGS")
}

// SetSregs sets the special registers.
func (c *VCPU) SetSregs(s Sregs) error {
	return c.get(reqSetSregs, unsafe.Pointer(&s), "KVM_SET_SREGS")
}

// FPU returns the x87/SSE state.
func (c *VCPU) FPU() (FPU, error) {
	var f FPU
	return f, c.get(reqGetFPU, unsafe.Pointer(&f), "KVM_GET_FPU")
}

// SetFPU sets the x87/SSE state.
func (c *VCPU) SetFPU(f FPU) error {
	return c.get(reqSetFPU, unsafe.Pointer(&f), "KVM_SET_FPU")
}

// LAPIC returns the local APIC register page.
func (c *VCPU) LAPIC() (LAPICState, error) {
	var l LAPICState
	return l, c.get(reqGetLAPIC, unsafe.Pointer(&l), "KVM_GET_LAPIC")
}

// SetLAPIC sets the local APIC register page.
func (c *VCPU) SetLAPIC(l LAPICState) error {
	return c.get(reqSetLAPIC, unsafe.Pointer(&l), "KVM_SET_LAPIC")
}

// msrBuffer builds a struct kvm_msrs holding entries; msrs points into it.
func msrBuffer(entries []MSREntry) (buf []byte, msrs []MSREntry) {
	buf = make([]byte, 8+len(entries)*int(unsafe.Sizeof(MSREntry{})))
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	msrs = unsafe.Slice((*MSREntry)(unsafe.Pointer(&buf[8])), len(entries))
	copy(msrs, entries)
	return buf, msrs
}

// MSRs reads the model-specific registers with the given indices, in order.
func (c *VCPU) MSRs(indices ...uint32) ([]MSREntry, error) {
	if len(indices) == 0 {
		return nil, nil
	}
	entries := make([]MSREntry, len(indices))
	for i, idx := range indices {
		entries[i].Index = idx
	}
	buf, msrs := msrBuffer(entries)
	// KVM_GET_MSRS returns how many MSRs it read; it stops at the first
	// one it cannot.
	n, err := ioctl(c.fd, reqGetMSRs, uintptr(unsafe.Pointer(&buf[0])))
	if err != nil {
		return nil, fmt.Errorf("KVM_GET_MSRS on vCPU %d: %w", c.ID, err)
	}
	if int(n) != len(indices) {
		return nil, fmt.Errorf("KVM_GET_MSRS on vCPU %d: MSR %#x not readable", c.ID, indices[n])
	}
	copy(entries, msrs)
	return entries, nil
}

// SetMSRs writes model-specific registers; all must be accepted.
func (c *VCPU) SetMSRs(entries []MSREntry) error {
	if len(entries) == 0 {
		return nil
	}
	buf, _ := msrBuffer(entries)
	// KVM_SET_MSRS returns how many MSRs it wrote; it stops at the first
	// one it rejects.
	n, err := ioctl(c.fd, reqSetMSRs, uintptr(unsafe.Pointer(&buf[0])))
	if err != nil {
		return fmt.Errorf("KVM_SET_MSRS on vCPU %d: %w", c.ID, err)
	}
	if int(n) != len(entries) {
		return fmt.Errorf("KVM_SET_MSRS on vCPU %d: MSR %#x rejected", c.ID, entries[n].Index)
	}
	return nil
}

// SetCPUID sets the CPUID leaves the guest sees. KVM requires this before
// the first KVM_RUN.
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	es := int(unsafe.Sizeof(CPUIDEntry{}))
	buf := make([]byte, 8+len(entries)*es)
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	if len(entries) > 0 {
		copy(unsafe.Slice((*CPUIDEntry)(unsafe.Pointer(&buf[8])), len(entries)), entries)
	}
	if _, err := ioctl(c.fd, reqSetCPUID2, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2 on vCPU %d (%d entries): %w", c.ID, len(entries), err)
	}
	return nil
}
