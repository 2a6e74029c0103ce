package x86

import (
	"encoding/binary"

	"github.com/ktstr-go/ktstr/kvm"
)

// Guest-physical layout of what Load writes below 1 MiB. The
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

// LongModeSregs returns s (the boot vCPU's special registers as KVM
// created them) in the state the 64-bit boot protocol requires at the
// kernel's entry: paging on with Load's identity map, Load's GDT with
// __BOOT_CS/__BOOT_DS flat segments, no IDT.
func LongModeSregs(s kvm.Sregs) kvm.Sregs {
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
	return s
}

// EntryRegs are the boot vCPU's general registers at the kernel's 64-bit
// entry (startup_64 in what Load wrote): %rsi = boot_params, a stack
// below it, interrupts off.
func EntryRegs() kvm.Regs {
	return kvm.Regs{
		RIP:    bootKernelAddr + bootEntryOffset,
		RSI:    bootParamsAddr,
		RSP:    bootStackTop,
		RFLAGS: 1 << 1, // reserved bit; IF clear
	}
}

// EntryFPU is the x87/SSE state at reset: default control word and MXCSR.
func EntryFPU() kvm.FPU { return kvm.FPU{FCW: 0x37f, MXCSR: 0x1f80} }
