package vmm

import (
	"encoding/binary"
	"fmt"

	"github.com/ktstr-go/ktstr/kvm"
)

// Guest-physical layout of what the loader writes below 1 MiB. The
// kernel's own image goes to 1 MiB, the initramfs to the top of RAM.
const (
	bootGDTAddr     = 0x500
	bootParamsAddr  = 0x7000
	bootStackTop    = 0x8ff0
	bootPML4Addr    = 0x9000 // PML4, PDPT, then 4 PDs: identity map of 4 GiB
	bootCmdlineAddr = 0x20000
	bootEBDAStart   = 0x9fc00
	bootBIOSStart   = 0xe0000 // ACPI tables live here (E820-reserved)
	bootKernelAddr  = 0x100000
	bootEntryOffset = 0x200 // startup_64 in the protected-mode image

	bootCodeSel = 0x10 // __BOOT_CS
	bootDataSel = 0x18 // __BOOT_DS
	bootTSSSel  = 0x20
)

// writeBootTables puts the GDT and identity page tables into guest RAM.
func writeBootTables(mem []byte) {
	le := binary.LittleEndian
	gdt := []uint64{
		0,
		0,
		0x00af9b000000ffff, // 0x10: 64-bit code, present, DPL 0
		0x00cf93000000ffff, // 0x18: flat 4 GiB data, read/write
		0x00808b0000000067, // 0x20: busy 64-bit TSS (hidden state only)
	}
	for i, d := range gdt {
		le.PutUint64(mem[bootGDTAddr+8*i:], d)
	}
	pdpt := uint64(bootPML4Addr + 0x1000)
	le.PutUint64(mem[bootPML4Addr:], pdpt|0x3) // present, writable
	for i := uint64(0); i < 4; i++ {
		pd := pdpt + 0x1000*(i+1)
		le.PutUint64(mem[pdpt+8*i:], pd|0x3)
		for j := uint64(0); j < 512; j++ {
			le.PutUint64(mem[pd+8*j:], (i<<30|j<<21)|0x83) // 2 MiB page
		}
	}
}

func segment(sel uint16, typ uint8, long bool) kvm.Segment {
	s := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: sel, Type: typ, Present: 1, S: 1, G: 1}
	if long {
		s.L = 1
	} else {
		s.DB = 1
	}
	return s
}

// setupBSP puts the boot vCPU into 64-bit mode at the kernel's 64-bit
// entry, as the boot protocol requires: paging on with an identity map,
// __BOOT_CS/__BOOT_DS flat segments, interrupts off, %rsi = boot_params.
func setupBSP(c *kvm.VCPU) error {
	s, err := c.Sregs()
	if err != nil {
		return err
	}
	s.CS = segment(bootCodeSel, 0xb, true)
	data := segment(bootDataSel, 0x3, false)
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	s.TR = kvm.Segment{Selector: bootTSSSel, Limit: 0x67, Type: 0xb, Present: 1}
	s.GDT = kvm.DTable{Base: bootGDTAddr, Limit: 5*8 - 1}
	s.IDT = kvm.DTable{}
	s.CR3 = bootPML4Addr
	s.CR4 = 1 << 5                                    // PAE
	s.CR0 = 1<<0 | 1<<1 | 1<<4 | 1<<5 | 1<<16 | 1<<31 // PE MP ET NE WP PG
	s.EFER = 1<<8 | 1<<10                             // LME LMA
	if err := c.SetSregs(s); err != nil {
		return err
	}
	if err := c.SetRegs(kvm.Regs{
		RIP:    bootKernelAddr + bootEntryOffset,
		RSI:    bootParamsAddr,
		RSP:    bootStackTop,
		RFLAGS: 1 << 1, // reserved bit; IF clear
	}); err != nil {
		return err
	}
	return c.SetFPU(kvm.FPU{FCW: 0x37f, MXCSR: 0x1f80})
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
