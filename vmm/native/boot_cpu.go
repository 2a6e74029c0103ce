package native

import (
	"encoding/binary"
	"fmt"

	"github.com/ktstr-go/ktstr/kvm"
	"github.com/ktstr-go/ktstr/vmm/x86"
)

// setupBSP puts the boot vCPU into 64-bit mode at the kernel's 64-bit
// entry, as the boot protocol requires (x86.LongModeSregs, x86.EntryRegs).
func setupBSP(c *kvm.VCPU) error {
	s, err := c.Sregs()
	if err != nil {
		return err
	}
	if err := c.SetSregs(x86.LongModeSregs(s)); err != nil {
		return err
	}
	if err := c.SetRegs(x86.EntryRegs()); err != nil {
		return err
	}
	return c.SetFPU(x86.EntryFPU())
}

// MSRs every vCPU starts with, as firmware would leave them.
var bootMSRs = []kvm.MSREntry{
	{Index: 0x1a0, Data: 1},         // IA32_MISC_ENABLE: fast strings
	{Index: 0x2ff, Data: 1<<11 | 6}, // MTRRdefType: enabled, write-back
}

// setBootMSRs writes bootMSRs and reads them back: KVM_SET_MSRS counts the
// writes KVM accepted, not the values it kept, and a vCPU starting with
// other values fails far from the cause.
func setBootMSRs(c *kvm.VCPU) error {
	if err := c.SetMSRs(bootMSRs); err != nil {
		return fmt.Errorf("vmm: boot MSRs: %w", err)
	}
	indices := make([]uint32, len(bootMSRs))
	for i, e := range bootMSRs {
		indices[i] = e.Index
	}
	got, err := c.MSRs(indices...)
	if err != nil {
		return fmt.Errorf("vmm: reading back boot MSRs: %w", err)
	}
	if err := checkMSRs(bootMSRs, got); err != nil {
		return fmt.Errorf("vmm: vCPU %d: %w", c.ID, err)
	}
	return nil
}

// checkMSRs compares MSRs as read back (got, as VCPU.MSRs returns them:
// same indices, same order) with the values written.
func checkMSRs(want, got []kvm.MSREntry) error {
	for i, w := range want {
		if g := got[i].Data; g != w.Data {
			return fmt.Errorf("KVM did not keep MSR %#x: wrote %#x, reads back %#x", w.Index, w.Data, g)
		}
	}
	return nil
}

// setupLINT wires the local APIC's LINT0 to ExtINT (the 8259) and LINT1
// to NMI, the virtual-wire state a PC BIOS leaves behind.
func setupLINT(c *kvm.VCPU) error {
	l, err := c.LAPIC()
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	for _, r := range []struct {
		off  int
		mode uint32
	}{{0x350, 7}, {0x360, 4}} {
		v := le.Uint32(l.Regs[r.off:])
		le.PutUint32(l.Regs[r.off:], v&^0x700|r.mode<<8)
	}
	if err := c.SetLAPIC(l); err != nil {
		return fmt.Errorf("setting LINT0/LINT1: %w", err)
	}
	return nil
}
